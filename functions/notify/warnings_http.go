package notify

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/tabular"
)

// warningRoutes are the warning board's (FP-129). Every signed-in user
// has a board: it lists what is addressed to them, and only an addressee
// may acknowledge or handle a warning.
func (f *Function) warningRoutes(m *httpx.Mux) {
	filters := append([]string{"level", "source", "state", "unacknowledged", "q", "from", "to"}, httpx.PageParams...)
	// FP-129: the board, filtered by level, source and state.
	m.Handle("GET /notify/v1/warnings", httpx.Endpoint(f.listWarnings), auth.SignedIn(), httpx.NoEntity(), httpx.Params(filters...))
	// FP-129: the board exported (xlsx or csv), with the same filters.
	m.HandleFunc("GET /notify/v1/warnings/export", f.exportWarnings, auth.SignedIn(), httpx.NoEntity(),
		httpx.Params(append(filters, "format")...))
	// FP-129: the functions that raised the caller's warnings (the source filter).
	m.Handle("GET /notify/v1/warnings/sources", httpx.Endpoint(f.warningSources), auth.SignedIn(), httpx.NoEntity())
	// FP-129: one warning with its handling steps.
	m.Handle("GET /notify/v1/warnings/{id}", httpx.Endpoint(f.warningDetail), auth.SignedIn(), httpx.NoEntity())
	// FP-129: acknowledgement (签收).
	m.Handle("POST /notify/v1/warnings/{id}/acknowledge", httpx.Endpoint(f.acknowledge), auth.SignedIn(), httpx.NoEntity())
	// FP-129: handling — 处理中 or 已处理, with an opinion.
	m.Handle("POST /notify/v1/warnings/{id}/handle", httpx.Body(f.handle), auth.SignedIn(), httpx.NoEntity())
}

var levelNames = map[string]string{"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}

var stateNames = map[string]string{StatePending: "待处理", StateProcessing: "处理中", StateDone: "已处理"}

func parseWarningFilter(r *http.Request) (WarningFilter, error) {
	q := r.URL.Query()
	flt := WarningFilter{Level: q.Get("level"), Producer: strings.TrimSpace(q.Get("source")), State: q.Get("state"),
		Unacknowledged: truthy(q.Get("unacknowledged")), Q: strings.TrimSpace(q.Get("q"))}
	var fe []errs.FieldError
	if _, ok := levelNames[flt.Level]; flt.Level != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "level", Message: "预警级别应为 red（红）、orange（橙）、yellow（黄）或 blue（蓝）"})
	}
	if _, ok := stateNames[flt.State]; flt.State != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "state", Message: "处理状态应为 pending（待处理）、processing（处理中）或 done（已处理）"})
	}
	if utf8.RuneCountInString(flt.Q) > 100 || utf8.RuneCountInString(flt.Producer) > 100 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "关键字不能超过 100 个字符"})
	}
	for _, d := range []struct {
		name string
		t    *time.Time
		add  int
	}{{"from", &flt.From, 0}, {"to", &flt.To, 1}} {
		if v := q.Get(d.name); v != "" {
			// An instant (the console's time range) as it is; a day in
			// Beijing time, "to" including its day.
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				*d.t = t
				continue
			}
			t, err := time.ParseInLocation(time.DateOnly, v, beijing)
			if err != nil {
				fe = append(fe, errs.FieldError{Field: d.name, Message: "时间应为 YYYY-MM-DD 或 RFC 3339 格式"})
				continue
			}
			*d.t = t.AddDate(0, 0, d.add)
		}
	}
	return flt, errs.Fields(fe)
}

var beijing = time.FixedZone("CST", 8*3600)

func (f *Function) listWarnings(r *http.Request) (any, error) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	flt, err := parseWarningFilter(r)
	if err != nil {
		return nil, err
	}
	return f.Warnings(r.Context(), principal(r), flt, pg)
}

// maxWarningExport bounds one export.
const maxWarningExport = 10000

