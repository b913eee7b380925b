package qrgenerate

import (
	_ "embed"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

func guard(resource, action string, h http.HandlerFunc) http.Handler {
	return auth.Require(resource, action)(h)
}

func (f *Function) routes() http.Handler { return f.authn(f.mux()) }

func (f *Function) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /qr/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		_, _ = w.Write(openapi)
	})
	mux.Handle("GET /qr/v1/codes", guard("qr.code", "view", f.handleList))
	// One pattern serves the code (JSON) and its images: {token}.png and
	// {token}.svg, since a wildcard must fill a whole path segment.
	mux.HandleFunc("GET /qr/v1/codes/{token}", f.handleCodeOrImage)
	mux.Handle("GET /qr/v1/codes/{token}/poster.pdf", guard("qr.code", "download", f.handlePoster))
	mux.Handle("POST /qr/v1/codes/{token}/approve", guard("qr.code", "approve", f.handleApprove))
	mux.Handle("POST /qr/v1/codes/{token}/reject", guard("qr.code", "approve", f.handleReject))
	mux.Handle("POST /qr/v1/codes/{token}/invalidate", guard("qr.code", "invalidate", f.handleInvalidate))
	mux.Handle("POST /qr/v1/codes/{token}/reactivate", guard("qr.code", "invalidate", f.handleReactivate))
	mux.Handle("POST /qr/v1/batches", guard("qr.code", "create", f.handleBatch))
	mux.Handle("GET /qr/v1/batches", guard("qr.code", "view", f.handleBatchList))
	mux.Handle("GET /qr/v1/batches/{id}", guard("qr.code", "view", f.handleBatchGet))
	mux.Handle("POST /qr/v1/downloads", guard("qr.code", "download", f.handleZip))
	mux.Handle("POST /qr/v1/sweeps", guard("qr.code", "invalidate", f.handleSweep))
	mux.Handle("GET /qr/v1/oplog", guard("qr.oplog", "view", f.handleOpLog))
	mux.Handle("GET /qr/v1/oplog/export", guard("qr.oplog", "export", f.handleOpLogExport))
	mux.Handle("GET /qr/v1/stats", guard("qr.stats", "view", f.handleStats))
	mux.Handle("GET /qr/v1/stats/downloads", guard("qr.stats", "view", f.handleDownloadStats))
	mux.Handle("GET /qr/v1/stats/export", guard("qr.stats", "export", f.handleStatsExport))
	return mux
}

func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, f.log, err)
}

func (f *Function) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	flt := CodeFilter{Status: q.Get("status"), District: q.Get("district"), Township: q.Get("township"),
		Industry: q.Get("industry"), Type: q.Get("type"), Q: q.Get("q")}
	page, err := httpx.ParsePage(r)
	if err == nil {
		err = flt.Validate()
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	items, total, err := f.ListCodes(r.Context(), flt, OperatorFrom(r.Context()), page.Size, page.Offset())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, CodePage{Items: items, Total: total, Page: page.Page, PageSize: page.Size})
}

func (f *Function) handleCodeOrImage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if base, ext, ok := strings.Cut(token, "."); ok {
		p, _ := auth.FromContext(r.Context())
		if err := auth.Check(p, "qr.code", "download"); err != nil {
			f.fail(w, r, err)
			return
		}
		fm, err := ParseFormat(ext, r.URL.Query().Get("size"), "")
		if err == nil && fm.Kind == "poster" {
			err = errs.Fields([]errs.FieldError{{Field: "format", Message: "海报请使用 /poster.pdf 下载"}})
		}
		if err != nil {
			f.fail(w, r, err)
			return
		}
		f.serveDownload(w, r, base, fm)
		return
	}
	p, _ := auth.FromContext(r.Context())
	if err := auth.Check(p, "qr.code", "view"); err != nil {
		f.fail(w, r, err)
		return
	}
	c, err := f.Get(r.Context(), token)
	if err == nil && !p.Scope.Allows(c.DistrictCode, c.TownshipCode) {
		err = errOutOfScope
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c)
}

func (f *Function) handlePoster(w http.ResponseWriter, r *http.Request) {
	fm, err := ParseFormat("poster", "", r.URL.Query().Get("paper"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.serveDownload(w, r, r.PathValue("token"), fm)
}

func (f *Function) serveDownload(w http.ResponseWriter, r *http.Request, token string, fm Format) {
	doc, err := f.Download(r.Context(), token, fm, OperatorFrom(r.Context()))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", doc.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": doc.FileName}))
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

func (f *Function) decodeReason(r *http.Request) (string, error) {
	var in ReasonInput
	if r.ContentLength == 0 {
		return "", nil
	}
	err := httpx.Decode(r, &in)
	return in.Reason, err
}

