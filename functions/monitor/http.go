package monitor

import (
	_ "embed"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/tabular"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/monitor/v1/openapi.yaml", openapi }

// Permission resources, listed in shared/auth's catalogue.
const (
	PermModel  = "monitor.model"  // view, create (and run)
	PermClue   = "monitor.clue"   // view, review, export
	PermCredit = "monitor.credit" // view, edit (weights and records)
)

// Handler serves the API behind token verification.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	m.Handle("GET /monitor/v1/rules", httpx.Endpoint(f.listRules), auth.Requires(PermModel, "view"), httpx.NoEntity())
	// FP-88: monitoring models and their runs.
	m.Handle("GET /monitor/v1/models", httpx.Endpoint(f.listModels), auth.Requires(PermModel, "view"), httpx.NoEntity(), httpx.Params(httpx.PageParams...))
	m.Handle("POST /monitor/v1/models", httpx.Body(f.createModel), auth.Requires(PermModel, "create"), httpx.NoEntity())
	m.Handle("POST /monitor/v1/models/{id}/run", httpx.Endpoint(f.runModel), auth.Requires(PermModel, "create"), httpx.NoEntity())
	// FP-88: clues, their review and per-rule precision; FP-91: export.
	m.Handle("GET /monitor/v1/clues", httpx.Endpoint(f.listClues), auth.Requires(PermClue, "view"), httpx.EntityListing(),
		httpx.Params(append([]string{"model", "status", "rule"}, httpx.PageParams...)...))
	m.Handle("POST /monitor/v1/clues/{id}/review", httpx.Body(f.review), auth.Requires(PermClue, "review"), httpx.NoEntity())
	m.Handle("GET /monitor/v1/stats/rules", httpx.Endpoint(f.stats), auth.Requires(PermClue, "view"), httpx.NoEntity())
	m.HandleFunc("GET /monitor/v1/clues/export", f.export, auth.Requires(PermClue, "export"), httpx.EntityListing(),
		httpx.Params("model", "status", "rule", "format"))
	f.creditRoutes(m)
	f.streamRoutes(m)
	f.behaviourRoutes(m)
	return m
}

func (f *Function) listRules(*http.Request) (any, error) { return append(Rules(), licenceRule), nil }

// ModelInput is what a client sends to create a monitoring model.
type ModelInput struct {
	Name       string   `json:"name"`
	Districts  []string `json:"districts"`
	Types      []string `json:"types"`
	Platforms  []string `json:"platforms"`
	WindowDays int      `json:"window_days"`
}

var knownTypes = map[string]bool{"advertising": true, "prohibited": true, "claims": true, "disclosure": true}

func (in ModelInput) validate() error {
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Name)); n == 0 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写模型名称（不超过100字）"})
	}
	if len(in.Types) == 0 {
		fe = append(fe, errs.FieldError{Field: "types", Message: "请至少选择一种违法类型"})
	}
	for _, t := range in.Types {
		if !knownTypes[t] {
			fe = append(fe, errs.FieldError{Field: "types", Message: "未知的违法类型：" + t})
		}
	}
	if in.WindowDays < 1 || in.WindowDays > 3650 {
		fe = append(fe, errs.FieldError{Field: "window_days", Message: "时间范围应为 1 至 3650 天"})
	}
	return errs.Fields(fe)
}

func user(r *http.Request) string {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.Username
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (f *Function) createModel(r *http.Request, in ModelInput) (any, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var m Model
	err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		var err error
		if m, err = insertModel(r.Context(), tx, Model{Name: strings.TrimSpace(in.Name), Districts: nonNil(in.Districts), Types: in.Types,
			Platforms: nonNil(in.Platforms), WindowDays: in.WindowDays, CreatedBy: user(r), CreatedAt: f.now()}); err != nil {
			return err
		}
		// FP-8: a monitoring model decides what becomes a clue, so who set it up is kept.
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{Action: "monitor.model.create",
			ObjectType: "monitor.model", ObjectID: strconv.FormatInt(m.ID, 10), After: m})
	})
	if err != nil {
		return nil, store.Classify(err)
	}
	return httpx.Created(m, ""), nil
}

func (f *Function) listModels(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	out, total, err := listModels(r.Context(), f.pool, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(out, total, page), nil
}

// RunResult is what a run found.
type RunResult struct {
	Found int `json:"found"`
	Added int `json:"added"`
}

func pathID(r *http.Request, msg string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, errs.New(errs.NotFound, msg)
	}
	return id, nil
}

