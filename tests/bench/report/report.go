// Package report writes benchmark results into docs/benchmarks.md, each
// benchmark owning one section between markers, so reruns replace their
// own numbers and leave the others alone.
package report

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// Section is one benchmark's table.
type Section struct {
	Title string
	Intro string
	Rows  [][]string // first row is the header
}

func (s Section) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n%s\n\n", s.Title, s.Intro)
	for i, r := range s.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		if i == 0 {
			b.WriteString("|" + strings.Repeat(" --- |", len(r)) + "\n")
		}
	}
	return b.String()
}

// Write replaces the section named id in path (creating file or section).
func Write(path, id string, s Section) error {
	begin, end := "<!-- bench:"+id+" -->", "<!-- /bench:"+id+" -->"
	block := begin + "\n" + s.markdown() + end + "\n"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	if doc == "" {
		doc = "# Benchmarks\n\nEach section is written by its benchmark (`go tool task bench`); numbers are ratios against an anchor run side by side on the same machine.\n\n"
	}
	if i, j := strings.Index(doc, begin), strings.Index(doc, end); i >= 0 && j > i {
		doc = doc[:i] + block + doc[j+len(end)+1:]
	} else {
		doc += "\n" + block
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of d,
// which it leaves unsorted; 0 for no samples. Every benchmark reports its
// latencies through it, so their p50 and p99 mean the same thing.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(float64(len(s))*p/100)) - 1
	return s[min(max(i, 0), len(s)-1)]
}
