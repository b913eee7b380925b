package browser

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/tests/inspector"
)

const (
	adminPW  = "Sjz#Console2026x"
	secPW    = "Secure#Console2026"
	userPW   = "Zhang#Console2026"
	resetPW  = "Reset#Console2026x"
	deptName = "长安区市场监督管理局"
	roleName = "长安区查询员"
	userName = "zhangsan"
	phone    = "13800138000"
)

// seedEntities registers entities in 长安区 (130102) and 桥西区 (130104).
func seedEntities(t *testing.T, s *stack, token string) (changan, qiaoxi []string) {
	t.Helper()
	for i, d := range []struct{ district, name string }{
		// Two long names that start alike: the list must tell them apart (issue 24).
		{"130102", "石家庄市长安区建设北大街福瑞祥百货商贸有限责任公司第一分公司"}, {"130102", "石家庄市长安区建设北大街福瑞祥百货商贸有限责任公司第二分公司"},
		{"130104", "石家庄桥西商贸有限公司"},
	} {
		code, err := codes.MakeCreditCode("91", d.district, fmt.Sprintf("MA0B%04d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{"credit_code": code, "name": d.name, "entity_type": "enterprise", "legal_rep": "王五",
			"established_on": "2020-05-01", "address": "石家庄市测试路 " + fmt.Sprint(i+1) + " 号", "district_code": d.district, "industry_code": "5211"}
		if st := s.api(t, "POST", "/registry/v1/entities", token, body, nil); st != 201 && st != 200 {
			t.Fatalf("register entity %s: status %d", d.name, st)
		}
		if d.district == "130102" {
			changan = append(changan, code)
		} else {
			qiaoxi = append(qiaoxi, code)
		}
	}
	return changan, qiaoxi
}

// TestConsoleAdminFlow: the generated administrators sign in (forced
// password change), create a department with a jurisdiction, a role and a
// user; that user signs in and sees only the permitted menu entries and
// only the entities of the permitted district.
func TestConsoleAdminFlow(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	if pw["admin"] == "" || pw["secadmin"] == "" {
		t.Fatalf("initial passwords for admin and secadmin missing: %v", keys(pw))
	}
	browser := newBrowser(t)

	// 1. System administrator: first login forces a new password.
	admin := openPage(t, browser, s.url, "admin")
	admin.login("admin", pw["admin"], adminPW)
	menus := admin.menuCodes()
	for _, want := range []string{"system.users", "system.departments"} {
		if !contains(menus, want) {
			t.Fatalf("admin menu %v lacks %s", menus, want)
		}
	}
	if contains(menus, "security.login-logs") {
		t.Fatalf("三员分立: the system administrator must not see the audit logs, menu %v", menus)
	}

	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("API login as admin: %d", st)
	}
	changan, qiaoxi := seedEntities(t, s, login.AccessToken)

	// 2. A district bureau under the city bureau, with 长安区 as its jurisdiction.
	admin.goTo("/system/departments")
	admin.jsClick("city bureau node", `all('[data-dept]').find((e) => e.getAttribute('data-dept') === '石家庄市市场监督管理局')`)
	admin.waitFor("department form", `byText('.form-card .el-card__header', '编辑部门')`)
	admin.click("add child", `byText('.form-card button', '新增下级')`)
	admin.typeInto("department name", input("dept_name"), deptName)
	admin.click("level district", `byText('.form-card .el-radio', '县（市、区）局')`)
	admin.pick("管辖区县", "长安区（130102）")
	admin.click("save department", `all('[data-test=dept-save]')[0]`)
	admin.expectToast("department saved", "已保存")
	admin.waitFor("new department in the tree", fmt.Sprintf(`all('[data-dept]').some((e) => e.getAttribute('data-dept') === %s)`, jsString(deptName)))

	// 3. Security administrator: a role with one menu, one permission and
	// the "own department and below" data scope (三员: only he edits roles).
	sec := openPage(t, browser, s.url, "secadmin")
	sec.login("secadmin", pw["secadmin"], secPW)
	sec.goTo("/system/roles")
	sec.click("new role", `all('[data-test=role-new]')[0]`)
	sec.typeInto("role code", input("role_code"), "changan_viewer")
	sec.typeInto("role name", input("role_name"), roleName)
	sec.click("menus tab", `byText('.el-dialog .el-tabs__item', '菜单权限')`)
	for _, code := range []string{"workbench", "market.search"} {
		sec.click("menu "+code, fmt.Sprintf(`(() => { const s = all('[data-menu-option]').find((e) => e.getAttribute('data-menu-option') === %s); return s && s.closest('.el-tree-node__content').querySelector('.el-checkbox'); })()`, jsString(code)))
	}
	sec.click("perms tab", `byText('.el-dialog .el-tabs__item', '操作权限')`)
	sec.click("perm registry.entity:view", `all('[data-perm]').find((e) => e.getAttribute('data-perm') === 'registry.entity:view')`)
	sec.click("scope tab", `byText('.el-dialog .el-tabs__item', '数据范围')`)
	sec.click("scope dept_and_below", `all('[data-scope]').find((e) => e.getAttribute('data-scope') === 'dept_and_below')`)
	sec.click("save role", `all('[data-test=role-save]')[0]`)
	sec.expectToast("role saved", "已保存")
	sec.waitFor("role in the list", fmt.Sprintf(`all('.el-table__body td').some((td) => txt(td) === %s)`, jsString(roleName)))

	// 4. System administrator: a user in the new department with the role.
	admin.goTo("/system/users")
	admin.click("new user", `all('[data-test=user-new]')[0]`)
	admin.typeInto("username", input("username"), userName)
	admin.typeInto("name", input("name"), "张三")
	admin.typeInto("phone", input("phone"), phone)
	admin.pick("所属部门", deptName)
	admin.pick("角色", roleName)
	admin.dialogButton("新增用户", "保存")
	admin.waitFor("initial password", `dialog('用户已创建') && all('input[data-test=initial-password]')[0] && all('input[data-test=initial-password]')[0].value`)
	initial := admin.text(`all('input[data-test=initial-password]')[0].value`)
	admin.dialogButton("用户已创建", "我已记下")
	admin.waitFor("user in the list", fmt.Sprintf(`all('.el-table__body td').some((td) => txt(td) === %s)`, jsString(userName)))

	// 4b. Issue 3's pages: the seeded entities got their codes through the
	// entity.registered event path; the code list and the charts show them.
	admin.goTo("/qr/codes")
	rowsExpr := `all('.el-table__body-wrapper .el-table__body tr').length`
	for i := 0; ; i++ {
		var n int
		if err := admin.eval(rowsExpr, &n); err == nil && n == 3 {
			break
		}
		if i == 40 {
			admin.fail("the code list never showed the 3 seeded entities' codes")
		}
		admin.jsClick("search codes", `byText('.toolbar button', '查询')`)
		time.Sleep(500 * time.Millisecond)
	}
	if got := admin.text(`all('.el-table__body-wrapper .el-table__body tr').map((tr) => txt(tr)).join('\n')`); !strings.Contains(got, "有效") {
		t.Fatalf("seeded enterprises' codes should be active (有效), rows:\n%s", got)
	}
	admin.goTo("/qr/stats")
	admin.waitFor("charts drawn", `all('.echart canvas').length >= 1`)
	admin.waitFor("issued total", `all('.el-statistic').some((e) => txt(e).includes('期间赋码') && txt(e).includes('3'))`)

	// 4c. An inspection recorded by scanning, with a photo, shows in the
	// entity's 一户一档 with the photo loaded through the session cookie.
	var list struct {
		Items []struct {
			Token string `json:"token"`
		} `json:"items"`
	}
	if st := s.api(t, "GET", "/qr/v1/codes?q="+changan[0], login.AccessToken, nil, &list); st != 200 || len(list.Items) != 1 {
		t.Fatalf("code of %s: status %d, %d codes", changan[0], st, len(list.Items))
	}
	recordInspection(t, s, login.AccessToken, list.Items[0].Token)
	admin.goTo("/market/profile/" + changan[0])
	admin.waitFor("inspection with its photo", `all('[data-test=scan-inspections] td').some((td) => txt(td).includes('店内不使用计量器具'))`+
		` && all('[data-test=scan-inspections] img').some((i) => i.complete && i.naturalWidth === 8)`)

	// 5. The new user: only the granted menu entries …
	user := openPage(t, browser, s.url, "zhangsan")
	user.login(userName, initial, userPW)
	got := user.menuCodes()
	slices.Sort(got)
	if want := []string{"market.search", "workbench"}; !slices.Equal(got, want) {
		t.Fatalf("zhangsan's menu = %v, want exactly %v", got, want)
	}
	// … a page outside them is refused even by address …
	user.goTo("/system/users")
	user.waitFor("forbidden page", `byText('.el-result__title', '无权访问')`)
	// … and only the entities of 长安区.
	user.goTo("/market/entities")
	// The first render shows the empty table before the search answers: wait
	// for rows, and for the loading mask to be gone.
	user.waitFor("entity rows", `all('[data-test=entity-table] .el-table__body tr').length && !all('[data-test=entity-table] .el-loading-mask').length`)
	rows := user.strings(`all('[data-test=entity-table] .el-table__body tr').map((tr) => txt(tr.querySelector('td')))`)
	slices.Sort(rows)
	slices.Sort(changan)
	if !slices.Equal(rows, changan) {
		t.Fatalf("zhangsan sees entities %v, want only 长安区's %v (桥西区's %v must be hidden)", rows, changan, qiaoxi)
	}
	// Long names show whole (wrapped), so the two 分公司 differ on screen.
	names := user.strings(`all('[data-test=entity-table] .el-table__body td.full-name .cell').filter((c) => c.scrollWidth <= c.clientWidth + 1).map(txt)`)
	slices.Sort(names)
	if len(names) != 2 || !strings.HasSuffix(names[0], "第一分公司") || !strings.HasSuffix(names[1], "第二分公司") {
		t.Fatalf("the entity list does not show the long names whole: %q", names)
	}

	// 6. On a phone the menu is a drawer behind the header button.
	user.run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	user.goTo("/workbench")
	user.waitFor("no side menu on a phone", `all('.layout').length && !all('.aside').length`)
	user.click("menu button", `all('.header .toggle')[0]`)
	user.waitFor("drawer menu", `all('.el-drawer .el-menu').length && document.querySelectorAll('.el-drawer [data-menu]').length === 2`)
}

