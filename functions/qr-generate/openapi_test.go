package qrgenerate

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

// apiDoc is the part of the OpenAPI document these tests read.
type apiDoc struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]any            `json:"paths"`
	Components map[string]map[string]map[string]any `json:"components"`
}

func loadAPIDoc(t *testing.T) apiDoc {
	t.Helper()
	var d apiDoc
	if err := yaml.Unmarshal(openapi, &d); err != nil {
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

// documentedOps lists the document's operations as "METHOD /path".
func documentedOps(t *testing.T, d apiDoc) []string {
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
	// routeLine matches the registrations in http.go: mux.Handle("GET /qr/v1/…", …).
	routeLine = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)
	// anyRoute matches every registration, with or without a method, so a
	// route the first pattern cannot read fails the test instead of hiding.
	anyRoute = regexp.MustCompile(`mux\.Handle(?:Func)?\(`)
)

// sourceRoutes reads the routes registered in http.go, as "METHOD /path".
func sourceRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("http.go")
	if err != nil {
		t.Fatal(err)
	}
	matches := routeLine.FindAllStringSubmatch(string(src), -1)
	if n := len(anyRoute.FindAllString(string(src), -1)); n != len(matches) {
		t.Fatalf("http.go registers %d routes but only %d have the form mux.HandleFunc(\"METHOD /path\", …): give every route a method", n, len(matches))
	}
	if len(matches) == 0 {
		t.Fatal("no routes found in http.go")
	}
	var out []string
	for _, m := range matches {
		out = append(out, m[1]+" "+m[2])
	}
	sort.Strings(out)
	return out
}

// probeFn lets the runtime serve qr-generate's routes without a database.
type probeFn struct{ h http.Handler }

func (p probeFn) Handler() http.Handler                                    { return p.h }
func (probeFn) Receive(context.Context, event.Event) (*event.Event, error) { return nil, nil }
func (probeFn) Ready(context.Context) error                                { return nil }

// samplePath fills path parameters so a pattern can be matched by a request.
func samplePath(pattern string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(pattern, "AbCdEfGh12345678")
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadAPIDoc(t)
	documented := documentedOps(t, doc)
	routes := sourceRoutes(t)

	// Every route registered in routes() is documented with its method.
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is registered in http.go but not documented in openapi.yaml", r)
		}
	}

	// Every documented operation is a real route: one of routes(), matched
	// by the very mux the function serves, or a probe the runtime adds
	// under /qr-generate/ when it serves the function.
	mux, ok := any((&Function{}).mux()).(*http.ServeMux)
	if !ok {
		t.Fatal("mux() no longer returns an *http.ServeMux; adapt this test")
	}
	served := runtime.Handler(Name, probeFn{h: mux}, httpx.NewLogger(io.Discard, "error"), nil)
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		if slices.Contains(routes, op) {
			req := httptest.NewRequest(method, samplePath(path), nil)
			if _, pattern := mux.Handler(req); pattern != op {
				t.Errorf("documented %q: the function's mux matches pattern %q", op, pattern)
			}
			continue
		}
		if strings.HasPrefix(path, "/qr/v1/") {
			t.Errorf("documented %q is not a route of http.go", op)
			continue
		}
		rec := httptest.NewRecorder()
		served.ServeHTTP(rec, httptest.NewRequest(method, samplePath(path), nil))
		if rec.Code != http.StatusOK {
			t.Errorf("documented %q: the runtime answers %d, not a route it serves", op, rec.Code)
		}
	}
}

// TestOpenAPIRefsResolve keeps every $ref pointing at a defined component.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadAPIDoc(t)
	var raw any
	if err := yaml.Unmarshal(openapi, &raw); err != nil {
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
	walk(raw, "")
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func schemaProperties(t *testing.T, doc apiDoc, name string) []string {
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

// TestOpenAPISchemasMatchStructs keeps the schemas' properties equal to
// the JSON fields of the Go types the handlers encode and decode.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	doc := loadAPIDoc(t)
	for name, v := range map[string]any{
		"Code": Code{}, "CodePage": CodePage{}, "ReasonInput": ReasonInput{}, "Selection": Selection{}, "BulkResult": BulkResult{},
		"ZipRequest": ZipRequest{}, "SweepResult": SweepResult{}, "OpLogEntry": OpLogEntry{}, "OpLogPage": OpLogPage{},
		"StatRow": StatRow{}, "StatsResult": StatsResult{}, "DownloadStat": DownloadStat{}, "DownloadStatsResult": DownloadStatsResult{},
		"FieldError": errs.FieldError{}, "ErrorBody": httpx.ErrorBody{},
	} {
		want := jsonFields(reflect.TypeOf(v))
		if got := schemaProperties(t, doc, name); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v, the Go type has %v", name, got, want)
		}
	}
	errProps := doc.Components["schemas"]["ErrorBody"]["properties"].(map[string]any)["error"].(map[string]any)
	var got []string
	for k := range errProps["properties"].(map[string]any) {
		got = append(got, k)
	}
	sort.Strings(got)
	if want := jsonFields(reflect.TypeOf(httpx.ErrorBody{}.Error)); !slices.Equal(got, want) {
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
