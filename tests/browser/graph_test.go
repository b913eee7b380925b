package browser

import (
	"context"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/codes"
)

// TestProfileShowsGraphAndPenetration (FP-134, FP-135): 一户一档 of an
// entity shows its ownership graph; expanding a shareholder loads that
// shareholder's own holders; the penetration table names the ultimate
// controller (张伟, 36 % through 乙) with the chain.
func TestProfileShowsGraphAndPenetration(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	browser := newBrowser(t)
	admin := openPage(t, browser, s.url, "admin")
	admin.login("admin", pw["admin"], adminPW)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("API login: %d", st)
	}
	code, err := codes.MakeCreditCode("91", "130102", "MA0GRAPH")
	if err != nil {
		t.Fatal(err)
	}
	if st := s.api(t, "POST", "/registry/v1/entities", login.AccessToken, map[string]any{"credit_code": code, "name": "石家庄目标实业有限公司",
		"entity_type": "enterprise", "legal_rep": "赵六", "established_on": "2022-03-01", "address": "石家庄市长安区中山东路 18 号",
		"district_code": "130102", "industry_code": "5164", "business_scope": "建材销售"}, nil); st != 201 {
		t.Fatalf("register entity: %d", st)
	}
	// The graph of the unit tests: A 60 %, B 40 %; P1 → A 50 %, C → A 50 %,
	// P2 → C 80 %, P3 → B 90 %, P1 → B 10 %.
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO graph.parties (id, kind, name, district_code) VALUES
			('` + code + `', 'entity', '石家庄目标实业有限公司', '130102'), ('GA', 'entity', '石家庄甲投资有限公司', '130102'),
			('GB', 'entity', '石家庄乙控股有限公司', '130102'), ('GC', 'entity', '石家庄丙科技有限公司', '130102'),
			('P1', 'person', '王建华', ''), ('P2', 'person', '李秀英', ''), ('P3', 'person', '张伟', '')`,
		`INSERT INTO graph.holdings (holder_id, held_id, pct) VALUES ('GA', '` + code + `', 60), ('GB', '` + code + `', 40),
			('P1', 'GA', 50), ('GC', 'GA', 50), ('P2', 'GC', 80), ('P3', 'GB', 90), ('P1', 'GB', 10)`,
	} {
		if _, err := s.p.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	admin.goTo("/market/profile/" + code)
	admin.waitFor("the graph card", `document.querySelector('[data-test=entity-graph] canvas')`)
	admin.waitFor("the direct shareholders to be expandable", `document.querySelector('[data-test=expand-GA]')`)
	if admin.text(`String(!!document.querySelector('[data-test=expand-GC]'))`) != "false" {
		t.Fatal("a second-level shareholder is shown before expanding")
	}
	admin.jsClick("expand 甲", `document.querySelector('[data-test=expand-GA]')`)
	admin.waitFor("甲's holder 丙 to appear", `document.querySelector('[data-test=expand-GC]')`)
	admin.waitFor("the controller tag", `document.querySelector('[data-test=controller]')`)
	rows := admin.strings(`[...document.querySelectorAll('[data-test=penetration-table] .el-table__body tr')].map(r => r.innerText.replace(/\s+/g, ' '))`)
	var controller string
	for _, r := range rows {
		if strings.Contains(r, "实际控制人") && strings.Contains(r, "张伟") {
			controller = r
		}
	}
	if controller == "" || !strings.Contains(controller, "36.00%") || !strings.Contains(controller, "张伟 → 石家庄乙控股有限公司 → 石家庄目标实业有限公司") {
		admin.shot("penetration")
		t.Fatalf("penetration rows = %q", rows)
	}
}
