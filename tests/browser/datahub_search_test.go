package browser

import (
	"fmt"
	"strings"
	"testing"
)

// TestDatahubSearchBuilder (FP-136, FP-137): a 长安区 department user
// builds a search in the step guide: every control carries a tooltip; a
// condition with an operator its field's type does not allow, then a
// malformed date, is marked beside that condition with the server's
// Chinese message; the expression tab shows the builder's CEL, an edit
// there adding a $variable comes back to the builder as a second
// condition, and an unknown field typed there is named; grouped by
// district with a count, the preview (with the variable filled in)
// answers only 长安区's count, equal to the seeded entities; the formula
// is saved and listed, and the runs are in the user's access log.
func TestDatahubSearchBuilder(t *testing.T) {
	s := startStack(t)
	adminPage(t, s)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	changan, _ := seedEntities(t, s, login.AccessToken)
	initial := searchUserFor(t, s, login.AccessToken)
	p := openPage(t, newBrowser(t), s.url, "search-user")
	p.login("sousuo", initial, "Dept#Passw0rd2026")
	if menus := p.menuCodes(); !contains(menus, "datahub.search") {
		t.Fatalf("the menu lacks 智能搜索: %v", menus)
	}
	p.goTo("/datahub/search")
	p.click("new search", `all('[data-test=dh-s-new]')[0]`)
	p.pick("数据集", "市场主体基本信息（基础信息）")
	p.clickUntil("next", `all('[data-test=step-next]')[0]`, `all('[data-test="dh-s-add-builder"]').length`)

	// A condition on registered capital: the builder offers no text
	// operator for a number, and a value that is not a number is marked
	// beside the condition.
	p.click("add condition", `all('[data-test="dh-s-add-builder"]')[0]`)
	pickIn(p, "field", `[data-test="dh-s-field-builder.items.0"]`, "注册资本（万元）（registered_capital）")
	p.click("open operator", `all('[data-test="dh-s-cmp-builder.items.0"]')[0].closest('.el-select').querySelector('.el-select__wrapper')`)
	p.waitFor("the operators", `all('.el-select-dropdown__item').some((e) => txt(e) === '介于')`)
	if ops := p.text(`all('.el-select-dropdown__item').map(txt).join(',')`); strings.Contains(ops, "包含") {
		t.Fatalf("a number offers text operators: %s", ops)
	}
	p.click("outside", `all('.header .title')[0] || all('.el-steps')[0]`)
	p.typeInto("value", `all('input[data-test="dh-s-value-builder.items.0"]')[0]`, "五十")
	p.waitFor("the value error beside the condition", `all('[data-error="builder.items.0"]').some((e) => txt(e).includes('的值“五十”不是数值'))`)
	// Every control of the step carries a tooltip.
	const controls = `all('[data-test=dh-s-guide] .step-body input, [data-test=dh-s-guide] .step-body button, [data-test=dh-s-guide] .step-body textarea, [data-test=dh-s-guide] .step-body .el-select')`
	if n := p.text(`String(` + controls + `.filter((e) => !e.closest('[data-tip]')).length) + '/' + ` + controls + `.length`); !strings.HasPrefix(n, "0/") || n == "0/0" {
		t.Fatalf("controls without a tooltip: %s", n)
	}
	// A date field with a malformed date.
	pickIn(p, "field", `[data-test="dh-s-field-builder.items.0"]`, "成立日期（established_on）")
	pickIn(p, "operator", `[data-test="dh-s-cmp-builder.items.0"]`, "大于等于")
	p.typeInto("value", `all('input[data-test="dh-s-value-builder.items.0"]')[0]`, "2020-13-01")
	p.waitFor("the date error beside the condition", `all('[data-error="builder.items.0"]').some((e) => txt(e).includes('日期“2020-13-01”格式不正确'))`)
	p.typeInto("value", `all('input[data-test="dh-s-value-builder.items.0"]')[0]`, "2020-01-01")
	p.waitFor("the check passes", `all('[data-test=dh-s-status]').some((e) => txt(e).includes('条件已通过类型检查')) && !all('[data-error]').length`)

	// The expression tab shows the builder's CEL; an edit there comes back.
	p.click("expression tab", `all('#tab-expr')[0]`)
	p.waitFor("the CEL text", `all('textarea[data-test=dh-s-expr]').some((e) => e.value === 'established_on >= "2020-01-01"')`)
	setValue(p, `all('textarea[data-test=dh-s-expr]')[0]`, `registered_capital.contains("5")`)
	p.waitFor("the operator named", `all('[data-error=expr]').some((e) => txt(e).includes('数值类型不能用 contains'))`)
	setValue(p, `all('textarea[data-test=dh-s-expr]')[0]`, `nosuch == "x"`)
	p.waitFor("the unknown field named", `all('[data-error=expr]').some((e) => txt(e).includes('未知字段“nosuch”'))`)
	setValue(p, `all('textarea[data-test=dh-s-expr]')[0]`, `established_on >= "2020-01-01" && district_code == $区县`)
	p.waitFor("the expression checks", `all('[data-test=dh-s-status]').some((e) => txt(e).includes('条件已通过类型检查'))`)
	p.click("builder tab", `all('#tab-builder')[0]`)
	p.waitFor("two conditions drawn", `document.querySelector('[data-path="builder.items.1"]') && all('input[data-test="dh-s-value-builder.items.1"]').some((e) => e.value === '$区县')`)
	p.clickUntil("next", `all('[data-test=step-next]')[0]`, `all('[data-test=dh-s-addagg]').length`)

	// Grouped by district, counted.
	pickIn(p, "group by", `[data-test=dh-s-group]`, "所属区县代码（district_code）")
	p.click("add aggregate", `all('[data-test=dh-s-addagg]')[0]`)
	p.waitFor("the aggregate checks", `all('[data-test="dh-s-aggfn-0"]').length && !all('[data-error]').length`)
	p.clickUntil("next", `all('[data-test=step-next]')[0]`, `all('[data-test=dh-s-run]').length`)
	p.typeInto("the variable", `all('input[data-var="区县"]')[0]`, "130102")
	p.click("run", `all('[data-test=dh-s-run]')[0]`)
	want := fmt.Sprintf("130102 %d", len(changan))
	const cells = `all('[data-test=dh-s-result] .el-table__body tr').map((tr) => [...tr.querySelectorAll('td')].map(txt).join(' '))`
	p.waitFor("长安区's count", cells+`.includes(`+jsString(want)+`)`)
	if got := p.text(cells + `.join('|')`); got != want {
		t.Fatalf("the preview answered %q, want only %q", got, want)
	}
	p.clickUntil("next", `all('[data-test=step-next]')[0]`, `all('input[data-test=dh-s-name]').length`)
	p.typeInto("name", `all('input[data-test=dh-s-name]')[0]`, "长安区新设主体统计")
	p.click("save", `all('[data-test=step-finish]')[0]`)
	p.expectToast("saved", "公式已保存")
	p.waitFor("the formula listed", `all('[data-test=dh-s-formulas] .el-table__body tr').some((tr) => txt(tr).includes('长安区新设主体统计') && txt(tr).includes('$区县'))`)

	// The runs are in the user's access log.
	var user struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "sousuo", "password": "Dept#Passw0rd2026"}, &user); st != 200 {
		t.Fatalf("user login: %d", st)
	}
	var log struct {
		Items []struct {
			Kind, Query string
			Status      int
		}
	}
	if st := s.api(t, "GET", "/datahub/v1/access-log?page_size=200", user.AccessToken, nil, &log); st != 200 {
		t.Fatalf("access log: %d", st)
	}
	ran := false
	for _, e := range log.Items {
		ran = ran || (e.Kind == "search" && e.Status == 200 && strings.Contains(e.Query, "130102"))
	}
	if !ran {
		t.Errorf("the preview's run is not in the access log: %+v", log.Items)
	}
}

