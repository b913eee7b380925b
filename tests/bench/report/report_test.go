package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesOnlyItsSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.md")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(Write(path, "a", Section{Title: "A", Rows: [][]string{{"x"}, {"1"}}}))
	must(Write(path, "b", Section{Title: "B", Rows: [][]string{{"y"}, {"2"}}}))
	must(Write(path, "a", Section{Title: "A", Rows: [][]string{{"x"}, {"3"}}}))
	b, _ := os.ReadFile(path)
	doc := string(b)
	if strings.Contains(doc, "| 1 |") || !strings.Contains(doc, "| 3 |") || !strings.Contains(doc, "| 2 |") || strings.Count(doc, "## A") != 1 {
		t.Fatalf("document:\n%s", doc)
	}
}
