package laws

import (
	_ "embed"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/laws/v1/openapi.yaml", openapi }

// Permission resources (shared/auth's catalogue). Reading the library is
// public; its upkeep needs these.
const (
	PermDocument = "laws.document"
	PermImport   = "laws.import"
)

var (
	searchParams = append([]string{"q", "nature", "status", "body", "region", "from", "to"}, httpx.PageParams...)
	listParams   = append([]string{"q", "nature", "status", "body", "region", "from", "to", "family", "latest", "sort"}, httpx.PageParams...)
)

// Handler serves the API: public reads (the library is public law) and
// the console's upkeep behind permissions.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-68–75: full-text article search and faceted document search.
	m.Handle("GET /laws/v1/search", httpx.Endpoint(f.search), httpx.Public(), httpx.Params(searchParams...))
	m.Handle("GET /laws/v1/documents", httpx.Endpoint(f.list), httpx.Public(), httpx.Params(listParams...))
	m.Handle("GET /laws/v1/documents/{id}", httpx.Endpoint(f.get), httpx.Public())
	// FP-66, FP-67: documents by hand, versions linked.
	m.Handle("POST /laws/v1/documents", httpx.Body(f.create), auth.Requires(PermDocument, "create"), httpx.NoEntity())
	m.Handle("PUT /laws/v1/documents/{id}", httpx.Body(f.update), auth.Requires(PermDocument, "edit"), httpx.NoEntity())
	m.Handle("PUT /laws/v1/documents/{id}/family", httpx.Body(f.link), auth.Requires(PermDocument, "edit"), httpx.NoEntity())
	// FP-65: corpus import.
	m.Handle("POST /laws/v1/imports", httpx.Endpoint(f.importCorpus), auth.Requires(PermImport, "create"), httpx.NoEntity())
	m.Handle("GET /laws/v1/imports", httpx.Endpoint(f.imports), auth.Requires(PermImport, "create"), httpx.NoEntity(),
		httpx.Params(httpx.PageParams...))
	// The public mobile pages (H5).
	m.HandleFunc("GET /laws/m/", f.pageSearch, httpx.Public(), httpx.Params(searchParams...))
	m.HandleFunc("GET /laws/m/documents/{id}", f.pageDocument, httpx.Public())
	return m
}

func actorOf(r *http.Request) Actor {
	a := Actor{IP: httpx.ClientIP(r)}
	if p, ok := auth.FromContext(r.Context()); ok {
		a.UserID, a.Username = p.UserID, p.Username
	}
	return a
}

func idOf(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.ErrNotFound
	}
	return id, nil
}

// searchRequest reads the search parameters.
func searchRequest(r *http.Request) (SearchRequest, error) {
	q := r.URL.Query()
	req := SearchRequest{Q: strings.TrimSpace(q.Get("q")), Nature: q.Get("nature"), Status: q.Get("status"),
		Body: strings.TrimSpace(q.Get("body")), Region: q.Get("region")}
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(req.Q); n > 100 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "检索词不能超过 100 字"})
	}
	fe = append(fe, checkFacets(req.Nature, req.Status, req.Region)...)
	var err error
	if req.PubFrom, err = ParseDate(q.Get("from")); err != nil {
		fe = append(fe, errs.FieldError{Field: "from", Message: "起始日期" + err.Error()})
	}
	if req.PubTo, err = ParseDate(q.Get("to")); err != nil {
		fe = append(fe, errs.FieldError{Field: "to", Message: "截止日期" + err.Error()})
	}
	page, perr := httpx.ParsePage(r)
	if perr != nil {
		return req, perr
	}
	req.Page, req.Size = page.Page, min(page.Size, 50)
	if q.Get("page_size") == "" {
		req.Size = 10
	}
	return req, errs.Fields(fe)
}

func checkFacets(nature, status, region string) []errs.FieldError {
	var fe []errs.FieldError
	if nature != "" && !slices.Contains(Natures, nature) {
		fe = append(fe, errs.FieldError{Field: "nature", Message: "效力级别不正确"})
	}
	if status != "" && !slices.Contains(Statuses, status) {
		fe = append(fe, errs.FieldError{Field: "status", Message: "时效性应为 " + strings.Join(Statuses, "、") + " 之一"})
	}
	if region != "" && !slices.Contains(Regions, region) {
		fe = append(fe, errs.FieldError{Field: "region", Message: "地域不正确"})
	}
	return fe
}

