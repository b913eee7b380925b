package metrology

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Plan is an inspection plan (FP-168): the instrument users it picks,
// each with its mandatory-instrument statistics.
type Plan struct {
	ID           int64        `json:"id"`
	Name         string       `json:"name"`
	DistrictCode string       `json:"district_code"`
	DistrictName string       `json:"district_name"`
	StartsOn     string       `json:"starts_on"`
	EndsOn       string       `json:"ends_on"`
	Note         string       `json:"note"`
	CreatedBy    string       `json:"created_by"`
	CreatedAt    time.Time    `json:"created_at"`
	Targets      []PlanTarget `json:"targets"`
}

// PlanTarget is one instrument user of a plan with its statistics,
// history and the plans it is in.
type PlanTarget struct {
	CreditCode   string         `json:"credit_code"`
	Name         string         `json:"name"`
	DistrictName string         `json:"district_name"`
	Instruments  int            `json:"instruments"`
	InUse        int            `json:"in_use"`
	Overdue      int            `json:"overdue"`
	Verified     int            `json:"verified"`
	Failed       int            `json:"failed"`
	FieldRecords int            `json:"field_records"`
	History      []HistoryEntry `json:"history"`
	Plans        []PlanRef      `json:"plans"`
}

// HistoryEntry is a past verification or field record of an enterprise.
type HistoryEntry struct {
	Kind    string    `json:"kind"` // verification | field_record | penalty
	At      time.Time `json:"at"`
	Summary string    `json:"summary"`
	RefID   int64     `json:"ref_id"`
}

// PlanRef names a plan an enterprise is in.
type PlanRef struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	StartsOn string `json:"starts_on"`
	EndsOn   string `json:"ends_on"`
}

// PlanInput creates a plan.
type PlanInput struct {
	Name         string   `json:"name"`
	DistrictCode string   `json:"district_code"`
	StartsOn     string   `json:"starts_on"`
	EndsOn       string   `json:"ends_on"`
	Note         string   `json:"note"`
	CreditCodes  []string `json:"credit_codes"`
}

// Validate checks a plan.
func (in *PlanInput) Validate() error {
	in.Name, in.Note = strings.TrimSpace(in.Name), strings.TrimSpace(in.Note)
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "计划名称应为 2 至 100 个字"})
	}
	if err := codes.CheckDistrict(in.DistrictCode); err != nil {
		fe = append(fe, errs.FieldError{Field: "district_code", Message: errs.As(err).Message})
	}
	if !isDate(in.StartsOn) || !isDate(in.EndsOn) || in.EndsOn < in.StartsOn {
		fe = append(fe, errs.FieldError{Field: "ends_on", Message: "请填写计划起止日期（YYYY-MM-DD），结束不早于开始"})
	}
	switch n := len(in.CreditCodes); {
	case n == 0:
		fe = append(fe, errs.FieldError{Field: "credit_codes", Message: "请选择检查对象（使用单位）"})
	case n > 500:
		fe = append(fe, errs.FieldError{Field: "credit_codes", Message: "一个计划最多 500 家使用单位"})
	}
	for i, c := range in.CreditCodes {
		in.CreditCodes[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	slices.Sort(in.CreditCodes)
	in.CreditCodes = slices.Compact(in.CreditCodes)
	return errs.Fields(fe)
}

// CreatePlan creates an inspection plan of enterprises in the caller's
// scope.
func (f *Function) CreatePlan(ctx context.Context, v viewer, in PlanInput) (Plan, error) {
	if v.kind != kindRegulator {
		return Plan{}, errs.New(errs.Forbidden, "检查计划由市场监管部门制定")
	}
	if !v.scope.Allows(in.DistrictCode, "") {
		return Plan{}, errOutsideScope
	}
	var out Plan
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		for _, c := range in.CreditCodes {
			e, err := getEnterprise(ctx, tx, f.today(), c, false)
			if err == nil {
				var ok bool
				if ok, err = f.sees(ctx, tx, v, e.CreditCode, e.DistrictCode, e.TownshipCode); err == nil && !ok {
					err = errs.ErrNotFound
				}
			}
			if err != nil {
				if errs.CodeOf(err) == errs.NotFound {
					return &errs.Error{Code: errs.NotFound, Message: "所选使用单位不存在或不在您的数据权限范围内",
						Fields: []errs.FieldError{{Field: "credit_codes", Message: "不存在或不在您的数据权限范围内"}}}
				}
				return err
			}
		}
		id, err := insertPlan(ctx, tx, in, v.actor(), f.now())
		if err != nil {
			return err
		}
		if out, err = f.loadPlan(ctx, tx, v, id); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.plan.create", "plan", itoa(id), in.DistrictCode, "", nil, in)
	})
	return out, err
}

