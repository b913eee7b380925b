package documents

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
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

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/docs/v1/openapi.yaml", openapi }

// The permission resources, listed in shared/auth's catalogue. Route
// permissions say what kind of work a caller does; the rights on each
// document (owner, grants) say which documents they do it to.
const (
	PermTemplate = "docs.template" // view, create, edit
	PermDocument = "docs.document" // view, create, edit, review, publish
	PermBackup   = "docs.backup"   // view, create
)

var searchParams = []string{"credit_code", "entity", "template", "kind", "state", "from", "to", "q", "mine"}

// Handler serves the API behind token verification. Every route declares
// who may call it and what entity data it touches (the conformance tests
// read these declarations); document routes name the document by id and
// refuse one outside the caller's data scope or rights as missing.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-36, FP-37: templates, versioned, with a live preview.
	m.Handle("GET /docs/v1/templates", httpx.Endpoint(f.listTemplates), auth.Requires(PermTemplate, "view"), httpx.NoEntity(), httpx.Params("kind", "all"))
	m.Handle("POST /docs/v1/templates", body(f.createTemplate), auth.Requires(PermTemplate, "create"), httpx.NoEntity())
	m.Handle("POST /docs/v1/templates/preview", body(f.preview), auth.Requires(PermTemplate, "view"), httpx.NoEntity())
	m.Handle("GET /docs/v1/templates/{code}", httpx.Endpoint(f.getTemplate), auth.Requires(PermTemplate, "view"), httpx.NoEntity())
	m.Handle("PUT /docs/v1/templates/{code}", body(f.updateTemplate), auth.Requires(PermTemplate, "edit"), httpx.NoEntity())
	// FP-39, FP-40: versions, history, diff, restore.
	m.Handle("GET /docs/v1/templates/{code}/versions", httpx.Endpoint(f.templateHistory), auth.Requires(PermTemplate, "view"), httpx.NoEntity())
	m.Handle("GET /docs/v1/templates/{code}/versions/{version}", httpx.Endpoint(f.templateVersion), auth.Requires(PermTemplate, "view"), httpx.NoEntity())
	m.Handle("POST /docs/v1/templates/{code}/versions/{version}/restore", httpx.Endpoint(f.restoreTemplate), auth.Requires(PermTemplate, "edit"), httpx.NoEntity())
	m.Handle("GET /docs/v1/templates/{code}/diff", httpx.Endpoint(f.templateDiff), auth.Requires(PermTemplate, "view"), httpx.NoEntity(), httpx.Params("from", "to"))

	// FP-37: prefill from the registry by credit code.
	m.Handle("GET /docs/v1/prefill/{code}", httpx.Endpoint(f.prefill), auth.Requires(PermDocument, "create"), httpx.EntityIn("code"), httpx.Params("template"))
	// FP-36, FP-37, FP-45: documents and their search (文书管理).
	m.Handle("GET /docs/v1/documents", httpx.Endpoint(f.search), auth.Requires(PermDocument, "view"), httpx.EntityListing(),
		httpx.Params(append(searchParams, httpx.PageParams...)...))
	m.Handle("GET /docs/v1/documents/export", http.HandlerFunc(f.export), auth.Requires(PermDocument, "view"), httpx.EntityListing(),
		httpx.Params(append(searchParams, "format")...))
	m.Handle("POST /docs/v1/documents", body(f.create), auth.Requires(PermDocument, "create"), httpx.EntityInBody("credit_code"))
	m.Handle("GET /docs/v1/documents/{id}", httpx.Endpoint(f.get), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"))
	m.Handle("PUT /docs/v1/documents/{id}", body(f.update), auth.Requires(PermDocument, "edit"), httpx.EntityIn("id"))
	// FP-39, FP-40.
	m.Handle("GET /docs/v1/documents/{id}/history", httpx.Endpoint(f.history), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"))
	m.Handle("GET /docs/v1/documents/{id}/versions/{version}", httpx.Endpoint(f.version), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"))
	m.Handle("POST /docs/v1/documents/{id}/versions/{version}/restore", httpx.Endpoint(f.restore), auth.Requires(PermDocument, "edit"), httpx.EntityIn("id"))
	m.Handle("GET /docs/v1/documents/{id}/diff", httpx.Endpoint(f.diff), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"), httpx.Params("from", "to"))
	// FP-38: PDF and DOCX, for those who may print.
	m.Handle("GET /docs/v1/documents/{id}/file", http.HandlerFunc(f.download), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"), httpx.Params("version", "format"))
	// FP-43 (submit, review, publish), FP-44 (correct): the workflow.
	m.Handle("POST /docs/v1/documents/{id}/submit", httpx.Endpoint(f.submit), auth.Requires(PermDocument, "edit"), httpx.EntityIn("id"))
	m.Handle("POST /docs/v1/documents/{id}/review", body(f.review), auth.Requires(PermDocument, "review"), httpx.EntityIn("id"))
	m.Handle("POST /docs/v1/documents/{id}/publish", httpx.Endpoint(f.publish), auth.Requires(PermDocument, "publish"), httpx.EntityIn("id"))
	m.Handle("POST /docs/v1/documents/{id}/correct", body(f.correct), auth.Requires(PermDocument, "publish"), httpx.EntityIn("id"))
	// FP-42: rights on a document.
	m.Handle("GET /docs/v1/documents/{id}/grants", httpx.Endpoint(f.grants), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"))
	m.Handle("POST /docs/v1/documents/{id}/grants", body(f.addGrant), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"))
	m.Handle("DELETE /docs/v1/documents/{id}/grants/{kind}/{grantee}", httpx.Endpoint(f.removeGrant), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"))
	// FP-38: forward by a link that expires.
	m.Handle("POST /docs/v1/documents/{id}/links", body(f.createLink), auth.Requires(PermDocument, "view"), httpx.EntityIn("id"))
	m.Handle("GET /docs/v1/links/{token}", http.HandlerFunc(f.followLink), httpx.Public())
	// FP-43: the public verification page behind the published PDF's QR code.
	m.Handle("GET /docs/v1/verify/{code}", http.HandlerFunc(f.verifyPage), httpx.Public())
	m.Handle("POST /docs/v1/verify/{code}/check", http.HandlerFunc(f.check), httpx.Public())
	// FP-41: backups.
	m.Handle("GET /docs/v1/backups", httpx.Endpoint(f.listBackups), auth.Requires(PermBackup, "view"), httpx.NoEntity())
	m.Handle("POST /docs/v1/backups", httpx.Endpoint(f.runBackup), auth.Requires(PermBackup, "create"), httpx.NoEntity())
	return m
}

// MsgTooLarge answers a body over the limit: a paste of a whole file into
// a field, most often.
const MsgTooLarge = "提交的内容超过 1 MB，未保存：模板正文不超过 20000 字，每个字段不超过 5000 字，请删减后重试"

// body is httpx.Body with the documents' own answer to an oversized paste.
func body[T any](fn func(r *http.Request, in T) (any, error)) httpx.Endpoint {
	return func(r *http.Request) (any, error) {
		var in T
		if err := httpx.Decode(r, &in); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, &errs.Error{Code: errs.Invalid, Message: MsgTooLarge, Err: err}
			}
			return nil, err
		}
		return fn(r, in)
	}
}

func principal(r *http.Request) *auth.Principal {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p
	}
	return &auth.Principal{}
}

func actorFor(r *http.Request) actor { return actorOf(principal(r), httpx.ClientIP(r)) }

func idOf(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errs.New(errs.NotFound, "文书不存在")
	}
	return id, nil
}

func versionOf(r *http.Request, name string) (Version, error) {
	v, err := ParseVersion(r.PathValue(name))
	if err != nil {
		return v, errs.New(errs.NotFound, "版本不存在")
	}
	return v, nil
}

func (f *Function) listTemplates(r *http.Request) (any, error) {
	q := r.URL.Query()
	return f.ListTemplates(r.Context(), q.Get("kind"), q.Get("all") == "true")
}

func (f *Function) createTemplate(r *http.Request, in TemplateInput) (any, error) {
	t, err := f.CreateTemplate(r.Context(), actorFor(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(t, "/docs/v1/templates/"+t.Code), nil
}

func (f *Function) preview(r *http.Request, in PreviewInput) (any, error) {
	return f.PreviewTemplate(in), nil
}

func (f *Function) getTemplate(r *http.Request) (any, error) {
	return f.GetTemplate(r.Context(), r.PathValue("code"))
}

func (f *Function) updateTemplate(r *http.Request, in TemplateInput) (any, error) {
	return f.UpdateTemplate(r.Context(), actorFor(r), r.PathValue("code"), in)
}

func (f *Function) templateHistory(r *http.Request) (any, error) {
	return f.TemplateHistory(r.Context(), r.PathValue("code"))
}

func (f *Function) templateVersion(r *http.Request) (any, error) {
	v, err := versionOf(r, "version")
	if err != nil {
		return nil, err
	}
	return f.TemplateVersionOf(r.Context(), r.PathValue("code"), v)
}

func (f *Function) restoreTemplate(r *http.Request) (any, error) {
	v, err := versionOf(r, "version")
	if err != nil {
		return nil, err
	}
	return f.RestoreTemplate(r.Context(), actorFor(r), r.PathValue("code"), v)
}

func fromTo(r *http.Request) (Version, Version, error) {
	q := r.URL.Query()
	a, err := ParseVersion(q.Get("from"))
	if err != nil {
		return a, a, errs.Fields([]errs.FieldError{{Field: "from", Message: "请用 from 指定较早的版本号（如 1.0.0）"}})
	}
	b, err := ParseVersion(q.Get("to"))
	if err != nil {
		return a, b, errs.Fields([]errs.FieldError{{Field: "to", Message: "请用 to 指定较新的版本号（如 1.0.1）"}})
	}
	return a, b, nil
}

func (f *Function) templateDiff(r *http.Request) (any, error) {
	a, b, err := fromTo(r)
	if err != nil {
		return nil, err
	}
	return f.TemplateDiff(r.Context(), r.PathValue("code"), a, b)
}

func (f *Function) prefill(r *http.Request) (any, error) {
	return f.Prefill(r.Context(), principal(r), r.PathValue("code"), r.URL.Query().Get("template"))
}

// filterFrom reads and checks the search parameters.
func filterFrom(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	fl := Filter{Entity: strings.TrimSpace(q.Get("entity")), Template: q.Get("template"), Kind: q.Get("kind"), State: q.Get("state"),
		Text: strings.TrimSpace(q.Get("q")), Mine: q.Get("mine") == "true"}
	var fe []errs.FieldError
	if c := strings.TrimSpace(q.Get("credit_code")); c != "" {
		fl.CreditCode = strings.ToUpper(c)
		if len(fl.CreditCode) != 18 {
			fe = append(fe, errs.FieldError{Field: "credit_code", Message: "统一社会信用代码应为 18 位"})
		}
	}
	if _, ok := stateNames[fl.State]; fl.State != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "state", Message: "状态应为 draft、submitted、approved、rejected 或 published"})
	}
	if _, ok := templateKinds[fl.Kind]; fl.Kind != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "kind", Message: "文书类别不正确"})
	}
	for _, t := range []struct {
		name string
		dst  **time.Time
		add  int
	}{{"from", &fl.From, 0}, {"to", &fl.To, 1}} {
		s := q.Get(t.name)
		if s == "" {
			continue
		}
		d, err := time.ParseInLocation(time.DateOnly, s, shanghai)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: t.name, Message: "日期应为 YYYY-MM-DD"})
			continue
		}
		d = d.AddDate(0, 0, t.add)
		*t.dst = &d
	}
	for name, v := range map[string]string{"entity": fl.Entity, "q": fl.Text} {
		if len([]rune(v)) > 100 {
			fe = append(fe, errs.FieldError{Field: name, Message: "检索词不能超过 100 字"})
		}
	}
	return fl, errs.Fields(fe)
}