func (f *Function) search(r *http.Request) (any, error) {
	req, err := searchRequest(r)
	if err != nil {
		return nil, err
	}
	return f.index.Search(r.Context(), req)
}

// DocumentPage is a page of documents with the facet counts.
type DocumentPage struct {
	httpx.PageOf[Document]
	Facets map[string][]Facet `json:"facets"`
}

func (f *Function) list(r *http.Request) (any, error) {
	q := r.URL.Query()
	flt := Filter{Q: strings.TrimSpace(q.Get("q")), Nature: q.Get("nature"), Status: q.Get("status"), Body: strings.TrimSpace(q.Get("body")),
		Region: q.Get("region"), Family: strings.TrimSpace(q.Get("family")), OnlyLatest: q.Get("latest") == "true"}
	fe := checkFacets(flt.Nature, flt.Status, flt.Region)
	var err error
	if flt.PubFrom, err = ParseDate(q.Get("from")); err != nil {
		fe = append(fe, errs.FieldError{Field: "from", Message: "起始日期" + err.Error()})
	}
	if flt.PubTo, err = ParseDate(q.Get("to")); err != nil {
		fe = append(fe, errs.FieldError{Field: "to", Message: "截止日期" + err.Error()})
	}
	if utf8.RuneCountInString(flt.Q) > 100 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "检索词不能超过 100 字"})
	}
	if l := q.Get("latest"); l != "" && l != "true" && l != "false" {
		fe = append(fe, errs.FieldError{Field: "latest", Message: "latest 应为 true 或 false"})
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	sort, err := httpx.ParseSort(q.Get("sort"), httpx.Sort{Field: "published_on", Desc: true}, "published_on", "effective_on", "title")
	if err != nil {
		return nil, err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	docs, total, err := listDocuments(r.Context(), f.pool, flt, sort, page)
	if err != nil {
		return nil, err
	}
	fc, err := facets(r.Context(), f.pool, flt)
	if err != nil {
		return nil, err
	}
	return DocumentPage{PageOf: httpx.NewPage(docs, total, page), Facets: fc}, nil
}

func (f *Function) get(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Get(r.Context(), id)
}

func (f *Function) create(r *http.Request, in DocumentInput) (any, error) {
	d, err := f.CreateDocument(r.Context(), actorOf(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(d, "/laws/v1/documents/"+strconv.FormatInt(d.ID, 10)), nil
}

func (f *Function) update(r *http.Request, in DocumentInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.UpdateDocument(r.Context(), actorOf(r), id, in)
}

func (f *Function) link(r *http.Request, in LinkInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Link(r.Context(), actorOf(r), id, in)
}

// importCorpus imports the shipped corpus (no body), or a ZIP in its
// layout (multipart field "file", or a body of type application/zip).
func (f *Function) importCorpus(r *http.Request) (any, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var data []byte
	source := "内置法规库（2025-04-19）"
	switch {
	case ct == "multipart/form-data":
		r.Body = http.MaxBytesReader(nil, r.Body, f.cfg.MaxUpload+1<<20)
		file, hdr, err := r.FormFile("file")
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, "请上传法规库 ZIP 文件（表单字段 file）", err)
		}
		defer file.Close()
		if data, err = io.ReadAll(io.LimitReader(file, f.cfg.MaxUpload+1)); err != nil {
			return nil, errs.Wrap(errs.Invalid, "读取上传文件失败", err)
		}
		source = "上传文件 " + clip(hdr.Filename, 100)
	case ct == "application/zip":
		var err error
		if data, err = io.ReadAll(io.LimitReader(r.Body, f.cfg.MaxUpload+1)); err != nil {
			return nil, errs.Wrap(errs.Invalid, "读取上传文件失败", err)
		}
		source = "上传文件"
	}
	if int64(len(data)) > f.cfg.MaxUpload {
		return nil, errs.New(errs.Invalid, "文件过大")
	}
	fsys, err := Corpus()
	if data != nil {
		fsys, err = OpenZip(data)
	}
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err.Error(), err)
	}
	run, err := f.Import(r.Context(), actorOf(r), fsys, source)
	if err != nil {
		return nil, err
	}
	return httpx.Created(run, ""), nil
}

func (f *Function) imports(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	runs, total, err := listImports(r.Context(), f.pool, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(runs, total, page), nil
}
