package qrgenerate

import (
	_ "embed"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/tabular"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is qr-generate's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/qr/v1/openapi.yaml", openapi }

// qr-generate's permission resources, as identity's role editor offers
// them (shared/auth's catalogue).
const (
	PermCode  = "qr.code"  // view, create, approve, invalidate, download
	PermOpLog = "qr.oplog" // view, export
	PermStats = "qr.stats" // view, export
)

// Query parameters of the lists and exports.
var (
	codeParams  = []string{"status", "district", "township", "industry", "type", "q"}
	opLogParams = []string{"from", "to", "operator", "action", "result", "q"}
	statsParams = []string{"group", "from", "to"}
)

func with(names []string, more ...string) []string {
	return append(append([]string(nil), names...), more...)
}

// Handler serves the /qr/v1 API behind token verification. Every route
// needs a permission; what it reads and changes is confined to the
// caller's data scope.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-22: the codes and one code. One pattern serves the code (JSON,
	// qr.code:view) and its images {token}.png and {token}.svg
	// (qr.code:download), since a wildcard must fill a whole path segment;
	// the handler checks the permission of what is asked.
	m.Handle("GET /qr/v1/codes", httpx.Endpoint(f.listCodes), auth.Requires(PermCode, "view"), httpx.EntityListing(),
		httpx.Params(with(codeParams, httpx.PageParams...)...))
	m.HandleFunc("GET /qr/v1/codes/{token}", f.codeOrImage, auth.SignedIn(), httpx.EntityIn("token"), httpx.Params("size"))
	// FP-23: downloads.
	m.HandleFunc("GET /qr/v1/codes/{token}/poster.pdf", f.poster, auth.Requires(PermCode, "download"), httpx.EntityIn("token"),
		httpx.Params("paper"))
	// FP-46, FP-47: review; FP-24: invalidate and restore.
	m.Handle("POST /qr/v1/codes/{token}/approve", f.reasonCommand(func(r *http.Request, token, _ string, op Operator) (Code, error) {
		return f.Approve(r.Context(), token, op)
	}), auth.Requires(PermCode, "approve"), httpx.EntityIn("token"))
	m.Handle("POST /qr/v1/codes/{token}/reject", f.reasonCommand(func(r *http.Request, token, reason string, op Operator) (Code, error) {
		return f.Reject(r.Context(), token, reason, op)
	}), auth.Requires(PermCode, "approve"), httpx.EntityIn("token"))
	m.Handle("POST /qr/v1/codes/{token}/invalidate", f.reasonCommand(func(r *http.Request, token, reason string, op Operator) (Code, error) {
		return f.Invalidate(r.Context(), token, reason, op)
	}), auth.Requires(PermCode, "invalidate"), httpx.EntityIn("token"))
	m.Handle("POST /qr/v1/codes/{token}/reactivate", f.reasonCommand(func(r *http.Request, token, reason string, op Operator) (Code, error) {
		return f.Reactivate(r.Context(), token, reason, op)
	}), auth.Requires(PermCode, "invalidate"), httpx.EntityIn("token"))
	// FP-22: batch issuance jobs. A job names its entities by credit code
	// (body) and is itself confined to the scope it was submitted in.
	m.Handle("POST /qr/v1/batches", httpx.Body(f.submitBatch), auth.Requires(PermCode, "create"), httpx.EntityInBody("credit_codes"))
	m.Handle("GET /qr/v1/batches", httpx.Endpoint(f.listBatches), auth.Requires(PermCode, "view"), httpx.EntityListing(),
		httpx.Params(with([]string{"status"}, httpx.PageParams...)...))
	m.Handle("GET /qr/v1/batches/{id}", httpx.Endpoint(f.getBatch), auth.Requires(PermCode, "view"), httpx.EntityIn("id"))
	// FP-23: a ZIP of a selection.
	m.HandleFunc("POST /qr/v1/downloads", f.zip, auth.Requires(PermCode, "download"), httpx.EntityInBody("credit_codes"))
	// FP-24: the nightly sweep, now; city-wide callers only (Sweep).
	m.Handle("POST /qr/v1/sweeps", httpx.Endpoint(f.sweepNow), auth.Requires(PermCode, "invalidate"), httpx.NoEntity())
	// FP-25: the operation log.
	m.Handle("GET /qr/v1/oplog", httpx.Endpoint(f.opLog), auth.Requires(PermOpLog, "view"), httpx.EntityListing(),
		httpx.Params(with(opLogParams, httpx.PageParams...)...))
	m.HandleFunc("GET /qr/v1/oplog/export", f.opLogExport, auth.Requires(PermOpLog, "export"), httpx.EntityListing(),
		httpx.Params(with(opLogParams, "format")...))
	// FP-48–50: statistics.
	m.Handle("GET /qr/v1/stats", httpx.Endpoint(f.stats), auth.Requires(PermStats, "view"), httpx.EntityListing(),
		httpx.Params(statsParams...))
	m.Handle("GET /qr/v1/stats/downloads", httpx.Endpoint(f.downloadStats), auth.Requires(PermStats, "view"), httpx.EntityListing(),
		httpx.Params("from", "to"))
	m.HandleFunc("GET /qr/v1/stats/export", f.statsExport, auth.Requires(PermStats, "export"), httpx.EntityListing(),
		httpx.Params(with(statsParams, "format")...))
	return m
}

