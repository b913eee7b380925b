package audit

import (
	_ "embed"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/tabular"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is audit's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/audit/v1/openapi.yaml", openapi }

// audit's permission resources, as identity's role editor offers them.
const (
	PermLog   = "audit.log"   // view, export
	PermAlert = "audit.alert" // view
)

// Roles that alone may read the logs (audit administrator) and the alerts
// (security administrator): 三员分立, so holding the permission without the
// role is not enough.
const (
	RoleAuditor  = "auditor"
	RoleSecAdmin = "secadmin"
)

const (
	msgAuditorOnly  = "仅审计管理员可查看和导出日志"
	msgSecAdminOnly = "仅安全管理员可查看安全告警"
)

// onlyRole refuses a caller without role, after the permission check.
func onlyRole(role, msg string) httpx.Option {
	return httpx.NewOption(nil, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := auth.FromContext(r.Context())
			switch {
			case !ok:
				httpx.Fail(w, r, errs.New(errs.Unauthorized, auth.MsgLoginRequired))
			case !p.HasRole(role):
				httpx.Fail(w, r, errs.New(errs.Forbidden, msg))
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
}

// The query parameters of each list; exports take the same without
// paging, plus format.
var (
	loginParams = []string{"from", "to", "user", "ip", "result", "q", "sort"}
	opParams    = []string{"from", "to", "user", "ip", "action", "result", "object_type", "object_id", "q", "sort"}
	alertParams = []string{"from", "to", "user", "ip", "kind", "q", "sort"}
)

// Handler serves audit's API behind token verification (FP-9). The logs
// are for the audit administrator alone, the alerts for the security
// administrator alone. The operation log holds operations on market
// entities, so it is also confined to the reader's data scope.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	view := []httpx.Option{auth.Requires(PermLog, "view"), onlyRole(RoleAuditor, msgAuditorOnly)}
	export := []httpx.Option{auth.Requires(PermLog, "export"), onlyRole(RoleAuditor, msgAuditorOnly)}
	// FP-7: the login log.
	m.Handle("GET /audit/v1/logs/login", httpx.Endpoint(f.listLogin), append(view, httpx.NoEntity(), httpx.Params(append(loginParams, httpx.PageParams...)...))...)
	m.HandleFunc("GET /audit/v1/logs/login/export", f.exportLogin, append(export, httpx.NoEntity(), httpx.Params(append(loginParams, "format")...))...)
	// FP-8: the operation log of every function.
	m.Handle("GET /audit/v1/logs/operation", httpx.Endpoint(f.listOp), append(view, httpx.EntityListing(), httpx.Params(append(opParams, httpx.PageParams...)...))...)
	m.HandleFunc("GET /audit/v1/logs/operation/export", f.exportOp, append(export, httpx.EntityListing(), httpx.Params(append(opParams, "format")...))...)
	m.Handle("GET /audit/v1/logs/archives", httpx.Endpoint(f.listArchives), append(view, httpx.NoEntity(), httpx.Params(httpx.PageParams...))...)
	// FP-9: security alerts.
	m.Handle("GET /audit/v1/alerts", httpx.Endpoint(f.listAlerts), auth.Requires(PermAlert, "view"), onlyRole(RoleSecAdmin, msgSecAdminOnly),
		httpx.NoEntity(), httpx.Params(append(alertParams, httpx.PageParams...)...))
	return m
}

// Filter selects log rows. Times are inclusive from, exclusive to.
type Filter struct {
	From, To                          time.Time
	User, IP, Action, Result, Q, Kind string
	ObjectType, ObjectID              string
	Sort                              httpx.Sort
	Scope                             *auth.Scope // nil: every row (the operation log applies it)
}

// parseTime accepts RFC 3339 or a Beijing date; a date "to" means the end
// of that day.
func parseTime(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation("2006-01-02", s, shanghai())
	if err != nil {
		return time.Time{}, err
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

var (
	loginSorts = []string{"at", "username", "ip", "result"}
	opSorts    = []string{"at", "username", "action", "result"}
	alertSorts = []string{"at"}
	newest     = httpx.Sort{Field: "at", Desc: true}
)

func parseFilter(q url.Values, sorts []string) (Filter, error) {
	f := Filter{User: strings.TrimSpace(q.Get("user")), IP: strings.TrimSpace(q.Get("ip")), Action: strings.TrimSpace(q.Get("action")),
		Result: q.Get("result"), Q: strings.TrimSpace(q.Get("q")), ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"),
		Kind: q.Get("kind")}
	var fe []errs.FieldError
	if s := q.Get("from"); s != "" {
		t, err := parseTime(s, false)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: "from", Message: "开始时间格式应为 2006-01-02 或 RFC 3339"})
		}
		f.From = t
	}
	if s := q.Get("to"); s != "" {
		t, err := parseTime(s, true)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: "to", Message: "结束时间格式应为 2006-01-02 或 RFC 3339"})
		}
		f.To = t
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fe = append(fe, errs.FieldError{Field: "to", Message: "结束时间应晚于开始时间"})
	}
	if f.Result != "" && f.Result != ResultSuccess && f.Result != ResultFailure {
		fe = append(fe, errs.FieldError{Field: "result", Message: "结果应为 success 或 failure"})
	}
	switch f.Kind {
	case "", AlertUserFailures, AlertIPFailures, AlertNewPlace:
	default:
		fe = append(fe, errs.FieldError{Field: "kind", Message: "告警类型应为 user_failures、ip_failures 或 new_place"})
	}
	for name, v := range map[string]string{"user": f.User, "ip": f.IP, "action": f.Action, "q": f.Q, "object_type": f.ObjectType, "object_id": f.ObjectID} {
		if utf8.RuneCountInString(v) > 100 {
			fe = append(fe, errs.FieldError{Field: name, Message: "筛选条件不能超过 100 个字符"})
		}
	}
	s, err := httpx.ParseSort(q.Get("sort"), newest, sorts...)
	if err != nil {
		return f, err
	}
	f.Sort = s
	return f, errs.Fields(fe)
}

