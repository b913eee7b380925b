package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestScaffoldBuildsAndPassesItsTests generates a function into a copy of
// the repository, then builds it, runs its tests (which include the
// conformance tests) and builds the platform that now registers it: the
// scaffold cannot rot while the anatomy moves on.
func TestScaffoldBuildsAndPassesItsTests(t *testing.T) {
	root := copyRepo(t)
	if err := scaffold(root, spec{Name: "demo-check", Pkg: "democheck", Schema: "democheck", Domain: "demo", Env: "DEMO_CHECK", Title: "脚手架自检"}); err != nil {
		t.Fatal(err)
	}
	goCmd(t, filepath.Join(root, "functions/demo-check"), "vet", "./...")
	out := goCmd(t, filepath.Join(root, "functions/demo-check"), "test", "-count=1", "./...")
	if !strings.Contains(out, "ok  \tgithub.com/sjzamr/smartreg/functions/demo-check") {
		t.Fatalf("the generated function's tests did not run:\n%s", out)
	}
	goCmd(t, filepath.Join(root, "infra/local"), "vet", "./platform/", "./cmd/smartreg/")
	goCmd(t, filepath.Join(root, "infra/local"), "test", "-count=1", "./platform/", "-run", "TestEveryFunctionHasTheAnatomy/demo-check|TestFunctionSettingsTable")
	goCmd(t, filepath.Join(root, "infra/knative"), "test", "-count=1", ".")
	for _, f := range []string{"infra/knative/functions/demo-check.yaml", "docs/functions/demo-check.md"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("%s was not written", f)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "go.work")); !bytes.Contains(b, []byte("./functions/demo-check")) {
		t.Error("go.work does not use the new module")
	}
	if err := scaffold(root, spec{Name: "demo-check", Pkg: "democheck", Schema: "democheck", Domain: "demo"}); err == nil {
		t.Error("a second scaffold of the same name was accepted")
	}
}

func TestRefusesBadNames(t *testing.T) {
	for _, n := range []string{"Policy", "9lives", "a--b", "a_b", "-x", ""} {
		if err := run([]string{"-root", t.TempDir(), n}); err == nil {
			t.Errorf("name %q accepted", n)
		}
	}
}

// copyRepo copies the repository's files (tracked and new, not ignored).
func copyRepo(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	ls := exec.Command("git", "ls-files", "-co", "--exclude-standard", "-z")
	ls.Dir = src
	list, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			continue // deleted in the working tree
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}