// pickIn chooses option in the Element Plus select css names (its
// wrapper or an element inside it), then closes the dropdown.
func pickIn(p *page, what, css, option string) {
	p.t.Helper()
	sel := fmt.Sprintf(`(() => { const e = all(%s)[0]; return e && (e.querySelector('.el-select__wrapper') || (e.closest('.el-select') && e.closest('.el-select').querySelector('.el-select__wrapper')) || e); })()`,
		jsString(css))
	p.click("open "+what, sel)
	p.jsClick(what+" option "+option, fmt.Sprintf(`all('.el-select-dropdown__item').find((e) => txt(e) === %s)`, jsString(option)))
	p.click("outside "+what, `all('.header .title')[0] || all('.el-steps')[0]`)
	p.waitFor(what+" dropdown closed", `!all('.el-select-dropdown__item').length`)
}

// setValue replaces a text field's value as one input event (a pasted
// expression), which v-model reads.
func setValue(p *page, expr, value string) {
	p.t.Helper()
	p.waitFor("the field", expr)
	var ok bool
	if err := p.eval(`(() => { const e = `+expr+`; e.value = `+jsString(value)+`; e.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`, &ok); err != nil {
		p.fail("set %s: %v", expr, err)
	}
}

// searchUserFor creates a 长安区 department, a role with the data hub's
// search menu and permissions scoped to it, and the user "sousuo".
func searchUserFor(t *testing.T, s *stack, token string) string {
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
	if st := s.api(t, "POST", "/identity/v1/departments", token, map[string]any{"parent_id": tree[0].ID, "name": "长安区智能搜索测试局",
		"level": "district", "district_codes": []string{"130102"}}, &dept); st != 201 {
		t.Fatalf("create department: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/roles", token, map[string]any{"code": "datahub_search", "name": "区县智能搜索用户",
		"menus": []string{"workbench", "datahub.search", "datahub.access-log"},
		"perms": []string{"datahub.catalogue:view", "datahub.search:view", "datahub.search:create", "datahub.search:export",
			"datahub.accesslog:view", "registry.entity:view"}, "scope_kind": "dept"}, &role); st != 201 {
		t.Fatalf("create role: %d", st)
	}
	var c struct {
		InitialPassword string `json:"initial_password"`
	}
	if st := s.api(t, "POST", "/identity/v1/users", token, map[string]any{"username": "sousuo", "name": "长安区搜索专员", "phone": "13800138202",
		"dept_id": dept.ID, "role_ids": []string{role.ID}}, &c); st != 201 || c.InitialPassword == "" {
		t.Fatalf("create user: %d", st)
	}
	return c.InitialPassword
}
