package browser

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sjzamr/smartreg/shared/codes"
)

// TestEnterpriseSeesMatchedPolicies (FP-62, FP-64): a regulator publishes
// a policy for 长安区 catering businesses and binds an enterprise account
// to a 长安区 restaurant; the enterprise user signs in, sees the policy on
// 我的惠企政策 with the reasons it applies ("行业 H62 符合；长安区"), does not
// see a policy for another district, and follows the application link to
// the application platform (the government-site simulator stands in).
func TestEnterpriseSeesMatchedPolicies(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	browser := newBrowser(t)
	admin := openPage(t, browser, s.url, "admin")
	admin.login("admin", pw["admin"], adminPW)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("API login as admin: %d", st)
	}
	tok := login.AccessToken

	code, err := codes.MakeCreditCode("91", "130102", "MA0P0001")
	if err != nil {
		t.Fatal(err)
	}
	if st := s.api(t, "POST", "/registry/v1/entities", tok, map[string]any{"credit_code": code, "name": "石家庄长安味道餐饮有限公司",
		"entity_type": "enterprise", "legal_rep": "赵六", "established_on": "2022-03-01", "address": "石家庄市长安区中山东路 18 号",
		"district_code": "130102", "industry_code": "6210", "business_scope": "餐饮服务；食品销售"}, nil); st != 201 {
		t.Fatalf("register entity: %d", st)
	}
	applyURL := s.url + "/sim/govsite/zwgk/zcwj/index.html"
	var pol struct {
		ID int64 `json:"id"`
	}
	var firstID int64
	for i, p := range []map[string]any{
		{"title": "长安区餐饮企业纾困补贴实施细则（示例）", "issuer": "长安区商务局", "sample": true, "published_on": "2025-03-01",
			"apply_url": applyURL, "apply_platform": "长安区惠企政策服务平台",
			"condition": map[string]any{"industries": []string{"62"}, "districts": []string{"130102"}}},
		{"title": "桥西区餐饮企业补贴（示例）", "issuer": "桥西区商务局", "sample": true,
			"condition": map[string]any{"industries": []string{"62"}, "districts": []string{"130104"}}},
	} {
		if st := s.api(t, "POST", "/policy/v1/policies", tok, p, &pol); st != 201 {
			t.Fatalf("create policy %d: %d", i, st)
		}
		if i == 0 {
			firstID = pol.ID
		}
		if st := s.api(t, "PUT", fmt.Sprintf("/policy/v1/policies/%d/status", pol.ID), tok, map[string]string{"status": "published"}, nil); st != 200 {
			t.Fatalf("publish policy %d: %d", i, st)
		}
	}

	// The enterprise account: an identity user holding the 企业用户 role,
	// bound to the restaurant by the regulator.
	var depts []struct{ ID, Name string }
	if st := s.api(t, "GET", "/identity/v1/departments/public", "", nil, &depts); st != 200 || len(depts) == 0 {
		t.Fatalf("departments: %d", st)
	}
	var roles []struct{ ID, Code string }
	if st := s.api(t, "GET", "/identity/v1/roles", tok, nil, &roles); st != 200 {
		t.Fatalf("roles: %d", st)
	}
	roleID := ""
	for _, r := range roles {
		if r.Code == "enterprise" {
			roleID = r.ID
		}
	}
	if roleID == "" {
		t.Fatalf("no built-in 企业用户 role among %+v", roles)
	}
	var created struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		InitialPassword string `json:"initial_password"`
	}
	if st := s.api(t, "POST", "/identity/v1/users", tok, map[string]any{"username": "changan_canyin", "name": "赵六", "phone": "13800138066",
		"dept_id": depts[0].ID, "role_ids": []string{roleID}}, &created); st != 201 && st != 200 {
		t.Fatalf("create the enterprise user: %d", st)
	}
	if st := s.api(t, "POST", "/policy/v1/accounts", tok, map[string]string{"user_id": created.User.ID, "username": "changan_canyin",
		"credit_code": code}, nil); st != 201 {
		t.Fatalf("bind the enterprise account: %d", st)
	}

	// The regulator's pages: the library lists it with its labels; the
	// detail shows each label's reason and the matching entities.
	admin.goTo("/policy/library")
	admin.waitFor("the policy in the library", `all('.policy-title').some((e) => txt(e).includes('长安区餐饮企业纾困补贴'))`)
	admin.goTo(fmt.Sprintf("/policy/detail/%d?tab=labels", firstID))
	admin.waitFor("a label's reason", `all('.el-table__body td').some((td) => txt(td).includes('发文机关含县级行政区划“长安区”'))`)
	admin.goTo(fmt.Sprintf("/policy/detail/%d?tab=entities", firstID))
	admin.waitFor("the matching count", `all('.el-alert__title').some((e) => txt(e).includes('共 1 个市场主体符合条件'))`)
	admin.shot("policy-detail")

	ent := openPage(t, browser, s.url, "enterprise")
	ent.login("changan_canyin", created.InitialPassword, "Canyin#Policy2026")
	if menus := ent.menuCodes(); !contains(menus, "policy.mine") || contains(menus, "policy.library") {
		t.Fatalf("enterprise menu %v: want 我的惠企政策 and nothing of the regulators'", menus)
	}
	ent.goTo("/policy/mine")
	ent.waitFor("the matched policy", `all('.policy-match-title').some((e) => txt(e).includes('长安区餐饮企业纾困补贴'))`)
	titles := ent.strings(`all('.policy-match-title').map(txt)`)
	if len(titles) != 1 {
		t.Fatalf("matched policies shown %v, want only the 长安区 one", titles)
	}
	if summary := ent.text(`txt(all('.match-summary')[0])`); !strings.Contains(summary, "行业 H62 符合") || !strings.Contains(summary, "长安区") {
		t.Errorf("the reasons shown: %q", summary)
	}
	if size := ent.text(`txt(all('.entity-profile')[0])`); !strings.Contains(size, "石家庄长安味道餐饮有限公司") {
		t.Errorf("the profile shown: %q", size)
	}
	href := ent.text(`all('a.apply-link')[0].getAttribute('href')`)
	target := ent.text(`all('a.apply-link')[0].getAttribute('target')`)
	if href != applyURL || target != "_blank" {
		t.Fatalf("application link %q target %q, want %q in a new tab", href, target, applyURL)
	}
	ent.shot("mine")
	// Follow it as the browser would (the new tab is the same address).
	ent.run("follow the application link", chromedp.Navigate(href))
	ent.waitFor("the application platform", `document.title === '政策文件' && all('ul.list li').length > 0`)
}
