package metrology

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Instrument statuses.
var statusNames = map[string]string{"idle": "未启用", "in_use": "工作中", "stopped": "停用", "scrapped": "报废"}

// Instrument is a measuring instrument under mandatory verification.
type Instrument struct {
	ID             int64     `json:"id"`
	CreditCode     string    `json:"credit_code"`
	EnterpriseName string    `json:"enterprise_name"`
	DistrictCode   string    `json:"district_code"`
	DistrictName   string    `json:"district_name"`
	ItemCode       string    `json:"item_code"`
	ItemName       string    `json:"item_name"`
	CategoryCode   string    `json:"category_code"`
	CategoryName   string    `json:"category_name"`
	PerNozzle      bool      `json:"per_nozzle"`
	Name           string    `json:"name"`
	Model          string    `json:"model"`
	SerialNo       string    `json:"serial_no"`
	Manufacturer   string    `json:"manufacturer"`
	Range          string    `json:"range"`
	Accuracy       string    `json:"accuracy"`
	LocationID     *int64    `json:"location_id"`
	LocationName   string    `json:"location_name"`
	Status         string    `json:"status"`
	StatusName     string    `json:"status_name"`
	NozzleSerials  []string  `json:"nozzle_serials"`
	LastVerifiedOn *string   `json:"last_verified_on"`
	ValidUntil     *string   `json:"valid_until"`
	LastResult     string    `json:"last_result"`
	Overdue        bool      `json:"overdue"`
	OverdueDays    int       `json:"overdue_days"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`

	townshipCode string
}

// InstrumentInput registers or edits an instrument.
type InstrumentInput struct {
	CreditCode     string   `json:"credit_code"`
	CategoryCode   string   `json:"category_code"`
	Name           string   `json:"name"`
	Model          string   `json:"model"`
	SerialNo       string   `json:"serial_no"`
	Manufacturer   string   `json:"manufacturer"`
	Range          string   `json:"range"`
	Accuracy       string   `json:"accuracy"`
	LocationID     *int64   `json:"location_id"`
	NozzleSerials  []string `json:"nozzle_serials"`
	LastVerifiedOn string   `json:"last_verified_on"`
	ValidUntil     string   `json:"valid_until"`
	Version        int      `json:"version,omitempty"`
}

const maxNozzles = 16

// Validate normalises and checks the fields that need no lookup.
func (in *InstrumentInput) Validate() error {
	in.CreditCode = strings.ToUpper(strings.TrimSpace(in.CreditCode))
	for _, p := range []*string{&in.CategoryCode, &in.Name, &in.Model, &in.SerialNo, &in.Manufacturer, &in.Range, &in.Accuracy,
		&in.LastVerifiedOn, &in.ValidUntil} {
		*p = strings.TrimSpace(*p)
	}
	var fe []errs.FieldError
	text := func(field, label, v string, max int, required bool) {
		n := utf8.RuneCountInString(v)
		switch {
		case required && n == 0:
			fe = append(fe, errs.FieldError{Field: field, Message: "请填写" + label})
		case n > max:
			fe = append(fe, errs.FieldError{Field: field, Message: label + "过长"})
		}
	}
	text("name", "器具名称", in.Name, 100, false)
	text("model", "型号规格", in.Model, 100, false)
	text("serial_no", "出厂编号", in.SerialNo, 64, true)
	text("manufacturer", "制造单位", in.Manufacturer, 100, false)
	text("range", "测量范围", in.Range, 100, false)
	text("accuracy", "准确度等级", in.Accuracy, 50, false)
	if len(in.NozzleSerials) > maxNozzles {
		fe = append(fe, errs.FieldError{Field: "nozzle_serials", Message: "枪数不能超过 16"})
	}
	for i, s := range in.NozzleSerials {
		in.NozzleSerials[i] = strings.TrimSpace(s)
		if in.NozzleSerials[i] == "" || slices.Contains(in.NozzleSerials[:i], in.NozzleSerials[i]) {
			fe = append(fe, errs.FieldError{Field: "nozzle_serials", Message: "枪编号不能为空或重复"})
			break
		}
	}
	var last, until time.Time
	var err error
	if in.LastVerifiedOn != "" {
		if last, err = time.Parse(time.DateOnly, in.LastVerifiedOn); err != nil {
			fe = append(fe, errs.FieldError{Field: "last_verified_on", Message: "日期格式应为 YYYY-MM-DD"})
		}
	}
	if in.ValidUntil != "" {
		if until, err = time.Parse(time.DateOnly, in.ValidUntil); err != nil {
			fe = append(fe, errs.FieldError{Field: "valid_until", Message: "日期格式应为 YYYY-MM-DD"})
		} else if !last.IsZero() && until.Before(last) {
			fe = append(fe, errs.FieldError{Field: "valid_until", Message: "有效期至不能早于上次检定日期"})
		}
	}
	return errs.Fields(fe)
}