func (f *Function) listCodes(r *http.Request) (any, error) {
	q := r.URL.Query()
	flt := CodeFilter{Status: q.Get("status"), District: q.Get("district"), Township: q.Get("township"),
		Industry: q.Get("industry"), Type: q.Get("type"), Q: q.Get("q")}
	page, err := httpx.ParsePage(r)
	if err == nil {
		err = flt.Validate()
	}
	if err != nil {
		return nil, err
	}
	items, total, err := f.ListCodes(r.Context(), flt, operatorOf(r), page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) codeOrImage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	p, _ := auth.FromContext(r.Context())
	if base, ext, ok := strings.Cut(token, "."); ok {
		if err := auth.Check(p, PermCode, "download"); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		fm, err := ParseFormat(ext, r.URL.Query().Get("size"), "")
		if err == nil && fm.Kind == "poster" {
			err = errs.Fields([]errs.FieldError{{Field: "format", Message: "海报请使用 /poster.pdf 下载"}})
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		f.serveDownload(w, r, base, fm)
		return
	}
	if err := auth.Check(p, PermCode, "view"); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	c, err := f.Code(r.Context(), token, operatorOf(r))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.Write(w, c)
}

func (f *Function) poster(w http.ResponseWriter, r *http.Request) {
	fm, err := ParseFormat("poster", "", r.URL.Query().Get("paper"))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	f.serveDownload(w, r, r.PathValue("token"), fm)
}

func (f *Function) serveDownload(w http.ResponseWriter, r *http.Request, token string, fm Format) {
	doc, err := f.Download(r.Context(), token, fm, operatorOf(r))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", doc.ContentType)
	w.Header().Set("Content-Disposition", tabular.Attachment(doc.FileName))
	w.Header().Set("Cache-Control", "private, max-age=300")
	if doc.Cached {
		w.Header().Set("X-Cache", "hit")
	} else {
		w.Header().Set("X-Cache", "miss")
	}
	_, _ = w.Write(doc.Data)
}

// ReasonInput is the body of reject, invalidate and reactivate.
type ReasonInput struct {
	Reason string `json:"reason"`
}

// reasonCommand is a command on one code with an optional body
// {"reason": …}.
func (f *Function) reasonCommand(fn func(r *http.Request, token, reason string, op Operator) (Code, error)) httpx.Endpoint {
	return func(r *http.Request) (any, error) {
		var in ReasonInput
		if r.ContentLength != 0 {
			if err := httpx.Decode(r, &in); err != nil {
				return nil, err
			}
		}
		return fn(r, r.PathValue("token"), in.Reason, operatorOf(r))
	}
}

func (f *Function) submitBatch(r *http.Request, sel Selection) (any, error) {
	job, err := f.SubmitBatch(r.Context(), sel, operatorOf(r))
	if err != nil {
		return nil, err
	}
	loc := fmt.Sprintf("/qr/v1/batches/%d", job.ID)
	if job.Status == JobDone {
		return httpx.Created(job, loc), nil
	}
	rep := httpx.Accepted(job)
	rep.Header = http.Header{"Location": {loc}}
	return rep, nil
}

func (f *Function) listBatches(r *http.Request) (any, error) {
	status := r.URL.Query().Get("status")
	page, err := httpx.ParsePage(r)
	if _, ok := jobStatusNames[status]; err == nil && status != "" && !ok {
		err = errs.Fields([]errs.FieldError{{Field: "status", Message: "任务状态应为 queued、running、done 或 failed"}})
	}
	if err != nil {
		return nil, err
	}
	items, total, err := f.ListBatchJobs(r.Context(), status, operatorOf(r), page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) getBatch(r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errJobNotFound
	}
	return f.BatchJob(r.Context(), id, operatorOf(r))
}

func (f *Function) zip(w http.ResponseWriter, r *http.Request) {
	var z ZipRequest
	if err := httpx.Decode(r, &z); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	fm, err := z.format()
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	op := operatorOf(r)
	list, err := f.ZipCodes(r.Context(), z, op)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", tabular.Attachment(fmt.Sprintf("二维码_%s.zip", f.now().In(shanghai).Format("20060102150405"))))
	w.Header().Set("X-Item-Count", fmt.Sprint(len(list)))
	// Headers are gone once the archive streams; a failure midway can only
	// cut the body short, which unzip reports as a damaged archive.
	if err := f.WriteZip(r.Context(), w, list, fm, op); err != nil {
		f.log.ErrorContext(r.Context(), "zip download failed", "err", err)
	}
}

// SweepResult is the answer of a manual sweep.
type SweepResult struct {
	Invalidated int `json:"invalidated"`
}

func (f *Function) sweepNow(r *http.Request) (any, error) {
	n, err := f.Sweep(r.Context(), operatorOf(r))
	if err != nil {
		return nil, err
	}
	return SweepResult{Invalidated: n}, nil
}

// parseDay reads a date (YYYY-MM-DD, Shijiazhuang time) or an RFC 3339
// instant; a date as an upper bound includes that whole day.
func parseDay(field, s string, upper bool) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, shanghai)
	if err != nil {
		return nil, errs.Fields([]errs.FieldError{{Field: field, Message: "日期格式应为 YYYY-MM-DD"}})
	}
	if upper {
		t = t.AddDate(0, 0, 1)
	}
	return &t, nil
}

