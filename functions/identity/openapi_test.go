package identity

import (
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

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

var (
	routeLine = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)
	anyRoute  = regexp.MustCompile(`mux\.Handle(?:Func)?\(`)
)

func sourceRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("http.go")
	if err != nil {
		t.Fatal(err)
	}
	m := routeLine.FindAllStringSubmatch(string(src), -1)
	if n := len(anyRoute.FindAllString(string(src), -1)); n != len(m) || n == 0 {
		t.Fatalf("http.go registers %d routes, %d with a method", n, len(m))
	}
	var out []string
	for _, x := range m {
		out = append(out, x[1]+" "+x[2])
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadAPIDoc(t)
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	routes := sourceRoutes(t)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is registered in http.go but not documented", r)
		}
	}
	mux := http.NewServeMux()
	(&Function{}).routes(mux)
	for _, op := range documented {
		if !slices.Contains(routes, op) {
			t.Errorf("documented %q is not a route of http.go", op)
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "x1"), nil)
		if _, pattern := mux.Handler(req); pattern != op {
			t.Errorf("documented %q: mux matches %q", op, pattern)
		}
	}
}

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
					if len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
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

// TestOpenAPISchemasMatchStructs keeps the documented fields equal to the
// JSON the Go types produce.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	doc := loadAPIDoc(t)
	for name, v := range map[string]any{
		"User": User{}, "Tokens": Tokens{}, "Role": Role{}, "RoleInput": RoleInput{}, "Department": Department{}, "DeptInput": DeptInput{},
		"Registration": Registration{}, "RegistrationInput": RegistrationInput{}, "ChangelogEntry": ChangelogEntry{},
		"ChangelogInput": ChangelogInput{}, "Me": Me{}, "UserInput": UserInput{}, "Menu": Menu{}, "Perm": Perm{},
		"ResetInput": ResetInput{}, "ResetRequest": ResetRequest{}, "PasswordChange": PasswordChange{}, "Created": Created{},
	} {
		var want []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			if !typ.Field(i).IsExported() {
				continue
			}
			n, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if n != "" && n != "-" {
				want = append(want, n)
			}
		}
		sort.Strings(want)
		s := doc.Components["schemas"][name]
		if s == nil {
			t.Errorf("schema %s missing", name)
			continue
		}
		props, _ := s["properties"].(map[string]any)
		var got []string
		for k := range props {
			got = append(got, k)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s properties %v, Go JSON fields %v", name, got, want)
		}
	}
}
