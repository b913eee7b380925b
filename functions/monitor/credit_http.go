package monitor

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// creditRoutes are FP-87's routes: grades, their explanation and history,
// the records that feed them, and the versioned weights.
func (f *Function) creditRoutes(m *httpx.Mux) {
	m.Handle("GET /monitor/v1/credit/grades", httpx.Endpoint(f.listGrades), auth.Requires(PermCredit, "view"), httpx.EntityListing(), // FP-87 partly: records are entered, no adapters to the public credit sources yet; the grade's interval drives no schedule yet
		httpx.Params(append([]string{"grade", "district", "q"}, httpx.PageParams...)...))
	m.Handle("GET /monitor/v1/credit/summary", httpx.Endpoint(f.gradeSummary), auth.Requires(PermCredit, "view"), httpx.NoEntity())            // FP-87
	m.Handle("GET /monitor/v1/credit/grades/{code}", httpx.Endpoint(f.getGrade), auth.Requires(PermCredit, "view"), httpx.EntityIn("code"))    // FP-87
	m.Handle("POST /monitor/v1/credit/records", httpx.Body(f.addRecord), auth.Requires(PermCredit, "edit"), httpx.EntityInBody("credit_code")) // FP-87
	m.Handle("GET /monitor/v1/credit/weights", httpx.Endpoint(f.listWeights), auth.Requires(PermCredit, "view"), httpx.NoEntity())             // FP-87
	m.Handle("PUT /monitor/v1/credit/weights", httpx.Body(f.putWeights), auth.Requires(PermCredit, "edit"), httpx.NoEntity())                  // FP-87
}

var gradeSet = map[string]bool{"A": true, "B": true, "C": true, "D": true}

func (f *Function) listGrades(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	fl := GradeFilter{Grade: strings.ToUpper(q.Get("grade")), District: q.Get("district"), Q: strings.TrimSpace(q.Get("q")), Scope: scopeOf(r)}
	if fl.Grade != "" && !gradeSet[fl.Grade] {
		return nil, errs.Fields([]errs.FieldError{{Field: "grade", Message: "信用等级应为 A、B、C 或 D"}})
	}
	out, total, err := listGrades(r.Context(), f.pool, fl, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(out, total, page), nil
}

func (f *Function) gradeSummary(r *http.Request) (any, error) {
	return gradeCounts(r.Context(), f.pool, scopeOf(r))
}

func (f *Function) getGrade(r *http.Request) (any, error) {
	return getGrade(r.Context(), f.pool, r.PathValue("code"), scopeOf(r))
}

// RecordInput is a public credit record to weigh in an entity's grade.
type RecordInput struct {
	CreditCode string `json:"credit_code"`
	EntityName string `json:"entity_name"`
	District   string `json:"district"`
	Kind       string `json:"kind"`
	Ref        string `json:"ref"`
	Detail     string `json:"detail"`
	OccurredAt string `json:"occurred_at"` // RFC 3339 or 2006-01-02
}

// RecordResult is the stored record and the grade it led to.
type RecordResult struct {
	Record CreditRecord `json:"record"`
	Added  bool         `json:"added"` // false: the record was already there
	Grade  CreditGrade  `json:"grade"`
}

func (f *Function) addRecord(r *http.Request, in RecordInput) (any, error) {
	var fe []errs.FieldError
	in.CreditCode = strings.TrimSpace(in.CreditCode)
	if err := codes.CheckCreditCode(in.CreditCode); err != nil {
		fe = append(fe, errs.FieldError{Field: "credit_code", Message: "统一社会信用代码无效"})
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.EntityName)); n == 0 || n > 200 {
		fe = append(fe, errs.FieldError{Field: "entity_name", Message: "请填写主体名称（不超过200字）"})
	}
	dc := districtCode(in.District)
	if dc == "" {
		fe = append(fe, errs.FieldError{Field: "district", Message: "请填写本市的区县名称或代码"})
	}
	if !recordKinds[in.Kind] {
		fe = append(fe, errs.FieldError{Field: "kind", Message: "记录类型应为 penalty、abnormal、judgment、dishonest 或 complaint"})
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Ref)); n == 0 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "ref", Message: "请填写记录编号（文书号、投诉单号等，不超过100字）"})
	}
	if utf8.RuneCountInString(in.Detail) > 1000 {
		fe = append(fe, errs.FieldError{Field: "detail", Message: "记录内容不超过1000字"})
	}
	at, err := time.Parse(time.RFC3339, in.OccurredAt)
	if err != nil {
		at, err = time.ParseInLocation("2006-01-02", in.OccurredAt, time.FixedZone("CST", 8*3600))
	}
	if err != nil {
		fe = append(fe, errs.FieldError{Field: "occurred_at", Message: "发生日期格式应为 2006-01-02"})
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	// The record's district must be one the caller may write for.
	if !scopeOf(r).Allows(dc, "") {
		return nil, errs.New(errs.NotFound, "该主体不在您的数据范围内")
	}
	now := f.now()
	var res RecordResult
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		var err error
		res.Record, res.Added, err = insertRecord(r.Context(), tx, CreditRecord{CreditCode: in.CreditCode, EntityName: strings.TrimSpace(in.EntityName),
			District: strings.TrimSpace(in.District), Kind: in.Kind, Ref: strings.TrimSpace(in.Ref), Detail: strings.TrimSpace(in.Detail),
			OccurredAt: at, CreatedBy: user(r), CreatedAt: now})
		if err != nil || !res.Added {
			return err
		}
		if _, err := recompute(r.Context(), tx, []string{in.CreditCode}, "信用记录："+factorNames[in.Kind]+" "+res.Record.Ref, now); err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{Action: "monitor.credit.record",
			ObjectType: "monitor.credit_record", ObjectID: itoa(res.Record.ID), DistrictCode: dc, After: res.Record})
	})
	if err != nil {
		return nil, err
	}
	res.Grade, err = getGrade(r.Context(), f.pool, in.CreditCode, auth.All())
	if err != nil {
		return nil, err
	}
	res.Grade.History = nil
	if res.Added {
		return httpx.Created(res, ""), nil
	}
	return res, nil
}