// shanghai is the zone the search's dates are days in.
var shanghai = time.FixedZone("CST", 8*3600)

func (f *Function) search(r *http.Request) (any, error) {
	fl, err := filterFrom(r)
	if err != nil {
		return nil, err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	items, total, err := searchDocuments(r.Context(), f.pool, p, fl, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].Access = accessOf(p, items[i], nil)
	}
	return httpx.NewPage(items, total, page), nil
}

var exportHeader = []string{"编号", "文书", "市场主体", "统一社会信用代码", "状态", "版本", "起草人", "更新时间"}

// export writes the search result as XLSX or CSV (at most 5000 rows).
func (f *Function) export(w http.ResponseWriter, r *http.Request) {
	fl, err := filterFrom(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	format, err := tabular.ParseFormat(r.URL.Query().Get("format"), tabular.XLSX)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	items, _, err := searchDocuments(r.Context(), f.pool, principal(r), fl, 5000, 0)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	// An export is an access to every document in it: audited once, with
	// the filter and the ids.
	ids := make([]int64, len(items))
	for i, d := range items {
		ids[i] = d.ID
	}
	if err := f.auditExport(r.Context(), actorFor(r), r.URL.RawQuery, ids); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	t := tabular.Table{Header: exportHeader}
	for _, d := range items {
		t.Rows = append(t.Rows, []any{d.ID, d.Title, d.EntityName, d.CreditCode, d.StateName, d.Version, d.OwnerName,
			d.UpdatedAt.In(shanghai).Format("2006-01-02 15:04")})
	}
	if err := tabular.Serve(w, "文书_"+f.now().In(shanghai).Format("20060102150405"), format, t); err != nil {
		f.log.WarnContext(r.Context(), "export cut short", "err", err)
	}
}

func (f *Function) create(r *http.Request, in CreateInput) (any, error) {
	d, err := f.Create(r.Context(), principal(r), actorFor(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(d, fmt.Sprintf("/docs/v1/documents/%d", d.ID)), nil
}

func (f *Function) get(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Get(r.Context(), principal(r), actorFor(r), id, true)
}

func (f *Function) update(r *http.Request, in UpdateInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Update(r.Context(), principal(r), actorFor(r), id, in)
}

func (f *Function) history(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.History(r.Context(), principal(r), actorFor(r), id)
}

// VersionView is one version of a document with its text rendered.
type VersionView struct {
	DocumentVersion
	Rendered Rendered `json:"rendered"`
}

func (f *Function) version(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	v, err := versionOf(r, "version")
	if err != nil {
		return nil, err
	}
	dv, rd, err := f.VersionOf(r.Context(), principal(r), actorFor(r), id, v)
	if err != nil {
		return nil, err
	}
	return VersionView{DocumentVersion: dv, Rendered: rd}, nil
}

// RestoreInput says why a version is restored.
type RestoreInput struct {
	Summary string `json:"summary"`
}

func (f *Function) restore(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	v, err := versionOf(r, "version")
	if err != nil {
		return nil, err
	}
	var in RestoreInput
	if r.ContentLength != 0 {
		if err := httpx.Decode(r, &in); err != nil {
			return nil, err
		}
	}
	return f.Restore(r.Context(), principal(r), actorFor(r), id, v, strings.TrimSpace(in.Summary))
}

func (f *Function) diff(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	a, b, err := fromTo(r)
	if err != nil {
		return nil, err
	}
	return f.Diff(r.Context(), principal(r), actorFor(r), id, a, b)
}

func (f *Function) download(w http.ResponseWriter, r *http.Request) {
	id, err := idOf(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	q := r.URL.Query()
	format, err := parseFormat(strings.ToLower(cmpOr(q.Get("format"), "pdf")))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	var v *Version
	if s := q.Get("version"); s != "" {
		ver, err := ParseVersion(s)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		v = &ver
	}
	file, err := f.Download(r.Context(), principal(r), actorFor(r), id, v, format)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	serveFile(w, file)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func serveFile(w http.ResponseWriter, file File) {
	w.Header().Set("Content-Type", file.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file.Name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(file.Data)))
	w.Header().Set("X-Content-SHA256", file.SHA256)
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(file.Data)
}

func (f *Function) submit(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Submit(r.Context(), principal(r), actorFor(r), id)
}

func (f *Function) review(r *http.Request, in ReviewInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Review(r.Context(), principal(r), actorFor(r), id, in)
}

func (f *Function) publish(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Publish(r.Context(), principal(r), actorFor(r), id)
}

func (f *Function) correct(r *http.Request, in CorrectInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Correct(r.Context(), principal(r), actorFor(r), id, in)
}

func (f *Function) grants(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.Grants(r.Context(), principal(r), id)
}

func (f *Function) addGrant(r *http.Request, in GrantInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	return f.AddGrant(r.Context(), principal(r), actorFor(r), id, in)
}

func (f *Function) removeGrant(r *http.Request) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	if err := f.RemoveGrant(r.Context(), principal(r), actorFor(r), id, r.PathValue("kind"), r.PathValue("grantee")); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}

func (f *Function) createLink(r *http.Request, in LinkInput) (any, error) {
	id, err := idOf(r)
	if err != nil {
		return nil, err
	}
	l, err := f.CreateLink(r.Context(), principal(r), actorFor(r), id, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(l, ""), nil
}

func (f *Function) followLink(w http.ResponseWriter, r *http.Request) {
	file, err := f.FollowLink(r.Context(), r.PathValue("token"), httpx.ClientIP(r))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	serveFile(w, file)
}

func (f *Function) verifyPage(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	v, err := f.Verify(r.Context(), code)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	writeHTML(w, v, nil, code)
}

func writeHTML(w http.ResponseWriter, v Verification, res *CheckResult, code string) {
	var buf bytes.Buffer
	if err := writeVerifyPage(&buf, v, res, "/docs/v1/verify/"+url.PathEscape(code)+"/check"); err != nil {
		http.Error(w, "页面生成失败", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// check compares an uploaded file with the published one: a form upload
// (multipart, field "file") answers the page, a raw body answers JSON.
func (f *Function) check(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxCheckBytes+1<<20)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	form := ct == "multipart/form-data"
	var data []byte
	var err error
	if form {
		file, _, ferr := r.FormFile("file")
		if ferr != nil {
			httpx.Fail(w, r, errs.Wrap(errs.Invalid, "请选择要核验的文件（不超过 20 MB）", ferr))
			return
		}
		defer file.Close()
		data, err = io.ReadAll(io.LimitReader(file, MaxCheckBytes+1))
	} else {
		data, err = io.ReadAll(io.LimitReader(r.Body, MaxCheckBytes+1))
	}
	if err != nil || len(data) > MaxCheckBytes {
		httpx.Fail(w, r, errs.New(errs.Invalid, "文件超过 20 MB 或读取失败"))
		return
	}
	if len(data) == 0 {
		httpx.Fail(w, r, errs.New(errs.Invalid, "请提交要核验的文件"))
		return
	}
	code := r.PathValue("code")
	res, err := f.Check(r.Context(), code, data)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if form {
		writeHTML(w, res.Verification, &res, code)
		return
	}
	httpx.JSON(w, http.StatusOK, res)
}

func (f *Function) listBackups(r *http.Request) (any, error) { return f.Backups(r.Context(), 50) }

func (f *Function) runBackup(r *http.Request) (any, error) {
	run, err := f.Backup(r.Context(), "manual", "")
	if err != nil {
		return nil, err
	}
	return httpx.Created(run, ""), nil
}