func (f *Function) exportWarnings(w http.ResponseWriter, r *http.Request) {
	flt, err := parseWarningFilter(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	out, err := f.Warnings(r.Context(), principal(r), flt, httpx.Page{Page: 1, Size: maxWarningExport})
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if out.Total > maxWarningExport {
		httpx.Fail(w, r, errs.New(errs.Invalid, "符合条件的预警超过单次导出上限 10000 条，请缩小筛选范围"))
		return
	}
	t := tabular.Table{Header: []string{"编号", "级别", "标题", "内容", "类别", "来源", "接收对象", "发布时间", "处理状态", "签收人", "签收时间",
		"处理人", "处理时间", "处理意见"}}
	when := func(x *time.Time) string {
		if x == nil {
			return ""
		}
		return x.In(beijing).Format("2006-01-02 15:04:05")
	}
	for _, x := range out.Items {
		t.Rows = append(t.Rows, []any{x.ID, levelNames[x.Level] + "预警", x.Title, x.Body, x.Kind, x.Producer, targetText(x), when(&x.CreatedAt),
			stateNames[x.State], x.AcknowledgedName, when(x.AcknowledgedAt), x.HandledName, when(x.HandledAt), x.Opinion})
	}
	if err := tabular.Serve(w, "预警信息_"+f.now().In(beijing).Format("20060102150405"), format, t); err != nil {
		f.log.WarnContext(r.Context(), "notify: warning export cut short", "err", err)
	}
}

// targetText names a warning's addressees for the export.
func targetText(x Warning) string {
	if x.Target.All {
		return "全体"
	}
	var parts []string
	if len(x.Target.DeptIDs) > 0 {
		parts = append(parts, "部门："+strings.Join(x.Target.DeptIDs, "、"))
	}
	if len(x.Target.Roles) > 0 {
		parts = append(parts, "角色："+strings.Join(x.Target.Roles, "、"))
	}
	if len(x.Target.UserIDs) > 0 {
		parts = append(parts, "用户："+strings.Join(x.Target.UserIDs, "、"))
	}
	return strings.Join(parts, "；")
}

// Sources is the source filter's options.
type Sources struct {
	Items []string `json:"items"`
}

func (f *Function) warningSources(r *http.Request) (any, error) {
	s, err := f.WarningSources(r.Context(), principal(r))
	return Sources{Items: s}, err
}

func warningID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.New(errs.NotFound, "预警信息不存在")
	}
	return id, nil
}

func (f *Function) warningDetail(r *http.Request) (any, error) {
	id, err := warningID(r)
	if err != nil {
		return nil, err
	}
	return f.WarningDetail(r.Context(), principal(r), id)
}

func (f *Function) acknowledge(r *http.Request) (any, error) {
	id, err := warningID(r)
	if err != nil {
		return nil, err
	}
	return f.Acknowledge(r.Context(), auditlog.ActorOf(r), principal(r), id)
}

// HandleRequest is the handling form: the new state and the opinion.
type HandleRequest struct {
	State   string `json:"state"`
	Opinion string `json:"opinion"`
}

// Validate names the bad fields in Chinese.
func (h HandleRequest) Validate() error {
	var fe []errs.FieldError
	if h.State != StateProcessing && h.State != StateDone {
		fe = append(fe, errs.FieldError{Field: "state", Message: "处理状态应为 processing（处理中）或 done（已处理）"})
	}
	switch op := strings.TrimSpace(h.Opinion); {
	case h.State == StateDone && op == "":
		fe = append(fe, errs.FieldError{Field: "opinion", Message: "办结预警须填写处理意见"})
	case utf8.RuneCountInString(op) > 2000:
		fe = append(fe, errs.FieldError{Field: "opinion", Message: "处理意见不能超过 2000 个字符"})
	}
	return errs.Fields(fe)
}

func (f *Function) handle(r *http.Request, in HandleRequest) (any, error) {
	id, err := warningID(r)
	if err != nil {
		return nil, err
	}
	return f.Handle(r.Context(), auditlog.ActorOf(r), principal(r), id, in.State, strings.TrimSpace(in.Opinion))
}
