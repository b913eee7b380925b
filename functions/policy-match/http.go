package policymatch

import (
	_ "embed"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/tabular"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/policy/v1/openapi.yaml", openapi }

// Permission resources, listed in shared/auth's catalogue.
const (
	PermPolicy  = "policy.policy"  // view create edit publish
	PermMatch   = "policy.match"   // view export
	PermAccount = "policy.account" // view edit
	PermMine    = "policy.mine"    // view: an enterprise user's own matches
)

var policyFilterParams = []string{"q", "status", "type", "level", "timeliness", "category", "department"}

// Handler serves the API behind token verification. Every route declares
// who may call it and what entity data it touches.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-57–61: the library, its labels and overrides.
	m.Handle("GET /policy/v1/meta", httpx.Endpoint(f.meta), auth.Requires(PermPolicy, "view"), httpx.NoEntity())     // FP-57–61
	m.Handle("GET /policy/v1/policies", httpx.Endpoint(f.list), auth.Requires(PermPolicy, "view"), httpx.NoEntity(), // FP-57–61
		httpx.Params(append(policyFilterParams, httpx.PageParams...)...))
	m.Handle("POST /policy/v1/policies", httpx.Body(f.create), auth.Requires(PermPolicy, "create"), httpx.NoEntity())                   // FP-57
	m.Handle("GET /policy/v1/policies/{id}", httpx.Endpoint(f.get), auth.Requires(PermPolicy, "view"), httpx.NoEntity())                // FP-57–61
	m.Handle("PUT /policy/v1/policies/{id}", httpx.Body(f.update), auth.Requires(PermPolicy, "edit"), httpx.NoEntity())                 // FP-57
	m.Handle("PUT /policy/v1/policies/{id}/condition", httpx.Body(f.setCondition), auth.Requires(PermPolicy, "edit"), httpx.NoEntity()) // FP-62, 63
	m.Handle("PUT /policy/v1/policies/{id}/labels/{dim}", httpx.Body(f.override), auth.Requires(PermPolicy, "edit"), httpx.NoEntity())  // FP-57–61
	m.Handle("PUT /policy/v1/policies/{id}/status", httpx.Body(f.setStatus), auth.Requires(PermPolicy, "publish"), httpx.NoEntity())    // FP-63
	m.Handle("POST /policy/v1/drafts", httpx.Body(f.draft), auth.Requires(PermPolicy, "view"), httpx.NoEntity())                        // FP-62
	// FP-57: imports from files and from addresses.
	m.Handle("POST /policy/v1/imports", httpx.Endpoint(f.importFiles), auth.Requires(PermPolicy, "create"), httpx.NoEntity()) // FP-57
	m.Handle("POST /policy/v1/imports/urls", httpx.Body(f.importURLs), auth.Requires(PermPolicy, "create"), httpx.NoEntity()) // FP-57
	// FP-63: policy → entities, within the caller's data scope.
	m.Handle("GET /policy/v1/policies/{id}/entities", httpx.Endpoint(f.policyEntities), auth.Requires(PermMatch, "view"), httpx.EntityListing(), // FP-63
		httpx.Params(httpx.PageParams...))
	m.HandleFunc("GET /policy/v1/policies/{id}/entities/export", f.exportEntities, auth.Requires(PermMatch, "export"), httpx.EntityListing(), // FP-63
		httpx.Params("format"))
	// FP-54–56, FP-62: the enterprise side and entity → policies.
	m.Handle("GET /policy/v1/entities/{code}/profile", httpx.Endpoint(f.entityProfile), auth.Requires(PermMatch, "view"), httpx.EntityIn("code"))   // FP-54–56
	m.Handle("GET /policy/v1/entities/{code}/policies", httpx.Endpoint(f.entityPolicies), auth.Requires(PermMatch, "view"), httpx.EntityIn("code"), // FP-62
		httpx.Params("all"))
	// Enterprise accounts and the enterprise's own page (FP-62, FP-64).
	m.Handle("GET /policy/v1/accounts", httpx.Endpoint(f.accounts), auth.Requires(PermAccount, "view"), httpx.EntityListing(), // FP-62
		httpx.Params(httpx.PageParams...))
	m.Handle("POST /policy/v1/accounts", httpx.Body(f.bind), auth.Requires(PermAccount, "edit"), httpx.EntityInBody("credit_code")) // FP-62, 64
	m.Handle("GET /policy/v1/mine", httpx.Endpoint(f.mine), auth.Requires(PermMine, "view"), httpx.EntityListing())                 // FP-62, 64
	return m
}