// checkCategory resolves the category and the fields that depend on it.
func (f *Function) checkCategory(in *InstrumentInput) (Category, error) {
	cat, ok := f.cat.Category(in.CategoryCode)
	if !ok {
		return cat, errs.Fields([]errs.FieldError{{Field: "category_code", Message: "请选择强检目录中的器具种别"}})
	}
	if in.Name == "" {
		in.Name = cat.Name
	}
	if !cat.Nozzles && len(in.NozzleSerials) > 0 {
		return cat, errs.Fields([]errs.FieldError{{Field: "nozzle_serials", Message: "只有加油机、加气机登记枪编号"}})
	}
	if in.NozzleSerials == nil {
		in.NozzleSerials = []string{}
	}
	return cat, nil
}

// CreateInstrument registers an instrument of an enterprise the caller
// sees. It starts 未启用, or 工作中 when a usage location is given.
func (f *Function) CreateInstrument(ctx context.Context, v viewer, in InstrumentInput) (Instrument, error) {
	if _, err := f.checkCategory(&in); err != nil {
		return Instrument{}, err
	}
	if v.kind == kindInstitution {
		return Instrument{}, errs.New(errs.Forbidden, "检定机构不能登记使用单位的器具")
	}
	var out Instrument
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := getEnterprise(ctx, tx, f.today(), in.CreditCode, true)
		if errs.CodeOf(err) == errs.NotFound {
			return errs.Fields([]errs.FieldError{{Field: "credit_code", Message: "该使用单位尚未登记，请先登记使用单位"}})
		}
		if err != nil {
			return err
		}
		if ok, err := f.sees(ctx, tx, v, e.CreditCode, e.DistrictCode, e.TownshipCode); err != nil || !ok {
			if err == nil {
				err = errs.New(errs.Forbidden, "无权为该使用单位登记器具")
			}
			return err
		}
		status := "idle"
		if in.LocationID != nil {
			if err := checkLocation(ctx, tx, in.CreditCode, *in.LocationID); err != nil {
				return err
			}
			status = "in_use"
		}
		id, err := insertInstrument(ctx, tx, in, status, f.now())
		if errs.CodeOf(err) == errs.Conflict {
			return &errs.Error{Code: errs.Conflict, Message: "该单位已登记同种别、同出厂编号的器具",
				Fields: []errs.FieldError{{Field: "serial_no", Message: "出厂编号重复"}}}
		}
		if err != nil {
			return err
		}
		if err := logChange(ctx, tx, id, "created", "", status, v.username, f.now()); err != nil {
			return err
		}
		if out, err = getInstrument(ctx, tx, f.today(), id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.instrument.create", "instrument", itoa(id), e.DistrictCode, e.TownshipCode, nil, out)
	})
	return out, err
}

// loadInstrument reads an instrument the caller sees; lock takes a row
// lock for a change.
func (f *Function) loadInstrument(ctx context.Context, q store.Querier, v viewer, id int64, lock bool) (Instrument, error) {
	in, err := getInstrument(ctx, q, f.today(), id, lock)
	if err != nil {
		return Instrument{}, err
	}
	return in, f.mustSee(ctx, q, v, in.CreditCode, in.DistrictCode, in.townshipCode)
}

// GetInstrument reads one instrument.
func (f *Function) GetInstrument(ctx context.Context, v viewer, id int64) (Instrument, error) {
	return f.loadInstrument(ctx, f.pool, v, id, false)
}

// UpdateInstrument edits an instrument's description (not its status,
// enterprise or verification dates, which have their own commands).
func (f *Function) UpdateInstrument(ctx context.Context, v viewer, id int64, in InstrumentInput) (Instrument, error) {
	if in.Version < 1 {
		return Instrument{}, errs.Fields([]errs.FieldError{{Field: "version", Message: "请提供读取时的版本号 version"}})
	}
	var out Instrument
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := f.loadInstrument(ctx, tx, v, id, true)
		if err != nil {
			return err
		}
		if v.kind == kindInstitution {
			return errs.New(errs.Forbidden, "检定机构不能修改使用单位的器具档案")
		}
		if old.Version != in.Version {
			return errs.New(errs.Conflict, "该器具信息已被他人修改，请刷新后重试")
		}
		in.CreditCode = old.CreditCode
		if in.CategoryCode == "" {
			in.CategoryCode = old.CategoryCode
		}
		if _, err := f.checkCategory(&in); err != nil {
			return err
		}
		if err := updateInstrument(ctx, tx, id, in, f.now()); err != nil {
			if errs.CodeOf(err) == errs.Conflict {
				return &errs.Error{Code: errs.Conflict, Message: "该单位已登记同种别、同出厂编号的器具",
					Fields: []errs.FieldError{{Field: "serial_no", Message: "出厂编号重复"}}}
			}
			return err
		}
		if err := logChange(ctx, tx, id, "edited", old.Status, old.Status, v.username, f.now()); err != nil {
			return err
		}
		if out, err = getInstrument(ctx, tx, f.today(), id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.instrument.edit", "instrument", itoa(id), old.DistrictCode, old.townshipCode, old, out)
	})
	return out, err
}

