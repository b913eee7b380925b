package oidcprovider

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestOpenAPIMatchesRoutes checks both directions: every method route
// Routes registers is documented, and every documented operation is served
// (answers something other than 404/405 with both external logins on).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths {
		for m := range item {
			documented = append(documented, strings.ToUpper(m)+" "+path)
		}
	}
	sort.Strings(documented)

	routes := 0
	for _, file := range []string{"oidcprovider.go", "clients.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`m\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
			routes++
			if op := m[1] + " " + m[2]; !slices.Contains(documented, op) {
				t.Errorf("route %s is not in openapi.yaml", op)
			}
		}
	}
	if routes < 15 {
		t.Errorf("found only %d routes in the source; has the registration style changed?", routes)
	}

	e := newEnv(t, envOpts{upstream: true, wechat: true, direct: true})
	h := e.guarded()
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			t.Errorf("%s documented but answers %d", op, rec.Code)
		}
	}
}
