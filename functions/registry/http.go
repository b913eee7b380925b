package registry

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

func (f *Function) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /registry/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		_, _ = w.Write(openapi)
	})
	// Every API needs a permission (auth.Require); the handlers then
	// confine what they read and write to the caller's data scope.
	mux.Handle("POST /registry/v1/entities", guard(PermEntity, "create", f.handleCreate))
	mux.Handle("GET /registry/v1/entities", guard(PermEntity, "view", f.handleSearch))
	mux.Handle("GET /registry/v1/entities/export", guard(PermEntity, "export", f.handleExport))
	mux.Handle("GET /registry/v1/entities/{code}", guard(PermEntity, "view", f.handleGet))
	mux.Handle("PUT /registry/v1/entities/{code}", guard(PermEntity, "edit", f.handleUpdate))
	mux.Handle("GET /registry/v1/entities/{code}/profile", guard(PermEntity, "view", f.handleProfile))
	mux.Handle("POST /registry/v1/entities/{code}/records", guard(PermEntity, "edit", f.handleAddRecord))
	mux.Handle("POST /registry/v1/imports", guard(PermImport, "create", f.handleImport))
	mux.Handle("GET /registry/v1/stats", guard(PermEntity, "view", f.handleStats))
	return mux
}

// The registry's permission resources (actions: view, create, edit,
// export) as identity's role editor offers them.
const (
	PermEntity = "registry.entity"
	PermImport = "registry.import"
)

func guard(resource, action string, h http.HandlerFunc) http.Handler {
	return auth.Require(resource, action)(h)
}

// scopeOf is the caller's data scope; a request without a principal (which
// Require has already refused) sees nothing.
func scopeOf(r *http.Request) auth.Scope {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.Scope
	}
	return auth.Scope{}
}

func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, f.log, err)
}

func (f *Function) handleCreate(w http.ResponseWriter, r *http.Request) {
	var in EntityInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	e, err := f.Create(r.Context(), scopeOf(r), in)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/registry/v1/entities/"+e.CreditCode)
	httpx.JSON(w, http.StatusCreated, e)
}

func (f *Function) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var in EntityInput
	if err := decodeForUpdate(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	e, err := f.Update(r.Context(), scopeOf(r), strings.ToUpper(r.PathValue("code")), in)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, e)
}

func (f *Function) handleGet(w http.ResponseWriter, r *http.Request) {
	e, err := f.Get(r.Context(), scopeOf(r), strings.ToUpper(r.PathValue("code")))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, e)
}

func (f *Function) handleProfile(w http.ResponseWriter, r *http.Request) {
	p, err := f.Profile(r.Context(), scopeOf(r), strings.ToUpper(r.PathValue("code")))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, p)
}

func (f *Function) handleAddRecord(w http.ResponseWriter, r *http.Request) {
	var in RecordInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	rec, err := f.AddRecord(r.Context(), scopeOf(r), strings.ToUpper(r.PathValue("code")), in)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, rec)
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

func (f *Function) handleSearch(w http.ResponseWriter, r *http.Request) {
	flt, err := filterFrom(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	items, total, err := searchEntities(r.Context(), f.pool, flt, page.Size, page.Offset())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if items == nil {
		items = []Entity{}
	}
	exact := total <= maxCount
	httpx.JSON(w, http.StatusOK, SearchResult{Items: items, Page: page.Page, PageSize: page.Size, Total: min(total, maxCount), TotalExact: exact})
}

// MaxExportRows bounds one export; larger extracts go through the data hub.
const MaxExportRows = 10000

var exportHeader = []string{"统一社会信用代码", "主体名称", "主体类型", "法定代表人（负责人）", "成立日期", "注册资本（万元）",
	"住所（经营场所）", "行政区划", "乡镇街道", "行业", "登记状态"}

func (f *Function) handleExport(w http.ResponseWriter, r *http.Request) {
	flt, err := filterFrom(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "xlsx"
	}
	if format != "xlsx" && format != "csv" {
		f.fail(w, r, errs.Fields([]errs.FieldError{{Field: "format", Message: "导出格式应为 xlsx 或 csv"}}))
		return
	}
	items, _, err := searchEntities(r.Context(), f.pool, flt, MaxExportRows, 0)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	rows := [][]string{exportHeader}
	for _, e := range items {
		rows = append(rows, []string{e.CreditCode, e.Name, e.EntityTypeName, e.LegalRep, e.EstablishedOn, e.RegisteredCapital,
			e.Address, e.DistrictName, e.TownshipName, e.IndustryName, e.StatusName})
	}
	name := fmt.Sprintf("市场主体_%s.%s", f.now().Format("20060102150405"), format)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		_, _ = w.Write([]byte("\xef\xbb\xbf")) // Excel opens UTF-8 CSV correctly only with a BOM
		cw := csv.NewWriter(w)
		_ = cw.WriteAll(rows)
		return
	}
	x := excelize.NewFile()
	defer x.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = v
		}
		if err := x.SetSheetRow("Sheet1", cell, &vals); err != nil {
			f.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	_ = x.Write(w)
}

// handleImport takes a multipart upload (field "file") or a raw body with a
// CSV or XLSX content type.
func (f *Function) handleImport(w http.ResponseWriter, r *http.Request) {
	data, format, err := readUpload(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	rows, err := ParseFile(format, data)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	res, err := f.Import(r.Context(), scopeOf(r), rows)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, res)
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

func (f *Function) handleStats(w http.ResponseWriter, r *http.Request) {
	rows, at, err := f.Stats(r.Context(), scopeOf(r))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if rows == nil {
		rows = []StatRow{}
	}
	var total int64
	for _, s := range rows {
		total += s.Entities
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"items": rows, "total": total, "refreshed_at": at.Format(time.RFC3339)})
}

// decodeForUpdate decodes without validating: Update validates after it
// has put the path's credit code into the input.
func decodeForUpdate(r *http.Request, in *EntityInput) error {
	return httpx.Decode(r, (*rawInput)(in))
}

type rawInput EntityInput