// GetPlan reads a plan with each target's statistics, history and plans.
func (f *Function) GetPlan(ctx context.Context, v viewer, id int64) (Plan, error) {
	return f.loadPlan(ctx, f.pool, v, id)
}

func (f *Function) loadPlan(ctx context.Context, q store.Querier, v viewer, id int64) (Plan, error) {
	p, err := getPlanRow(ctx, q, id)
	if err != nil {
		return Plan{}, err
	}
	if v.kind != kindRegulator || !v.scope.Allows(p.DistrictCode, "") {
		return Plan{}, errs.ErrNotFound
	}
	p.Targets, err = planTargets(ctx, q, f.today(), v, id)
	return p, err
}

// FieldRecord is an inspection record made on the phone (FP-168): text
// and photos, linked to an enterprise (and a plan and instrument).
type FieldRecord struct {
	ID             int64     `json:"id"`
	PlanID         *int64    `json:"plan_id"`
	PlanName       string    `json:"plan_name"`
	CreditCode     string    `json:"credit_code"`
	EnterpriseName string    `json:"enterprise_name"`
	DistrictName   string    `json:"district_name"`
	InstrumentID   *int64    `json:"instrument_id"`
	Inspector      string    `json:"inspector"`
	Text           string    `json:"text"`
	Photos         int       `json:"photos"`
	Longitude      *float64  `json:"longitude"`
	Latitude       *float64  `json:"latitude"`
	RecordedAt     time.Time `json:"recorded_at"`

	keys               []string
	district, township string
}

// FieldRecordInput is a record sent from the phone; Photos are the keys
// POST /metrology/v1/photos returned to the same account.
type FieldRecordInput struct {
	CreditCode   string   `json:"credit_code"`
	PlanID       *int64   `json:"plan_id"`
	InstrumentID *int64   `json:"instrument_id"`
	Text         string   `json:"text"`
	Photos       []string `json:"photos"`
	Longitude    *float64 `json:"longitude"`
	Latitude     *float64 `json:"latitude"`
}

// Validate checks a field record.
func (in *FieldRecordInput) Validate() error {
	in.CreditCode, in.Text = strings.ToUpper(strings.TrimSpace(in.CreditCode)), strings.TrimSpace(in.Text)
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(in.Text); n < 2 || n > 2000 {
		fe = append(fe, errs.FieldError{Field: "text", Message: "检查情况应为 2 至 2000 个字"})
	}
	if (in.Longitude == nil) != (in.Latitude == nil) ||
		(in.Longitude != nil && (*in.Longitude < 113 || *in.Longitude > 120 || *in.Latitude < 36 || *in.Latitude > 43)) {
		fe = append(fe, errs.FieldError{Field: "longitude", Message: "定位坐标不在河北省范围内"})
	}
	if in.Photos == nil {
		in.Photos = []string{}
	}
	return errs.Fields(fe)
}

func photoPrefix(username string) string {
	return "metrology/photos/" + hex.EncodeToString([]byte(username)) + "/"
}