// StatusInput changes an instrument's status (FP-170).
type StatusInput struct {
	Status     string `json:"status"`
	LocationID *int64 `json:"location_id"`
}

// Validate checks the status is one we know.
func (in *StatusInput) Validate() error {
	if _, ok := statusNames[in.Status]; !ok {
		return errs.Fields([]errs.FieldError{{Field: "status", Message: "状态应为 idle（未启用）、in_use（工作中）、stopped（停用）或 scrapped（报废）"}})
	}
	return nil
}

// MsgNeedsLocation is the answer to 工作中 without a usage location when
// the enterprise has none: the console then offers to add one.
const (
	MsgNeedsLocation   = "设为“工作中”需要使用地点：该单位尚无使用地点，请先新增使用地点"
	MsgChooseLocation  = "设为“工作中”需要选择使用地点"
	FieldLocationID    = "location_id"
	msgScrappedIsFinal = "器具已报废，不能再变更状态"
)

// ChangeStatus sets an instrument's status. 工作中 needs a usage
// location: the given one, or the one it has. When the enterprise has no
// location at all the refusal says so, so the page leads to adding one.
func (f *Function) ChangeStatus(ctx context.Context, v viewer, id int64, in StatusInput) (Instrument, error) {
	var out Instrument
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := f.loadInstrument(ctx, tx, v, id, true)
		if err != nil {
			return err
		}
		if v.kind == kindInstitution {
			return errs.New(errs.Forbidden, "检定机构不能变更使用单位器具的状态")
		}
		if old.Status == "scrapped" {
			return errs.New(errs.Conflict, msgScrappedIsFinal)
		}
		loc := old.LocationID
		if in.LocationID != nil {
			if err := checkLocation(ctx, tx, old.CreditCode, *in.LocationID); err != nil {
				return err
			}
			loc = in.LocationID
		}
		if in.Status == "in_use" && loc == nil {
			locs, err := listLocations(ctx, tx, old.CreditCode)
			if err != nil {
				return err
			}
			msg := MsgChooseLocation
			if len(locs) == 0 {
				msg = MsgNeedsLocation
			}
			return errs.Fields([]errs.FieldError{{Field: FieldLocationID, Message: msg}})
		}
		if old.Status == in.Status && (in.LocationID == nil || (old.LocationID != nil && *old.LocationID == *in.LocationID)) {
			out = old
			return nil
		}
		if err := setStatus(ctx, tx, id, in.Status, loc, f.now()); err != nil {
			return err
		}
		if err := logChange(ctx, tx, id, "status", old.Status, in.Status, v.username, f.now()); err != nil {
			return err
		}
		if out, err = getInstrument(ctx, tx, f.today(), id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.instrument.status", "instrument", itoa(id), old.DistrictCode, old.townshipCode,
			map[string]any{"status": old.Status, "location_id": old.LocationID}, map[string]any{"status": out.Status, "location_id": out.LocationID})
	})
	return out, err
}

// InstrumentOwner is FP-176: from an instrument to its enterprise.
type InstrumentOwner struct {
	Instrument Instrument `json:"instrument"`
	Enterprise Enterprise `json:"enterprise"`
	Locations  []Location `json:"locations"`
}

// Owner reads an instrument's enterprise.
func (f *Function) Owner(ctx context.Context, v viewer, id int64) (InstrumentOwner, error) {
	in, err := f.GetInstrument(ctx, v, id)
	if err != nil {
		return InstrumentOwner{}, err
	}
	e, err := getEnterprise(ctx, f.pool, f.today(), in.CreditCode, false)
	if err != nil {
		return InstrumentOwner{}, err
	}
	locs, err := listLocations(ctx, f.pool, in.CreditCode)
	return InstrumentOwner{Instrument: in, Enterprise: e, Locations: locs}, err
}
