package identity

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"

	"github.com/sjzamr/smartreg/shared/errs"
)

// TestCheckPasswordRefusesWhileChangeIsForced: the OIDC login page and
// account binding (CheckPassword) cannot run the forced password change, so
// a generated first-login password or an expired one is refused there (the
// console login still works and forces the change); once changed, the same
// account passes.
func TestCheckPasswordRefusesWhileChangeIsForced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.PasswordExpiryDays = 30 })
	ctx := context.Background()
	c, err := e.f.CreateUser(ctx, e.adminActor(t), UserInput{Username: "oidc_new", Name: "新用户", Phone: "13877770000",
		DeptID: e.cityID(t), RoleIDs: []string{e.roleID(t, RoleReviewer)}})
	if err != nil {
		t.Fatal(err)
	}

	id, err := e.f.CheckPassword(ctx, oidcprovider.PasswordCheck{Username: "oidc_new", Password: c.InitialPassword, IP: "10.0.0.8", Device: "t"})
	wantCode(t, "first login through OIDC", err, errs.Forbidden)
	if e := errs.As(err); id != "" || e == nil || e.Message != msgChangeFirst {
		t.Fatalf("first login through OIDC: id %q, err %v", id, err)
	}
	// A wrong password is still just wrong (no hint that it would be right).
	_, err = e.f.CheckPassword(ctx, oidcprovider.PasswordCheck{Username: "oidc_new", Password: "Wrong#Pass123", IP: "10.0.0.8", Device: "t"})
	wantCode(t, "wrong password", err, errs.Unauthorized)

	var reasons []string
	var lastLogin *time.Time
	var failed int
	rows, err := e.f.pool.Query(ctx, `SELECT reason FROM recorded.login_log WHERE username = 'oidc_new' AND result = 'failure' ORDER BY at`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(reasons, "须先修改密码") {
		t.Errorf("login log failure reasons %v, want 须先修改密码", reasons)
	}
	if err := e.f.pool.QueryRow(ctx, `SELECT last_login_at, failed_logins FROM identity.users WHERE username = 'oidc_new'`).Scan(&lastLogin, &failed); err != nil {
		t.Fatal(err)
	}
	// A wrong password before any captcha is asked for counts in the
	// throttle only, never toward the account's lock.
	if lastLogin != nil || failed != 0 {
		t.Errorf("refused login recorded as a login: last_login_at %v, failed_logins %d (want nil, 0)", lastLogin, failed)
	}

	// The console login forces the change; afterwards OIDC logins pass.
	a, _ := e.activate(t, "oidc_new", c.InitialPassword, strongPW)
	if id, err := e.f.CheckPassword(ctx, oidcprovider.PasswordCheck{Username: "oidc_new", Password: strongPW, IP: "10.0.0.8", Device: "t"}); err != nil || id != a.UserID {
		t.Fatalf("after the change: %q %v", id, err)
	}

	// An expired password is refused the same way.
	e.clock.Advance(31 * 24 * time.Hour)
	_, err = e.f.CheckPassword(ctx, oidcprovider.PasswordCheck{Username: "oidc_new", Password: strongPW, IP: "10.0.0.8", Device: "t"})
	wantCode(t, "expired password through OIDC", err, errs.Forbidden)
}

// TestSysadminAdministersOIDCClients: the client administration API of the
// OIDC provider is guarded by identity.client:*; those permissions are in
// the catalogue (so roles can carry them) and the system administrator
// holds them, so the API is usable. The auditor (三员) does not.
func TestSysadminAdministersOIDCClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, admin := e.activate(t, "admin", e.pw["admin"], strongPW)
	_, auditor := e.activate(t, "auditor", e.pw["auditor"], strongPW)

	resp, body := e.do(t, "GET", "/identity/v1/permissions", admin.AccessToken, "")
	for _, a := range []string{"view", "create", "edit"} {
		if resp.StatusCode != 200 || !strings.Contains(body, `"resource":"identity.client","action":"`+a+`"`) {
			t.Errorf("catalogue lacks identity.client:%s: %d %s", a, resp.StatusCode, body)
		}
	}
	resp, body = e.do(t, "POST", "/identity/v1/oidc/clients", admin.AccessToken,
		`{"id":"rp1","name":"测试应用","redirect_uris":["https://rp.example/cb"]}`)
	if resp.StatusCode != 201 || !strings.Contains(body, `"client_secret":"`) {
		t.Fatalf("create client: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "GET", "/identity/v1/oidc/clients", admin.AccessToken, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"id":"rp1"`) {
		t.Fatalf("list clients: %d %s", resp.StatusCode, body)
	}
	for _, op := range []string{"disable", "enable", "secret"} {
		if resp, body := e.do(t, "POST", "/identity/v1/oidc/clients/rp1/"+op, admin.AccessToken, ""); resp.StatusCode != 200 {
			t.Errorf("%s client: %d %s", op, resp.StatusCode, body)
		}
	}
	if resp, body := e.do(t, "GET", "/identity/v1/oidc/clients", auditor.AccessToken, ""); resp.StatusCode != 403 {
		t.Errorf("auditor lists clients: %d %s", resp.StatusCode, body)
	}
}