// UploadPhoto stores one photo for a field record the same account is
// about to send and returns its key.
func (f *Function) UploadPhoto(ctx context.Context, v viewer, r io.Reader, contentType string) (string, error) {
	if v.kind != kindRegulator {
		return "", errs.New(errs.Forbidden, "现场检查照片由检查人员上传")
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(f.cfg.MaxPhotoBytes)+1))
	if err != nil {
		return "", errs.Wrap(errs.Invalid, "读取照片失败", err)
	}
	if len(data) > f.cfg.MaxPhotoBytes {
		return "", errs.New(errs.Invalid, "照片过大，请压缩后上传")
	}
	ext := ""
	switch http.DetectContentType(data) {
	case "image/jpeg":
		ext, contentType = ".jpg", "image/jpeg"
	case "image/png":
		ext, contentType = ".png", "image/png"
	default:
		return "", errs.New(errs.Invalid, "只能上传 JPEG 或 PNG 照片")
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	key := photoPrefix(v.username) + f.now().Format("20060102") + "-" + hex.EncodeToString(b) + ext
	if _, err := f.blob.Put(ctx, key, bytes.NewReader(data), contentType); err != nil {
		return "", errs.Wrap(errs.Unavailable, "照片保存失败，请稍后重试", err)
	}
	return key, nil
}

// RecordField stores a field record. The city bureau's view lists it.
func (f *Function) RecordField(ctx context.Context, v viewer, in FieldRecordInput) (FieldRecord, error) {
	if v.kind != kindRegulator {
		return FieldRecord{}, errs.New(errs.Forbidden, "现场检查记录由检查人员填写")
	}
	if len(in.Photos) > f.cfg.MaxPhotos {
		return FieldRecord{}, errs.Fields([]errs.FieldError{{Field: "photos", Message: "照片过多"}})
	}
	for _, k := range in.Photos {
		if !strings.HasPrefix(k, photoPrefix(v.username)) {
			return FieldRecord{}, errs.Fields([]errs.FieldError{{Field: "photos", Message: "照片不存在，请重新上传"}})
		}
		if _, err := f.blob.Stat(ctx, k); err != nil {
			return FieldRecord{}, errs.Fields([]errs.FieldError{{Field: "photos", Message: "照片不存在，请重新上传"}})
		}
	}
	var out FieldRecord
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := getEnterprise(ctx, tx, f.today(), in.CreditCode, false)
		if err != nil {
			return err
		}
		if err := f.mustSee(ctx, tx, v, e.CreditCode, e.DistrictCode, e.TownshipCode); err != nil {
			return err
		}
		if in.InstrumentID != nil {
			inst, err := getInstrument(ctx, tx, f.today(), *in.InstrumentID, false)
			if err != nil || inst.CreditCode != e.CreditCode {
				return errs.Fields([]errs.FieldError{{Field: "instrument_id", Message: "器具不存在或不属于该单位"}})
			}
		}
		if in.PlanID != nil {
			if ok, err := planHasTarget(ctx, tx, *in.PlanID, e.CreditCode); err != nil || !ok {
				return firstErr(err, errs.Fields([]errs.FieldError{{Field: "plan_id", Message: "该单位不在所选检查计划中"}}))
			}
		}
		id, err := insertFieldRecord(ctx, tx, in, v.actor(), f.now())
		if err != nil {
			return err
		}
		if out, err = getFieldRecord(ctx, tx, id); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.field_record.create", "field_record", itoa(id), e.DistrictCode, e.TownshipCode, nil, out)
	})
	return out, err
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Photo opens photo n (1-based) of a field record the caller sees.
func (f *Function) Photo(ctx context.Context, v viewer, id int64, n int) (io.ReadCloser, string, error) {
	rec, err := getFieldRecord(ctx, f.pool, id)
	if err != nil {
		return nil, "", err
	}
	if v.kind != kindRegulator {
		return nil, "", errs.ErrNotFound
	}
	if err := f.mustSee(ctx, f.pool, v, rec.CreditCode, rec.district, rec.township); err != nil {
		return nil, "", err
	}
	if n < 1 || n > len(rec.keys) {
		return nil, "", errs.New(errs.NotFound, "照片不存在")
	}
	rc, info, err := f.blob.Get(ctx, rec.keys[n-1])
	if err != nil {
		return nil, "", errs.Wrap(errs.NotFound, "照片不存在", err)
	}
	return rc, info.ContentType, nil
}
