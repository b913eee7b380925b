package metrology

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

var applicationStatusNames = map[string]string{
	"pending_approval": "待监管部门批准（含超期器具）", "rejected": "未获批准", "submitted": "待受理", "accepted": "已受理",
	"partially_returned": "部分退回", "returned": "全部退回", "completed": "已完成",
}

var itemStatusNames = map[string]string{"pending": "待受理", "accepted": "已受理", "returned": "已退回", "verified": "已检定"}

var reviewNames = map[string]string{"": "", "pending": "待复核", "upheld": "维持退回", "overturned": "撤销退回"}

// Application is an application for verification (检定申请, FP-169).
type Application struct {
	ID              int64             `json:"id"`
	CreditCode      string            `json:"credit_code"`
	EnterpriseName  string            `json:"enterprise_name"`
	DistrictCode    string            `json:"district_code"`
	DistrictName    string            `json:"district_name"`
	InstitutionID   string            `json:"institution_id"`
	InstitutionName string            `json:"institution_name"`
	Status          string            `json:"status"`
	StatusName      string            `json:"status_name"`
	Overdue         bool              `json:"overdue"`
	Note            string            `json:"note"`
	ApprovalNote    string            `json:"approval_note"`
	ApprovedBy      string            `json:"approved_by"`
	ApprovedAt      *time.Time        `json:"approved_at"`
	DecidedBy       string            `json:"decided_by"`
	DecidedAt       *time.Time        `json:"decided_at"`
	ReturnReason    string            `json:"return_reason"`
	Applicant       string            `json:"applicant"`
	Items           []ApplicationItem `json:"items"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`

	townshipCode string
}

// ApplicationItem is one instrument of an application.
type ApplicationItem struct {
	ID             int64      `json:"id"`
	ApplicationID  int64      `json:"application_id"`
	InstrumentID   int64      `json:"instrument_id"`
	InstrumentName string     `json:"instrument_name"`
	SerialNo       string     `json:"serial_no"`
	CategoryCode   string     `json:"category_code"`
	CategoryName   string     `json:"category_name"`
	PerNozzle      bool       `json:"per_nozzle"`
	NozzleSerials  []string   `json:"nozzle_serials"`
	Overdue        bool       `json:"overdue"`
	Status         string     `json:"status"`
	StatusName     string     `json:"status_name"`
	ReturnReason   string     `json:"return_reason"`
	ReturnedAt     *time.Time `json:"returned_at"`
	Review         string     `json:"review"`
	ReviewName     string     `json:"review_name"`
	ReviewNote     string     `json:"review_note"`
	ReviewedBy     string     `json:"reviewed_by"`
	ReviewedAt     *time.Time `json:"reviewed_at"`
	VerificationID *int64     `json:"verification_id"`
	CertificateNo  string     `json:"certificate_no"`
	Result         string     `json:"result"`
}

// ApplicationInput is an enterprise's application.
type ApplicationInput struct {
	CreditCode    string  `json:"credit_code"`
	InstitutionID string  `json:"institution_id"`
	InstrumentIDs []int64 `json:"instrument_ids"`
	Note          string  `json:"note"`
}

// Validate checks the application's shape.
func (in *ApplicationInput) Validate() error {
	in.CreditCode, in.InstitutionID = strings.ToUpper(strings.TrimSpace(in.CreditCode)), strings.ToUpper(strings.TrimSpace(in.InstitutionID))
	in.Note = strings.TrimSpace(in.Note)
	var fe []errs.FieldError
	if in.InstitutionID == "" {
		fe = append(fe, errs.FieldError{Field: "institution_id", Message: "请选择检定机构"})
	}
	switch n := len(in.InstrumentIDs); {
	case n == 0:
		fe = append(fe, errs.FieldError{Field: "instrument_ids", Message: "请选择要申请检定的器具"})
	case n > 200:
		fe = append(fe, errs.FieldError{Field: "instrument_ids", Message: "一次申请最多 200 台器具"})
	}
	slices.Sort(in.InstrumentIDs)
	if len(slices.Compact(slices.Clone(in.InstrumentIDs))) != len(in.InstrumentIDs) {
		fe = append(fe, errs.FieldError{Field: "instrument_ids", Message: "器具重复"})
	}
	if utf8.RuneCountInString(in.Note) > 500 {
		fe = append(fe, errs.FieldError{Field: "note", Message: "备注不能超过 500 个字"})
	}
	return errs.Fields(fe)
}

