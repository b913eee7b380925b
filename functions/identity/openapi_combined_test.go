package identity

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

// routeLine reads a method route; the oidcprovider files also register a
// catch-all without a method, so openapitest.SourceRoutes does not fit.
var routeLine = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)

// TestServedOpenAPICoversTheSubPackages: GET /identity/v1/openapi.yaml
// serves one document with identity's routes and those of online and
// oidcprovider; every route their source registers is in it,
// everything in it is a route (or the OIDC endpoints behind the
// /identity/oidc/ catch-all), and every $ref resolves.
func TestServedOpenAPICoversTheSubPackages(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	(&Function{}).routes(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/identity/v1/openapi.yaml", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET openapi.yaml: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	served := rec.Body.Bytes()
	doc := openapitest.Load(t, served)
	documented := map[string]map[string]any{}
	for path, item := range doc.Paths {
		for method, op := range item {
			o, _ := op.(map[string]any)
			documented[strings.ToUpper(method)+" "+path] = o
		}
	}

	var routes []string
	for _, file := range []string{"http.go", "online/online.go", "oidcprovider/oidcprovider.go", "oidcprovider/clients.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		m := routeLine.FindAllStringSubmatch(string(src), -1)
		if len(m) == 0 {
			t.Fatalf("%s registers no method route; has the registration style changed?", file)
		}
		for _, x := range m {
			routes = append(routes, x[1]+" "+x[2])
		}
	}
	for _, r := range routes {
		if documented[r] == nil {
			t.Errorf("route %q is not in the served document", r)
		}
	}
	for op := range documented {
		if !slices.Contains(routes, op) && !strings.Contains(op, " /identity/oidc/") {
			t.Errorf("documented %q is not a route", op)
		}
	}
	for _, op := range []string{"POST /identity/v1/heartbeat",
		"GET /identity/v1/online", "POST /identity/v1/oidc/clients", "GET /identity/oidc/authorize", "POST /identity/v1/login"} {
		if documented[op] == nil {
			t.Errorf("%s missing from the served document", op)
		}
	}

	// The OIDC document has no top-level security: its public operations
	// must not inherit identity's bearer requirement, its admin ones must.
	if s, ok := documented["POST /identity/oidc/token"]["security"].([]any); !ok || len(s) != 0 {
		t.Errorf("token endpoint security = %v, want []", documented["POST /identity/oidc/token"]["security"])
	}
	if _, ok := documented["GET /identity/v1/login/providers"]["security"]; !ok {
		t.Error("login providers should be marked public")
	}
	if _, ok := documented["GET /identity/v1/oidc/clients"]["security"]; ok {
		t.Error("client administration should inherit the bearer requirement")
	}

	openapitest.CheckRefs(t, served)
}

// TestMergeOpenAPIRefusesClashes: two documents defining one path, or one
// component differently, are an error rather than a silent overwrite.
func TestMergeOpenAPIRefusesClashes(t *testing.T) {
	t.Parallel()
	base := []byte("openapi: 3.1.0\npaths:\n  /a: {get: {summary: a}}\ncomponents:\n  schemas:\n    X: {type: string}\n")
	if _, err := mergeOpenAPI(base, []byte("openapi: 3.1.0\npaths:\n  /a: {post: {summary: b}}\n")); err == nil {
		t.Error("a path in two documents merged")
	}
	if _, err := mergeOpenAPI(base, []byte("openapi: 3.1.0\npaths: {}\ncomponents:\n  schemas:\n    X: {type: integer}\n")); err == nil {
		t.Error("a component defined differently merged")
	}
	if _, err := mergeOpenAPI(base, []byte("openapi: 3.1.0\npaths: {}\ncomponents:\n  schemas:\n    X: {type: string}\n")); err != nil {
		t.Errorf("an identical component: %v", err)
	}
	if _, err := mergeOpenAPI(openapi, online.OpenAPI(), oidcprovider.OpenAPI()); err != nil {
		t.Errorf("the real documents: %v", err)
	}
}
