package datahub

// Routes of third-party platforms (FP-115), their interface
// configurations (FP-116) and the interaction log (FP-117); registered
// in http.go.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/tabular"
)

// Permission resources of the third-party pages, listed in shared/auth's catalogue.
const (
	PermPlatform    = "datahub.platform"    // view, edit (platforms and their configurations, test, run)
	PermPlatformLog = "datahub.platformlog" // view, export
)

func idIn(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.New(errs.NotFound, what+"不存在")
	}
	return id, nil
}

func operatorOf(r *http.Request) string {
	p, _ := auth.FromContext(r.Context())
	if p.Name != "" {
		return p.Name
	}
	return p.UserID
}

func (f *Function) listPlatforms(r *http.Request) (any, error) {
	q := r.URL.Query()
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	pf := PlatformFilter{Name: strings.TrimSpace(q.Get("name")), State: q.Get("state")}
	if pf.State != "" && pf.State != "active" && pf.State != "disabled" {
		return nil, errs.Fields([]errs.FieldError{{Field: "state", Message: "状态只能是 active（启用）或 disabled（停用）"}})
	}
	items, total, err := listPlatforms(r.Context(), f.pool, pf, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) getPlatform(r *http.Request) (any, error) {
	id, err := idIn(r, "三方平台")
	if err != nil {
		return nil, err
	}
	return getPlatform(r.Context(), f.pool, id)
}

func (f *Function) createPlatform(r *http.Request, in PlatformInput) (any, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var p Platform
	err := f.change(r, "datahub.platform.create", "datahub_platform", func(tx pgx.Tx) (string, any, any, error) {
		var err error
		p, err = insertPlatform(r.Context(), tx, in, operatorOf(r), f.now())
		return strconv.FormatInt(p.ID, 10), nil, p, err
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(p, "/datahub/v1/platforms/"+strconv.FormatInt(p.ID, 10)), nil
}

func (f *Function) updatePlatform(r *http.Request, in PlatformInput) (any, error) {
	id, err := idIn(r, "三方平台")
	if err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	var p Platform
	err = f.change(r, "datahub.platform.update", "datahub_platform", func(tx pgx.Tx) (string, any, any, error) {
		before, err := getPlatform(r.Context(), tx, id)
		if err != nil {
			return "", nil, nil, err
		}
		p, err = updatePlatform(r.Context(), tx, id, in, f.now())
		return strconv.FormatInt(id, 10), before, p, err
	})
	return p, err
}

func (f *Function) deletePlatform(r *http.Request) (any, error) {
	id, err := idIn(r, "三方平台")
	if err != nil {
		return nil, err
	}
	err = f.change(r, "datahub.platform.delete", "datahub_platform", func(tx pgx.Tx) (string, any, any, error) {
		before, err := getPlatform(r.Context(), tx, id)
		if err != nil {
			return "", nil, nil, err
		}
		return strconv.FormatInt(id, 10), before, nil, deletePlatform(r.Context(), tx, id)
	})
	if err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}

func (f *Function) listPIfaces(r *http.Request) (any, error) {
	q := r.URL.Query()
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	cf := PIfaceFilter{Name: strings.TrimSpace(q.Get("name")), State: q.Get("state")}
	var fe []errs.FieldError
	if s := q.Get("platform_id"); s != "" {
		if cf.PlatformID, err = strconv.ParseInt(s, 10, 64); err != nil {
			fe = append(fe, errs.FieldError{Field: "platform_id", Message: "平台编号应为整数"})
		}
	}
	if _, ok := configStates[cf.State]; cf.State != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "state", Message: "联调状态只能是 untested（未联调）、testing（联调中）、tested（已联调）或 disabled（已停用）"})
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	items, total, err := listPIfaces(r.Context(), f.pool, cf, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) getPIface(r *http.Request) (any, error) {
	id, err := idIn(r, "接口配置")
	if err != nil {
		return nil, err
	}
	return getPIface(r.Context(), f.pool, id)
}

// checkPlatform refuses a configuration of a platform that does not exist.
func checkPlatform(ctx context.Context, q store.Querier, id int64) error {
	if id <= 0 {
		return nil // validate names it
	}
	if _, err := getPlatform(ctx, q, id); errs.CodeOf(err) == errs.NotFound {
		return errs.Fields([]errs.FieldError{{Field: "platform_id", Message: "所属平台不存在"}})
	} else {
		return err
	}
}

// sealSecret encrypts a configuration's secret; nil when none was sent.
func (f *Function) sealSecret(secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	return f.plat.box.Seal([]byte(secret))
}

func (f *Function) createPIface(r *http.Request, in PlatformIfaceInput) (any, error) {
	if err := in.validate(f.catalogue, false); err != nil {
		return nil, err
	}
	if err := checkPlatform(r.Context(), f.pool, in.PlatformID); err != nil {
		return nil, err
	}
	if in.State == "tested" {
		return nil, errs.Fields([]errs.FieldError{{Field: "state", Message: "新建的接口尚未测试，不能直接设为“已联调”"}})
	}
	sealed, err := f.sealSecret(in.Secret)
	if err != nil {
		return nil, err
	}
	var c PlatformIface
	err = f.change(r, "datahub.platform_interface.create", "datahub_platform_interface", func(tx pgx.Tx) (string, any, any, error) {
		var err error
		c, err = insertPIface(r.Context(), tx, in, sealed, operatorOf(r), f.now())
		return strconv.FormatInt(c.ID, 10), nil, c, err
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(c, "/datahub/v1/platform-interfaces/"+strconv.FormatInt(c.ID, 10)), nil
}

func (f *Function) updatePIface(r *http.Request, in PlatformIfaceInput) (any, error) {
	id, err := idIn(r, "接口配置")
	if err != nil {
		return nil, err
	}
	before, err := getPIface(r.Context(), f.pool, id)
	if err != nil {
		return nil, err
	}
	if err := in.validate(f.catalogue, before.HasSecret && in.AuthKind == before.AuthKind); err != nil {
		return nil, err
	}
	if err := checkPlatform(r.Context(), f.pool, in.PlatformID); err != nil {
		return nil, err
	}
	// 已联调 is earned by a successful test of what is now configured.
	if in.State == "tested" && before.State != "tested" && before.LastStatus != "test_ok" {
		return nil, errs.Fields([]errs.FieldError{{Field: "state", Message: "接口尚未测试成功，不能设为“已联调”，请先“测试连接”"}})
	}
	sealed, err := f.sealSecret(in.Secret)
	if err != nil {
		return nil, err
	}
	var c PlatformIface
	err = f.change(r, "datahub.platform_interface.update", "datahub_platform_interface", func(tx pgx.Tx) (string, any, any, error) {
		var err error
		c, err = updatePIface(r.Context(), tx, id, in, sealed, f.now())
		return strconv.FormatInt(id, 10), before, c, err
	})
	return c, err
}

func (f *Function) deletePIface(r *http.Request) (any, error) {
	id, err := idIn(r, "接口配置")
	if err != nil {
		return nil, err
	}
	err = f.change(r, "datahub.platform_interface.delete", "datahub_platform_interface", func(tx pgx.Tx) (string, any, any, error) {
		before, err := getPIface(r.Context(), tx, id)
		if err != nil {
			return "", nil, nil, err
		}
		return strconv.FormatInt(id, 10), before, nil, deletePIface(r.Context(), tx, id)
	})
	if err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}

func (f *Function) testPIface(r *http.Request) (any, error) {
	id, err := idIn(r, "接口配置")
	if err != nil {
		return nil, err
	}
	return f.RunPlatformIface(r.Context(), id, "test", operatorOf(r))
}

func (f *Function) runPIface(r *http.Request) (any, error) {
	id, err := idIn(r, "接口配置")
	if err != nil {
		return nil, err
	}
	return f.RunPlatformIface(r.Context(), id, "manual", operatorOf(r))
}

// PlatformLog is one call in the interaction log (FP-117).
type PlatformLog struct {
	ID           int64     `json:"id"`
	ConfigID     int64     `json:"config_id"`
	ConfigName   string    `json:"config_name"`
	PlatformID   int64     `json:"platform_id"`
	PlatformName string    `json:"platform_name"`
	At           time.Time `json:"at"`
	Trigger      string    `json:"trigger"`
	Method       string    `json:"method"`
	URL          string    `json:"url"`
	Request      string    `json:"request,omitempty"`
	Status       int       `json:"status"`
	Response     string    `json:"response,omitempty"`
	RowsRead     int       `json:"rows_read"`
	RowsWritten  int       `json:"rows_written"`
	DurationUS   int64     `json:"duration_us"`
	OK           bool      `json:"ok"`
	Error        string    `json:"error"`
	Operator     string    `json:"operator"`
}

// PlatformLogFilter is the log search.
type PlatformLogFilter struct {
	PlatformID, ConfigID int64
	OK                   *bool
	Q                    string
	From, To             *time.Time
}

const platformLogCols = `l.id, l.config_id, c.name, l.platform_id, p.name, l.at, l.trigger, l.method, l.url, l.status,
	l.rows_read, l.rows_written, l.duration_us, l.ok, l.error, l.operator`

const platformLogFrom = ` FROM datahub.platform_logs l JOIN datahub.platform_configs c ON c.id = l.config_id
	JOIN datahub.platforms p ON p.id = l.platform_id`

func scanPlatformLog(row pgx.Row, full bool) (PlatformLog, error) {
	var l PlatformLog
	dst := []any{&l.ID, &l.ConfigID, &l.ConfigName, &l.PlatformID, &l.PlatformName, &l.At, &l.Trigger, &l.Method, &l.URL, &l.Status,
		&l.RowsRead, &l.RowsWritten, &l.DurationUS, &l.OK, &l.Error, &l.Operator}
	if full {
		dst = append(dst, &l.Request, &l.Response)
	}
	err := row.Scan(dst...)
	if err == pgx.ErrNoRows {
		return l, errs.New(errs.NotFound, "日志不存在")
	}
	return l, err
}

func listPlatformLogs(ctx context.Context, pool *pgxpool.Pool, lf PlatformLogFilter, full bool, limit, offset int) ([]PlatformLog, int, error) {
	var w store.Where
	if lf.PlatformID != 0 {
		w.Add("l.platform_id = ?", lf.PlatformID)
	}
	if lf.ConfigID != 0 {
		w.Add("l.config_id = ?", lf.ConfigID)
	}
	if lf.OK != nil {
		w.Add("l.ok = ?", *lf.OK)
	}
	if lf.Q != "" {
		w.Add("(l.url ILIKE ? OR l.error ILIKE ? OR l.response ILIKE ? OR c.name ILIKE ?)",
			store.Contains(lf.Q), store.Contains(lf.Q), store.Contains(lf.Q), store.Contains(lf.Q))
	}
	if lf.From != nil {
		w.Add("l.at >= ?", *lf.From)
	}
	if lf.To != nil {
		w.Add("l.at < ?", *lf.To)
	}
	var total int
	if err := pool.QueryRow(ctx, `SELECT count(*)`+platformLogFrom+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, err
	}
	cols := platformLogCols
	if full {
		cols += ", l.request, l.response"
	}
	rows, err := pool.Query(ctx, `SELECT `+cols+platformLogFrom+w.SQL()+` ORDER BY l.id DESC LIMIT `+w.Next(limit)+` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PlatformLog, error) { return scanPlatformLog(r, full) })
	return out, total, err
}

func (f *Function) getPlatformLog(r *http.Request) (any, error) {
	id, err := idIn(r, "日志")
	if err != nil {
		return nil, err
	}
	return scanPlatformLog(f.pool.QueryRow(r.Context(), `SELECT `+platformLogCols+`, l.request, l.response`+platformLogFrom+` WHERE l.id = $1`, id), true)
}

var triggerNames = map[string]string{"test": "测试连接", "manual": "手动执行", "schedule": "定时执行"}

// servePlatformLogs answers the log as a page, or as CSV/XLSX with format=.
func (f *Function) servePlatformLogs(w http.ResponseWriter, r *http.Request) {
	v, err := f.platformLogs(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if x, ok := v.(exportReply); ok {
		if err := tabular.Serve(w, x.name+"_"+f.now().In(beijing).Format("20060102150405"), x.format, x.table); err != nil {
			f.log.Error("datahub: platform log export", "err", err)
		}
		return
	}
	httpx.Write(w, v)
}

func (f *Function) platformLogs(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	lf := PlatformLogFilter{Q: strings.TrimSpace(q.Get("q"))}
	var fe []errs.FieldError
	for k, dst := range map[string]*int64{"platform_id": &lf.PlatformID, "config_id": &lf.ConfigID} {
		if s := q.Get(k); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				fe = append(fe, errs.FieldError{Field: k, Message: "编号应为整数"})
			}
			*dst = n
		}
	}
	switch q.Get("ok") {
	case "":
	case "true":
		t := true
		lf.OK = &t
	case "false":
		b := false
		lf.OK = &b
	default:
		fe = append(fe, errs.FieldError{Field: "ok", Message: "结果只能是 true（成功）或 false（失败）"})
	}
	for _, k := range []string{"from", "to"} {
		if s := q.Get(k); s != "" {
			t, err := time.ParseInLocation("2006-01-02", s, beijing)
			if err != nil {
				fe = append(fe, errs.FieldError{Field: k, Message: "日期格式不正确，应为 YYYY-MM-DD"})
				continue
			}
			if k == "from" {
				lf.From = &t
			} else {
				t = t.AddDate(0, 0, 1)
				lf.To = &t
			}
		}
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	if s := q.Get("format"); s != "" {
		fm, err := tabular.ParseFormat(s, tabular.CSV)
		if err != nil {
			return nil, err
		}
		if !p.Can(PermPlatformLog, "export") {
			return nil, errs.New(errs.Forbidden, "您没有导出数据交互日志的权限")
		}
		items, _, err := listPlatformLogs(r.Context(), f.pool, lf, true, f.cfg.MaxExportRows, 0)
		if err != nil {
			return nil, err
		}
		t := tabular.Table{Header: []string{"时间", "平台", "接口", "触发方式", "请求方式", "地址", "状态码", "读取行数", "写入行数",
			"耗时（毫秒）", "结果", "错误", "操作人", "请求（已脱敏）", "应答摘要（已脱敏）"}}
		for _, l := range items {
			res := "成功"
			if !l.OK {
				res = "失败"
			}
			t.Rows = append(t.Rows, []any{l.At, l.PlatformName, l.ConfigName, triggerNames[l.Trigger], l.Method, l.URL, l.Status,
				l.RowsRead, l.RowsWritten, float64(l.DurationUS) / 1000, res, l.Error, l.Operator, l.Request, l.Response})
		}
		return exportReply{name: "数据交互日志", format: fm, table: t}, nil
	}
	items, total, err := listPlatformLogs(r.Context(), f.pool, lf, false, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}
