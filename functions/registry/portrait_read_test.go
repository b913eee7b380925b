package registry

import (
	"context"
	"encoding/json"
	"testing"
)

// FP-125: registry.entity_portrait (migration 0145) answers the entity's
// fields and every kind of record, the non-public ones included and
// marked, at most the newest 50 of a kind with the kind's total; NULL for
// an unknown code.
func TestEntityPortraitReadFunction(t *testing.T) { // FP-125
	f, pool := newFunction(t)
	ctx := context.Background()
	a := validInput(t, 73)
	if rec := do(t, f.Handler(), "POST", "/registry/v1/entities", a); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	code := a["credit_code"].(string)
	if _, err := pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, public)
		SELECT $1, 'inspection', '检查 ' || n, DATE '2024-01-01' + n, n % 2 = 0 FROM generate_series(1, 60) n`, code); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT registry.entity_portrait($1)`, code).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Name     string `json:"name"`
		Sections []struct {
			Kind    string `json:"kind"`
			Total   int    `json:"total"`
			Records []struct {
				Title  string `json:"title"`
				Public bool   `json:"public"`
			} `json:"records"`
		} `json:"sections"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Name != a["name"] || len(p.Sections) != 1 || p.Sections[0].Total != 60 || len(p.Sections[0].Records) != 50 {
		t.Fatalf("portrait: %s", raw)
	}
	if r := p.Sections[0].Records[0]; r.Title != "检查 60" || !r.Public || p.Sections[0].Records[1].Public {
		t.Errorf("newest first with public flags: %+v %+v", r, p.Sections[0].Records[1])
	}
	if err := pool.QueryRow(ctx, `SELECT registry.entity_portrait('91130102MA0NOBODY0')`).Scan(&raw); err != nil || raw != nil {
		t.Errorf("unknown code: %s %v", raw, err)
	}
}
