package browser

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDatahubQualityAndLineage (FP-98, FP-97): the administrator
// configures a format rule on 市场主体基本信息's name (a company name ends
// in 有限公司) owned by a new department; that department's data officer
// opens 数据质量 (empty before any run), runs the rules, sees the score
// (1 of 3 registered entities passes: 33.33) and its trend chart, finds
// the two issues, fixes one and explains the other, each state shown in
// the list; then opens 数据血缘, where the Sankey chart renders with a
// non-zero size and a click on the dataset's node shows its details.
func TestDatahubQualityAndLineage(t *testing.T) {
	s := startStack(t)
	adminPage(t, s)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("login after the password change: %d", st)
	}
	seedEntities(t, s, login.AccessToken)
	dept, initial := qualityUser(t, s, login.AccessToken)
	if st := s.api(t, "POST", "/datahub/v1/quality/rules", login.AccessToken, map[string]any{"dataset": "entities", "field": "name",
		"kind": "format", "title": "名称以有限公司结尾", "params": map[string]any{"pattern": ".*有限公司"}, "dept_id": dept, "dept_name": "质量测试科"}, nil); st != 201 {
		t.Fatalf("create rule: %d", st)
	}

	p := openPage(t, newBrowser(t), s.url, "quality-user")
	p.login("zhiliang", initial, "Dept#Passw0rd2026")
	if menus := p.menuCodes(); !contains(menus, "datahub.quality") || !contains(menus, "datahub.lineage") {
		t.Fatalf("the user's menu lacks the quality and lineage pages: %v", menus)
	}
	p.goTo("/datahub/quality")
	p.waitFor("the empty state before any run", `all('[data-test=dq-no-scores]').length === 1`)
	p.click("run the rules", `all('[data-test=dq-run]')[0]`)
	p.waitFor("the score", `all('[data-test=dq-score]').some((e) => txt(e) === '33.33')`)
	p.waitFor("the trend chart", `(() => { const c = all('[data-test=dq-trend] canvas')[0]; return c && c.width > 0 && c.height > 0 })()`)

	p.jsClick("the issues tab", `document.querySelector('#tab-issues')`)
	p.waitFor("two issues", `all('[data-test=dq-issues] .el-table__body tr').filter((tr) => txt(tr).includes('不符合格式')).length === 2`)
	ids := p.strings(`all('[data-fix]').map((e) => e.getAttribute('data-fix'))`)
	if len(ids) != 2 {
		t.Fatalf("fix buttons: %v", ids)
	}
	p.click("fix the first", `all('[data-fix="`+ids[0]+`"]')[0]`)
	p.typeInto("the fix note", `all('textarea[data-test=dq-note]')[0]`, "已在登记系统更正名称")
	p.click("submit the fix", `all('[data-test=dq-handle-submit]').filter((e) => e.offsetParent)[0]`)
	p.waitFor("the first fixed", `!all('[data-fix="`+ids[0]+`"]').length && all('[data-status=fixed]').length === 1`)
	p.clickUntil("explain the second", `all('[data-explain="`+ids[1]+`"]')[0]`, `all('textarea[data-test=dq-note]').some((e) => e.offsetParent && e.value === '')`)
	p.typeInto("the explanation", `all('textarea[data-test=dq-note]').filter((e) => e.offsetParent)[0]`, "分公司名称按规定以分公司结尾")
	p.click("submit the explanation", `all('[data-test=dq-handle-submit]').filter((e) => e.offsetParent)[0]`)
	p.waitFor("the second explained", `all('[data-status=explained]').length === 1 && all('[data-status=fixed]').length === 1`)

	// Lineage: the Sankey renders and a click on a node shows it.
	p.goTo("/datahub/lineage")
	p.waitFor("the lineage chart", `(() => { const c = all('[data-test=dl-chart] canvas')[0]; return c && c.width > 0 && c.height > 0 && !!all('[data-test=dl-chart]')[0].getAttribute('data-nodes') })()`)
	var at struct{ X, Y float64 }
	raw := p.text(`(() => { const el = all('[data-test=dl-chart]')[0]; const r = el.getBoundingClientRect();
		const n = JSON.parse(el.getAttribute('data-nodes')).find((n) => n.id === 'ds:entities');
		return n ? JSON.stringify({X: r.left + n.x, Y: r.top + n.y}) : '' })()`)
	if err := json.Unmarshal([]byte(raw), &at); err != nil {
		t.Fatalf("the dataset node's position: %q %v", raw, err)
	}
	p.run("click the dataset node", chromedp.MouseClickXY(at.X, at.Y))
	p.waitFor("the node's details", `txt(all('[data-test=dl-detail]')[0]).includes('市场主体基本信息') && txt(all('[data-test=dl-detail]')[0]).includes('registry.datahub_entities()')`)
	if d := p.text(`txt(all('[data-test=dl-detail]')[0])`); !strings.Contains(d, "3 行") {
		t.Errorf("the dataset node's details lack its 3 rows: %s", d)
	}
}

// qualityUser creates a department, a role with the quality and lineage
// pages and a user "zhiliang" in it; it returns the department's id and
// the user's initial password.
func qualityUser(t *testing.T, s *stack, token string) (string, string) {
	t.Helper()
	var tree []struct {
		ID string `json:"id"`
	}
	if st := s.api(t, "GET", "/identity/v1/departments", token, nil, &tree); st != 200 || len(tree) == 0 {
		t.Fatalf("departments: %d", st)
	}
	var dept, role struct {
		ID string `json:"id"`
	}
	if st := s.api(t, "POST", "/identity/v1/departments", token, map[string]any{"parent_id": tree[0].ID, "name": "质量测试科",
		"level": "district", "district_codes": []string{"130102"}}, &dept); st != 201 {
		t.Fatalf("create department: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/roles", token, map[string]any{"code": "datahub_quality", "name": "数据质量专员",
		"menus": []string{"workbench", "datahub.quality", "datahub.lineage"},
		"perms": []string{"datahub.catalogue:view", "datahub.quality:view", "datahub.quality:manage", "datahub.quality:handle",
			"datahub.lineage:view"}, "scope_kind": "dept"}, &role); st != 201 {
		t.Fatalf("create role: %d", st)
	}
	var c struct {
		InitialPassword string `json:"initial_password"`
	}
	if st := s.api(t, "POST", "/identity/v1/users", token, map[string]any{"username": "zhiliang", "name": "数据质量专员", "phone": "13800138202",
		"dept_id": dept.ID, "role_ids": []string{role.ID}}, &c); st != 201 || c.InitialPassword == "" {
		t.Fatalf("create user: %d", st)
	}
	return dept.ID, c.InitialPassword
}
