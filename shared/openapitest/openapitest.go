// Package openapitest keeps a function's OpenAPI document true: every
// route registered in its http.go is documented, every documented
// operation is served, every $ref resolves, and the schemas carry exactly
// the JSON fields of the Go types the handlers encode and decode.
package openapitest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"sigs.k8s.io/yaml"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime"
)

// Doc is the part of an OpenAPI document these checks read.
type Doc struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]any            `json:"paths"`
	Components map[string]map[string]map[string]any `json:"components"`
}

// Load parses an OpenAPI 3.1 document.
func Load(t *testing.T, raw []byte) Doc {
	t.Helper()
	var d Doc
	if err := yaml.Unmarshal(raw, &d); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.1.") {
		t.Fatalf("openapi = %q, want 3.1.x", d.OpenAPI)
	}
	return d
}

// httpMethods are the operation keys of an OpenAPI path item; the other
// keys a path item may hold are pathItemFields.
var (
	httpMethods    = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	pathItemFields = []string{"summary", "description", "servers", "parameters", "$ref"}
)

// Ops lists the document's operations as "METHOD /path".
func Ops(t *testing.T, d Doc) []string {
	t.Helper()
	var out []string
	for path, item := range d.Paths {
		for key := range item {
			switch {
			case slices.Contains(httpMethods, key):
				out = append(out, strings.ToUpper(key)+" "+path)
			case !slices.Contains(pathItemFields, key):
				t.Errorf("path %s has unknown key %q (a misspelt method?)", path, key)
			}
		}
	}
	sort.Strings(out)
	return out
}

var (
	// routeLine matches registrations such as mux.HandleFunc("GET /registry/v1/…", …).
	routeLine = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)
	// anyRoute matches every registration, with or without a method, so a
	// route the first pattern cannot read fails the test instead of hiding.
	anyRoute = regexp.MustCompile(`mux\.Handle(?:Func)?\(`)
)

// SourceRoutes reads the routes registered in a Go source file, as "METHOD /path".
func SourceRoutes(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	matches := routeLine.FindAllStringSubmatch(string(src), -1)
	if n := len(anyRoute.FindAllString(string(src), -1)); n != len(matches) {
		t.Fatalf("%s registers %d routes but only %d have the form mux.HandleFunc(\"METHOD /path\", …): give every route a method", file, n, len(matches))
	}
	if len(matches) == 0 {
		t.Fatalf("no routes found in %s", file)
	}
	var out []string
	for _, m := range matches {
		out = append(out, m[1]+" "+m[2])
	}
	sort.Strings(out)
	return out
}

// probeFn lets the runtime serve a function's routes without its dependencies.
type probeFn struct{ h http.Handler }

func (p probeFn) Handler() http.Handler                                    { return p.h }
func (probeFn) Receive(context.Context, event.Event) (*event.Event, error) { return nil, nil }
func (probeFn) Ready(context.Context) error                                { return nil }

// Routes describes a function's routes for CheckRoutes.
type Routes struct {
	Name     string           // the function's name: the runtime serves probes under /<Name>/
	Mux      Matcher          // the very mux the function serves (*http.ServeMux or *httpx.Mux)
	Fn       runtime.Function // or the function itself: its Handler is the mux, and the runtime serves its document
	Source   []string         // SourceRoutes of its http.go
	Prefixes []string         // documented paths under these must be Source routes
	Sample   string           // value substituted for path parameters
	// Aliases are documented operations served by another pattern
	// (documented operation → the pattern that serves it).
	Aliases map[string]string
}

// Matcher finds the pattern serving a request, as (*http.ServeMux).Handler does.
type Matcher interface {
	Handler(r *http.Request) (http.Handler, string)
}

