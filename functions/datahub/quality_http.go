package datahub

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/tabular"
)

// PermQuality: view (rules, scores, one's department's issues), manage
// (configure rules, run, see every department's issues), handle (fix or
// explain one's own department's issues).
const PermQuality = "datahub.quality"

// QualityTask is the PingSource data task that runs the quality rules.
const QualityTask = "datahub-quality"

func (f *Function) qualityRoutes(m *httpx.Mux) {
	// FP-98: quality rules, runs, scores with their trend, issues with the repair workflow.
	m.Handle("GET /datahub/v1/quality/kinds", httpx.Endpoint(f.qualityKinds), auth.Requires(PermQuality, "view"), httpx.NoEntity())
	// FP-98
	m.Handle("GET /datahub/v1/quality/rules", httpx.Endpoint(f.listQualityRules), auth.Requires(PermQuality, "view"), httpx.NoEntity(),
		httpx.Params("dataset"))
	// FP-98
	m.Handle("POST /datahub/v1/quality/rules", httpx.Body(f.createQualityRule), auth.Requires(PermQuality, "manage"), httpx.NoEntity())
	// FP-98
	m.Handle("POST /datahub/v1/quality/rules/{id}/disable", httpx.Endpoint(f.disableQualityRule), auth.Requires(PermQuality, "manage"), httpx.NoEntity())
	// FP-98
	m.Handle("POST /datahub/v1/quality/runs", httpx.Endpoint(f.runQuality), auth.Requires(PermQuality, "manage"), httpx.NoEntity())
	// FP-98
	m.Handle("GET /datahub/v1/quality/runs", httpx.Endpoint(f.qualityRuns), auth.Requires(PermQuality, "view"), httpx.NoEntity())
	// FP-98
	m.Handle("GET /datahub/v1/quality/scores", httpx.Endpoint(f.qualityScores), auth.Requires(PermQuality, "view"), httpx.NoEntity(),
		httpx.Params("dataset", "runs"))
	// FP-98
	m.Handle("GET /datahub/v1/quality/issues", http.HandlerFunc(f.serveIssues), auth.Requires(PermQuality, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"dataset", "status", "rule_id", "q", "format"}, httpx.PageParams...)...))
	// FP-98
	m.Handle("GET /datahub/v1/quality/issues/{id}", httpx.Endpoint(f.getQualityIssue), auth.Requires(PermQuality, "view"), httpx.NoEntity())
	// FP-98
	m.Handle("POST /datahub/v1/quality/issues/{id}/fix", httpx.Body(f.fixIssue), auth.Requires(PermQuality, "handle"), httpx.NoEntity())
	// FP-98
	m.Handle("POST /datahub/v1/quality/issues/{id}/explain", httpx.Body(f.explainIssue), auth.Requires(PermQuality, "handle"), httpx.NoEntity())
}

func (f *Function) qualityKinds(*http.Request) (any, error) {
	var tables []map[string]string
	for _, c := range []string{"credit_code", "district", "township", "industry", "id_number"} {
		tables = append(tables, map[string]string{"code": c, "title": refTables[c]})
	}
	var kinds []map[string]string
	for _, k := range KindTitles {
		kinds = append(kinds, map[string]string{"kind": k.Kind, "title": k.Title})
	}
	return map[string]any{"kinds": kinds, "tables": tables, "statuses": IssueStatusTitles}, nil
}

func (f *Function) listQualityRules(r *http.Request) (any, error) {
	ds := r.URL.Query().Get("dataset")
	if ds != "" && f.catalogue[ds] == nil {
		return nil, errs.Fields([]errs.FieldError{{Field: "dataset", Message: "数据集“" + clip(ds) + "”不存在"}})
	}
	items, err := listRules(r.Context(), f.pool, ds, false)
	return map[string]any{"items": items}, err
}

func (f *Function) createQualityRule(r *http.Request, in RuleInput) (any, error) {
	p, _ := auth.FromContext(r.Context())
	ch, err := in.validate(f.catalogue)
	if err != nil {
		return nil, err
	}
	rule := ch.Rule
	rule.DeptID, rule.DeptName = strings.TrimSpace(in.DeptID), strings.TrimSpace(in.DeptName)
	if rule.DeptID == "" {
		rule.DeptID = p.DeptID
	}
	if rule.DeptID == "" {
		return nil, errs.Fields([]errs.FieldError{{Field: "dept_id", Message: "请指定负责整改的部门"}})
	}
	if rule.DeptName == "" {
		rule.DeptName = f.catalogue[rule.Dataset].Owner
	}
	rule.CreatedBy, rule.CreatedAt = p.UserID, f.now()
	if err := f.change(r, "datahub.quality.rule.create", "datahub_quality_rule", func(tx pgx.Tx) (string, any, any, error) {
		var err error
		rule, err = insertRule(r.Context(), tx, rule)
		return strconv.FormatInt(rule.ID, 10), nil, rule, err
	}); err != nil {
		return nil, err
	}
	return httpx.Created(rule, "/datahub/v1/quality/rules/"+strconv.FormatInt(rule.ID, 10)), nil
}

