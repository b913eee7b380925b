// Command newfunction scaffolds a SmartReg function with the anatomy every
// function shares (go tool task new-function -- NAME):
//
//	functions/NAME/            module with function.go, http.go, events.go,
//	                           store.go, openapi.yaml, migrations/0001,
//	                           cmd/main.go and the tests (dependencies,
//	                           config documented, OpenAPI ⇔ routes, and the
//	                           event, permission and scope conformance tests)
//	go.work                    the module's use line
//	infra/knative/functions/   its Knative Service and SinkBinding
//	infra/knative/gateway/     its public prefix
//	infra/local/platform/      its builder, Config group and typed field
//	shared/auth/catalogue.go   its permissions
//	docs/functions/NAME.md     its page; docs/operations.md settings table
//
// The result builds, passes its tests and is served by `up` at once.
//
//	newfunction [-schema S] [-domain D] [-title 中文名] [-root DIR] NAME
package main

import (
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

//go:embed templates
var templates embed.FS

// spec is what the templates are filled with.
type spec struct {
	Name   string // function name: "policy-match"
	Pkg    string // Go package: "policymatch"
	Schema string // PostgreSQL schema: "policy"
	Domain string // API prefix: /policy/v1/
	Env    string // settings prefix: "POLICY_MATCH"
	Title  string // Chinese name for docs
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "new-function:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("new-function", flag.ContinueOnError)
	schema := fl.String("schema", "", "PostgreSQL schema (default: the name without dashes)")
	domain := fl.String("domain", "", "API prefix /<domain>/v1/ (default: the name's first word)")
	title := fl.String("title", "新功能", "the function's Chinese name, for docs")
	root := fl.String("root", "", "repository root (default: the directory holding go.work, found upward)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return errors.New("usage: go tool task new-function -- [-schema S] [-domain D] [-title 名称] NAME")
	}
	name := fl.Arg(0)
	if !validName.MatchString(name) {
		return fmt.Errorf("name %q: lowercase letters, digits and single dashes, starting with a letter (e.g. policy-match)", name)
	}
	s := spec{Name: name, Pkg: strings.ReplaceAll(name, "-", ""), Schema: *schema, Domain: *domain, Title: *title,
		Env: strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
	if s.Schema == "" {
		s.Schema = s.Pkg
	}
	if s.Domain == "" {
		s.Domain, _, _ = strings.Cut(name, "-")
	}
	dir := *root
	if dir == "" {
		var err error
		if dir, err = findRoot(); err != nil {
			return err
		}
	}
	return scaffold(dir, s)
}

func findRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.work found: run from inside the repository or pass -root")
		}
		d = parent
	}
}

