package policymatch

import (
	"context"
	"slices"
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

// The backfill makes policy.subjects equal to the registry, whatever
// events were missed: changed rows rewritten, new ones added, gone ones
// removed, and only those written.
func TestBackfillReconcilesTheMatchCopy(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var codes []string
	for i := range 6 {
		codes = append(codes, h.addEntity(t, entity{industry: "5212", capital: float64(10 + i), year: 2024, employees: 5, revenue: 50}))
	}
	diff := func() int {
		t.Helper()
		var n int
		if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM (
			(SELECT `+prefixed("s.", subjectCopy)+`, f.size FROM registry.policy_subjects() s JOIN policy.entity_facts f USING (credit_code)
			 EXCEPT SELECT `+subjectCopy+`, size FROM policy.subjects)
			UNION ALL
			(SELECT `+subjectCopy+`, size FROM policy.subjects
			 EXCEPT SELECT `+prefixed("s.", subjectCopy)+`, f.size FROM registry.policy_subjects() s JOIN policy.entity_facts f USING (credit_code))) d`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := diff(); n != 0 {
		t.Fatalf("%d rows differ after the events", n)
	}
	// Changes the events never told: a new entity, a changed one, a
	// blacklisted one, a bigger one, a removed one.
	fresh := makeCode(t, "enterprise", "130104")
	for _, sql := range []string{
		`INSERT INTO registry.stub_policy_subjects (credit_code, name, district_code, industry_code) VALUES ('` + fresh + `', '新设有限公司', '130104', '6513')`,
		`UPDATE registry.stub_policy_subjects SET district_code = '130104', abnormal = true WHERE credit_code = '` + codes[0] + `'`,
		`UPDATE registry.stub_policy_subjects SET blacklisted_until = '2030-01-01', last_penalty_on = '2025-01-01' WHERE credit_code = '` + codes[1] + `'`,
		`UPDATE registry.stub_policy_subjects SET employees = 500, revenue = 90000 WHERE credit_code = '` + codes[2] + `'`,
		`DELETE FROM registry.stub_policy_subjects WHERE credit_code = '` + codes[3] + `'`,
	} {
		if _, err := h.pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	// A row's xmin is the transaction that last wrote it.
	versions := func() map[string]string {
		rows, err := h.pool.Query(ctx, `SELECT credit_code, xmin::text FROM policy.subjects`)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for rows.Next() {
			var c, x string
			rows.Scan(&c, &x)
			m[c] = x
		}
		return m
	}
	before := versions()
	if _, err := h.f.BackfillFacts(ctx); err != nil {
		t.Fatal(err)
	}
	if n := diff(); n != 0 {
		t.Errorf("%d rows differ after the backfill", n)
	}
	after := versions()
	var written []string
	for c, x := range after {
		if before[c] != x {
			written = append(written, c)
		}
	}
	slices.Sort(written)
	want := []string{codes[0], codes[1], codes[2], fresh}
	slices.Sort(want)
	if _, ok := after[codes[3]]; ok || len(after) != 6 || !slices.Equal(written, want) {
		t.Errorf("%d rows, written %v; want 6 rows, the removed one gone, written only %v", len(after), written, want)
	}
}
