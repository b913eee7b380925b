// Package docscheck keeps the documents that name tests honest: every
// `pkg.TestName` in docs/security.md must be a test function of a package
// of that name (a trailing * matches a prefix).
package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tests maps package name → its test function names.
func tests(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == ".data") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := strings.TrimSuffix(f.Name.Name, "_test")
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Test") {
				out[pkg] = append(out[pkg], fd.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var ref = regexp.MustCompile("`?([a-z][a-z0-9]*)\\.(Test[A-Za-z0-9_]*\\*?)")

func TestSecurityDocNamesRealTests(t *testing.T) {
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	all := tests(t)
	n := 0
	for _, m := range ref.FindAllStringSubmatch(string(doc), -1) {
		pkg, name := m[1], m[2]
		n++
		found := false
		for _, have := range all[pkg] {
			if have == name || strings.HasSuffix(name, "*") && strings.HasPrefix(have, strings.TrimSuffix(name, "*")) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("docs/security.md names %s.%s, which is no test of a package %s", pkg, name, pkg)
		}
	}
	if n < 20 {
		t.Fatalf("only %d test references found in docs/security.md", n)
	}
}