func scaffold(root string, s spec) error {
	fnDir := filepath.Join(root, "functions", s.Name)
	if _, err := os.Stat(fnDir); err == nil {
		return fmt.Errorf("functions/%s already exists", s.Name)
	}
	files := map[string]string{
		"function.go.tmpl": "function.go", "http.go.tmpl": "http.go", "events.go.tmpl": "events.go", "store.go.tmpl": "store.go",
		"openapi.yaml.tmpl": "openapi.yaml", "migrations/0001_schema.sql.tmpl": "migrations/0001_" + s.Schema + ".sql",
		"cmd/main.go.tmpl": "cmd/main.go", "function_test.go.tmpl": "function_test.go",
		"conformance_test.go.tmpl": "conformance_test.go", "openapi_test.go.tmpl": "openapi_test.go",
	}
	for tmpl, out := range files {
		if err := render(tmpl, filepath.Join(fnDir, out), s); err != nil {
			return err
		}
	}
	if err := render("knative.yaml.tmpl", filepath.Join(root, "infra/knative/functions", s.Name+".yaml"), s); err != nil {
		return err
	}
	if err := render("doc.md.tmpl", filepath.Join(root, "docs/functions", s.Name+".md"), s); err != nil {
		return err
	}
	gomod := fmt.Sprintf(`module github.com/sjzamr/smartreg/functions/%s

go 1.26.0

replace (
	github.com/sjzamr/smartreg/events => ../../events
	github.com/sjzamr/smartreg/shared => ../../shared
)

require (
	github.com/sjzamr/smartreg/events v0.0.0-00010101000000-000000000000
	github.com/sjzamr/smartreg/shared v0.0.0-00010101000000-000000000000
)
`, s.Name)
	if err := os.WriteFile(filepath.Join(fnDir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if err := register(root, s); err != nil {
		return err
	}
	mod := "github.com/sjzamr/smartreg/functions/" + s.Name
	// The module's own go.sum and requirements, then the workspace line.
	steps := []struct {
		dir  string
		args []string
	}{
		{fnDir, []string{"mod", "tidy"}},
		{root, []string{"work", "use", "./functions/" + s.Name}},
		// The composition roots name the module (they import it), and find
		// it beside them outside the workspace too.
		{filepath.Join(root, "infra/local"), []string{"mod", "edit", "-require=" + mod + "@v0.0.0-00010101000000-000000000000",
			"-replace=" + mod + "=../../functions/" + s.Name}},
		{filepath.Join(root, "infra/local"), []string{"mod", "tidy"}},
		{filepath.Join(root, "tests"), []string{"mod", "edit", "-replace=" + mod + "=../functions/" + s.Name}},
		{filepath.Join(root, "tests"), []string{"mod", "tidy"}},
		// The operator's settings table is generated from the Config structs.
		{filepath.Join(root, "infra/local"), []string{"test", "-count=1", "./platform", "-run", "TestFunctionSettingsTable", "-update"}},
	}
	for _, st := range steps {
		cmd := exec.Command("go", st.args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = st.dir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go %s in %s: %w", strings.Join(st.args, " "), st.dir, err)
		}
	}
	fmt.Printf("新功能 %s 已生成：functions/%s（接口 /%s/v1/，数据库模式 %s）。\n", s.Name, s.Name, s.Domain, s.Schema)
	fmt.Printf("下一步：go test ./functions/%s/...，然后 go tool task up。\n", s.Name)
	return nil
}

func render(tmpl, out string, s spec) error {
	src, err := fs.ReadFile(templates, "templates/"+tmpl)
	if err != nil {
		return err
	}
	t, err := template.New(tmpl).Parse(string(src))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, s); err != nil {
		return err
	}
	body := b.Bytes()
	if strings.HasSuffix(out, ".go") {
		if body, err = format.Source(body); err != nil {
			return fmt.Errorf("%s: %w", out, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, body, 0o644)
}

// register adds the function where the platform and the catalogue list
// their members, at the scaffold's markers.
func register(root string, s spec) error {
	imp := fmt.Sprintf("%s \"github.com/sjzamr/smartreg/functions/%s\"", s.Pkg, s.Name)
	field := camel(s.Name)
	prefixes := ""
	if s.Domain != s.Name {
		prefixes = fmt.Sprintf(`prefixes: []string{"/%s/"}, `, s.Domain)
	}
	edits := []struct {
		file, marker, insert string
	}{
		{"infra/local/platform/functions.go", "\t// scaffold:imports", "\t" + imp + "\n"},
		{"infra/local/platform/functions.go", "\t// scaffold:config", fmt.Sprintf("\t%s %s.Config `group:\"%s\"`\n", field, s.Pkg, s.Name)},
		{"infra/local/platform/functions.go", "\t// scaffold:typed", fmt.Sprintf("\t%s *%s.Function\n", field, s.Pkg)},
		{"infra/local/platform/functions.go", "\t// scaffold:builders",
			fmt.Sprintf("\t{name: %s.Name, %smigrations: %s.Migrations, build: build%s},\n", s.Pkg, prefixes, s.Pkg, field)},
		{"infra/local/platform/functions.go", "// scaffold:build-funcs", fmt.Sprintf(`func build%[1]s(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := %[2]s.New(%[2]s.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier}, cfg.%[1]s)
	p.%[1]s = fn
	return fn, err
}

`, field, s.Pkg)},
		{"shared/auth/catalogue.go", "\t// scaffold:permissions", fmt.Sprintf("\t{\"%[1]s.item\", \"view\", \"查看%[2]s条目\"},\n\t{\"%[1]s.item\", \"create\", \"新增%[2]s条目\"},\n", s.Domain, s.Title)},
		{"infra/knative/gateway/public-routes.yaml", "    # scaffold:routes", fmt.Sprintf(
			"    - matches: [{path: {type: PathPrefix, value: /%s/v1/}}]\n      filters: [{type: URLRewrite, urlRewrite: {hostname: %s.smartreg.svc.cluster.local}}]\n      backendRefs: [{name: knative-local-gateway, namespace: knative-serving, port: 80}]\n", s.Domain, s.Name)},
	}
	for _, e := range edits {
		p := filepath.Join(root, e.file)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		i := bytes.Index(b, []byte(e.marker))
		if i < 0 {
			return fmt.Errorf("%s has no %q marker", e.file, strings.TrimSpace(e.marker))
		}
		out := append(append(append([]byte{}, b[:i]...), e.insert...), b[i:]...)
		if strings.HasSuffix(p, ".go") {
			if out, err = format.Source(out); err != nil {
				return fmt.Errorf("%s: %w", e.file, err)
			}
		}
		if err := os.WriteFile(p, out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// camel is "policy-match" as a Go field name: "PolicyMatch".
func camel(name string) string {
	var b strings.Builder
	for _, w := range strings.Split(name, "-") {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