// CheckRoutes fails when a registered route is not documented, or a
// documented operation is neither a route of the mux nor a probe the
// runtime serves.
func CheckRoutes(t *testing.T, doc Doc, r Routes) {
	t.Helper()
	documented := Ops(t, doc)
	var fn runtime.Function = probeFn{}
	if r.Fn != nil {
		fn = r.Fn
		if m, ok := r.Fn.Handler().(Matcher); ok {
			r.Mux = m
		}
	}
	if r.Mux == nil {
		t.Fatal("openapitest: no mux to check")
	}
	if p, ok := fn.(probeFn); ok {
		p.h = r.Mux.(http.Handler)
		fn = p
	}
	if r.Source == nil {
		if l, ok := r.Mux.(httpx.RouteLister); ok {
			for _, rt := range l.Routes() {
				r.Source = append(r.Source, exact(rt.Pattern))
			}
		}
	}
	for _, route := range r.Source {
		if !slices.Contains(documented, route) {
			t.Errorf("route %q is registered in http.go but not documented in openapi.yaml", route)
		}
	}
	sample := func(pattern string) string {
		return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(pattern, r.Sample)
	}
	served := runtime.Handler(r.Name, fn, runtime.Options{Logger: httpx.NewLogger(io.Discard, "error")})
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		want, aliased := r.Aliases[op]
		if slices.Contains(r.Source, op) || aliased {
			if !aliased {
				want = op
			}
			if _, pattern := r.Mux.Handler(httptest.NewRequest(method, sample(path), nil)); exact(pattern) != want {
				t.Errorf("documented %q: the function's mux matches pattern %q, want %q", op, pattern, want)
			}
			continue
		}
		rec := httptest.NewRecorder()
		served.ServeHTTP(rec, httptest.NewRequest(method, sample(path), nil))
		if rec.Code == http.StatusOK {
			continue // served by the runtime: a probe or the document itself
		}
		if slices.ContainsFunc(r.Prefixes, func(p string) bool { return strings.HasPrefix(path, p) }) {
			t.Errorf("documented %q is not a route of the function", op)
			continue
		}
		t.Errorf("documented %q: the runtime answers %d, not a route it serves", op, rec.Code)
	}
}

// exact is a route pattern as OpenAPI writes its path: ServeMux's "{$}"
// (this path exactly, not the subtree) is implied there.
func exact(pattern string) string { return strings.TrimSuffix(pattern, "{$}") }

// CheckRefs fails when a $ref does not point at a defined component.
func CheckRefs(t *testing.T, raw []byte) {
	t.Helper()
	doc := Load(t, raw)
	var tree any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(any, string)
	walk = func(n any, at string) {
		switch v := n.(type) {
		case map[string]any:
			for k, c := range v {
				if ref, ok := c.(string); ok && k == "$ref" {
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
						t.Errorf("%s: $ref %q does not resolve", at, ref)
					}
					continue
				}
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range v {
				walk(c, at+"[]")
			}
		}
	}
	walk(tree, "")
}

// JSONFields lists the JSON names of a struct's fields; an embedded struct
// without a json tag contributes its own fields, as encoding/json does.
func JSONFields(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			out = append(out, JSONFields(f.Type)...)
		case name != "" && name != "-":
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Properties lists a component schema's property names.
func Properties(t *testing.T, doc Doc, name string) []string {
	t.Helper()
	s := doc.Components["schemas"][name]
	if s == nil {
		t.Fatalf("schema %s is not in components.schemas", name)
	}
	props, _ := s["properties"].(map[string]any)
	var out []string
	for k := range props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckSchemas fails when a schema's properties differ from the JSON
// fields of its Go type, and, when the document declares the shared
// ErrorBody schema, when it no longer matches httpx.ErrorBody and the errs
// codes.
func CheckSchemas(t *testing.T, doc Doc, types map[string]any) {
	t.Helper()
	for name, v := range types {
		want := JSONFields(reflect.TypeOf(v))
		if got := Properties(t, doc, name); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v, the Go type has %v", name, got, want)
		}
	}
	errBody := doc.Components["schemas"]["ErrorBody"]
	if errBody == nil {
		return // a document that does not declare the shared error body
	}
	errProps := errBody["properties"].(map[string]any)["error"].(map[string]any)
	var got []string
	for k := range errProps["properties"].(map[string]any) {
		got = append(got, k)
	}
	sort.Strings(got)
	if want := JSONFields(reflect.TypeOf(httpx.ErrorBody{}.Error)); !slices.Equal(got, want) {
		t.Errorf("ErrorBody.error has properties %v, httpx.ErrorBody has %v", got, want)
	}
	codeSchema := errProps["properties"].(map[string]any)["code"].(map[string]any)
	var enum []string
	for _, c := range codeSchema["enum"].([]any) {
		enum = append(enum, c.(string))
	}
	for _, c := range []errs.Code{errs.Invalid, errs.NotFound, errs.Conflict, errs.Unauthorized, errs.Forbidden, errs.Unavailable, errs.Internal} {
		if !slices.Contains(enum, string(c)) {
			t.Errorf("ErrorBody.error.code enum %v lacks %q", enum, c)
		}
	}
}