func principal(r *http.Request) *auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

func scopeOf(r *http.Request) auth.Scope {
	if p := principal(r); p != nil {
		return p.Scope
	}
	return auth.Scope{}
}

func actorOf(r *http.Request) Actor {
	a := Actor{IP: httpx.ClientIP(r)}
	if p := principal(r); p != nil {
		a.UserID, a.Username = p.UserID, p.Username
	}
	return a
}

func idOf(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.New(errs.NotFound, "政策不存在")
	}
	return id, nil
}

func codeOf(r *http.Request) string { return strings.ToUpper(strings.TrimSpace(r.PathValue("code"))) }

// Meta is what the console's forms offer.
type Meta struct {
	Dimensions  map[string][]string `json:"dimensions"`
	EntityTypes map[string]string   `json:"entity_types"`
	Sizes       map[string]string   `json:"sizes"`
	Districts   []Count             `json:"districts"`
	Sections    []Count             `json:"sections"`
	Thresholds  Thresholds          `json:"thresholds"`
}

func (f *Function) meta(*http.Request) (any, error) {
	m := Meta{Dimensions: map[string][]string{}, EntityTypes: entityTypeNames, Sizes: sizeNames, Thresholds: f.thresholds()}
	for _, d := range []string{DimType, DimLevel, DimTimeliness, DimCategory} {
		m.Dimensions[d] = allowedValues(d)
	}
	for _, c := range codes.Divisions().Counties() {
		m.Districts = append(m.Districts, Count{Code: c.Code, Name: c.Name})
	}
	for _, s := range "ABCDEFGHIJKLMNOPQRST" {
		if in, ok := codes.Industries().Lookup(string(s)); ok {
			m.Sections = append(m.Sections, Count{Code: in.Code, Name: in.Name})
		}
	}
	return m, nil
}

func (f *Function) list(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	flt := PolicyFilter{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Type: q.Get("type"), Level: q.Get("level"),
		Timeliness: q.Get("timeliness"), Category: q.Get("category"), Department: q.Get("department")}
	if utf8Len(flt.Q) > 100 {
		return nil, errs.Fields([]errs.FieldError{{Field: "q", Message: "关键词过长"}})
	}
	items, total, err := listPolicies(r.Context(), f.pool, flt, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func utf8Len(s string) int { return len([]rune(s)) }

func (f *Function) create(r *http.Request, in PolicyInput) (any, error) {
	p, created, err := f.Save(r.Context(), actorOf(r), "manual", in)
	if err != nil {
		return nil, err
	}
	if !created {
		return p, nil
	}
	return httpx.Created(p, "/policy/v1/policies/"+strconv.FormatInt(p.ID, 10)), nil
}

func (f *Function) get(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Get(r.Context(), id)
}

func (f *Function) update(r *http.Request, in PolicyInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Update(r.Context(), actorOf(r), id, in)
}

func (f *Function) setCondition(r *http.Request, c Condition) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.SetCondition(r.Context(), actorOf(r), id, c)
}

func (f *Function) override(r *http.Request, in OverrideInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Override(r.Context(), actorOf(r), id, r.PathValue("dim"), in)
}

// StatusInput publishes or withdraws a policy.
type StatusInput struct {
	Status string `json:"status"`
}

func (f *Function) setStatus(r *http.Request, in StatusInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.SetStatus(r.Context(), actorOf(r), id, in.Status)
}

// DraftInput is a text to suggest a condition from.
type DraftInput struct {
	Text string `json:"text"`
}

func (f *Function) draft(r *http.Request, in DraftInput) (any, error) {
	if strings.TrimSpace(in.Text) == "" || utf8Len(in.Text) > 200_000 {
		return nil, errs.Fields([]errs.FieldError{{Field: "text", Message: "请提供 1 至 200000 字的政策文本"}})
	}
	return f.Draft(in.Text), nil
}

// ImportReport lists each document's outcome.
type ImportReport struct {
	Items   []ImportResult `json:"items"`
	Saved   int            `json:"saved"`
	Refused int            `json:"refused"`
}

func report(items []ImportResult) ImportReport {
	rep := ImportReport{Items: items}
	for _, it := range items {
		if it.OK {
			rep.Saved++
		} else {
			rep.Refused++
		}
	}
	return rep
}

// importFiles takes a multipart upload of one or more files (field "file").
func (f *Function) importFiles(r *http.Request) (any, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return nil, errs.New(errs.Invalid, "请以表单（multipart/form-data）上传文件，字段名 file")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 5*MaxDocumentBytes)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		return nil, errs.Wrap(errs.Invalid, "上传内容读取失败或超过 100MB", err)
	}
	files := r.MultipartForm.File["file"]
	if len(files) == 0 || len(files) > 50 {
		return nil, errs.New(errs.Invalid, "请上传 1 至 50 个文件（表单字段 file）")
	}
	var items []ImportResult
	for _, fh := range files {
		file, err := fh.Open()
		if err != nil {
			items = append(items, ImportResult{Name: fh.Filename, Error: "文件读取失败"})
			continue
		}
		data, err := io.ReadAll(io.LimitReader(file, MaxDocumentBytes+1))
		file.Close()
		if err != nil {
			items = append(items, ImportResult{Name: fh.Filename, Error: "文件读取失败"})
			continue
		}
		items = append(items, f.ImportDocument(r.Context(), actorOf(r), "", fh.Filename, fh.Header.Get("Content-Type"), data))
	}
	return httpx.Created(report(items), ""), nil
}

