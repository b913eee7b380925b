package registry

import (
	"context"
	"testing"
)

// The dashboard's published read functions (migration 0140) on the real
// tables: every entity with its area as text, only public records, and
// result columns exactly as functions/dashboard/contractstub declares them
// (its test checks the same strings against the stubs).
func TestDashboardReadFunctions(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	ctx := context.Background()
	a := validInput(t, 72)
	if rec := do(t, h, "POST", "/registry/v1/entities", a); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	code := a["credit_code"].(string)
	for _, public := range []bool{true, false} {
		if _, err := pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, status, public)
			VALUES ($1, 'penalty', '处罚', '2024-01-01', '已结案', $2)`, code, public); err != nil {
			t.Fatal(err)
		}
	}
	var district string
	var n int
	if err := pool.QueryRow(ctx, `SELECT district_code, (SELECT count(*) FROM registry.dashboard_records() r
		WHERE r.credit_code = e.credit_code AND r.kind = 'penalty') FROM registry.dashboard_entities() e WHERE e.district_code = $1
		AND e.credit_code = $2`, a["district_code"], code).Scan(&district, &n); err != nil || district != a["district_code"] || n != 1 {
		t.Fatalf("entity %q with %d public penalties of 2: %v", district, n, err)
	}
	for fn, want := range map[string]string{
		"registry.dashboard_entities()": "TABLE(credit_code character, name text, entity_type text, district_code text, township_code text, industry_code text, status text, established_on date, registered_capital numeric)",
		"registry.dashboard_records()":  "TABLE(credit_code character, kind text, status text, occurred_on date)",
	} {
		var got string
		if err := pool.QueryRow(ctx, `SELECT pg_get_function_result($1::regprocedure)`, fn).Scan(&got); err != nil || got != want {
			t.Errorf("%s returns %s (%v), the contract says %s", fn, got, err, want)
		}
	}
}