// where builds the predicate shared by list and export; textCols are the
// columns q searches.
func (f Filter) where(table string, textCols ...string) *store.Where {
	w := &store.Where{}
	if !f.From.IsZero() {
		w.Add("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		w.Add("at < ?", f.To)
	}
	if f.User != "" {
		w.Add("(username = ? OR user_id = ?)", f.User, f.User)
	}
	if f.IP != "" {
		w.Add("ip LIKE ?", store.Prefix(f.IP))
	}
	if f.Result != "" && table != "audit.alerts" {
		w.Add("result = ?", f.Result)
	}
	if table == "audit.op_log" {
		if f.Action != "" {
			w.Add("action LIKE ?", store.Prefix(f.Action))
		}
		if f.ObjectType != "" {
			w.Add("object_type = ?", f.ObjectType)
		}
		if f.ObjectID != "" {
			w.Add("object_id = ?", f.ObjectID)
		}
		if f.Scope != nil {
			// Operations on no entity carry no division and are the
			// auditor's whatever the scope.
			scope := *f.Scope
			w.AddWith(func(args *[]any) string {
				return "(district_code = '' OR " + scope.Filter("district_code", "township_code", args) + ")"
			})
		}
	}
	if f.Kind != "" && table == "audit.alerts" {
		w.Add("kind = ?", f.Kind)
	}
	if f.Q != "" && len(textCols) > 0 {
		pattern := store.Contains(f.Q)
		ors := make([]string, len(textCols))
		args := make([]any, len(textCols))
		for i, c := range textCols {
			ors[i], args[i] = c+" ILIKE ?", pattern
		}
		w.Add("("+strings.Join(ors, " OR ")+")", args...)
	}
	return w
}

func scopeOf(r *http.Request) *auth.Scope {
	s := auth.Scope{}
	if p, ok := auth.FromContext(r.Context()); ok {
		s = p.Scope
	}
	return &s
}

func (f *Function) listLogin(r *http.Request) (any, error) {
	flt, p, err := parseList(r, loginSorts)
	if err != nil {
		return nil, err
	}
	return f.SearchLogin(r.Context(), flt, p)
}

func (f *Function) listOp(r *http.Request) (any, error) {
	flt, p, err := parseList(r, opSorts)
	if err != nil {
		return nil, err
	}
	flt.Scope = scopeOf(r)
	return f.SearchOp(r.Context(), flt, p)
}

func (f *Function) listAlerts(r *http.Request) (any, error) {
	flt, p, err := parseList(r, alertSorts)
	if err != nil {
		return nil, err
	}
	return f.Alerts(r.Context(), flt, p)
}

func (f *Function) listArchives(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	return f.Archives(r.Context(), p)
}

func parseList(r *http.Request, sorts []string) (Filter, httpx.Page, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return Filter{}, p, err
	}
	flt, err := parseFilter(r.URL.Query(), sorts)
	return flt, p, err
}

