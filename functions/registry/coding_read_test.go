package registry

import (
	"context"
	"testing"
)

// TestNameCandidates checks the read function published for ocr-idcard's
// photo coding (migration 0105) on the real tables: a name misread by one
// character still finds its entity first, the district narrows, and an
// unrelated name finds nothing.
func TestNameCandidates(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	ctx := context.Background()
	a, b := validInput(t, 71), validInput(t, 72)
	a["name"], b["name"] = "石家庄市恒达建材有限公司", "石家庄市恒通物流有限公司"
	b["district_code"] = "130104"
	for _, in := range []map[string]any{a, b} {
		if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != 201 {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
	}
	type cand struct {
		code, name, district string
		sim                  float32
	}
	read := func(q, district string) []cand {
		rows, err := pool.Query(ctx, `SELECT credit_code, name, district_code, similarity FROM registry.name_candidates($1, $2, 5)`, q, district)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []cand
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.code, &c.name, &c.district, &c.sim); err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		return out
	}
	// 恒达 read as 恒法: still the first candidate.
	got := read("石家庄市恒法建材有限公司", "")
	if len(got) != 2 || got[0].code != a["credit_code"] || got[0].sim <= got[1].sim || got[0].sim >= 1 {
		t.Fatalf("misread name: %+v", got)
	}
	if got := read("石家庄市恒达建材有限公司", ""); got[0].sim != 1 {
		t.Errorf("exact name similarity %v", got[0].sim)
	}
	if got := read("石家庄市恒法建材有限公司", "130104"); len(got) != 1 || got[0].code != b["credit_code"] {
		t.Errorf("district: %+v", got)
	}
	if got := read("张记面馆", ""); len(got) != 0 {
		t.Errorf("unrelated: %+v", got)
	}
}
