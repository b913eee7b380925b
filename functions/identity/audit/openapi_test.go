package audit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/functions/identity/notify"
	"github.com/sjzamr/smartreg/functions/identity/online"
)

type apiDoc struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]any            `json:"paths"`
	Components map[string]map[string]map[string]any `json:"components"`
}

func loadDoc(t *testing.T) apiDoc {
	t.Helper()
	var d apiDoc
	if err := yaml.Unmarshal(audit.OpenAPI(), &d); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.1.") {
		t.Fatalf("openapi = %q", d.OpenAPI)
	}
	return d
}

var (
	routeLine = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)
	anyRoute  = regexp.MustCompile(`mux\.Handle(?:Func)?\(`)
)

// sourceRoutes reads the registrations in the three sub-packages' Routes.
func sourceRoutes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"service.go", "../notify/http.go", "../online/online.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := routeLine.FindAllStringSubmatch(string(src), -1)
		if n := len(anyRoute.FindAllString(string(src), -1)); n != len(m) || n == 0 {
			t.Fatalf("%s registers %d routes, %d readable", f, n, len(m))
		}
		for _, x := range m {
			out = append(out, x[1]+" "+x[2])
		}
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadDoc(t)
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	routes := sourceRoutes(t)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is registered but not documented", r)
		}
	}
	mux := http.NewServeMux()
	guard := func(string, string) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler { return h }
	}
	(&audit.Service{}).Routes(mux, guard)
	(&notify.Service{}).Routes(mux, guard)
	(&online.Service{}).Routes(mux, guard)
	for _, op := range documented {
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "x1"), nil)
		if _, pattern := mux.Handler(req); pattern != op {
			t.Errorf("documented %q: mux matches %q", op, pattern)
		}
	}
}

func TestOpenAPISchemasMatchStructs(t *testing.T) {
	doc := loadDoc(t)
	for name, v := range map[string]any{
		"LoginRow": audit.LoginRow{}, "OpRow": audit.OpRow{}, "Alert": audit.Alert{}, "Archive": audit.Archive{},
		"Notice": notify.Notice{}, "PublishRequest": notify.PublishRequest{}, "Session": online.Session{},
	} {
		raw, _ := json.Marshal(v)
		var fields map[string]any
		_ = json.Unmarshal(raw, &fields)
		var got []string
		for k := range fields {
			got = append(got, k)
		}
		if name == "Notice" {
			got = append(got, "read_at") // omitempty
		}
		if name == "Session" {
			got = append(got, "dept_name") // omitempty
		}
		props, _ := doc.Components["schemas"][name]["properties"].(map[string]any)
		var want []string
		for k := range props {
			want = append(want, k)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: struct fields %v, documented %v", name, got, want)
		}
	}
}
