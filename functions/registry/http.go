package registry

import (
	"bytes"
	_ "embed"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/tabular"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the registry's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/registry/v1/openapi.yaml", openapi }

// The registry's permission resources (actions: view, create, edit,
// export) as identity's role editor offers them.
const (
	PermEntity = "registry.entity"
	PermImport = "registry.import"
)

// searchParams are the search filters of the list and the export.
var searchParams = []string{"name", "code", "district", "township", "industry", "type", "status"}

// Handler serves the registry's API behind token verification. Every
// route needs a permission; the handlers then confine what they read and
// write to the caller's data scope.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-13, FP-17: register and maintain the entity base.
	m.Handle("POST /registry/v1/entities", httpx.Body(f.create), auth.Requires(PermEntity, "create"), httpx.EntityInBody("credit_code"))
	m.Handle("GET /registry/v1/entities", httpx.Endpoint(f.search), auth.Requires(PermEntity, "view"), httpx.EntityListing(),
		httpx.Params(append(searchParams, httpx.PageParams...)...))
	m.HandleFunc("GET /registry/v1/entities/export", f.export, auth.Requires(PermEntity, "export"), httpx.EntityListing(),
		httpx.Params(append(searchParams, "format")...))
	m.Handle("GET /registry/v1/entities/{code}", httpx.Endpoint(f.get), auth.Requires(PermEntity, "view"), httpx.EntityIn("code"))
	m.Handle("PUT /registry/v1/entities/{code}", httpx.Endpoint(f.update), auth.Requires(PermEntity, "edit"), httpx.EntityIn("code"))
	// FP-99: 一户一档.
	m.Handle("GET /registry/v1/entities/{code}/profile", httpx.Endpoint(f.profile), auth.Requires(PermEntity, "view"), httpx.EntityIn("code"))
	m.Handle("POST /registry/v1/entities/{code}/records", httpx.Body(f.addRecord), auth.Requires(PermEntity, "edit"), httpx.EntityIn("code"))
	// FP-18: bulk import.
	m.Handle("POST /registry/v1/imports", httpx.Endpoint(f.importFile), auth.Requires(PermImport, "create"), httpx.EntityInBody("credit_code"),
		httpx.Params("filename"))
	m.Handle("GET /registry/v1/stats", httpx.Endpoint(f.stats), auth.Requires(PermEntity, "view"), httpx.NoEntity())
	return m
}

// scopeOf is the caller's data scope; a request without a principal (which
// Require has already refused) sees nothing.
func scopeOf(r *http.Request) auth.Scope {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.Scope
	}
	return auth.Scope{}
}

func codeOf(r *http.Request) string { return strings.ToUpper(r.PathValue("code")) }

func (f *Function) create(r *http.Request, in EntityInput) (any, error) {
	e, err := f.Create(r.Context(), scopeOf(r), auditlog.ActorOf(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(e, "/registry/v1/entities/"+e.CreditCode), nil
}

func (f *Function) update(r *http.Request) (any, error) {
	var in EntityInput
	if err := decodeForUpdate(r, &in); err != nil {
		return nil, err
	}
	return f.Update(r.Context(), scopeOf(r), auditlog.ActorOf(r), codeOf(r), in)
}

func (f *Function) get(r *http.Request) (any, error) {
	return f.Get(r.Context(), scopeOf(r), codeOf(r))
}

func (f *Function) profile(r *http.Request) (any, error) {
	return f.Profile(r.Context(), scopeOf(r), codeOf(r))
}

func (f *Function) addRecord(r *http.Request, in RecordInput) (any, error) {
	rec, err := f.AddRecord(r.Context(), scopeOf(r), auditlog.ActorOf(r), codeOf(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(rec, ""), nil
}

// filterFrom reads and checks the search parameters, confined to the
// caller's data scope.
func filterFrom(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	scope := scopeOf(r)
	f := Filter{Name: strings.TrimSpace(q.Get("name")), Code: strings.ToUpper(strings.TrimSpace(q.Get("code"))),
		District: q.Get("district"), Township: q.Get("township"), Industry: q.Get("industry"),
		Type: q.Get("type"), Status: q.Get("status"), Scope: &scope}
	var fe []errs.FieldError
	if msg := checkNameQuery(f.Name); msg != "" {
		fe = append(fe, errs.FieldError{Field: "name", Message: msg})
	}
	if _, ok := entityTypes[f.Type]; f.Type != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "type", Message: "主体类型不正确"})
	}
	if _, ok := statuses[f.Status]; f.Status != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "status", Message: "登记状态不正确"})
	}
	return f, errs.Fields(fe)
}