func (f *Function) reasonCommand(fn func(r *http.Request, token, reason string) (Code, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reason, err := f.decodeReason(r)
		if err != nil {
			f.fail(w, r, err)
			return
		}
		c, err := fn(r, r.PathValue("token"), reason)
		if err != nil {
			f.fail(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusOK, c)
	}
}

func (f *Function) handleApprove(w http.ResponseWriter, r *http.Request) {
	f.reasonCommand(func(r *http.Request, token, _ string) (Code, error) {
		return f.Approve(r.Context(), token, OperatorFrom(r.Context()))
	})(w, r)
}

func (f *Function) handleReject(w http.ResponseWriter, r *http.Request) {
	f.reasonCommand(func(r *http.Request, token, reason string) (Code, error) {
		return f.Reject(r.Context(), token, reason, OperatorFrom(r.Context()))
	})(w, r)
}

func (f *Function) handleInvalidate(w http.ResponseWriter, r *http.Request) {
	f.reasonCommand(func(r *http.Request, token, reason string) (Code, error) {
		return f.Invalidate(r.Context(), token, reason, OperatorFrom(r.Context()))
	})(w, r)
}

func (f *Function) handleReactivate(w http.ResponseWriter, r *http.Request) {
	f.reasonCommand(func(r *http.Request, token, reason string) (Code, error) {
		return f.Reactivate(r.Context(), token, reason, OperatorFrom(r.Context()))
	})(w, r)
}

func (f *Function) handleBatch(w http.ResponseWriter, r *http.Request) {
	var sel Selection
	if err := httpx.Decode(r, &sel); err != nil {
		f.fail(w, r, err)
		return
	}
	op := OperatorFrom(r.Context())
	if sel.DistrictCode != "" && op.Scope.Kind != auth.ScopeAll && !op.Scope.Allows(sel.DistrictCode, "") && !scopeTouches(op.Scope, sel.DistrictCode) {
		f.fail(w, r, errs.New(errs.Forbidden, "所选区县不在您的数据权限范围内"))
		return
	}
	job, err := f.SubmitBatch(r.Context(), sel, op)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/qr/v1/batches/%d", job.ID))
	status := http.StatusAccepted
	if job.Status == JobDone {
		status = http.StatusCreated
	}
	httpx.JSON(w, status, job)
}

func (f *Function) handleBatchList(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	page, err := httpx.ParsePage(r)
	if _, ok := jobStatusNames[status]; err == nil && status != "" && !ok {
		err = errs.Fields([]errs.FieldError{{Field: "status", Message: "任务状态应为 queued、running、done 或 failed"}})
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	items, total, err := f.ListBatchJobs(r.Context(), status, OperatorFrom(r.Context()), page.Size, page.Offset())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, BatchJobPage{Items: items, Total: total, Page: page.Page, PageSize: page.Size})
}

func (f *Function) handleBatchGet(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		f.fail(w, r, errJobNotFound)
		return
	}
	job, err := f.BatchJob(r.Context(), id, OperatorFrom(r.Context()))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, job)
}

// scopeTouches reports whether some township of the scope lies in district.
func scopeTouches(s auth.Scope, district string) bool {
	for _, t := range s.Townships {
		if strings.HasPrefix(t, district) {
			return true
		}
	}
	return false
}