// Apply files an application. One with an overdue instrument (past its
// valid-until date while in use) waits for the county bureau's approval
// before the institution sees it (FP-172).
func (f *Function) Apply(ctx context.Context, v viewer, in ApplicationInput) (Application, error) {
	if v.kind == kindInstitution {
		return Application{}, errs.New(errs.Forbidden, "检定机构不能代使用单位提交申请")
	}
	var out Application
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := getEnterprise(ctx, tx, f.today(), in.CreditCode, true)
		if err != nil {
			return err
		}
		if err := f.mustSee(ctx, tx, v, e.CreditCode, e.DistrictCode, e.TownshipCode); err != nil {
			return err
		}
		if _, err := getInstitution(ctx, tx, in.InstitutionID, false); err != nil {
			if errs.CodeOf(err) == errs.NotFound {
				return errs.Fields([]errs.FieldError{{Field: "institution_id", Message: "检定机构不存在"}})
			}
			return err
		}
		overdue := false
		for _, id := range in.InstrumentIDs {
			inst, err := getInstrument(ctx, tx, f.today(), id, true)
			if err != nil || inst.CreditCode != e.CreditCode {
				return errs.Fields([]errs.FieldError{{Field: "instrument_ids", Message: fmt.Sprintf("器具 %d 不存在或不属于该单位", id)}})
			}
			if inst.Status == "scrapped" {
				return errs.Fields([]errs.FieldError{{Field: "instrument_ids", Message: fmt.Sprintf("器具「%s %s」已报废", inst.Name, inst.SerialNo)}})
			}
			overdue = overdue || inst.Overdue
		}
		status := "submitted"
		if overdue {
			status = "pending_approval"
		}
		id, err := insertApplication(ctx, tx, in, status, overdue, v.actor(), f.now())
		if errs.CodeOf(err) == errs.Conflict {
			return errs.New(errs.Conflict, "所选器具中有器具已在办理中的检定申请里")
		}
		if err != nil {
			return err
		}
		if overdue {
			if err := notify.Post(ctx, tx, Source, notify.Notice{Title: "超期强检器具检定申请待批准：" + e.Name, Level: notify.LevelWarning,
				Kind: "metrology_overdue_application", Link: "/console/#/metrology/applications?status=pending_approval",
				Roles: []string{f.cfg.NoticeRole}, Subject: itoa(id), At: f.now()}); err != nil {
				return err
			}
		}
		if out, err = getApplication(ctx, tx, f.today(), id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.application.create", "application", itoa(id), e.DistrictCode, e.TownshipCode, nil, out)
	})
	return out, err
}

// loadApplication reads an application the caller sees: its enterprise
// in their scope, and, for an institution's staff, addressed to them.
func (f *Function) loadApplication(ctx context.Context, q store.Querier, v viewer, id int64, lock bool) (Application, error) {
	a, err := getApplication(ctx, q, f.today(), id, lock)
	if err != nil {
		return Application{}, err
	}
	if v.kind == kindInstitution && a.InstitutionID != v.ref {
		return Application{}, errs.ErrNotFound
	}
	if v.kind == kindInstitution && a.Status == "pending_approval" {
		return Application{}, errs.ErrNotFound // not yet released to the institution
	}
	return a, f.mustSee(ctx, q, v, a.CreditCode, a.DistrictCode, a.townshipCode)
}

// GetApplication reads one application.
func (f *Function) GetApplication(ctx context.Context, v viewer, id int64) (Application, error) {
	return f.loadApplication(ctx, f.pool, v, id, false)
}

// ApprovalInput is the county bureau's decision on an application with
// overdue instruments.
type ApprovalInput struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note"`
}

// Approve releases (or refuses) an application with overdue instruments.
func (f *Function) Approve(ctx context.Context, v viewer, id int64, in ApprovalInput) (Application, error) {
	in.Note = strings.TrimSpace(in.Note)
	if !in.Approve && utf8.RuneCountInString(in.Note) < 2 {
		return Application{}, errs.Fields([]errs.FieldError{{Field: "note", Message: "不予批准时请填写理由"}})
	}
	if v.kind != kindRegulator {
		return Application{}, errs.New(errs.Forbidden, "超期器具的检定申请由县（市、区）局批准")
	}
	var out Application
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		a, err := f.loadApplication(ctx, tx, v, id, true)
		if err != nil {
			return err
		}
		if a.Status != "pending_approval" {
			return errs.New(errs.Conflict, "该申请不在待批准状态")
		}
		if err := approveApplication(ctx, tx, id, in, v.actor(), f.now()); err != nil {
			return err
		}
		if out, err = getApplication(ctx, tx, f.today(), id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.application.approve", "application", itoa(id), a.DistrictCode, a.townshipCode, a, out)
	})
	return out, err
}

// DecisionInput is the institution's answer to an application: accept
// it, return part of it (the instruments picked), or return all of it.
// A return needs a reason.
type DecisionInput struct {
	Action        string  `json:"action"`
	InstrumentIDs []int64 `json:"instrument_ids"`
	Reason        string  `json:"reason"`
}

// Validate checks the decision's shape.
func (in *DecisionInput) Validate() error {
	in.Reason = strings.TrimSpace(in.Reason)
	var fe []errs.FieldError
	switch in.Action {
	case "accept":
	case "partial_return":
		if len(in.InstrumentIDs) == 0 {
			fe = append(fe, errs.FieldError{Field: "instrument_ids", Message: "部分退回请选择要退回的器具"})
		}
		fallthrough
	case "full_return":
		if n := utf8.RuneCountInString(in.Reason); n < 2 || n > 500 {
			fe = append(fe, errs.FieldError{Field: "reason", Message: "退回须填写原因（2 至 500 个字）"})
		}
	default:
		fe = append(fe, errs.FieldError{Field: "action", Message: "处理方式应为 accept（受理）、partial_return（部分退回）或 full_return（全部退回）"})
	}
	return errs.Fields(fe)
}

