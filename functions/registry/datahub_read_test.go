package registry

import (
	"context"
	"testing"
)

// The data hub's published read functions (migration 0104) on the real
// tables: every entity with its codes as text, and only public records,
// each with its entity's name and area.
func TestDatahubReadFunctions(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	ctx := context.Background()
	a := validInput(t, 71)
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
	var name, district string
	if err := pool.QueryRow(ctx, `SELECT name, district_code FROM registry.datahub_entities() WHERE credit_code = $1`, code).
		Scan(&name, &district); err != nil || name != a["name"] || district != a["district_code"] {
		t.Fatalf("entity: %q %q %v", name, district, err)
	}
	var n int
	var entity string
	if err := pool.QueryRow(ctx, `SELECT count(*), max(entity_name) FROM registry.datahub_records()
		WHERE credit_code = $1 AND kind = 'penalty'`, code).Scan(&n, &entity); err != nil || n != 1 || entity != a["name"] {
		t.Errorf("records: %d public of 2, entity %q, %v", n, entity, err)
	}
	// Persons (migration 0144): the ID number's check digit is checked as
	// it enters, and the read function gives it with the entity's area.
	if _, err := pool.Exec(ctx, `INSERT INTO registry.entity_persons (credit_code, role, name, id_number) VALUES ($1, 'legal_rep', '王五', $2)`,
		code, idValid[:17]+"1"); err == nil {
		t.Error("an ID number with a wrong check digit was stored")
	}
	if _, err := pool.Exec(ctx, `INSERT INTO registry.entity_persons (credit_code, role, name, id_number) VALUES ($1, 'legal_rep', '王五', $2)`,
		code, idValid); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := pool.QueryRow(ctx, `SELECT id_number, district_code FROM registry.datahub_persons() WHERE credit_code = $1`, code).
		Scan(&got, &district); err != nil || got != idValid || district != a["district_code"] {
		t.Errorf("persons: %q %q %v", got, district, err)
	}
}

// idValid is a resident ID number with its GB 11643 check digit.
const idValid = "11010519491231002X"
