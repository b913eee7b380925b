package connectors

import (
	_ "embed"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/connectors/v1/openapi.yaml", openapi }

// PermItem is the permission resource of the example items (actions view,
// create), listed in shared/auth's catalogue.
const PermItem = "connectors.item"

// Handler serves the API behind token verification. Every route declares
// who may call it and what entity data it touches (the conformance tests
// read these declarations).
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	m.Handle("GET /connectors/v1/items", httpx.Endpoint(f.listItems), auth.Requires(PermItem, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"q"}, httpx.PageParams...)...))
	m.Handle("POST /connectors/v1/items", httpx.Body(f.createItem), auth.Requires(PermItem, "create"), httpx.NoEntity())
	return m
}

// ItemInput is what a client sends to create an item.
type ItemInput struct {
	Title string `json:"title"`
}

// validate checks the input against the function's settings.
func (in ItemInput) validate(max int) error {
	var fe []errs.FieldError
	switch n := utf8.RuneCountInString(strings.TrimSpace(in.Title)); {
	case n == 0:
		fe = append(fe, errs.FieldError{Field: "title", Message: "请填写标题"})
	case n > max:
		fe = append(fe, errs.FieldError{Field: "title", Message: "标题过长"})
	}
	return errs.Fields(fe)
}

func (f *Function) listItems(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := listItems(r.Context(), f.pool, strings.TrimSpace(r.URL.Query().Get("q")), page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) createItem(r *http.Request, in ItemInput) (any, error) {
	if err := in.validate(f.cfg.MaxTitle); err != nil {
		return nil, err
	}
	it, err := f.CreateItem(r.Context(), strings.TrimSpace(in.Title))
	if err != nil {
		return nil, err
	}
	return httpx.Created(it, ""), nil
}