// Decide records the institution's decision (FP-169). A partial return
// returns the picked instruments and accepts the rest; a full return puts
// every instrument on the returned list. Returns go to the county bureau
// for review.
func (f *Function) Decide(ctx context.Context, v viewer, id int64, in DecisionInput) (Application, error) {
	var out Application
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		a, err := f.loadApplication(ctx, tx, v, id, true)
		if err != nil {
			return err
		}
		if !v.actsFor(a.InstitutionID) {
			return errs.ErrNotFound
		}
		if a.Status != "submitted" {
			return errs.New(errs.Conflict, "该申请已处理或尚未获批准，不能再受理或退回")
		}
		returned := map[int64]bool{}
		switch in.Action {
		case "partial_return":
			for _, iid := range in.InstrumentIDs {
				if !slices.ContainsFunc(a.Items, func(it ApplicationItem) bool { return it.InstrumentID == iid }) {
					return errs.Fields([]errs.FieldError{{Field: "instrument_ids", Message: fmt.Sprintf("器具 %d 不在该申请中", iid)}})
				}
				returned[iid] = true
			}
			if len(returned) == len(a.Items) {
				return errs.Fields([]errs.FieldError{{Field: "instrument_ids", Message: "已选择全部器具，请使用“全部退回”"}})
			}
		case "full_return":
			for _, it := range a.Items {
				returned[it.InstrumentID] = true
			}
		}
		if err := decideItems(ctx, tx, id, returned, in.Reason, f.now()); err != nil {
			return err
		}
		if err := markDecided(ctx, tx, id, in, v.actor(), f.now()); err != nil {
			return err
		}
		if err := refreshApplicationStatus(ctx, tx, id, f.now()); err != nil {
			return err
		}
		if len(returned) > 0 {
			if err := notify.Post(ctx, tx, Source, notify.Notice{Title: fmt.Sprintf("检定机构退回 %d 台器具待复核：%s", len(returned), a.EnterpriseName),
				Body: "退回原因：" + in.Reason, Level: notify.LevelInfo, Kind: "metrology_return_review",
				Link: "/console/#/metrology/returns", Roles: []string{f.cfg.NoticeRole}, Subject: itoa(id), At: f.now()}); err != nil {
				return err
			}
		}
		if out, err = getApplication(ctx, tx, f.today(), id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.application."+in.Action, "application", itoa(id), a.DistrictCode, a.townshipCode, a, out)
	})
	return out, err
}

// ReviewInput is the county bureau's review of a returned instrument:
// uphold the return, or overturn it (the institution must then verify).
type ReviewInput struct {
	Decision string `json:"decision"`
	Note     string `json:"note"`
}

// Validate checks the review.
func (in *ReviewInput) Validate() error {
	in.Note = strings.TrimSpace(in.Note)
	var fe []errs.FieldError
	if in.Decision != "upheld" && in.Decision != "overturned" {
		fe = append(fe, errs.FieldError{Field: "decision", Message: "复核结论应为 upheld（维持退回）或 overturned（撤销退回）"})
	}
	if in.Decision == "overturned" && utf8.RuneCountInString(in.Note) < 2 {
		fe = append(fe, errs.FieldError{Field: "note", Message: "撤销退回时请填写理由"})
	}
	if utf8.RuneCountInString(in.Note) > 500 {
		fe = append(fe, errs.FieldError{Field: "note", Message: "复核意见不能超过 500 个字"})
	}
	return errs.Fields(fe)
}

// Review records the county bureau's review of a returned instrument.
func (f *Function) Review(ctx context.Context, v viewer, itemID int64, in ReviewInput) (ApplicationItem, error) {
	if v.kind != kindRegulator {
		return ApplicationItem{}, errs.New(errs.Forbidden, "退回复核由县（市、区）局办理")
	}
	var out ApplicationItem
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		appID, err := itemApplication(ctx, tx, itemID)
		if err != nil {
			return err
		}
		a, err := f.loadApplication(ctx, tx, v, appID, true)
		if err != nil {
			return err
		}
		it, ok := itemOf(a, itemID)
		if !ok || it.Review != "pending" {
			return errs.New(errs.Conflict, "该器具不在待复核的退回清单中")
		}
		if err := reviewItem(ctx, tx, itemID, in, v.actor(), f.now()); err != nil {
			return err
		}
		if err := refreshApplicationStatus(ctx, tx, appID, f.now()); err != nil {
			return err
		}
		a2, err := getApplication(ctx, tx, f.today(), appID, false)
		if err != nil {
			return err
		}
		out, _ = itemOf(a2, itemID)
		return f.audit(ctx, tx, v, "metrology.return.review", "application_item", itoa(itemID), a.DistrictCode, a.townshipCode, it, out)
	})
	return out, err
}

func itemOf(a Application, itemID int64) (ApplicationItem, bool) {
	for _, it := range a.Items {
		if it.ID == itemID {
			return it, true
		}
	}
	return ApplicationItem{}, false
}
