package identity

import (
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

// TestServedOpenAPIMarksPublicOperations: the OIDC document has no
// top-level security, so its public operations must not inherit
// identity's bearer requirement in the merged document, and its admin
// ones must.
func TestServedOpenAPIMarksPublicOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, raw := e.f.OpenAPI()
	doc := openapitest.Load(t, raw)
	op := func(method, path string) map[string]any {
		o, _ := doc.Paths[path][strings.ToLower(method)].(map[string]any)
		if o == nil {
			t.Fatalf("%s %s missing from the served document", method, path)
		}
		return o
	}
	for _, want := range []string{"POST /identity/v1/heartbeat",
		"GET /identity/v1/online", "POST /identity/v1/oidc/clients", "GET /identity/oidc/authorize", "POST /identity/v1/login"} {
		m, p, _ := strings.Cut(want, " ")
		op(m, p)
	}
	if s, ok := op("POST", "/identity/oidc/token")["security"].([]any); !ok || len(s) != 0 {
		t.Errorf("token endpoint security = %v, want []", op("POST", "/identity/oidc/token")["security"])
	}
	if _, ok := op("GET", "/identity/v1/login/providers")["security"]; !ok {
		t.Error("login providers should be marked public")
	}
	if _, ok := op("GET", "/identity/v1/oidc/clients")["security"]; ok {
		t.Error("client administration should inherit the bearer requirement")
	}
}

// TestMergeOpenAPIRefusesClashes: two documents defining one path, or one
// component differently, are an error rather than a silent overwrite.
func TestMergeOpenAPIRefusesClashes(t *testing.T) {
	t.Parallel()
	none := func(string, string) bool { return false }
	base := []byte("openapi: 3.1.0\npaths:\n  /a: {get: {summary: a}}\ncomponents:\n  schemas:\n    X: {type: string}\n")
	if _, err := mergeOpenAPI(base, none, []byte("openapi: 3.1.0\npaths:\n  /a: {post: {summary: b}}\n")); err == nil {
		t.Error("a path in two documents merged")
	}
	if _, err := mergeOpenAPI(base, none, []byte("openapi: 3.1.0\npaths: {}\ncomponents:\n  schemas:\n    X: {type: integer}\n")); err == nil {
		t.Error("a component defined differently merged")
	}
	if _, err := mergeOpenAPI(base, none, []byte("openapi: 3.1.0\npaths: {}\ncomponents:\n  schemas:\n    X: {type: string}\n")); err != nil {
		t.Errorf("an identical component: %v", err)
	}
	if _, err := mergeOpenAPI(openapi, none, online.OpenAPI(), oidcprovider.OpenAPI()); err != nil {
		t.Errorf("the real documents: %v", err)
	}
}