// recordInspection records an inspection of the code with a photo whose
// 8×8 size the page's image must show.
func recordInspection(t *testing.T, s *stack, bearer, qrToken string) {
	inspector.Record(t, s.url, bearer, map[string]string{"token": qrToken, "kind": "inspection", "title": "日常监督检查",
		"authority": "长安区市场监督管理局", "inspected_on": time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly),
		"conclusion": "合格", "item_name_0": "计量器具检定", "item_result_0": "合理缺项", "item_reason_0": "店内不使用计量器具"},
		inspector.PNG(t), nil)
}

// TestForgotPasswordBySMS walks the 忘记密码 dialog: the code sent by SMS
// (simulator) sets a new password that then signs in.
func TestForgotPasswordBySMS(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	// Activate the admin and give him a phone through the API.
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": pw["admin"]}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", login.AccessToken, map[string]string{"old_password": pw["admin"], "new_password": adminPW}, &login); st != 200 {
		t.Fatalf("change password: %d", st)
	}
	var me struct {
		User struct {
			ID     string `json:"id"`
			DeptID string `json:"dept_id"`
		} `json:"user"`
		Roles []struct {
			ID string `json:"id"`
		} `json:"roles"`
	}
	if st := s.api(t, "GET", "/identity/v1/me", login.AccessToken, nil, &me); st != 200 {
		t.Fatalf("me: %d", st)
	}
	roleIDs := []string{}
	for _, r := range me.Roles {
		roleIDs = append(roleIDs, r.ID)
	}
	if st := s.api(t, "PUT", "/identity/v1/users/"+me.User.ID, login.AccessToken,
		map[string]any{"name": "系统管理员", "phone": phone, "dept_id": me.User.DeptID, "role_ids": roleIDs}, nil); st != 200 {
		t.Fatalf("set phone: %d", st)
	}

	browser := newBrowser(t)
	p := openPage(t, browser, s.url, "reset")
	p.goTo("/login")
	p.click("forgot password", `byText('.links .el-link', '忘记密码')`)
	p.typeInto("reset username", input("reset_username"), "admin")
	p.typeInto("reset phone", input("reset_phone"), phone)
	p.dialogButton("短信验证重置密码", "发送验证码")
	p.waitFor("code input", input("reset_code"))
	msg, ok := s.sms.Last(phone)
	if !ok {
		t.Fatal("no SMS reached the simulator")
	}
	var code string
	for _, v := range msg.Params {
		if len(v) >= 4 && strings.Trim(v, "0123456789") == "" {
			code = v
		}
	}
	if code == "" {
		t.Fatalf("no numeric code in SMS params %v", msg.Params)
	}
	p.typeInto("code", input("reset_code"), code)
	p.typeInto("new password", input("reset_password"), resetPW)
	p.typeInto("confirm", `dialog('短信验证重置密码').querySelectorAll('input[type=password]')[1]`, resetPW)
	p.dialogButton("短信验证重置密码", "重置密码")
	p.expectToast("password reset", "密码已重置")
	p.login("admin", resetPW, "")
	if menus := p.menuCodes(); !contains(menus, "system.users") {
		t.Fatalf("after reset, admin menu = %v", menus)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