// SearchResult is a page of entities.
type SearchResult struct {
	Items      []Entity `json:"items"`
	Page       int      `json:"page"`
	PageSize   int      `json:"page_size"`
	Total      int      `json:"total"`
	TotalExact bool     `json:"total_exact"` // false: at least Total matches
}

func (f *Function) search(r *http.Request) (any, error) {
	flt, err := filterFrom(r)
	if err != nil {
		return nil, err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := searchEntities(r.Context(), f.pool, flt, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []Entity{}
	}
	return SearchResult{Items: items, Page: page.Page, PageSize: page.Size, Total: min(total, maxCount), TotalExact: total <= maxCount}, nil
}

var exportHeader = []string{"统一社会信用代码", "主体名称", "主体类型", "法定代表人（负责人）", "成立日期", "注册资本（万元）",
	"住所（经营场所）", "行政区划", "乡镇街道", "行业", "登记状态"}

// export streams the search result as XLSX (default) or CSV, at most
// REGISTRY_MAX_EXPORT_ROWS rows.
func (f *Function) export(w http.ResponseWriter, r *http.Request) {
	flt, err := filterFrom(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	items, _, err := searchEntities(r.Context(), f.pool, flt, f.cfg.MaxExportRows, 0)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	t := tabular.Table{Header: exportHeader}
	for _, e := range items {
		t.Rows = append(t.Rows, []any{e.CreditCode, e.Name, e.EntityTypeName, e.LegalRep, e.EstablishedOn, e.RegisteredCapital,
			e.Address, e.DistrictName, e.TownshipName, e.IndustryName, e.StatusName})
	}
	if err := tabular.Serve(w, "市场主体_"+f.now().Format("20060102150405"), format, t); err != nil {
		f.log.WarnContext(r.Context(), "export cut short", "err", err)
	}
}

// importFile takes a multipart upload (field "file") or a raw body with a
// CSV or XLSX content type.
func (f *Function) importFile(r *http.Request) (any, error) {
	data, format, err := readUpload(r)
	if err != nil {
		return nil, err
	}
	rows, err := ParseFile(format, data)
	if err != nil {
		return nil, err
	}
	res, err := f.Import(r.Context(), scopeOf(r), auditlog.ActorOf(r), rows)
	if err != nil {
		return nil, err
	}
	return httpx.Created(res, ""), nil
}

func readUpload(r *http.Request) ([]byte, string, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, MaxImportBytes+1<<20)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var body io.Reader = r.Body
	name := r.URL.Query().Get("filename")
	if ct == "multipart/form-data" {
		file, hdr, err := r.FormFile("file")
		if err != nil {
			return nil, "", errs.Wrap(errs.Invalid, "请上传文件（表单字段 file）", err)
		}
		defer file.Close()
		body, name = file, hdr.Filename
	}
	data, err := io.ReadAll(io.LimitReader(body, MaxImportBytes+1))
	if err != nil {
		return nil, "", errs.Wrap(errs.Invalid, "读取上传文件失败", err)
	}
	if len(data) > MaxImportBytes {
		return nil, "", errs.New(errs.Invalid, "文件超过 20MB，请拆分后导入")
	}
	format := "csv"
	switch {
	case strings.EqualFold(filepath.Ext(name), ".xlsx"), strings.Contains(ct, "spreadsheetml"), bytes.HasPrefix(data, []byte("PK\x03\x04")):
		format = "xlsx"
	case strings.EqualFold(filepath.Ext(name), ".xls"):
		return nil, "", errs.New(errs.Invalid, "不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV")
	}
	return data, format, nil
}

// StatsResult is the entity-count snapshot of the caller's districts.
type StatsResult struct {
	Items       []StatRow `json:"items"`
	Total       int64     `json:"total"`
	RefreshedAt string    `json:"refreshed_at"`
}

func (f *Function) stats(r *http.Request) (any, error) {
	rows, at, err := f.Stats(r.Context(), scopeOf(r))
	if err != nil {
		return nil, err
	}
	if rows == nil {
		rows = []StatRow{}
	}
	var total int64
	for _, s := range rows {
		total += s.Entities
	}
	return StatsResult{Items: rows, Total: total, RefreshedAt: at.Format(time.RFC3339)}, nil
}

// decodeForUpdate decodes without validating: Update validates after it
// has put the path's credit code into the input.
func decodeForUpdate(r *http.Request, in *EntityInput) error {
	return httpx.Decode(r, (*rawInput)(in))
}

type rawInput EntityInput