func (f *Function) disableQualityRule(r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errs.New(errs.NotFound, "质量规则不存在")
	}
	var after Rule
	err = f.change(r, "datahub.quality.rule.disable", "datahub_quality_rule", func(tx pgx.Tx) (string, any, any, error) {
		before, a, err := setRuleEnabled(r.Context(), tx, id, false)
		after = a
		return strconv.FormatInt(id, 10), before, a, err
	})
	return after, err
}

func (f *Function) runQuality(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	run, err := f.RunQuality(r.Context(), "api", p.Username)
	if err != nil {
		return nil, err
	}
	// The run itself is one operation-log row (who ran it, what it found).
	if err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{
			Action: "datahub.quality.run", ObjectType: "datahub_quality_run", ObjectID: strconv.FormatInt(run.ID, 10), After: run})
	}); err != nil {
		return nil, err
	}
	return run, nil
}

// receivePing runs the quality rules on the PingSource's tick.
func (f *Function) receivePing(ctx context.Context, data events.PingData) error {
	if data["task"] != QualityTask {
		return nil // another schedule's tick
	}
	run, err := f.RunQuality(ctx, "schedule", "system:datahub")
	if errs.CodeOf(err) == errs.Conflict {
		return nil // a run is under way: this tick is covered
	}
	if err != nil {
		return err
	}
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(ctx, tx, Source, auditlog.System(Name), auditlog.Operation{
			Action: "datahub.quality.run", ObjectType: "datahub_quality_run", ObjectID: strconv.FormatInt(run.ID, 10), After: run})
	})
}

func (f *Function) qualityRuns(r *http.Request) (any, error) {
	items, err := listQualityRuns(r.Context(), f.pool, 100)
	return map[string]any{"items": items}, err
}

func (f *Function) qualityScores(r *http.Request) (any, error) {
	q := r.URL.Query()
	ds := q.Get("dataset")
	if ds != "" && f.catalogue[ds] == nil {
		return nil, errs.Fields([]errs.FieldError{{Field: "dataset", Message: "数据集“" + clip(ds) + "”不存在"}})
	}
	runs := 30
	if s := q.Get("runs"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 365 {
			return nil, errs.Fields([]errs.FieldError{{Field: "runs", Message: "趋势的运行次数应为 1 至 365"}})
		}
		runs = n
	}
	latest, err := latestScores(r.Context(), f.pool, ds)
	if err != nil {
		return nil, err
	}
	trend, err := scoreTrend(r.Context(), f.pool, ds, runs)
	if err != nil {
		return nil, err
	}
	return map[string]any{"latest": latest, "trend": trend}, nil
}

func (f *Function) issueFilter(r *http.Request) (IssueFilter, error) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	fl := IssueFilter{All: p.Can(PermQuality, "manage"), Dept: p.DeptID, Dataset: q.Get("dataset"), Status: q.Get("status"),
		Q: strings.TrimSpace(q.Get("q"))}
	var fe []errs.FieldError
	if fl.Dataset != "" && f.catalogue[fl.Dataset] == nil {
		fe = append(fe, errs.FieldError{Field: "dataset", Message: "数据集“" + clip(fl.Dataset) + "”不存在"})
	}
	if _, ok := IssueStatusTitles[fl.Status]; fl.Status != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "status", Message: "状态应为 open、fixed、explained、closed 之一"})
	}
	if s := q.Get("rule_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: "rule_id", Message: "规则编号应为整数"})
		}
		fl.RuleID = n
	}
	return fl, errs.Fields(fe)
}