func (f *Function) runModel(r *http.Request) (any, error) {
	id, err := pathID(r, "监测模型不存在")
	if err != nil {
		return nil, err
	}
	found, added, err := f.RunModel(r.Context(), id)
	return RunResult{Found: found, Added: added}, err
}

func clueFilter(r *http.Request) (ClueFilter, error) {
	q := r.URL.Query()
	fl := ClueFilter{Status: q.Get("status"), RuleID: q.Get("rule"), Scope: scopeOf(r)}
	if s := q.Get("model"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fl, errs.New(errs.Invalid, "模型编号应为数字")
		}
		fl.ModelID = id
	}
	return fl, nil
}

func (f *Function) listClues(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	fl, err := clueFilter(r)
	if err != nil {
		return nil, err
	}
	out, total, err := listClues(r.Context(), f.pool, fl, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(out, total, page), nil
}

// ReviewInput decides a clue: confirm, dismiss (a reason required) or case.
type ReviewInput struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
}

func (f *Function) review(r *http.Request, in ReviewInput) (any, error) {
	id, err := pathID(r, "线索不存在")
	if err != nil {
		return nil, err
	}
	status := map[string]string{"confirm": "confirmed", "dismiss": "dismissed", "case": "case"}[in.Action]
	in.Reason = strings.TrimSpace(in.Reason)
	switch {
	case status == "":
		return nil, errs.Fields([]errs.FieldError{{Field: "action", Message: "处理方式应为 confirm、dismiss 或 case"}})
	case status == "dismissed" && in.Reason == "":
		return nil, errs.Fields([]errs.FieldError{{Field: "reason", Message: "排除线索须填写理由"}})
	}
	var c Clue
	now := f.now()
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		// The log keeps what the review replaced; a clue that is not there
		// (or out of scope) is refused by reviewClue below.
		var before map[string]string
		var oldStatus, oldReason string
		if err := tx.QueryRow(r.Context(), `SELECT status, coalesce(reason, '') FROM monitor.clues WHERE id = $1 FOR UPDATE`, id).
			Scan(&oldStatus, &oldReason); err == nil {
			before = map[string]string{"status": oldStatus, "reason": oldReason}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return store.Classify(err)
		}
		if c, err = reviewClue(r.Context(), tx, id, status, in.Reason, user(r), now, scopeOf(r)); err != nil {
			return err
		}
		// FP-87: a confirmed clue costs the entity more than an open one, a
		// dismissed one nothing, so the grade follows the review.
		if _, err := recompute(r.Context(), tx, []string{c.CreditCode}, "线索研判："+itoa(c.ID)+" "+statusNames[status], now); err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{Action: "monitor.clue.review",
			ObjectType: "monitor.clue", ObjectID: itoa(c.ID), DistrictCode: districtCode(c.District),
			Before: before, After: map[string]string{"status": status, "reason": in.Reason}})
	})
	return c, err
}

// scopeOf is the caller's data scope; no principal sees nothing.
func scopeOf(r *http.Request) auth.Scope {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.Scope
	}
	return auth.Scope{}
}

func (f *Function) stats(r *http.Request) (any, error) {
	return ruleStats(r.Context(), f.pool, scopeOf(r))
}

var statusNames = map[string]string{"open": "待研判", "confirmed": "已确认", "dismissed": "已排除", "case": "已移送立案"}

// export answers the clues as XLSX (FP-91), up to 100 000 rows.
func (f *Function) export(w http.ResponseWriter, r *http.Request) {
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	fl, err := clueFilter(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	clues, _, err := listClues(r.Context(), f.pool, fl, httpx.Page{Page: 1, Size: f.cfg.MaxExport})
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	t := tabular.Table{Header: []string{"编号", "规则", "规则版本", "法律依据", "命中词", "证据片段", "对象", "地址", "主体名称", "统一社会信用代码", "地区", "平台类型", "状态", "理由", "发现时间"}}
	for _, c := range clues {
		t.Rows = append(t.Rows, []any{c.ID, c.RuleName, c.RuleVersion, c.Article, c.Term, c.Snippet, c.ObjectName, c.ObjectURL, c.EntityName,
			c.CreditCode, c.District, c.Platform, statusNames[c.Status], c.Reason, c.CreatedAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")})
	}
	if err := tabular.Serve(w, "监测线索_"+f.now().Format("20060102150405"), format, t); err != nil {
		f.log.WarnContext(r.Context(), "export cut short", "err", err)
	}
}