func (f *Function) handleZip(w http.ResponseWriter, r *http.Request) {
	var z ZipRequest
	if err := httpx.Decode(r, &z); err != nil {
		f.fail(w, r, err)
		return
	}
	size := ""
	if z.Size != 0 {
		size = fmt.Sprint(z.Size)
	}
	fm, err := ParseFormat(z.Format, size, z.Paper)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	op := OperatorFrom(r.Context())
	list, err := f.ZipCodes(r.Context(), z, op)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	name := fmt.Sprintf("二维码_%s.zip", f.now().In(shanghai).Format("20060102150405"))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
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

func (f *Function) handleSweep(w http.ResponseWriter, r *http.Request) {
	if OperatorFrom(r.Context()).Scope.Kind != auth.ScopeAll {
		f.fail(w, r, errs.New(errs.Forbidden, "全市清理只能由市级管理员执行"))
		return
	}
	n, err := f.Sweep(r.Context())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, SweepResult{Invalidated: n})
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

func (f *Function) opLogFilter(r *http.Request) (OpLogFilter, error) {
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

func (f *Function) handleOpLog(w http.ResponseWriter, r *http.Request) {
	flt, err := f.opLogFilter(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	items, total, err := f.ListOpLog(r.Context(), flt, OperatorFrom(r.Context()), page.Size, page.Offset())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, OpLogPage{Items: items, Total: total, Page: page.Page, PageSize: page.Size})
}

// MaxExportRows bounds one operation-log export.
const MaxExportRows = 10000

func (f *Function) handleOpLogExport(w http.ResponseWriter, r *http.Request) {
	flt, err := f.opLogFilter(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	items, _, err := f.ListOpLog(r.Context(), flt, OperatorFrom(r.Context()), MaxExportRows, 0)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	rows := [][]any{{"时间", "操作人", "操作类型", "二维码编号", "统一社会信用代码", "结果", "说明"}}
	for _, e := range items {
		res := "成功"
		if e.Result == "failure" {
			res = "失败"
		}
		rows = append(rows, []any{e.At.In(shanghai).Format(time.DateTime), e.Operator, e.ActionName, e.Token, e.CreditCode, res, e.Detail})
	}
	f.writeXLSX(w, r, "二维码操作日志", map[string][][]any{"操作日志": rows}, []string{"操作日志"})
}

func (f *Function) statsQuery(r *http.Request) (StatsQuery, error) {
	q := r.URL.Query()
	sq := StatsQuery{Group: q.Get("group")}
	if sq.Group == "" {
		sq.Group = "day"
	}
	if _, ok := groupColumns[sq.Group]; !ok {
		return sq, errs.Fields([]errs.FieldError{{Field: "group", Message: "统计维度应为 day、district、industry 或 type"}})
	}
	from, err := parseDay("from", q.Get("from"), false)
	if err != nil {
		return sq, err
	}
	to, err := parseDay("to", q.Get("to"), true)
	if err != nil {
		return sq, err
	}
	today := f.now().In(shanghai)
	todayStart := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, shanghai)
	if to == nil {
		t := todayStart.AddDate(0, 0, 1)
		to = &t
	}
	if from == nil {
		t := to.AddDate(0, 0, -30)
		from = &t
	}
	sq.From, sq.To = *from, *to
	switch {
	case !sq.From.Before(sq.To):
		return sq, errs.Fields([]errs.FieldError{{Field: "from", Message: "开始日期应早于结束日期"}})
	case sq.To.Sub(sq.From) > 366*24*time.Hour:
		return sq, errs.Fields([]errs.FieldError{{Field: "from", Message: "统计区间最长一年"}})
	}
	return sq, nil
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

func (f *Function) handleStats(w http.ResponseWriter, r *http.Request) {
	sq, err := f.statsQuery(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	items, err := f.Stats(r.Context(), sq, OperatorFrom(r.Context()))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	var total int64
	for _, s := range items {
		total += s.Issued
	}
	httpx.JSON(w, http.StatusOK, StatsResult{Group: sq.Group, From: sq.From, To: sq.To, Items: items, Total: total})
}

func (f *Function) handleDownloadStats(w http.ResponseWriter, r *http.Request) {
	sq, err := f.statsQuery(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	items, err := f.DownloadStats(r.Context(), sq.From, sq.To, OperatorFrom(r.Context()))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, DownloadStatsResult{From: sq.From, To: sq.To, Items: items})
}

func (f *Function) handleStatsExport(w http.ResponseWriter, r *http.Request) {
	sq, err := f.statsQuery(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	op := OperatorFrom(r.Context())
	items, err := f.Stats(r.Context(), sq, op)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	dl, err := f.DownloadStats(r.Context(), sq.From, sq.To, op)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	issued := [][]any{{groupNames[sq.Group] + "代码", groupNames[sq.Group], "赋码数", "有效", "待审核", "已驳回", "已失效"}}
	for _, s := range items {
		issued = append(issued, []any{s.Key, s.Label, s.Issued, s.Active, s.Pending, s.Rejected, s.Invalid})
	}
	downloads := [][]any{{"文档类型", "下载次数"}}
	for _, d := range dl {
		downloads = append(downloads, []any{d.Label, d.Count})
	}
	f.writeXLSX(w, r, "赋码统计", map[string][][]any{"赋码统计": issued, "下载统计": downloads}, []string{"赋码统计", "下载统计"})
}

func (f *Function) writeXLSX(w http.ResponseWriter, r *http.Request, title string, sheets map[string][][]any, order []string) {
	x := excelize.NewFile()
	defer x.Close()
	for i, name := range order {
		if i == 0 {
			if err := x.SetSheetName("Sheet1", name); err != nil {
				f.fail(w, r, err)
				return
			}
		} else if _, err := x.NewSheet(name); err != nil {
			f.fail(w, r, err)
			return
		}
		for j, row := range sheets[name] {
			cell, _ := excelize.CoordinatesToCellName(1, j+1)
			if err := x.SetSheetRow(name, cell, &row); err != nil {
				f.fail(w, r, err)
				return
			}
		}
	}
	fname := fmt.Sprintf("%s_%s.xlsx", title, f.now().In(shanghai).Format("20060102150405"))
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fname}))
	if err := x.Write(w); err != nil {
		f.log.ErrorContext(r.Context(), "write xlsx", "err", err)
	}
}