// URLsInput is an address list to import.
type URLsInput struct {
	URLs []string `json:"urls"`
}

func (f *Function) importURLs(r *http.Request, in URLsInput) (any, error) {
	items, err := f.ImportURLs(r.Context(), actorOf(r), in.URLs)
	if err != nil {
		return nil, err
	}
	return httpx.Created(report(items), ""), nil
}

func (f *Function) policyEntities(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	return f.MatchPolicy(r.Context(), scopeOf(r), id, page.Page, page.Size)
}

var exportHeader = []string{"统一社会信用代码", "主体名称", "主体类型", "所在区县", "行业代码", "行业名称", "成立日期", "注册资本（万元）"}

// exportEntities writes every matching entity in the caller's scope, up to
// POLICY_MAX_EXPORT_ROWS, as XLSX (default) or CSV (FP-63).
func (f *Function) exportEntities(w http.ResponseWriter, r *http.Request) {
	id, err := idOf(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	pol, err := f.Get(r.Context(), id)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	var items []MatchedEntity
	err = inScan(r.Context(), f.pool, func(tx pgx.Tx) error {
		var err error
		items, err = listMatches(r.Context(), tx, pol.Condition, scopeOf(r), f.today(), f.cfg.MaxExportRows, 0)
		return err
	})
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	label(items)
	t := tabular.Table{Header: exportHeader}
	for _, e := range items {
		t.Rows = append(t.Rows, []any{e.CreditCode, e.Name, entityTypeNames[e.EntityType], e.DistrictName, e.IndustryCode, e.IndustryName,
			e.EstablishedOn.String(), e.RegisteredCapital})
	}
	if err := tabular.Serve(w, "政策匹配主体_"+strconv.FormatInt(id, 10)+"_"+f.now().Format("20060102150405"), format, t); err != nil {
		f.log.WarnContext(r.Context(), "export cut short", "err", err)
	}
}

func (f *Function) entityProfile(r *http.Request) (any, error) {
	return f.Profile(r.Context(), scopeOf(r), codeOf(r))
}

func (f *Function) entityPolicies(r *http.Request) (any, error) {
	all := r.URL.Query().Get("all")
	if all != "" && all != "true" && all != "false" {
		return nil, errs.Fields([]errs.FieldError{{Field: "all", Message: "all 应为 true 或 false"}})
	}
	return f.MatchEntity(r.Context(), scopeOf(r), codeOf(r), all == "true")
}

func (f *Function) accounts(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := listAccounts(r.Context(), f.pool, scopeOf(r), page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) bind(r *http.Request, in BindInput) (any, error) {
	a, err := f.Bind(r.Context(), actorOf(r), scopeOf(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(a, ""), nil
}

func (f *Function) mine(r *http.Request) (any, error) {
	p := principal(r)
	return f.Mine(r.Context(), p.UserID)
}