func opLogFilter(r *http.Request) (OpLogFilter, error) {
	q := r.URL.Query()
	flt := OpLogFilter{Operator: strings.TrimSpace(q.Get("operator")), Action: q.Get("action"), Result: q.Get("result"), Q: q.Get("q")}
	var err1, err2 error
	flt.From, err1 = parseDay("from", q.Get("from"), false)
	flt.To, err2 = parseDay("to", q.Get("to"), true)
	for _, err := range []error{err1, err2, flt.Validate()} {
		if err != nil {
			return flt, err
		}
	}
	return flt, nil
}

func (f *Function) opLog(r *http.Request) (any, error) {
	flt, err := opLogFilter(r)
	if err != nil {
		return nil, err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := f.ListOpLog(r.Context(), flt, operatorOf(r), page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

// MaxExportRows bounds one operation-log export.
const MaxExportRows = 10000

var opLogHeader = []string{"时间", "操作人", "操作类型", "二维码编号", "统一社会信用代码", "结果", "说明"}

// opLogExport answers the filtered log as XLSX (default) or CSV, at most
// MaxExportRows rows.
func (f *Function) opLogExport(w http.ResponseWriter, r *http.Request) {
	flt, err := opLogFilter(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	items, _, err := f.ListOpLog(r.Context(), flt, operatorOf(r), MaxExportRows, 0)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	t := tabular.Table{Header: opLogHeader}
	for _, e := range items {
		res := "成功"
		if e.Result == "failure" {
			res = "失败"
		}
		t.Rows = append(t.Rows, []any{e.At.In(shanghai).Format(time.DateTime), e.Operator, e.ActionName, e.Token, e.CreditCode, res, e.Detail})
	}
	f.serveExport(w, r, "二维码操作日志", format, tabular.Sheet{Name: "操作日志", Table: t})
}

// serveExport answers sheets as a workbook, or the first as CSV (which
// holds one table).
func (f *Function) serveExport(w http.ResponseWriter, r *http.Request, title string, format tabular.Format, sheets ...tabular.Sheet) {
	name := title + "_" + f.now().In(shanghai).Format("20060102150405")
	var err error
	if format == tabular.CSV {
		err = tabular.Serve(w, name, tabular.CSV, sheets[0].Table)
	} else {
		err = tabular.ServeWorkbook(w, name, sheets...)
	}
	if err != nil {
		f.log.WarnContext(r.Context(), "export cut short", "err", err)
	}
}

// statsRange reads the statistics' period: from/to days (Beijing time),
// by default the 30 days to today, at most a year.
func (f *Function) statsRange(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	from, err := parseDay("from", q.Get("from"), false)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	to, err := parseDay("to", q.Get("to"), true)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	today := f.now().In(shanghai)
	if to == nil {
		t := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, shanghai).AddDate(0, 0, 1)
		to = &t
	}
	if from == nil {
		t := to.AddDate(0, 0, -30)
		from = &t
	}
	switch {
	case !from.Before(*to):
		return *from, *to, errs.Fields([]errs.FieldError{{Field: "from", Message: "开始日期应早于结束日期"}})
	case to.Sub(*from) > 366*24*time.Hour:
		return *from, *to, errs.Fields([]errs.FieldError{{Field: "from", Message: "统计区间最长一年"}})
	}
	return *from, *to, nil
}

func (f *Function) statsQuery(r *http.Request) (StatsQuery, error) {
	sq := StatsQuery{Group: r.URL.Query().Get("group")}
	if sq.Group == "" {
		sq.Group = "day"
	}
	if _, ok := groupColumns[sq.Group]; !ok {
		return sq, errBadGroup
	}
	var err error
	sq.From, sq.To, err = f.statsRange(r)
	return sq, err
}

// StatsResult is the answer of GET /qr/v1/stats.
type StatsResult struct {
	Group string    `json:"group"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Items []StatRow `json:"items"`
	Total int64     `json:"total"`
}

// DownloadStatsResult is the answer of GET /qr/v1/stats/downloads.
type DownloadStatsResult struct {
	From  time.Time      `json:"from"`
	To    time.Time      `json:"to"`
	Items []DownloadStat `json:"items"`
}

func (f *Function) stats(r *http.Request) (any, error) {
	sq, err := f.statsQuery(r)
	if err != nil {
		return nil, err
	}
	items, err := f.Stats(r.Context(), sq, operatorOf(r))
	if err != nil {
		return nil, err
	}
	var total int64
	for _, s := range items {
		total += s.Issued
	}
	return StatsResult{Group: sq.Group, From: sq.From, To: sq.To, Items: items, Total: total}, nil
}

func (f *Function) downloadStats(r *http.Request) (any, error) {
	from, to, err := f.statsRange(r)
	if err != nil {
		return nil, err
	}
	items, err := f.DownloadStats(r.Context(), from, to, operatorOf(r))
	if err != nil {
		return nil, err
	}
	return DownloadStatsResult{From: from, To: to, Items: items}, nil
}

// statsExport answers the issuance and download statistics as a workbook
// of two sheets, or the issuance table alone as CSV.
func (f *Function) statsExport(w http.ResponseWriter, r *http.Request) {
	sq, err := f.statsQuery(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	op := operatorOf(r)
	items, err := f.Stats(r.Context(), sq, op)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	dl, err := f.DownloadStats(r.Context(), sq.From, sq.To, op)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	issued := tabular.Table{Header: []string{groupNames[sq.Group] + "代码", groupNames[sq.Group], "赋码数", "有效", "待审核", "已驳回", "已失效"}}
	for _, s := range items {
		issued.Rows = append(issued.Rows, []any{s.Key, s.Label, s.Issued, s.Active, s.Pending, s.Rejected, s.Invalid})
	}
	downloads := tabular.Table{Header: []string{"文档类型", "下载次数"}}
	for _, d := range dl {
		downloads.Rows = append(downloads.Rows, []any{d.Label, d.Count})
	}
	f.serveExport(w, r, "赋码统计", format, tabular.Sheet{Name: "赋码统计", Table: issued}, tabular.Sheet{Name: "下载统计", Table: downloads})
}

// operatorOf is the request's operator with its client address.
func operatorOf(r *http.Request) Operator {
	op := OperatorFrom(r.Context())
	op.IP = httpx.ClientIP(r)
	return op
}
