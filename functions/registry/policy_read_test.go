package registry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestPolicyReadFunctions checks the read functions published for
// policy-match (migration 0103) on the real tables: the credit state comes
// from the records (an abnormal listing removed no longer counts, an
// expired blacklist entry neither), the latest annual report gives the
// figures, and the one-entity variants answer the same as the full ones.
func TestPolicyReadFunctions(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	ctx := context.Background()
	a, b := validInput(t, 61), validInput(t, 62)
	for _, in := range []map[string]any{a, b} {
		if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != 201 {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
	}
	ca, cb := a["credit_code"].(string), b["credit_code"].(string)
	today := time.Now().Format(time.DateOnly)
	for _, r := range []struct {
		code, kind, status, occurred, until, details string
	}{
		{ca, "abnormal_list", "未移出", "2024-01-01", "", `{}`},
		{ca, "penalty", "已结案", "2023-05-01", "", `{}`},
		{ca, "penalty", "已结案", "2024-07-01", "", `{}`},
		{ca, "blacklist", "有效期内", "2024-01-01", "2099-01-01", `{}`},
		{ca, "annual_report", "已公示", "2023-03-01", "", `{"year":2022,"items":[{"name":"从业人数","value":"5","public":true}]}`},
		{ca, "annual_report", "已公示", "2024-03-01", "", `{"year":2023,"items":[{"name":"从业人数","value":"12","public":true},` +
			`{"name":"营业总收入","value":"350.50万元","public":false},{"name":"资产总额","value":"不公示","public":false}]}`},
		{cb, "abnormal_list", "已移出", "2023-01-01", "", `{}`},
		{cb, "blacklist", "有效期内", "2019-01-01", "2020-01-01", `{}`},
		{cb, "serious_illegal", "未移出", "2024-01-01", "", `{}`},
	} {
		var until any
		if r.until != "" {
			until = r.until
		}
		if _, err := pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, valid_until, status, details)
			VALUES ($1, $2, 'x', $3, $4, $5, $6)`, r.code, r.kind, r.occurred, until, r.status, r.details); err != nil {
			t.Fatal(err)
		}
	}
	type subj struct {
		code                         string
		abnormal, serious, blacklist bool
		lastPenalty                  pgtype.Date
		industry, district           string
	}
	read := func(sql string, args ...any) map[string]subj {
		rows, err := pool.Query(ctx, sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]subj{}
		for rows.Next() {
			var s subj
			if err := rows.Scan(&s.code, &s.abnormal, &s.serious, &s.blacklist, &s.lastPenalty, &s.industry, &s.district); err != nil {
				t.Fatal(err)
			}
			out[s.code] = s
		}
		return out
	}
	cols := `credit_code, abnormal, serious_illegal, blacklisted, last_penalty_on, industry_code, district_code`
	all := read(`SELECT ` + cols + ` FROM registry.policy_subjects()`)
	if len(all) != 2 {
		t.Fatalf("%d subjects", len(all))
	}
	sa, sb := all[ca], all[cb]
	if !sa.abnormal || sa.serious || !sa.blacklist || sa.lastPenalty.Time.Format(time.DateOnly) != "2024-07-01" || sa.industry != "5164" || sa.district != "130102" {
		t.Errorf("entity a: %+v", sa)
	}
	if sb.abnormal || !sb.serious || sb.blacklist || sb.lastPenalty.Valid {
		t.Errorf("entity b (removed from the abnormal list, blacklist expired before %s): %+v", today, sb)
	}
	if one := read(`SELECT `+cols+` FROM registry.policy_subject($1)`, ca); one[ca] != sa || len(one) != 1 {
		t.Errorf("policy_subject: %+v", one)
	}
	if none := read(`SELECT `+cols+` FROM registry.policy_subject($1)`, "91130102MA0000000X"); len(none) != 0 {
		t.Errorf("unknown code: %+v", none)
	}
	// The blacklist's end (0106): the latest valid_until of the entity's
	// blacklist entries, in force or not; blacklisted is whether it is
	// still ahead.
	for code, want := range map[string]string{ca: "2099-01-01", cb: "2020-01-01"} {
		var until pgtype.Date
		if err := pool.QueryRow(ctx, `SELECT blacklisted_until FROM registry.policy_subject($1)`, code).Scan(&until); err != nil {
			t.Fatal(err)
		}
		if got := until.Time.Format(time.DateOnly); !until.Valid || got != want {
			t.Errorf("%s: blacklisted_until %v, want %s", code, until, want)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, status, details)
		VALUES ($1, 'blacklist', 'x', '2024-06-01', '有效期内', '{}')`, cb); err != nil {
		t.Fatal(err)
	}
	var until pgtype.Date
	var black bool
	if err := pool.QueryRow(ctx, `SELECT blacklisted, blacklisted_until FROM registry.policy_subjects() WHERE credit_code = $1`, cb).Scan(&black, &until); err != nil {
		t.Fatal(err)
	}
	if !black || until.InfinityModifier != pgtype.Infinity {
		t.Errorf("an entry without an end: blacklisted %v until %+v, want true until infinity", black, until)
	}

	var year, emp pgtype.Int4
	var rev, assets pgtype.Numeric
	if err := pool.QueryRow(ctx, `SELECT report_year, employees, revenue, assets FROM registry.policy_figure($1)`, ca).Scan(&year, &emp, &rev, &assets); err != nil {
		t.Fatal(err)
	}
	rf, _ := rev.Float64Value()
	if year.Int32 != 2023 || emp.Int32 != 12 || rf.Float64 != 350.5 || assets.Valid {
		t.Errorf("figures: year %v employees %v revenue %v assets %v", year, emp, rf, assets)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM registry.policy_figures()`).Scan(&n); err != nil || n != 1 {
		t.Errorf("policy_figures: %d rows (%v), want 1 (b has no report)", n, err)
	}
	// The contract is index-friendly: one entity is a primary-key probe,
	// not a scan of every entity.
	rows, _ := pool.Query(ctx, `EXPLAIN SELECT credit_code, abnormal FROM registry.policy_subject('`+ca+`')`)
	var lines []string
	for rows.Next() {
		var l string
		rows.Scan(&l)
		lines = append(lines, l)
	}
	rows.Close()
	if p := strings.Join(lines, "\n"); !strings.Contains(p, "entities_pkey") || strings.Contains(p, "Seq Scan on entities") {
		t.Errorf("policy_subject(code) does not probe the primary key:\n%s", p)
	}
}
