package entitygraph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

// The hand-built graph (penetrate_test.go) in the database, with credit
// codes: T, A, B in 长安区 (130102), C in 新华区 (130105) — outside a
// 长安区 caller's scope — and the persons.
const (
	codeT = "91130102MA0GRAPH0T"
	codeA = "91130102MA0GRAPH0A"
	codeB = "91130102MA0GRAPH0B"
	codeC = "91130105MA0GRAPH0C"
)

var handIDs = map[string]string{"T": codeT, "A": codeA, "B": codeB, "C": codeC, "P1": "P1", "P2": "P2", "P3": "P3"}

func seedHandBuilt(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for _, p := range [][]string{
		{codeT, "entity", "石家庄目标实业有限公司", "130102"}, {codeA, "entity", "石家庄甲投资有限公司", "130102"},
		{codeB, "entity", "石家庄乙控股有限公司", "130102"}, {codeC, "entity", "新华区丙科技有限公司", "130105"},
		{"P1", "person", "王建华", ""}, {"P2", "person", "李秀英", ""}, {"P3", "person", "张伟", ""},
	} {
		if _, err := pool.Exec(ctx, `INSERT INTO graph.parties (id, kind, name, district_code) VALUES ($1, $2, $3, $4)`, p[0], p[1], p[2], p[3]); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range handBuilt {
		if _, err := pool.Exec(ctx, `INSERT INTO graph.holdings (holder_id, held_id, pct) VALUES ($1, $2, $3)`,
			handIDs[e.Holder], handIDs[e.Held], e.Share*100); err != nil {
			t.Fatal(err)
		}
	}
	// The registry's side of T and C (the portrait reads it).
	for _, e := range [][]string{{codeT, "石家庄目标实业有限公司", "130102"}, {codeC, "新华区丙科技有限公司", "130105"}} {
		if _, err := pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
			registered_capital, address, district_code, industry_code) VALUES ($1, $2, 'enterprise', '赵立新', '2018-03-01', 800,
			'石家庄市测试路 1 号', $3, '5211')`, e[0], e[1], e[2]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO graph.relations (from_id, to_id, kind) VALUES ($1, $2, 'cooperation')`, codeT, codeB); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO graph.changes (held_id, holder_id, kind, pct_before, pct_after, counterparty_id, occurred_on)
		VALUES ($1, $2, 'transfer', 50, 60, $3, '2024-05-01')`, codeT, codeA, codeC); err != nil {
		t.Fatal(err)
	}
}

func chainText(c ChainView) string {
	var s []string
	for _, n := range c.Path {
		s = append(s, n.Name)
	}
	return strings.Join(s, ">")
}

func TestPenetrationRouteNamesControllersWithChains(t *testing.T) { // FP-135
	h := newHarness(t)
	city := h.iss.Bearer(authtest.CityWide("entity.graph:view"))
	rec := h.do(t, city, "GET", "/entity/v1/entities/"+strings.ToLower(codeT)+"/penetration", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("penetration: %d %s", rec.Code, rec.Body)
	}
	var v PenetrationView
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range v.Holders {
		got = append(got, fmt.Sprintf("%s %.2f", s.Name, s.Pct))
	}
	want := "石家庄甲投资有限公司 60.00,石家庄乙控股有限公司 40.00,张伟 36.00,王建华 34.00,新华区丙科技有限公司 30.00,李秀英 24.00"
	if strings.Join(got, ",") != want || v.Threshold != 25 {
		t.Fatalf("holders = %v, want %s", got, want)
	}
	if len(v.Controllers) != 2 || v.Controllers[0].Name != "张伟" || v.Controllers[1].Name != "王建华" ||
		len(v.BeneficialOwners) != 2 || len(v.Controllers[1].Chains) != 2 ||
		chainText(v.Controllers[1].Chains[0]) != "王建华>石家庄甲投资有限公司>石家庄目标实业有限公司" || v.Controllers[1].Chains[0].Pct != 30 {
		t.Errorf("controllers = %+v", v.Controllers)
	}
	// A lower threshold takes in P2 (24 %).
	rec = h.do(t, city, "GET", "/entity/v1/entities/"+codeT+"/penetration?threshold=20", nil)
	_ = json.Unmarshal(rec.Body.Bytes(), &v)
	if len(v.BeneficialOwners) != 3 {
		t.Errorf("at 20 %%: %d beneficial owners", len(v.BeneficialOwners))
	}
	if rec := h.do(t, city, "GET", "/entity/v1/entities/"+codeT+"/penetration?threshold=0", nil); rec.Code != http.StatusBadRequest {
		t.Errorf("threshold 0: %d", rec.Code)
	}
}

// Scope: a 长安区 caller sees C (新华区) only as a hidden node — in the
// graph, the chains and the changes — and cannot open C itself.
func TestOutOfScopePartiesAreBareNodes(t *testing.T) { // FP-134
	h := newHarness(t)
	district := h.iss.Bearer(authtest.InDistricts([]string{"entity.graph:view"}, "130102"))
	rec := h.do(t, district, "GET", "/entity/v1/entities/"+codeT+"/penetration", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || strings.Contains(body, codeC) || strings.Contains(body, "新华区丙科技") || !strings.Contains(body, "数据权限范围外") {
		t.Fatalf("penetration in scope: %d %s", rec.Code, body)
	}
	var v PenetrationView
	_ = json.Unmarshal(rec.Body.Bytes(), &v)
	if len(v.Controllers) != 2 || v.Holders[4].Pct != 30 || !v.Holders[4].Hidden {
		t.Errorf("figures change with scope: %+v", v.Holders)
	}
	rec = h.do(t, district, "GET", "/entity/v1/entities/"+codeT+"/graph?depth=2", nil)
	var g Graph
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("graph: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), codeC) {
		t.Error("the graph shows the foreign entity's code")
	}
	kinds := map[string]int{}
	for _, l := range g.Links {
		kinds[l.Kind]++
	}
	// Depth 2 up: A,B (1) then P1,C,P3,P1→B, T→A (2); down: T→A (1), A→C (2).
	if kinds["cooperation"] != 1 || kinds["holding"] < 8 {
		t.Errorf("links = %v", kinds)
	}
	if rec := h.do(t, district, "GET", "/entity/v1/entities/"+codeC+"/graph", nil); rec.Code != http.StatusNotFound {
		t.Errorf("foreign centre: %d", rec.Code)
	}
	rec = h.do(t, district, "GET", "/entity/v1/entities/"+codeT+"/changes", nil)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), codeC) || !strings.Contains(rec.Body.String(), "transfer") {
		t.Errorf("changes: %d %s", rec.Code, rec.Body)
	}
	// Depth 1 graph of A: holders P1, C (hidden), T; holdings T, C — 4 parties, 5 links.
	rec = h.do(t, district, "GET", "/entity/v1/entities/"+codeA+"/graph", nil)
	_ = json.Unmarshal(rec.Body.Bytes(), &g)
	var names []string
	for _, n := range g.Nodes {
		names = append(names, n.Name)
	}
	if len(g.Nodes) != 4 || len(g.Links) != 5 {
		t.Errorf("depth 1 of A: nodes %v, %d links", names, len(g.Links))
	}
}
