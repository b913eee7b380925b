package registry

import (
	"context"
	"testing"
)

// FP-118, FP-119: the topic boards' published read function (migration 0141) on the real
// tables: public licences and penalties only, the penalty's amount read
// from its details (NULL when it is not a number), and result columns
// exactly as functions/dashboard/contractstub declares them (its
// TestTopicStubsMatchPublishedSignatures checks the same string).
func TestDashboardTopicsReadFunction(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	ctx := context.Background()
	a := validInput(t, 73)
	if rec := do(t, h, "POST", "/registry/v1/entities", a); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	code := a["credit_code"].(string)
	for _, r := range []struct {
		kind, details string
		public        bool
	}{
		{"penalty", `{"amount":"5000.00","basis":"《中华人民共和国食品安全法》第一百二十四条"}`, true},
		{"penalty", `{"amount":"五千元"}`, true},
		{"penalty", `{"amount":"100.00"}`, false},
		{"licence", `{}`, true},
		{"inspection", `{}`, true},
	} {
		if _, err := pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, status, public, details)
			VALUES ($1, $2, '测试记录', '2024-01-01', '已结案', $3, $4)`, code, r.kind, r.public, r.details); err != nil {
			t.Fatal(err)
		}
	}
	var penalties, licences, withAmount int
	var sum float64
	var basis string
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE kind = 'penalty'), count(*) FILTER (WHERE kind = 'licence'),
		count(amount), COALESCE(sum(amount), 0)::float8, max(basis)
		FROM registry.dashboard_record_details() WHERE credit_code = $1`, code).Scan(&penalties, &licences, &withAmount, &sum, &basis); err != nil {
		t.Fatal(err)
	}
	if penalties != 2 || licences != 1 || withAmount != 1 || sum != 5000 || basis == "" {
		t.Errorf("penalties %d licences %d with amount %d sum %v basis %q; want 2, 1, 1, 5000 and the basis", penalties, licences, withAmount, sum, basis)
	}
	want := "TABLE(id bigint, credit_code character, kind text, ref_no text, title text, authority text, occurred_on date, valid_until date, status text, amount numeric, basis text)"
	var got string
	if err := pool.QueryRow(ctx, `SELECT pg_get_function_result('registry.dashboard_record_details()'::regprocedure)`).Scan(&got); err != nil || got != want {
		t.Errorf("registry.dashboard_record_details() returns %s (%v), the contract says %s", got, err, want)
	}
}
