package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func TestPercentileIsNearestRank(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for p, want := range map[float64]time.Duration{50: 5, 90: 9, 99: 10, 100: 10, 1: 1} {
		if got := Percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if d[0] != 5 {
		t.Error("Percentile sorted its argument")
	}
	if Percentile(nil, 99) != 0 {
		t.Error("no samples")
	}
}
