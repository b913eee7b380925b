package identity

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/conformance"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, and every route declares its access and entity data and requires
// only grantable permissions. Identity serves no market-entity data
// (users, departments and roles are declared httpx.NoEntity), so the
// shared entity-scope probe has nothing to probe here; identity's own
// scope, by department, is TestScopeByDepartment.
func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	conformance.Events(t, Name, e.f)
	conformance.Routes(t, e.f.Handler())
	for _, rt := range e.f.mux.Routes() {
		if rt.Entity != httpx.EntityNone && rt.Access != httpx.AccessPublic {
			t.Errorf("%s declares entity data %q; identity has none", rt.Pattern, rt.Entity)
		}
	}
}

// TestScopeByDepartment (FP-6): over HTTP, a district administrator sees
// and changes only the users, applications and departments of the
// bureau's tree: one of each in 长安区 (inside) and 桥西区 (outside), every
// route that names one by id probed with both.
// FP-5: department permission control.
func TestScopeByDepartment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	city := e.cityID(t)
	changan := e.dept(t, city, "长安区市场监督管理局", "district", []string{"130102"}, nil)
	qiaoxi := e.dept(t, city, "桥西区市场监督管理局", "district", []string{"130104"}, nil)
	caStation := e.dept(t, changan.ID, "建北市场监管所", "station", []string{"130102"}, []string{"130102001"})
	qxStation := e.dept(t, qiaoxi.ID, "振头市场监管所", "station", []string{"130104"}, []string{"130104001"})
	role, err := e.f.CreateRole(ctx, admin, RoleInput{Code: "district_admin", Name: "区县管理员", Menus: []string{"system.users"},
		Perms: []string{"identity.user:view", "identity.user:edit", "identity.user:approve", "identity.dept:view", "identity.dept:edit",
			"identity.dept:delete"}, ScopeKind: auth.ScopeDeptAndBelow})
	if err != nil {
		t.Fatal(err)
	}
	_, tok := e.user(t, "ca_admin", "13833330001", changan.ID, role.Code)
	caUser, _ := e.user(t, "ca_clerk", "13833330002", caStation.ID, RoleInspector)
	qxUser, _ := e.user(t, "qx_clerk", "13833330003", qxStation.ID, RoleInspector)
	apply := func(username, phone, dept string) string {
		if err := e.f.Register(ctx, RegistrationInput{Username: username, Name: "申请人", Phone: phone, IDNumber: "11010519491231002X",
			DeptID: dept, Password: "Reg#Pass2024x"}, "10.0.0.9"); err != nil {
			t.Fatal(err)
		}
		list, err := e.f.Registrations(ctx, admin, RegistrationFilter{Status: "pending", Q: username}, httpx.Page{Page: 1, Size: 5})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("application %s: %+v %v", username, list, err)
		}
		return list.Items[0].ID
	}
	caReg := apply("ca_applicant", "13833330004", caStation.ID)
	qxReg := apply("qx_applicant", "13833330005", qxStation.ID)

	call := func(method, path, body string) (int, string) {
		resp, out := e.do(t, method, path, tok.AccessToken, body)
		return resp.StatusCode, out
	}
	edit := `{"name":"改名测试","phone":"13833330009","dept_id":"%s","role_ids":["` + e.roleID(t, RoleInspector) + `"]}`
	dept := `{"name":"改名市场监管所","district_codes":["%s"],"township_codes":["%s001"]}`
	for _, c := range []struct {
		name, method, inside, outside, body, bodyOut string
		outsideStatus                                int
	}{
		{"read a user", "GET", "/identity/v1/users/" + caUser.UserID, "/identity/v1/users/" + qxUser.UserID, "", "", http.StatusNotFound},
		{"edit a user", "PUT", "/identity/v1/users/" + caUser.UserID, "/identity/v1/users/" + qxUser.UserID,
			strings.Replace(edit, "%s", caStation.ID, 1), strings.Replace(edit, "%s", qxStation.ID, 1), http.StatusNotFound},
		{"freeze a user", "POST", "/identity/v1/users/" + caUser.UserID + "/freeze", "/identity/v1/users/" + qxUser.UserID + "/freeze",
			`{"reason":"范围测试"}`, `{"reason":"范围测试"}`, http.StatusNotFound},
		{"unfreeze a user", "POST", "/identity/v1/users/" + caUser.UserID + "/unfreeze", "/identity/v1/users/" + qxUser.UserID + "/unfreeze",
			"", "", http.StatusNotFound},
		{"ask an applicant", "POST", "/identity/v1/registrations/" + caReg + "/request-info", "/identity/v1/registrations/" + qxReg + "/request-info",
			`{"message":"请补充材料"}`, `{"message":"请补充材料"}`, http.StatusNotFound},
		{"edit a department", "PUT", "/identity/v1/departments/" + caStation.ID, "/identity/v1/departments/" + qxStation.ID,
			strings.NewReplacer("%s", "130102").Replace(dept), strings.NewReplacer("%s", "130104").Replace(dept), http.StatusForbidden},
	} {
		if st, out := call(c.method, c.outside, c.bodyOut); st != c.outsideStatus || strings.Contains(out, "qx_clerk") {
			t.Errorf("%s outside the scope: %d %s, want %d", c.name, st, out, c.outsideStatus)
		}
		if st, out := call(c.method, c.inside, c.body); st != http.StatusOK {
			t.Errorf("%s inside the scope: %d %s (the fixture or the route is wrong)", c.name, st, out)
		}
	}
	if st, _ := call("DELETE", "/identity/v1/departments/"+qxStation.ID, ""); st != http.StatusForbidden {
		t.Errorf("delete a department outside the scope: %d, want 403", st)
	}
	for _, l := range []struct{ path, inside, outside string }{
		{"/identity/v1/users", "ca_clerk", "qx_clerk"},
		{"/identity/v1/registrations", "ca_applicant", "qx_applicant"},
		{"/identity/v1/departments", "长安区市场监督管理局", "振头市场监管所"},
	} {
		st, out := call("GET", l.path, "")
		if st != http.StatusOK || !strings.Contains(out, l.inside) || strings.Contains(out, l.outside) {
			t.Errorf("list %s: %d, want %s and not %s: %s", l.path, st, l.inside, l.outside, out)
		}
	}
}
