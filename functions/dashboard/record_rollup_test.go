package dashboard

import (
	"context"
	"fmt"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
)

// FP-114, FP-130: an advanced indicator with one record condition ("has"
// or "lacks" a record of kind K) is answered from dashboard.record_rollup
// and agrees with the raw tables in every scope, city, district and
// township, in total and per county; two record conditions fall back to
// the raw tables.
func TestRecordRollupAgreesWithRaw(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	ctx := context.Background()
	// A second record of the same kind must not count its entity twice.
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_records (credit_code, kind) VALUES ('91130100MA00000000', 'penalty'),
		('91130100MA00000001', 'complaint'), ('91130100MA00000000', 'complaint')`); err != nil {
		t.Fatal(err)
	}
	if err := h.f.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	scopes := map[string]auth.Scope{
		"city":     auth.All(),
		"district": {Kind: auth.ScopeDept, Districts: []string{"130102"}},
		"township": {Kind: auth.ScopeDept, Districts: []string{"130102"}, Townships: []string{"130102002"}},
	}
	conds := map[string][]Condition{
		"has":          {{"entity_type", "eq", "enterprise"}, {"record_kind", "has", "penalty"}},
		"lacks":        {{"status", "eq", "active"}, {"record_kind", "lacks", "penalty"}},
		"has-only":     {{"record_kind", "has", "complaint"}},
		"none-of-kind": {{"record_kind", "has", "honour"}},
	}
	for sn, s := range scopes {
		for cn, cs := range conds {
			name := sn + "/" + cn
			got, rolled, err := count(ctx, h.pool, s, cs)
			if err != nil {
				t.Fatal(name, err)
			}
			want, err := countRaw(ctx, h.pool, s, cs)
			if err != nil {
				t.Fatal(name, err)
			}
			if !rolled || got != want {
				t.Errorf("%s: rollup %d (rolled %v), raw %d", name, got, rolled, want)
			}
			a, err := countByCounty(ctx, h.pool, s, cs, true)
			if err != nil {
				t.Fatal(name, err)
			}
			b, err := countByCounty(ctx, h.pool, s, cs, false)
			if err != nil {
				t.Fatal(name, err)
			}
			rankCounties(a, true)
			rankCounties(b, true)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("%s: per county rollup %v, raw %v", name, a, b)
			}
		}
	}
	// Entities 0 and 6 are the enterprises with a penalty (0 has two).
	if n, _, _ := count(ctx, h.pool, auth.All(), conds["has"]); n != 2 {
		t.Errorf("enterprises with a penalty = %d, want 2", n)
	}
	two := []Condition{{"record_kind", "has", "penalty"}, {"record_kind", "has", "complaint"}}
	n, rolled, err := count(ctx, h.pool, auth.All(), two)
	if err != nil || rolled || n != 1 { // only entity 0 has both
		t.Errorf("two record conditions: %d rolled %v (%v), want 1 from the raw tables", n, rolled, err)
	}
	// A new record counts from the next full refresh (records carry no
	// events); "lacks" stays consistent meanwhile, as both its terms are
	// of the same snapshot even when a district's entity rollup moves on.
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_records (credit_code, kind) VALUES ('91130100MA00000010', 'honour')`); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_entities (credit_code, name, district_code) VALUES ('91130100MA00000099', '新设', '130105')`); err != nil {
		t.Fatal(err)
	}
	if err := refreshDistrict(ctx, h.pool, "130105", h.f.now()); err != nil {
		t.Fatal(err)
	}
	lacks := []Condition{{"record_kind", "lacks", "penalty"}}
	if n, _, _ := count(ctx, h.pool, auth.All(), lacks); n != 12-4 {
		t.Errorf("before the full refresh, lacks penalty = %d, want 8 (the last full refresh's snapshot)", n)
	}
	if err := h.f.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n, rolled, err := count(ctx, h.pool, auth.All(), conds["none-of-kind"]); err != nil || !rolled || n != 1 {
		t.Errorf("after the full refresh, has honour = %d rolled %v (%v), want 1", n, rolled, err)
	}
	if n, _, _ := count(ctx, h.pool, auth.All(), lacks); n != 13-4 {
		t.Errorf("after the full refresh, lacks penalty = %d, want 9", n)
	}
}