func (f *Function) exportLogin(w http.ResponseWriter, r *http.Request) {
	f.export(w, r, "login")
}

func (f *Function) exportOp(w http.ResponseWriter, r *http.Request) {
	f.export(w, r, "operation")
}

// export answers the filtered rows (at most AUDIT_MAX_EXPORT_ROWS) as XLSX
// (default) or CSV, formulas neutralised, and records the export itself in
// the operation log: who took which logs out.
func (f *Function) export(w http.ResponseWriter, r *http.Request, kind string) {
	ctx := r.Context()
	sorts := loginSorts
	if kind == "operation" {
		sorts = opSorts
	}
	flt, err := parseFilter(r.URL.Query(), sorts)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	page := httpx.Page{Page: 1, Size: f.cfg.MaxExportRows}
	var t tabular.Table
	var total int
	if kind == "login" {
		out, err := f.SearchLogin(ctx, flt, page)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		total = out.Total
		t.Header = []string{"时间", "用户ID", "账号", "IP", "设备", "结果", "原因", "位置"}
		for _, l := range out.Items {
			t.Rows = append(t.Rows, []any{beijing(l.At), l.UserID, l.Username, l.IP, l.Device, resultZH(l.Result), l.Reason, l.Location})
		}
	} else {
		flt.Scope = scopeOf(r)
		out, err := f.SearchOp(ctx, flt, page)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		total = out.Total
		t.Header = []string{"时间", "用户ID", "账号", "IP", "操作", "对象类型", "对象ID", "行政区划", "操作前", "操作后", "结果", "来源"}
		for _, o := range out.Items {
			t.Rows = append(t.Rows, []any{beijing(o.At), o.UserID, o.Username, o.IP, o.Action, o.ObjectType, o.ObjectID, o.DistrictCode,
				string(o.Before), string(o.After), resultZH(o.Result), o.Source})
		}
	}
	if total > f.cfg.MaxExportRows {
		httpx.Fail(w, r, errs.New(errs.Invalid, "符合条件的日志共 "+itoa(total)+" 条，超过单次导出上限 "+itoa(f.cfg.MaxExportRows)+" 条，请缩小时间范围"))
		return
	}
	p, _ := auth.FromContext(ctx)
	if err := f.recordOwn(ctx, opRow(f.now(), p, httpx.ClientIP(r), "audit.log.export", kind+"_log",
		map[string]any{"filter": r.URL.Query().Encode(), "rows": len(t.Rows), "format": string(format)})); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	name := map[string]string{"login": "登录日志_", "operation": "操作日志_"}[kind] + f.now().In(shanghai()).Format("20060102150405")
	if err := tabular.Serve(w, name, format, t); err != nil {
		f.log.WarnContext(ctx, "export cut short", "err", err)
	}
}

func beijing(t time.Time) string { return t.In(shanghai()).Format("2006-01-02 15:04:05") }

func itoa(n int) string { return strconv.Itoa(n) }

func resultZH(r string) string {
	switch r {
	case ResultSuccess:
		return "成功"
	case ResultFailure:
		return "失败"
	}
	return r
}
