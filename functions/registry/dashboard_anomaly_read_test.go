package registry

import (
	"context"
	"testing"
)

// FP-102: the dashboard anomaly views' published read functions (migration
// 0142) on the real tables: the entity's checked fields, only public
// licences, and result columns exactly as functions/dashboard/contractstub
// declares them (its test checks the same strings against the stubs).
func TestDashboardAnomalyReadFunctions(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	ctx := context.Background()
	a := validInput(t, 73)
	if rec := do(t, h, "POST", "/registry/v1/entities", a); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	code := a["credit_code"].(string)
	for _, r := range []struct {
		kind   string
		public bool
	}{{"licence", true}, {"licence", false}, {"penalty", true}} {
		if _, err := pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, ref_no, title, occurred_on, valid_until, public)
			VALUES ($1, $2, 'JY11301020000001', '食品经营许可证', '2020-01-01', '2025-01-01', $3)`, code, r.kind, r.public); err != nil {
			t.Fatal(err)
		}
	}
	var addr, legal string
	var n int
	if err := pool.QueryRow(ctx, `SELECT e.address, e.legal_rep, (SELECT count(*) FROM registry.dashboard_licences() l
		WHERE l.credit_code = e.credit_code AND l.valid_until = '2025-01-01') FROM registry.dashboard_anomaly_entities() e
		WHERE e.credit_code = $1`, code).Scan(&addr, &legal, &n); err != nil || addr != a["address"] || legal == "" || n != 1 {
		t.Fatalf("entity address %q legal %q with %d public licences of 2 (and a penalty): %v", addr, legal, n, err)
	}
	for fn, want := range map[string]string{
		"registry.dashboard_anomaly_entities()": "TABLE(credit_code character, name text, entity_type text, legal_rep text, address text, district_code text, township_code text, industry_code text, status text, established_on date, updated_at timestamp with time zone)",
		"registry.dashboard_licences()":         "TABLE(id bigint, credit_code character, ref_no text, title text, authority text, occurred_on date, valid_until date, status text, created_at timestamp with time zone)",
	} {
		var got string
		if err := pool.QueryRow(ctx, `SELECT pg_get_function_result($1::regprocedure)`, fn).Scan(&got); err != nil || got != want {
			t.Errorf("%s returns %s (%v), the contract says %s", fn, got, err, want)
		}
	}
}
