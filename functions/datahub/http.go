package datahub

import (
	_ "embed"
	"net/http"
	"slices"
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
func (f *Function) OpenAPI() (string, []byte) { return "/datahub/v1/openapi.yaml", openapi }

// Permission resources, listed in shared/auth's catalogue.
const (
	PermCatalogue = "datahub.catalogue" // view
	PermInterface = "datahub.interface" // view, create, edit (rotate, revoke)
	PermAccessLog = "datahub.accesslog" // view, export
	// PermPersonal (view) lets a creator's interfaces show personal
	// fields unmasked; without it they are masked.
	PermPersonal = "datahub.personal"
)

// Handler serves the API behind token verification, and the generated
// interfaces behind their access keys.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-93: the catalogue.
	m.Handle("GET /datahub/v1/datasets", httpx.Endpoint(f.listDatasets), auth.Requires(PermCatalogue, "view"), httpx.NoEntity(),
		httpx.Params("q", "classification"))
	m.Handle("GET /datahub/v1/datasets/{id}", httpx.Endpoint(f.getDataset), auth.Requires(PermCatalogue, "view"), httpx.NoEntity())
	// FP-95: generated interfaces.
	m.Handle("GET /datahub/v1/interfaces", httpx.Endpoint(f.listInterfaces), auth.Requires(PermInterface, "view"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/interfaces", httpx.Body(f.createInterface), auth.Requires(PermInterface, "create"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/interfaces/{id}/openapi.json", httpx.Endpoint(f.interfaceDoc), auth.Requires(PermInterface, "view"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/interfaces/{id}/rotate", httpx.Endpoint(f.rotate), auth.Requires(PermInterface, "edit"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/interfaces/{id}/revoke", httpx.Endpoint(f.revoke), auth.Requires(PermInterface, "edit"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/access-log", http.HandlerFunc(f.serveAccessLog), auth.Requires(PermAccessLog, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"interface_id", "status", "q", "from", "to", "format"}, httpx.PageParams...)...))
	// FP-96 partly: no console page yet; due jobs are run by the function's own poller, not a PingSource
	// (push an interface's rows into the user's database)
	m.Handle("POST /datahub/v1/interfaces/{id}/pushes", httpx.Body(f.createPush), auth.Requires(PermInterface, "create"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/pushes", httpx.Endpoint(f.listPushes), auth.Requires(PermInterface, "view"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/pushes/{id}/run", httpx.Endpoint(f.runPush), auth.Requires(PermInterface, "edit"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/pushes/{id}/runs", httpx.Endpoint(f.pushRuns), auth.Requires(PermInterface, "view"), httpx.NoEntity())
	// FP-136: smart search — formula conditions (CEL or the builder), grouping and aggregates, saved formulas with variables
	m.Handle("POST /datahub/v1/search/check", httpx.Body(f.searchCheck), auth.Requires(PermSearch, "view"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/search/run", httpx.Body(f.searchRun), auth.Requires(PermSearch, "view"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/search/export", http.HandlerFunc(f.serveSearchExport), auth.Requires(PermSearch, "export"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/search/formulas", httpx.Endpoint(f.listFormulasH), auth.Requires(PermSearch, "view"), httpx.NoEntity(), httpx.Params("dataset"))
	m.Handle("POST /datahub/v1/search/formulas", httpx.Body(f.createFormula), auth.Requires(PermSearch, "create"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/search/formulas/{id}", httpx.Endpoint(f.getFormula), auth.Requires(PermSearch, "view"), httpx.NoEntity())
	m.Handle("PUT /datahub/v1/search/formulas/{id}", httpx.Body(f.updateFormula), auth.Requires(PermSearch, "create"), httpx.NoEntity())
	m.Handle("DELETE /datahub/v1/search/formulas/{id}", httpx.Endpoint(f.deleteFormula), auth.Requires(PermSearch, "create"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/search/formulas/{id}/run", httpx.Body(f.runFormula), auth.Requires(PermSearch, "view"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/search/formulas/{id}/export", http.HandlerFunc(f.serveFormulaExport), auth.Requires(PermSearch, "export"), httpx.NoEntity())
	f.phase1Routes(m)
	// FP-115: third-party platforms (三方平台管理).
	m.Handle("GET /datahub/v1/platforms", httpx.Endpoint(f.listPlatforms), auth.Requires(PermPlatform, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"name", "state"}, httpx.PageParams...)...))
	m.Handle("POST /datahub/v1/platforms", httpx.Body(f.createPlatform), auth.Requires(PermPlatform, "edit"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/platforms/{id}", httpx.Endpoint(f.getPlatform), auth.Requires(PermPlatform, "view"), httpx.NoEntity())
	m.Handle("PUT /datahub/v1/platforms/{id}", httpx.Body(f.updatePlatform), auth.Requires(PermPlatform, "edit"), httpx.NoEntity())
	m.Handle("DELETE /datahub/v1/platforms/{id}", httpx.Endpoint(f.deletePlatform), auth.Requires(PermPlatform, "edit"), httpx.NoEntity())
	// FP-116: interface configurations (数据交互配置), tested and run on demand; due ones on the PingSource tick.
	m.Handle("GET /datahub/v1/platform-interfaces", httpx.Endpoint(f.listPIfaces), auth.Requires(PermPlatform, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"name", "platform_id", "state"}, httpx.PageParams...)...))
	m.Handle("POST /datahub/v1/platform-interfaces", httpx.Body(f.createPIface), auth.Requires(PermPlatform, "edit"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/platform-interfaces/{id}", httpx.Endpoint(f.getPIface), auth.Requires(PermPlatform, "view"), httpx.NoEntity())
	m.Handle("PUT /datahub/v1/platform-interfaces/{id}", httpx.Body(f.updatePIface), auth.Requires(PermPlatform, "edit"), httpx.NoEntity())
	m.Handle("DELETE /datahub/v1/platform-interfaces/{id}", httpx.Endpoint(f.deletePIface), auth.Requires(PermPlatform, "edit"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/platform-interfaces/{id}/test", httpx.Endpoint(f.testPIface), auth.Requires(PermPlatform, "edit"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/platform-interfaces/{id}/run", httpx.Endpoint(f.runPIface), auth.Requires(PermPlatform, "edit"), httpx.NoEntity())
	// FP-117: the interaction log (数据交互日志), searchable and exportable.
	m.Handle("GET /datahub/v1/platform-logs", http.HandlerFunc(f.servePlatformLogs), auth.Requires(PermPlatformLog, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"platform_id", "config_id", "ok", "q", "from", "to", "format"}, httpx.PageParams...)...))
	m.Handle("GET /datahub/v1/platform-logs/{id}", httpx.Endpoint(f.getPlatformLog), auth.Requires(PermPlatformLog, "view"), httpx.NoEntity())
	// FP-126: the BJ-TJ-HE exchange (docs/jjj-exchange.md): partners, pulls of their side, the log,
	// and our side, public to the token verifier: partners sign each request (exchange.go verifies it).
	m.Handle("GET /datahub/v1/jjj/partners", httpx.Endpoint(f.listPartners), auth.Requires(PermExchange, "view"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/jjj/partners", httpx.Body(f.createPartner), auth.Requires(PermExchange, "edit"), httpx.NoEntity())
	m.Handle("PUT /datahub/v1/jjj/partners/{id}", httpx.Body(f.updatePartner), auth.Requires(PermExchange, "edit"), httpx.NoEntity())
	m.Handle("POST /datahub/v1/jjj/partners/{id}/pull", httpx.Endpoint(f.pullPartner), auth.Requires(PermExchange, "edit"), httpx.NoEntity())
	m.Handle("GET /datahub/v1/jjj/log", httpx.Endpoint(f.exchangeLog), auth.Requires(PermExchange, "view"), httpx.NoEntity(),
		httpx.Params(httpx.PageParams...))
	m.Handle("GET /datahub/v1/jjj/enterprises", http.HandlerFunc(f.serveJJJ), httpx.Public(), httpx.AnyParams())
	m.Handle("GET /datahub/v1/jjj/openapi.yaml", http.HandlerFunc(f.serveJJJDoc), httpx.Public())
	// FP-95: the generated interface itself. Public to the token verifier:
	// its access key is the credential, checked in serveData, and its rows
	// are confined to the creator's data scope frozen in the interface.
	m.Handle("GET /datahub/v1/data/{id}", http.HandlerFunc(f.serveData), httpx.Public(), httpx.AnyParams())
	// FP-94 partly: streamed synchronously; no asynchronous build with progress and an expiring link, XLSX per page only
	// (the whole filtered result as one streamed CSV file)
	m.Handle("GET /datahub/v1/data/{id}/export.csv", http.HandlerFunc(f.serveExport), httpx.Public(), httpx.AnyParams())
	f.qualityRoutes(m)
	f.lineageRoutes(m)
	return m
}

func (f *Function) listDatasets(r *http.Request) (any, error) {
	q := r.URL.Query()
	return map[string]any{"items": f.catalogue.search(strings.TrimSpace(q.Get("q")), q.Get("classification"))}, nil
}

func (f *Function) getDataset(r *http.Request) (any, error) {
	ds := f.catalogue[r.PathValue("id")]
	if ds == nil {
		return nil, errs.New(errs.NotFound, "数据集不存在")
	}
	return ds, nil
}

// InterfaceInput is what a creator sends to generate an interface.
type InterfaceInput struct {
	Name        string   `json:"name"`
	Dataset     string   `json:"dataset"`
	Fields      []string `json:"fields"`
	Filter      string   `json:"filter"` // the same grammar as a consumer's query, e.g. "status=eq.active"
	RatePerMin  int      `json:"rate_per_min"`
	QuotaPerDay int      `json:"quota_per_day"`
}

// Created is the answer to a generation or rotation: the key, shown this
// once.
type Created struct {
	Interface
	Key     string `json:"key"`
	OpenAPI string `json:"openapi"`
}

func (f *Function) createInterface(r *http.Request, in InterfaceInput) (any, error) {
	p, _ := auth.FromContext(r.Context())
	var fe []errs.FieldError
	name := strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写接口名称（不超过 100 字）"})
	}
	ds := f.catalogue[in.Dataset]
	if ds == nil {
		return nil, errs.Fields(append(fe, errs.FieldError{Field: "dataset", Message: "数据集不存在"}))
	}
	res, act, _ := strings.Cut(ds.Permission, ":")
	if !p.Can(res, act) {
		return nil, errs.New(errs.Forbidden, "您没有使用数据集“"+ds.Title+"”的权限")
	}
	if p.Scope.IsEmpty() {
		return nil, errs.New(errs.Forbidden, "您的数据范围为空，无法生成接口")
	}
	if len(in.Fields) == 0 {
		fe = append(fe, errs.FieldError{Field: "fields", Message: "请至少选择一个字段"})
	}
	var fields []string
	for _, name := range in.Fields {
		if _, ok := ds.field(name); !ok {
			fe = append(fe, errs.FieldError{Field: "fields", Message: "未知字段“" + clip(name) + "”"})
		} else if !slices.Contains(fields, name) {
			fields = append(fields, name)
		}
	}
	if in.Filter != "" {
		if _, err := ParseQuery(filterValues(in.Filter), ds, fieldNames(ds)); err != nil {
			fe = append(fe, errs.FieldError{Field: "filter", Message: errs.As(err).Message})
		}
	}
	if in.RatePerMin == 0 {
		in.RatePerMin = f.cfg.DefaultRatePerMin
	}
	if in.QuotaPerDay == 0 {
		in.QuotaPerDay = f.cfg.DefaultQuotaPerDay
	}
	if in.RatePerMin < 1 || in.RatePerMin > 100000 {
		fe = append(fe, errs.FieldError{Field: "rate_per_min", Message: "每分钟调用上限应为 1 至 100000"})
	}
	if in.QuotaPerDay < 1 || in.QuotaPerDay > 100000000 {
		fe = append(fe, errs.FieldError{Field: "quota_per_day", Message: "每日调用配额应为 1 至 100000000"})
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	key, prefix, hash := newKey()
	var it Interface
	err := f.change(r, "datahub.interface.create", "datahub_interface", func(tx pgx.Tx) (string, any, any, error) {
		var err error
		it, err = insertIface(r.Context(), tx, Interface{Name: name, Dataset: ds.ID, Fields: fields, Filter: in.Filter,
			Scope: p.Scope, Unmask: p.Can(PermPersonal, "view"), OwnerID: p.UserID, OwnerName: p.Name, DeptID: p.DeptID,
			KeyPrefix: prefix, RatePerMin: in.RatePerMin, QuotaPerDay: in.QuotaPerDay, CreatedAt: f.now()}, hash)
		return strconv.FormatInt(it.ID, 10), nil, it, err
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(Created{Interface: it, Key: key, OpenAPI: docPath(it.ID)}, it.Endpoint), nil
}

func docPath(id int64) string {
	return "/datahub/v1/interfaces/" + strconv.FormatInt(id, 10) + "/openapi.json"
}

func (f *Function) listInterfaces(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	items, err := listIfaces(r.Context(), f.pool, p.UserID)
	return map[string]any{"items": items}, err
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, errs.New(errs.NotFound, "接口不存在")
	}
	return id, nil
}

// ownIface is the caller's interface named by the path.
func (f *Function) ownIface(r *http.Request) (Interface, error) {
	p, _ := auth.FromContext(r.Context())
	id, err := pathID(r)
	if err != nil {
		return Interface{}, err
	}
	return ifaceOf(r.Context(), f.pool, id, p.UserID)
}

func (f *Function) interfaceDoc(r *http.Request) (any, error) {
	it, err := f.ownIface(r)
	if err != nil {
		return nil, err
	}
	return InterfaceDoc(f.catalogue[it.Dataset], it), nil
}

func (f *Function) rotate(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	old, err := ifaceOf(r.Context(), f.pool, id, p.UserID)
	if err != nil {
		return nil, err
	}
	key, prefix, hash := newKey()
	if err := f.change(r, "datahub.interface.rotate", "datahub_interface", func(tx pgx.Tx) (string, any, any, error) {
		if err := rotateIface(r.Context(), tx, id, p.UserID, prefix, hash, f.now()); err != nil {
			return "", nil, nil, err
		}
		after, err := ifaceOf(r.Context(), tx, id, p.UserID)
		return strconv.FormatInt(id, 10), old, after, err
	}); err != nil {
		return nil, err
	}
	// The old key stops on every replica: its prefix is marked revoked.
	if err := f.markRevoked(r.Context(), id, old.KeyPrefix); err != nil {
		return nil, errs.Wrap(errs.Unavailable, "密钥已更换，但通知其他实例失败，旧密钥最迟 "+f.cfg.KeyCacheTTL.String()+" 后失效", err)
	}
	it, err := ifaceOf(r.Context(), f.pool, id, p.UserID)
	if err != nil {
		return nil, err
	}
	return Created{Interface: it, Key: key, OpenAPI: docPath(id)}, nil
}

func (f *Function) revoke(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if err := f.change(r, "datahub.interface.revoke", "datahub_interface", func(tx pgx.Tx) (string, any, any, error) {
		before, err := ifaceOf(r.Context(), tx, id, p.UserID)
		if err != nil {
			return "", nil, nil, err
		}
		if err := revokeIface(r.Context(), tx, id, p.UserID, f.now()); err != nil {
			return "", nil, nil, err
		}
		after, err := ifaceOf(r.Context(), tx, id, p.UserID)
		return strconv.FormatInt(id, 10), before, after, err
	}); err != nil {
		return nil, err
	}
	if err := f.markRevoked(r.Context(), id, ""); err != nil {
		return nil, errs.Wrap(errs.Unavailable, "接口已吊销，但通知其他实例失败，最迟 "+f.cfg.KeyCacheTTL.String()+" 后全部生效", err)
	}
	return httpx.NoContent(), nil
}

func (f *Function) accessLog(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	q := r.URL.Query()
	lf := LogFilter{Owner: p.UserID, Q: strings.TrimSpace(q.Get("q"))}
	var fe []errs.FieldError
	if s := q.Get("interface_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: "interface_id", Message: "接口编号应为整数"})
		}
		lf.InterfaceID = n
	}
	if s := q.Get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: "status", Message: "状态码应为整数"})
		}
		lf.Status = n
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
		if !p.Can(PermAccessLog, "export") {
			return nil, errs.New(errs.Forbidden, "您没有导出访问日志的权限")
		}
		items, _, err := listAccess(r.Context(), f.pool, lf, f.cfg.MaxExportRows, 0)
		if err != nil {
			return nil, err
		}
		t := tabular.Table{Header: []string{"时间", "接口编号", "密钥前缀", "数据集", "查询条件", "状态码", "返回行数", "耗时（微秒）", "来源地址", "说明"}}
		for _, e := range items {
			var id any
			if e.InterfaceID != nil {
				id = *e.InterfaceID
			}
			t.Rows = append(t.Rows, []any{e.At, id, e.KeyPrefix, e.Dataset, e.Query, e.Status, e.Rows, e.DurationUS, e.ClientIP, e.Message})
		}
		return exportReply{name: "数据接口访问日志", format: fm, table: t}, nil
	}
	items, total, err := listAccess(r.Context(), f.pool, lf, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

// exportReply is an access-log export, written by serveAccessLog.
type exportReply struct {
	name   string
	format tabular.Format
	table  tabular.Table
}

// serveAccessLog answers the access log as a page, or as CSV/XLSX with
// format= (FP-95: searchable and exportable).
func (f *Function) serveAccessLog(w http.ResponseWriter, r *http.Request) {
	v, err := f.accessLog(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if x, ok := v.(exportReply); ok {
		if err := tabular.Serve(w, x.name+"_"+f.now().In(beijing).Format("20060102150405"), x.format, x.table); err != nil {
			f.log.Error("datahub: access log export", "err", err)
		}
		return
	}
	httpx.Write(w, v)
}

func (f *Function) createPush(r *http.Request, in PushInput) (any, error) {
	p, _ := auth.FromContext(r.Context())
	it, err := f.ownIface(r)
	if err != nil {
		return nil, err
	}
	if it.Status != "active" {
		return nil, errs.New(errs.Conflict, "接口已吊销，不能推送")
	}
	dsn, err := in.validate()
	if err != nil {
		return nil, err
	}
	db, err := openTarget(r.Context(), in.TargetKind, dsn)
	if err != nil {
		return nil, errs.Fields([]errs.FieldError{{Field: "target_dsn", Message: "无法连接目标数据库：" + err.Error()}})
	}
	db.Close()
	sealed, err := f.seal.Seal([]byte(strings.TrimSpace(in.TargetDSN)))
	if err != nil {
		return nil, err
	}
	var job PushJob
	if err := f.change(r, "datahub.push.create", "datahub_push", func(tx pgx.Tx) (string, any, any, error) {
		var err error
		job, err = insertPushJob(r.Context(), tx, it, in, p.UserID, sealed, f.now())
		return strconv.FormatInt(job.ID, 10), nil, job, err
	}); err != nil {
		return nil, err
	}
	return httpx.Created(job, "/datahub/v1/pushes/"+strconv.FormatInt(job.ID, 10)), nil
}

func (f *Function) listPushes(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	return listPushJobs(r.Context(), f.pool, p.UserID)
}

// ownPush is the caller's push job.
func (f *Function) ownPush(r *http.Request) (PushJob, error) {
	p, _ := auth.FromContext(r.Context())
	id, err := pathID(r)
	if err != nil {
		return PushJob{}, err
	}
	j, err := f.pushJob(r.Context(), f.pool, id)
	if err == nil && j.owner != p.UserID {
		err = errs.New(errs.NotFound, "推送任务不存在")
	}
	return j, err
}

func (f *Function) runPush(r *http.Request) (any, error) {
	j, err := f.ownPush(r)
	if err != nil {
		return nil, err
	}
	return f.RunPush(r.Context(), j.ID)
}

func (f *Function) pushRuns(r *http.Request) (any, error) {
	j, err := f.ownPush(r)
	if err != nil {
		return nil, err
	}
	return listPushRuns(r.Context(), f.pool, j.ID, 100)
}

// change runs one change and its operation-log row (FP-8: who, from
// where, the object's state before and after) in one transaction, so the
// row exists exactly when the change commits. fn returns the object's id
// and its states (a nil before for a creation).
func (f *Function) change(r *http.Request, action, objType string, fn func(tx pgx.Tx) (id string, before, after any, err error)) error {
	return store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		id, before, after, err := fn(tx)
		if err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{
			Action: action, ObjectType: objType, ObjectID: id, Before: before, After: after})
	})
}
