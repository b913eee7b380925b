package policymatch

import (
	"context"
	"strings"
	"testing"
)

// The demo library loads once, covers the four levels with at least 60
// policies, marks every text 示例 and keeps each one's source; a second run
// adds nothing.
func TestSeedDemo(t *testing.T) {
	h := newHarness(t)
	n, err := h.f.SeedDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n < 60 {
		t.Fatalf("%d demo policies, want at least 60", n)
	}
	levels := map[string]int{}
	pols, _, err := listPolicies(context.Background(), h.pool, PolicyFilter{}, 200, 0)
	if err != nil {
		t.Fatal(err)
	}
	drafts := 0
	for _, p := range pols {
		levels[p.Effective[DimLevel]]++
		if !p.Sample || p.SourceRef == "" || p.SourceKind != "demo" {
			t.Errorf("%s: sample %v, source %q", p.Title, p.Sample, p.SourceRef)
		}
		if !p.Condition.Empty() {
			drafts++
		}
		for _, d := range Dimensions {
			if p.Labels[d].Reason == "" {
				t.Errorf("%s: no reason for %s", p.Title, d)
			}
		}
	}
	for _, l := range levels {
		if l < 10 {
			t.Errorf("levels %v: each of the four should have at least 10", levels)
		}
	}
	if len(levels) != 4 || drafts < 50 {
		t.Errorf("levels %v, %d with a drafted condition", levels, drafts)
	}
	real := 0
	for _, p := range pols {
		if strings.Contains(p.SourceRef, "公开发布") {
			real++
		}
	}
	if real < 5 {
		t.Errorf("%d policies name a real document as their source", real)
	}
	again, err := h.f.SeedDemo(context.Background())
	if err != nil || again != 0 {
		t.Errorf("second run added %d (%v)", again, err)
	}
}

// The backfill derives every entity's facts in one pass.
func TestBackfillFacts(t *testing.T) {
	h := newHarness(t)
	a := h.addEntity(t, entity{industry: "5212", year: 2024, employees: 60, revenue: 600})
	b := h.addEntity(t, entity{typ: "individual", industry: "6291"})
	n, err := h.f.BackfillFacts(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("backfill: %d %v", n, err)
	}
	for code, want := range map[string]string{a: "medium", b: "unknown"} {
		var size, own string
		if err := h.pool.QueryRow(context.Background(), `SELECT size, ownership FROM policy.entity_facts WHERE credit_code = $1`, code).Scan(&size, &own); err != nil || size != want || own == "" {
			t.Errorf("%s: %s %s %v, want %s", code, size, own, err, want)
		}
	}
}