func (f *Function) listWeights(r *http.Request) (any, error) {
	if _, err := currentWeights(r.Context(), f.pool, f.now()); err != nil {
		return nil, err
	}
	return listWeights(r.Context(), f.pool)
}

// WeightsInput is a new version of the grading model.
type WeightsInput struct {
	Weights Weights `json:"weights"`
	Note    string  `json:"note"`
}

// WeightsResult is the stored version and how many entities were regraded.
type WeightsResult struct {
	Version  WeightsVersion `json:"version"`
	Regraded int            `json:"regraded"`
}

func (f *Function) putWeights(r *http.Request, in WeightsInput) (any, error) {
	if err := in.Weights.validate(); err != nil {
		return nil, err
	}
	in.Note = strings.TrimSpace(in.Note)
	if n := utf8.RuneCountInString(in.Note); n == 0 || n > 200 {
		return nil, errs.Fields([]errs.FieldError{{Field: "note", Message: "请填写调整说明（不超过200字）"}})
	}
	// Weights apply city-wide, so only a city-wide user may change them.
	if scopeOf(r).Kind != auth.ScopeAll {
		return nil, errs.New(errs.Forbidden, "信用评价模型须由市级用户调整")
	}
	now := f.now()
	var res WeightsResult
	err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		old, err := currentWeights(r.Context(), tx, now)
		if err != nil {
			return err
		}
		if res.Version, err = insertWeights(r.Context(), tx, in.Weights, in.Note, user(r), now); err != nil {
			return err
		}
		all, err := gradedCodes(r.Context(), tx)
		if err != nil {
			return err
		}
		if res.Regraded, err = recompute(r.Context(), tx, all, "评价模型调整为第 "+itoa(int64(res.Version.Version))+" 版", now); err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{Action: "monitor.credit.weights",
			ObjectType: "monitor.credit_weights", ObjectID: itoa(int64(res.Version.Version)), Before: old.Weights, After: in.Weights})
	})
	return res, err
}
