package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/codes"
)

// TestDatahubInterfaceFlow (FP-93, FP-95): a 长安区 department user (a
// role with the data hub's menus and permissions, scope 本部门) generates
// a data interface from the catalogue's 法定代表人及负责人 (registry's
// persons with their ID numbers) with the step guide, reads the access
// key from the dialog that shows it once, calls the endpoint with curl,
// gets only 长安区's entities' persons with the name and the ID number
// masked (130102********1234; the whole number never appears), and finds
// the call in the access log page.
func TestDatahubInterfaceFlow(t *testing.T) {
	s := startStack(t)
	adminPage(t, s) // the first administrator signs in and sets adminPW
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("login after the password change: %d", st)
	}
	changan, qiaoxi := seedEntities(t, s, login.AccessToken)
	ids := seedPersons(t, s, append(slices.Clone(changan), qiaoxi...))
	initial := datahubUser(t, s, login.AccessToken)
	p := openPage(t, newBrowser(t), s.url, "dept-user")
	p.login("shuju", initial, "Dept#Passw0rd2026")
	if menus := p.menuCodes(); !contains(menus, "datahub.catalogue") || !contains(menus, "datahub.interfaces") || !contains(menus, "datahub.access-log") {
		t.Fatalf("the department user's menu lacks the datahub pages: %v", menus)
	}

	// The catalogue: the entities dataset and its fields.
	p.goTo("/datahub/catalogue")
	p.waitFor("the catalogue", `all('[data-test=dh-datasets] .el-table__body td').some((td) => txt(td) === '市场主体基本信息')`)
	// A DOM click: the table's loading mask may still cover the row when it
	// first renders, and a mouse click would land on the mask.
	p.jsClick("fields of entities", `all('[data-detail=entities]')[0]`)
	p.waitFor("the field list", `all('[data-test=dh-fields] .el-table__body td').some((td) => txt(td) === 'credit_code')`)

	// The step guide.
	p.goTo("/datahub/interfaces")
	p.click("new interface", `all('[data-test=dh-new]')[0]`)
	p.typeInto("name", `all('input[data-test=dh-name]')[0]`, "浏览器测试主体接口")
	p.pick("数据集", "法定代表人及负责人（基础信息）")
	p.click("next", `all('[data-test=dh-next]')[0]`)
	p.click("field credit_code", `all('[data-field=credit_code]')[0]`)
	p.click("field name", `all('[data-field=name]')[0]`)
	p.click("field id_number", `all('[data-field=id_number]')[0]`)
	p.waitFor("three fields chosen", `all('[data-field].is-checked').length === 3`)
	p.click("next", `all('[data-test=dh-next]')[0]`)
	p.click("generate", `all('[data-test=dh-submit]')[0]`)
	p.waitFor("the key dialog", `all('[data-test=dh-key]').some((e) => txt(e).startsWith('dh_'))`)
	key := p.text(`txt(all('[data-test=dh-key]')[0])`)
	endpoint := p.text(`txt(all('[data-test=dh-endpoint]')[0])`)
	if warn := p.text(`txt(dialog('访问密钥'))`); !strings.Contains(warn, "将不再显示") || !strings.Contains(p.text(`txt(all('[data-test=dh-curl]')[0])`), "X-API-Key: "+key) {
		t.Fatalf("key dialog lacks the warning or the curl example: %s", warn)
	}
	p.click("close the key dialog", `all('[data-test=dh-key-close]')[0]`)
	p.waitFor("the key is gone", `!all('[data-test=dh-key]').length && all('[data-test=dh-interfaces] .el-table__body td').some((td) => txt(td) === '浏览器测试主体接口')`)

	// A consumer calls the interface with the key, with curl.
	out, err := exec.Command("curl", "-sS", "--fail-with-body", "-H", "X-API-Key: "+key, endpoint+"?limit=5").CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v %s", endpoint, err, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("curl answer: %v %s", err, out)
	}
	if len(rows) != len(changan) {
		t.Fatalf("the interface answered %d rows, want 长安区's %d: %s", len(rows), len(changan), out)
	}
	for _, r := range rows {
		code, _ := r["credit_code"].(string)
		if contains(qiaoxi, code) || !contains(changan, code) || len(r) != 3 {
			t.Fatalf("row outside the scope or the chosen fields: %v", r)
		}
		if r["name"] != "王*" { // 王五, masked
			t.Fatalf("the person's name not masked: %v", r["name"])
		}
		whole := ids[code]
		if r["id_number"] != whole[:6]+"********"+whole[14:] {
			t.Fatalf("ID number %v, want %s masked", r["id_number"], whole)
		}
	}
	for _, whole := range ids {
		if strings.Contains(string(out), whole) || strings.Contains(string(out), whole[6:14]) {
			t.Fatalf("an unmasked ID number in the curl output: %s", out)
		}
	}

	// The call is in the access log.
	p.goTo("/datahub/access-log")
	p.waitFor("the call in the log", `all('[data-test=dh-log] .el-table__body tr').some((tr) => txt(tr).includes(`+jsString(key[:11])+`) && txt(tr).includes('limit=5') && txt(tr).includes('200'))`)
}

// seedPersons gives each entity a legal representative 王五 with a valid
// resident ID number born in the entity's district (registry migration
// 0144's table, read by the persons dataset); it returns the numbers by
// credit code.
func seedPersons(t *testing.T, s *stack, credit []string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for i, code := range credit {
		first := fmt.Sprintf("%s1988%02d%02d%03d", code[2:8], 1+i, 10+i, 301+i)
		c, err := codes.IDCheckChar(first)
		if err != nil {
			t.Fatal(err)
		}
		ids[code] = first + string(c)
		if _, err := s.p.Pool.Exec(context.Background(), `INSERT INTO registry.entity_persons (credit_code, role, name, id_number)
			VALUES ($1, 'legal_rep', '王五', $2)`, code, ids[code]); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// datahubUser creates, as the system administrator, a 长安区 bureau, a role
// with the data hub's menus and permissions scoped to its own department,
// and a user "shuju" with it; it returns the initial password.
func datahubUser(t *testing.T, s *stack, token string) string {
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
	if st := s.api(t, "POST", "/identity/v1/departments", token, map[string]any{"parent_id": tree[0].ID, "name": "长安区数据测试局",
		"level": "district", "district_codes": []string{"130102"}}, &dept); st != 201 {
		t.Fatalf("create department: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/roles", token, map[string]any{"code": "datahub_dept", "name": "区县数据接口用户",
		"menus": []string{"workbench", "datahub.catalogue", "datahub.interfaces", "datahub.access-log"},
		"perms": []string{"datahub.catalogue:view", "datahub.interface:view", "datahub.interface:create", "datahub.interface:edit",
			"datahub.accesslog:view", "registry.entity:view"}, "scope_kind": "dept"}, &role); st != 201 {
		t.Fatalf("create role: %d", st)
	}
	var c struct {
		InitialPassword string `json:"initial_password"`
	}
	if st := s.api(t, "POST", "/identity/v1/users", token, map[string]any{"username": "shuju", "name": "长安区数据专员", "phone": "13800138201",
		"dept_id": dept.ID, "role_ids": []string{role.ID}}, &c); st != 201 || c.InitialPassword == "" {
		t.Fatalf("create user: %d", st)
	}
	return c.InitialPassword
}