// serveIssues answers the caller's department's issues (every
// department's with manage) as a page, or as CSV/XLSX with format=.
func (f *Function) serveIssues(w http.ResponseWriter, r *http.Request) {
	v, err := f.issues(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if x, ok := v.(exportReply); ok {
		if err := tabular.Serve(w, x.name+"_"+f.now().In(beijing).Format("20060102150405"), x.format, x.table); err != nil {
			f.log.Error("datahub: issue export", "err", err)
		}
		return
	}
	httpx.Write(w, v)
}

func (f *Function) issues(r *http.Request) (any, error) {
	fl, err := f.issueFilter(r)
	if err != nil {
		return nil, err
	}
	if s := r.URL.Query().Get("format"); s != "" {
		fm, err := tabular.ParseFormat(s, tabular.CSV)
		if err != nil {
			return nil, err
		}
		items, _, err := listIssues(r.Context(), f.pool, fl, f.cfg.MaxExportRows, 0)
		if err != nil {
			return nil, err
		}
		t := tabular.Table{Header: []string{"编号", "数据集", "字段", "规则", "记录标识", "值", "问题", "责任部门", "区县", "状态", "处理说明", "处理人", "处理时间", "发现时间"}}
		for _, x := range items {
			ds, field := x.Dataset, x.Field
			if d := f.catalogue[x.Dataset]; d != nil {
				ds = d.Title
				if fd, ok := d.field(x.Field); ok {
					field = fd.Title
				}
			}
			var handled any
			if x.HandledAt != nil {
				handled = *x.HandledAt
			}
			t.Rows = append(t.Rows, []any{x.ID, ds, field, x.RuleTitle, x.RowKey, x.Value, x.Message, x.DeptName, x.DistrictCode,
				IssueStatusTitles[x.Status], x.Note, x.HandledName, handled, x.CreatedAt})
		}
		return exportReply{name: "数据质量问题", format: fm, table: t}, nil
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := listIssues(r.Context(), f.pool, fl, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

// visibleIssue is the issue named by the path if the caller may see it:
// their department's, or any with manage. Another's answers not found.
func (f *Function) visibleIssue(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, r *http.Request, lock bool) (Issue, error) {
	p, _ := auth.FromContext(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return Issue{}, errs.New(errs.NotFound, "质量问题不存在")
	}
	x, err := getIssue(ctx, q, id, lock)
	if err != nil {
		return x, err
	}
	if x.DeptID != p.DeptID && !p.Can(PermQuality, "manage") {
		return Issue{}, errs.New(errs.NotFound, "质量问题不存在")
	}
	return x, nil
}

func (f *Function) getQualityIssue(r *http.Request) (any, error) {
	return f.visibleIssue(r.Context(), f.pool, r, false)
}

// HandleInput is a fix or an explanation.
type HandleInput struct {
	Note string `json:"note"`
}

func (f *Function) fixIssue(r *http.Request, in HandleInput) (any, error) {
	return f.handle(r, "fix", in)
}

func (f *Function) explainIssue(r *http.Request, in HandleInput) (any, error) {
	return f.handle(r, "explain", in)
}

// handle is the repair workflow: only the owning department acts on its
// issue (a manager of another department sees it but cannot act), an open
// issue can be fixed or explained, a fixed one explained, an explained one
// fixed; a closed one is done.
func (f *Function) handle(r *http.Request, action string, in HandleInput) (any, error) {
	p, _ := auth.FromContext(r.Context())
	note := strings.TrimSpace(in.Note)
	if n := utf8.RuneCountInString(note); action == "explain" && n == 0 {
		return nil, errs.Fields([]errs.FieldError{{Field: "note", Message: "请说明该值为何无需更正"}})
	} else if action == "fix" && n == 0 {
		return nil, errs.Fields([]errs.FieldError{{Field: "note", Message: "请说明在源系统中如何更正"}})
	} else if n > 500 {
		return nil, errs.Fields([]errs.FieldError{{Field: "note", Message: "说明不超过 500 字"}})
	}
	var out Issue
	err := f.change(r, "datahub.quality.issue."+action, "datahub_quality_issue", func(tx pgx.Tx) (string, any, any, error) {
		before, err := f.visibleIssue(r.Context(), tx, r, true)
		if err != nil {
			return "", nil, nil, err
		}
		if before.DeptID != p.DeptID {
			return "", nil, nil, errs.New(errs.Forbidden, "该问题由“"+before.DeptName+"”负责整改，您所在部门不能处理")
		}
		switch {
		case before.Status == "closed":
			return "", nil, nil, errs.New(errs.Conflict, "该问题已复查通过并关闭，无需处理")
		case action == "fix" && before.Status == "fixed", action == "explain" && before.Status == "explained":
			return "", nil, nil, errs.New(errs.Conflict, "该问题已是“"+IssueStatusTitles[before.Status]+"”状态")
		}
		before.Events = nil
		out, err = handleIssue(r.Context(), tx, before.ID, action, note, p.UserID, p.Name, f.now())
		after := out
		after.Events = nil
		return strconv.FormatInt(before.ID, 10), before, after, err
	})
	return out, err
}
