package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/testwait"
)

func wantCode(t *testing.T, what string, err error, code errs.Code) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("%s: error %v (code %s), want code %s", what, err, errs.CodeOf(err), code)
	}
}

// TestNewRequiresEachDependency: each missing dependency and a bad
// setting is its own error, before anything is built.
func TestNewRequiresEachDependency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, mut := range map[string]func(*Deps, *Config){
		"logger": func(d *Deps, _ *Config) { d.Logger = nil },
		"pool":   func(d *Deps, _ *Config) { d.Pool = nil },
		"redis":  func(d *Deps, _ *Config) { d.Redis = nil },
		"now":    func(d *Deps, _ *Config) { d.Now = nil },
		"secret": func(_ *Deps, c *Config) { c.SecretKey = "short" },
		"ttl":    func(_ *Deps, c *Config) { c.AccessTTL = 2 * time.Hour },
	} {
		d, c := e.deps, e.cfg
		mut(&d, &c)
		f, err := New(d, c)
		if err == nil {
			_ = f.Stop(context.Background())
			t.Errorf("%s: New succeeded, want an error", name)
			continue
		}
		if want := map[string]string{"logger": "Logger", "pool": "Pool", "redis": "Redis", "now": "Now"}[name]; want != "" &&
			!strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not name %s", name, err, want)
		}
	}
}

// TestVerifierBeforeStart: the verifier New hands out (the platform gives
// it to every function before any starts) knows no key until Start, and
// verifies identity's tokens after it.
func TestVerifierBeforeStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f, err := New(e.deps, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
	if n := len(f.KeySet().PublicKeys()); n != 0 {
		t.Fatalf("%d keys before Start", n)
	}
	_, tok := e.user(t, "early", "13800001111", e.cityID(t), RoleInspector)
	if _, err := f.Verifier().Verify(context.Background(), tok.AccessToken); err == nil {
		t.Fatal("a verifier without keys accepted a token")
	}
	if _, err := f.Login(context.Background(), LoginInput{Username: "early", Password: strongPW}, "10.0.0.1", "t"); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("login before Start: %v, want unavailable", err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Verifier().Verify(context.Background(), tok.AccessToken); err != nil {
		t.Fatalf("after Start: %v", err)
	}
}

func TestFirstStartGeneratesThreeAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	path := filepath.Join(e.cfg.DataDir, InitialPasswordFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("password file mode %v, want 0600", st.Mode().Perm())
	}
	for _, u := range []string{"admin", "secadmin", "auditor"} {
		if len(e.pw[u]) < 12 {
			t.Fatalf("no generated password for %s in %v", u, e.pw)
		}
	}
	// A second start on the same database creates nobody and keeps the key.
	f2 := start(t, e.deps, e.cfg)
	var users, keys int
	_ = e.f.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM identity.users), (SELECT count(*) FROM identity.signing_keys)`).Scan(&users, &keys)
	if users != 3 || keys != 1 {
		t.Fatalf("after restart: %d users, %d keys; want 3 and 1", users, keys)
	}
	if f2.KeySet().PublicKeys()[0].ID != e.f.KeySet().PublicKeys()[0].ID {
		t.Fatal("restart generated a new signing key")
	}

	// First login: forced change, no permissions yet, file entry removed.
	tok, err := e.f.Login(ctx, LoginInput{Username: "admin", Password: e.pw["admin"]}, "10.0.0.9", "test")
	if err != nil {
		t.Fatal(err)
	}
	if !tok.MustChangePassword {
		t.Fatal("first login must force a password change")
	}
	p, err := e.f.Verifier().Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Perms) != 0 {
		t.Fatalf("token before the forced change carries perms %v", p.Perms)
	}
	if _, ok := readPasswordFile(t, e.cfg.DataDir)["admin"]; ok {
		t.Fatal("admin's line still in the password file after first login")
	}
	if _, ok := readPasswordFile(t, e.cfg.DataDir)["auditor"]; !ok {
		t.Fatal("auditor's line removed though auditor never logged in")
	}
	a := Actor{UserID: tok.User.ID, Username: "admin", SessionID: tok.sessionID}
	_, err = e.f.ChangePassword(ctx, a, PasswordChange{OldPassword: e.pw["admin"], NewPassword: "short"})
	wantCode(t, "weak password", err, errs.Invalid)
	tok, err = e.f.ChangePassword(ctx, a, PasswordChange{OldPassword: e.pw["admin"], NewPassword: strongPW})
	if err != nil {
		t.Fatal(err)
	}
	p, err = e.f.Verifier().Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("token issued with the change refused: %v", err)
	}
	if !p.Can("identity.user", "create") || !p.HasRole(RoleSysAdmin) || p.Scope.Kind != auth.ScopeAll {
		t.Fatalf("sysadmin principal after change: %+v", p)
	}
	if p.Can("audit.log", "view") {
		t.Fatal("三员: the system administrator must not read audit logs")
	}
	// Every business permission reaches the administrator's token, bulk
	// import included (registry.import:create was missing from the
	// catalogue, so nobody could ever import).
	for _, perm := range []string{"registry.entity:create", "registry.import:create"} {
		resource, action, _ := strings.Cut(perm, ":")
		if !p.Can(resource, action) {
			t.Errorf("sysadmin token lacks %s: %v", perm, p.Perms)
		}
	}
}

// FP-4: password reset by SMS code.
func TestSMSCodeWorksOnceAndExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	e.user(t, "zhang", "13912345678", e.cityID(t), RoleInspector)
	req := ResetRequest{Username: "zhang", Phone: "13912345678"}
	if err := e.f.RequestResetCode(ctx, req, "10.1.0.1"); err != nil {
		t.Fatal(err)
	}
	m, ok := e.sim.Last("13912345678")
	if !ok || len(m.Params["code"]) != 6 {
		t.Fatalf("simulator got %+v", m)
	}
	var stored []byte
	_ = e.f.pool.QueryRow(ctx, `SELECT code_hash FROM identity.sms_codes`).Scan(&stored)
	if strings.Contains(string(stored), m.Params["code"]) {
		t.Fatal("SMS code stored in clear")
	}
	err := e.f.RequestResetCode(ctx, req, "10.1.0.1")
	wantCode(t, "second request within 60 s", err, errs.Unavailable)

	wrong := "000000"
	if m.Params["code"] == wrong {
		wrong = "111111"
	}
	err = e.f.ResetPassword(ctx, ResetInput{Username: "zhang", Phone: "13912345678", Code: wrong, NewPassword: "Nw8#kdPq2!zz"}, "10.1.0.1", "t")
	wantCode(t, "wrong code", err, errs.Invalid)
	in := ResetInput{Username: "zhang", Phone: "13912345678", Code: m.Params["code"], NewPassword: "Nw8#kdPq2!zz"}
	if err := e.f.ResetPassword(ctx, in, "10.1.0.1", "t"); err != nil {
		t.Fatalf("reset with the right code: %v", err)
	}
	if _, err := e.f.Login(ctx, LoginInput{Username: "zhang", Password: "Nw8#kdPq2!zz"}, "10.1.0.1", "t"); err != nil {
		t.Fatalf("login with the reset password: %v", err)
	}
	in.NewPassword = "An0ther#Pass9"
	wantCode(t, "code reused", e.f.ResetPassword(ctx, in, "10.1.0.1", "t"), errs.Invalid)

	// A fresh code expires after five minutes.
	e.rdb.Del(ctx, e.cfg.RedisPrefix+"sms:gap:13912345678")
	if err := e.f.RequestResetCode(ctx, req, "10.1.0.1"); err != nil {
		t.Fatal(err)
	}
	m, _ = e.sim.Last("13912345678")
	e.clock.Advance(5*time.Minute + time.Second)
	in.Code = m.Params["code"]
	wantCode(t, "expired code", e.f.ResetPassword(ctx, in, "10.1.0.1", "t"), errs.Invalid)

	// Unknown account: same answer, nothing sent.
	before := len(e.sim.Messages())
	if err := e.f.RequestResetCode(ctx, ResetRequest{Username: "ghost", Phone: "13700000000"}, "10.1.0.1"); err != nil {
		t.Fatalf("unknown account must answer like a known one: %v", err)
	}
	if len(e.sim.Messages()) != before {
		t.Fatal("a code was sent for an unknown account")
	}
	var ops int
	_ = e.f.pool.QueryRow(ctx, `SELECT count(*) FROM recorded.op_log WHERE action = 'user.password.reset'`).Scan(&ops)
	if ops != 1 {
		t.Fatalf("%d password.reset op-log rows, want 1", ops)
	}
}

func TestSMSRateLimitPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SMSPerIPHour = 2 })
	ctx := context.Background()
	for i, phone := range []string{"13900000001", "13900000002", "13900000003"} {
		err := e.f.RequestResetCode(ctx, ResetRequest{Username: "u", Phone: phone}, "10.9.9.9")
		if i < 2 && err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if i == 2 {
			wantCode(t, "third request from one IP", err, errs.Unavailable)
		}
	}
}

func TestFrozenUserRefreshFailsAndTokenRevoked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	u, tok := e.user(t, "lisi", "13812345678", e.cityID(t), RoleInspector)
	// Another function's verifier: in-process keys, revocations via Redis.
	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: e.f.KeySet(), Issuer: e.cfg.Issuer, Audience: e.cfg.Audience,
		Redis: e.rdb, RevocationPrefix: e.cfg.RevocationPrefix, ResyncEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	if _, err := e.f.Freeze(ctx, admin, u.UserID, "离职"); err != nil {
		t.Fatal(err)
	}
	_, err = e.f.Refresh(ctx, tok.RefreshToken)
	wantCode(t, "refresh of a frozen user", err, errs.Unauthorized)
	testwait.For(t, "the frozen user's access token to be refused", func() bool {
		_, err := v.Verify(ctx, tok.AccessToken)
		return err != nil
	})
	// Frozen: the right password gets the answer a wrong one gets.
	_, err = e.f.Login(ctx, LoginInput{Username: "lisi", Password: strongPW}, "10.0.0.3", "t")
	wantCode(t, "login while frozen", err, errs.Unauthorized)

	// A Redis flush must not resurrect the token: identity republishes
	// from PostgreSQL and a new verifier (empty memory) refuses it.
	cleanRedis(e.rdb, e.cfg.RevocationPrefix)
	if err := e.f.republish(ctx); err != nil {
		t.Fatal(err)
	}
	v2, err := auth.NewVerifier(auth.VerifierConfig{Keys: e.f.KeySet(), Issuer: e.cfg.Issuer, Audience: e.cfg.Audience,
		Redis: e.rdb, RevocationPrefix: e.cfg.RevocationPrefix, ResyncEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	testwait.For(t, "a new verifier to refuse the token after a Redis flush", func() bool {
		_, err := v2.Verify(ctx, tok.AccessToken)
		return err != nil
	})

	var before, after string
	err = e.f.pool.QueryRow(ctx, `SELECT before->>'status', after->>'status' FROM recorded.op_log WHERE action = 'user.freeze' AND object_id = $1`,
		u.UserID).Scan(&before, &after)
	if err != nil || before != "active" || after != "frozen" {
		t.Fatalf("freeze op log before=%q after=%q err=%v", before, after, err)
	}
	var phone string
	_ = e.f.pool.QueryRow(ctx, `SELECT after->>'phone' FROM recorded.op_log WHERE action = 'user.freeze'`).Scan(&phone)
	if phone != "138****5678" {
		t.Fatalf("op log phone %q, want masked", phone)
	}
	if _, err := e.f.Unfreeze(ctx, admin, u.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Login(ctx, LoginInput{Username: "lisi", Password: strongPW}, "10.0.0.3", "t"); err != nil {
		t.Fatalf("login after unfreeze: %v", err)
	}
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	_, tok := e.user(t, "wang", "13812340000", e.cityID(t), RoleReviewer)
	next, err := e.f.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh token not rotated")
	}
	_, err = e.f.Refresh(ctx, tok.RefreshToken)
	wantCode(t, "reused refresh token", err, errs.Unauthorized)
	_, err = e.f.Refresh(ctx, next.RefreshToken)
	wantCode(t, "rotated token after reuse ended the session", err, errs.Unauthorized)

	// Idle timeout.
	tok, err = e.f.Login(ctx, LoginInput{Username: "wang", Password: strongPW}, "10.0.0.4", "t")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * time.Minute)
	_, err = e.f.Refresh(ctx, tok.RefreshToken)
	wantCode(t, "refresh after the idle timeout", err, errs.Unauthorized)
}

func TestNobodyGrantsWhatTheyLack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	changan := e.dept(t, e.cityID(t), "长安区市场监督管理局", "district", []string{"130102"}, nil)
	// A district role admin: may edit roles and users, holds only view on entities.
	ra, err := e.f.CreateRole(ctx, admin, RoleInput{Code: "district_roles", Name: "区县角色管理员",
		Menus: []string{"system.roles", "system.users"},
		Perms: []string{"identity.role:view", "identity.role:create", "identity.role:edit", "identity.user:view", "identity.user:create",
			"identity.user:edit", "registry.entity:view"}, ScopeKind: auth.ScopeDeptAndBelow})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.user(t, "ca_roles", "13811110000", changan.ID, "district_roles")
	_, err = e.f.CreateRole(ctx, a, RoleInput{Code: "exporter", Name: "导出员", Perms: []string{"registry.entity:view", "registry.entity:export"},
		ScopeKind: auth.ScopeDept})
	wantCode(t, "grant a permission not held", err, errs.Forbidden)
	_, err = e.f.CreateRole(ctx, a, RoleInput{Code: "citywide", Name: "全市查看", Perms: []string{"registry.entity:view"}, ScopeKind: auth.ScopeAll})
	wantCode(t, "grant a wider data scope", err, errs.Forbidden)
	_, err = e.f.CreateRole(ctx, a, RoleInput{Code: "viewer", Name: "查看员", Menus: []string{"qr.stats"}, Perms: []string{"registry.entity:view"},
		ScopeKind: auth.ScopeDept})
	wantCode(t, "grant a menu not held", err, errs.Forbidden)
	viewer, err := e.f.CreateRole(ctx, a, RoleInput{Code: "viewer", Name: "查看员", Menus: []string{"system.users"},
		Perms: []string{"registry.entity:view"}, ScopeKind: auth.ScopeDept})
	if err != nil {
		t.Fatalf("grant within own permissions: %v", err)
	}
	// Assigning a role with more than he holds is refused too.
	_, err = e.f.CreateUser(ctx, a, UserInput{Username: "ca_rev", Name: "审核员", Phone: "13811112222", DeptID: changan.ID,
		RoleIDs: []string{e.roleID(t, RoleReviewer)}})
	wantCode(t, "assign a role beyond own permissions", err, errs.Forbidden)
	if _, err := e.f.CreateUser(ctx, a, UserInput{Username: "ca_view", Name: "查看员", Phone: "13811113333", DeptID: changan.ID,
		RoleIDs: []string{viewer.ID}}); err != nil {
		t.Fatalf("assign a role within own permissions: %v", err)
	}
	// A user outside his department subtree cannot be created.
	_, err = e.f.CreateUser(ctx, a, UserInput{Username: "city_view", Name: "市局查看", Phone: "13811114444", DeptID: e.cityID(t),
		RoleIDs: []string{viewer.ID}})
	wantCode(t, "create a user outside the scope", err, errs.Forbidden)
	// Nor can he widen his own role.
	_, err = e.f.UpdateRole(ctx, a, ra.ID, RoleInput{Name: "区县角色管理员", Perms: append(ra.Perms, "registry.entity:export"),
		Menus: ra.Menus, ScopeKind: ra.ScopeKind})
	wantCode(t, "widen own role", err, errs.Forbidden)
}

func TestThreeAdminsExclusive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	_, err := e.f.CreateUser(ctx, admin, UserInput{Username: "double", Name: "兼任者", Phone: "13822220000", DeptID: e.cityID(t),
		RoleIDs: []string{e.roleID(t, RoleSysAdmin), e.roleID(t, RoleAuditor)}})
	wantCode(t, "sysadmin + auditor", err, errs.Conflict)
	u, _ := e.user(t, "sys2", "13822221111", e.cityID(t), RoleSysAdmin)
	_, err = e.f.UpdateUser(ctx, admin, u.UserID, UserInput{Name: "系统管理员二", Phone: "13822221111", DeptID: e.cityID(t),
		RoleIDs: []string{e.roleID(t, RoleSysAdmin), e.roleID(t, RoleSecAdmin)}})
	if err == nil {
		t.Fatal("adding secadmin to a sysadmin succeeded")
	}
	roles, _ := rolesOfUser(ctx, e.f.pool, u.UserID)
	if len(roles) != 1 {
		t.Fatalf("user holds %d roles after the refused change", len(roles))
	}
	err = checkThreeAdmins([]Role{{Code: RoleSecAdmin, Name: "安全管理员"}, {Code: RoleAuditor, Name: "审计管理员"}})
	wantCode(t, "secadmin + auditor", err, errs.Conflict)
	if err := checkThreeAdmins([]Role{{Code: RoleSysAdmin}, {Code: RoleInspector}}); err != nil {
		t.Fatalf("sysadmin + inspector refused: %v", err)
	}
	_, err = e.f.UpdateRole(ctx, admin, e.roleID(t, RoleAuditor), RoleInput{Name: "审计管理员", ScopeKind: auth.ScopeAll})
	wantCode(t, "edit a 三员 role", err, errs.Forbidden)
}

// FP-1: the user list and its management stay within the department scope.
func TestDataScopeAppliesToUserManagement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	city := e.cityID(t)
	changan := e.dept(t, city, "长安区市场监督管理局", "district", []string{"130102"}, nil)
	qiaoxi := e.dept(t, city, "桥西区市场监督管理局", "district", []string{"130104"}, nil)
	station := e.dept(t, changan.ID, "建北市场监管所", "station", []string{"130102"}, []string{"130102001"})
	mgr, err := e.f.CreateRole(ctx, admin, RoleInput{Code: "district_admin", Name: "区县管理员", Menus: []string{"system.users"},
		Perms: []string{"identity.user:view", "identity.user:edit", "registry.entity:view"}, ScopeKind: auth.ScopeDeptAndBelow})
	if err != nil {
		t.Fatal(err)
	}
	caAdmin, caTok := e.user(t, "ca_admin", "13833330001", changan.ID, mgr.Code)
	e.user(t, "ca_station", "13833330002", station.ID, RoleInspector)
	qx, _ := e.user(t, "qx_insp", "13833330003", qiaoxi.ID, RoleInspector)

	page, err := e.f.Users(ctx, caAdmin, UserFilter{Sort: "username"}, httpx.Page{Page: 1, Size: 50})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range page.Items {
		names = append(names, u.Username)
		if strings.Contains(u.PhoneMasked, "3333000") {
			t.Fatalf("phone not masked: %s", u.PhoneMasked)
		}
	}
	if !slices.Equal(names, []string{"ca_admin", "ca_station"}) || page.Total != 2 {
		t.Fatalf("长安 admin sees %v (total %d), want ca_admin, ca_station", names, page.Total)
	}
	_, err = e.f.User(ctx, caAdmin, qx.UserID)
	wantCode(t, "read a 桥西 user", err, errs.NotFound)
	_, err = e.f.Freeze(ctx, caAdmin, qx.UserID, "越权测试")
	wantCode(t, "freeze a 桥西 user", err, errs.NotFound)
	_, err = e.f.UpdateUser(ctx, caAdmin, qx.UserID, UserInput{Name: "改名", Phone: "13833330003", DeptID: qiaoxi.ID, RoleIDs: []string{e.roleID(t, RoleInspector)}})
	wantCode(t, "edit a 桥西 user", err, errs.NotFound)

	// The token's data scope is the bureau's jurisdiction.
	p, err := e.f.Verifier().Verify(ctx, caTok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Scope.Allows("130102", "130102001") || p.Scope.Allows("130104", "") {
		t.Fatalf("长安 scope %+v", p.Scope)
	}
	// A station user with "dept" scope sees only its township.
	sp := resolveScope(Role{ScopeKind: auth.ScopeDept}, station.ID, mustDepts(t, e))
	if !sp.Allows("130102", "130102001") || sp.Allows("130102", "130102002") {
		t.Fatalf("station scope %+v", sp)
	}
	// Over HTTP the same list, filtered and sorted.
	resp, body := e.do(t, "GET", "/identity/v1/users?sort=-username&q=ca_", caTok.AccessToken, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"total":2`) || strings.Index(body, "ca_station") > strings.Index(body, "ca_admin") {
		t.Fatalf("GET users: %d %s", resp.StatusCode, body)
	}
}

func mustDepts(t *testing.T, e *env) deptIndex {
	x, err := loadDepts(context.Background(), e.f.pool)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestDepartmentJurisdictionValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	city := e.cityID(t)
	_, err := e.f.CreateDepartment(ctx, admin, DeptInput{ParentID: &city, Name: "无效局", Level: "district", DistrictCodes: []string{"999999"}})
	wantCode(t, "unknown district", err, errs.Invalid)
	ca := e.dept(t, city, "长安区市场监督管理局", "district", []string{"130102"}, nil)
	_, err = e.f.CreateDepartment(ctx, admin, DeptInput{ParentID: &ca.ID, Name: "越界所", Level: "station", DistrictCodes: []string{"130104"},
		TownshipCodes: []string{"130104001"}})
	wantCode(t, "station outside its bureau", err, errs.Invalid)
	_, err = e.f.CreateDepartment(ctx, admin, DeptInput{ParentID: &ca.ID, Name: "错级局", Level: "district", DistrictCodes: []string{"130102"}})
	wantCode(t, "district under a district", err, errs.Invalid)
	e.dept(t, ca.ID, "建北市场监管所", "station", []string{"130102"}, []string{"130102001"})
	wantCode(t, "delete a unit with children", e.f.DeleteDepartment(ctx, admin, ca.ID), errs.Conflict)
	tree, err := e.f.Departments(ctx, admin, true)
	if err != nil || len(tree) != 1 || len(tree[0].Children) != 1 || len(tree[0].Children[0].Children) != 1 {
		t.Fatalf("tree %+v err %v", tree, err)
	}
}

// FP-2: registration and its review.
func TestRegistrationReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	city := e.cityID(t)
	body := `{"username":"applicant","name":"申请人","phone":"13844445555","id_number":"11010519491231002X","dept_id":"` + city +
		`","reason":"新入职","password":"Reg#Pass2024x"}`
	pending := func() Registration {
		t.Helper()
		list, err := e.f.Registrations(ctx, admin, RegistrationFilter{Status: "pending", Q: "applicant"}, httpx.Page{Page: 1, Size: 20})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("pending applications %+v %v", list, err)
		}
		return list.Items[0]
	}
	resp, out := e.do(t, "POST", "/identity/v1/registrations", "", body)
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(out, MsgRegistrationAccepted) {
		t.Fatalf("register: %d %s", resp.StatusCode, out)
	}
	g := pending()
	if g.IDNumberMasked != "110105********002X" {
		t.Fatalf("ID number %q, want masked", g.IDNumberMasked)
	}
	if m, ok := e.sim.Last("13844445555"); !ok || m.Template != e.cfg.SMSTemplateRegistration || !strings.Contains(m.Params["result"], "已受理") {
		t.Fatalf("the applicant's SMS: %+v", m)
	}
	if _, err := e.f.RequestInfo(ctx, admin, g.ID, "请补充工作证照片"); err != nil {
		t.Fatal(err)
	}
	if m, _ := e.sim.Last("13844445555"); !strings.Contains(m.Params["result"], "请补充工作证照片") {
		t.Fatalf("the applicant is not told what to add: %+v", m)
	}
	_, err := e.f.Login(ctx, LoginInput{Username: "applicant", Password: "Reg#Pass2024x"}, "10.0.0.5", "t")
	wantCode(t, "login before approval", err, errs.Unauthorized)
	resp, out = e.do(t, "POST", "/identity/v1/registrations", "", body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("re-apply: %d %s", resp.StatusCode, out)
	}
	g = pending()
	_, err = e.f.Approve(ctx, admin, g.ID, []string{e.roleID(t, RoleSysAdmin), e.roleID(t, RoleAuditor)})
	wantCode(t, "approve with two 三员 roles", err, errs.Conflict)
	if _, err := e.f.Approve(ctx, admin, g.ID, []string{e.roleID(t, RoleInspector)}); err != nil {
		t.Fatal(err)
	}
	tok, err := e.f.Login(ctx, LoginInput{Username: "applicant", Password: "Reg#Pass2024x"}, "10.0.0.5", "t")
	if err != nil {
		t.Fatalf("login after approval: %v", err)
	}
	if tok.MustChangePassword {
		t.Fatal("an applicant chose the password; no forced change")
	}
	if m, _ := e.sim.Last("13844445555"); !strings.Contains(m.Params["result"], "已通过") {
		t.Fatalf("the applicant is not told of the approval: %+v", m)
	}
	_, err = e.f.Reject(ctx, admin, g.ID, "重复处理")
	wantCode(t, "reject an approved application", err, errs.Conflict)
	list, err := e.f.Registrations(ctx, admin, RegistrationFilter{Status: "approved", Q: ""}, httpx.Page{Page: 1, Size: 20})
	if err != nil || list.Total != 1 {
		t.Fatalf("approved list %+v %v", list, err)
	}
	var n int
	_ = e.f.pool.QueryRow(ctx, `SELECT count(*) FROM recorded.op_log WHERE object_type = 'registration'`).Scan(&n)
	if n != 4 { // submit, request_info, submit, approve
		t.Fatalf("%d registration op-log rows, want 4", n)
	}
}

func TestMeMenusFollowRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, tok := e.user(t, "insp", "13855550000", e.cityID(t), RoleInspector)
	resp, body := e.do(t, "GET", "/identity/v1/me", tok.AccessToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("me: %d %s", resp.StatusCode, body)
	}
	var me Me
	if err := json.Unmarshal([]byte(body), &me); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, m := range me.Menus {
		codes = append(codes, m.Code)
		for _, c := range m.Children {
			codes = append(codes, c.Code)
			if !strings.HasPrefix(c.Path, "/console/#/") {
				t.Fatalf("menu path %q", c.Path)
			}
		}
	}
	if !slices.Contains(codes, "market.search") || slices.Contains(codes, "system.users") || slices.Contains(codes, "security") {
		t.Fatalf("inspector menus %v", codes)
	}
	if me.User.Phone != "138****0000" || !slices.Contains(me.Perms, "scan.inspection:create") {
		t.Fatalf("me %+v", me)
	}
	resp, _ = e.do(t, "GET", "/identity/v1/users", tok.AccessToken, "")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("inspector listing users: %d, want 403", resp.StatusCode)
	}
	resp, _ = e.do(t, "GET", "/identity/v1/me", "", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous /me: %d, want 401", resp.StatusCode)
	}
}

// FP-3: login, refresh and logout.
func TestHTTPLoginRefreshLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user(t, "http_user", "13866660000", e.cityID(t), RoleReviewer)
	resp, body := e.do(t, "POST", "/identity/v1/login", "", `{"username":"http_user","password":"`+strongPW+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var cookies []string
	for _, c := range resp.Cookies() {
		cookies = append(cookies, c.Name)
		if !c.HttpOnly {
			t.Fatalf("cookie %s not HttpOnly", c.Name)
		}
	}
	if !slices.Contains(cookies, "smartreg_at") || !slices.Contains(cookies, "smartreg_rt") {
		t.Fatalf("cookies %v", cookies)
	}
	var tok Tokens
	_ = json.Unmarshal([]byte(body), &tok)
	resp, body = e.do(t, "POST", "/identity/v1/token/refresh", "", `{"refresh_token":"`+tok.RefreshToken+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	_ = json.Unmarshal([]byte(body), &tok)
	resp, _ = e.do(t, "POST", "/identity/v1/logout", tok.AccessToken, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	testwait.For(t, "the logged-out token to be refused", func() bool {
		r, _ := e.do(t, "GET", "/identity/v1/me", tok.AccessToken, "")
		return r.StatusCode == http.StatusUnauthorized
	})
	resp, _ = e.do(t, "POST", "/identity/v1/token/refresh", "", `{"refresh_token":"`+tok.RefreshToken+`"}`)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("refresh after logout: %d", resp.StatusCode)
	}
	resp, body = e.do(t, "POST", "/identity/v1/login", "", `{"username":"http_user","password":"bad"}`)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "用户名或密码错误") {
		t.Fatalf("bad login: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "GET", "/identity/v1/jwks", "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"kty":"OKP"`) {
		t.Fatalf("jwks: %d %s", resp.StatusCode, body)
	}
}

// FP-10: the version changelog.
func TestChangelogUnseen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	u, _ := e.user(t, "reader", "13877770000", e.cityID(t), RoleInspector)
	e.clock.Advance(time.Minute)
	v1, err := e.f.PublishChangelog(ctx, admin, ChangelogInput{Version: "2.0.0", ReleasedOn: "2026-11-01", Summary: "二期上线",
		Features: []string{"一码三用"}, Fixes: []string{"登录页样式"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.f.PublishChangelog(ctx, admin, ChangelogInput{Version: "2.0.0", ReleasedOn: "2026-11-02", Summary: "重复", Changes: []string{"x"}})
	wantCode(t, "duplicate version", err, errs.Conflict)
	_, err = e.f.PublishChangelog(ctx, admin, ChangelogInput{Version: "二", ReleasedOn: "2026-13-01", Summary: "x"})
	wantCode(t, "bad entry", err, errs.Invalid)
	e.clock.Advance(time.Minute)
	v2, err := e.f.PublishChangelog(ctx, admin, ChangelogInput{Version: "2.1.0", ReleasedOn: "2026-11-20", Summary: "升级", Changes: []string{"菜单调整"}})
	if err != nil {
		t.Fatal(err)
	}
	unseen, err := e.f.UnseenChangelog(ctx, u.UserID)
	if err != nil || len(unseen) != 2 || unseen[0].ID != v2.ID {
		t.Fatalf("unseen %+v %v", unseen, err)
	}
	if err := e.f.MarkChangelogSeen(ctx, u.UserID, v1.ID); err != nil {
		t.Fatal(err)
	}
	unseen, _ = e.f.UnseenChangelog(ctx, u.UserID)
	if len(unseen) != 1 || unseen[0].Version != "2.1.0" {
		t.Fatalf("after seeing 2.0.0: %+v", unseen)
	}
	if err := e.f.MarkChangelogSeen(ctx, u.UserID, v2.ID); err != nil {
		t.Fatal(err)
	}
	if unseen, _ = e.f.UnseenChangelog(ctx, u.UserID); len(unseen) != 0 {
		t.Fatalf("after seeing 2.1.0: %+v", unseen)
	}
	wantCode(t, "seen unknown", e.f.MarkChangelogSeen(ctx, u.UserID, newID()), errs.NotFound)
}

func TestAccountsForOIDC(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	u, _ := e.user(t, "oidc_user", "13888880000", e.cityID(t), RoleReviewer)
	id, err := e.f.CheckPassword(ctx, oidcprovider.PasswordCheck{Username: "oidc_user", Password: strongPW, IP: "10.0.0.6", Device: "t"})
	if err != nil || id != u.UserID {
		t.Fatalf("CheckPassword %q %v", id, err)
	}
	_, err = e.f.UserByExternal(ctx, "wechat", "union-1")
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("unbound external: %v", err)
	}
	if err := e.f.BindExternal(ctx, u.UserID, "wechat", "union-1"); err != nil {
		t.Fatal(err)
	}
	if id, err := e.f.UserByExternal(ctx, "wechat", "union-1"); err != nil || id != u.UserID {
		t.Fatalf("bound external %q %v", id, err)
	}
	p, err := e.f.Principal(ctx, u.UserID)
	if err != nil || !p.Can("qr.code", "approve") {
		t.Fatalf("principal %+v %v", p, err)
	}
}

func TestPasswordHashing(t *testing.T) {
	t.Parallel()
	h, err := config.Defaults[Config]().hashPassword("Secret#123abc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("PHC string %q", h)
	}
	if !checkPassword(h, "Secret#123abc") || checkPassword(h, "Secret#123abd") || checkPassword("garbage", "x") {
		t.Fatal("checkPassword disagrees with hashPassword")
	}
	c := config.Defaults[Config]()
	for pw, ok := range map[string]bool{"Abcdef12#x": true, "abcdefghij": false, "Ab1#": false, "admin#Pass99": true} {
		if err := c.checkPolicy("p", pw, "zhang"); (err == nil) != ok {
			t.Errorf("policy(%q) = %v, want ok=%v", pw, err, ok)
		}
	}
	if c.checkPolicy("p", "Zhang#12345", "zhang") == nil {
		t.Error("password containing the username accepted")
	}
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SeedDemo = true })
	ctx := context.Background()
	var bureaus, stations int
	_ = e.f.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE level = 'district'), count(*) FILTER (WHERE level = 'station') FROM identity.departments`).
		Scan(&bureaus, &stations)
	if bureaus < 20 || stations != 4 {
		t.Fatalf("%d district bureaus, %d stations", bureaus, stations)
	}
	for _, u := range []string{"changan_admin", "changan_inspector", "qiaoxi_inspector"} {
		if e.pw[u] == "" {
			t.Fatalf("no generated password for demo user %s", u)
		}
	}
	a, _ := e.activate(t, "changan_admin", e.pw["changan_admin"], strongPW)
	page, err := e.f.Users(ctx, a, UserFilter{}, httpx.Page{Page: 1, Size: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range page.Items {
		if strings.HasPrefix(u.Username, "qiaoxi") || u.Username == "admin" {
			t.Fatalf("长安 demo admin sees %s", u.Username)
		}
	}
	if page.Total != 3 {
		t.Fatalf("长安 demo admin sees %d users, want 3", page.Total)
	}
}

func TestPasswordExpiryForcesChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.PasswordExpiryDays = 30 })
	ctx := context.Background()
	e.user(t, "expiring", "13899990000", e.cityID(t), RoleInspector)
	tok, err := e.f.Login(ctx, LoginInput{Username: "expiring", Password: strongPW}, "10.0.0.7", "t")
	if err != nil || tok.MustChangePassword {
		t.Fatalf("fresh password: must change %v, err %v", tok.MustChangePassword, err)
	}
	e.clock.Advance(31 * 24 * time.Hour)
	tok, err = e.f.Login(ctx, LoginInput{Username: "expiring", Password: strongPW}, "10.0.0.7", "t")
	if err != nil || !tok.MustChangePassword {
		t.Fatalf("expired password: must change %v, err %v", tok.MustChangePassword, err)
	}
}

// TestForceLogoutEndsTheSession drives the composed online sub-package:
// the security administrator's force-logout ends the session here, so the
// refresh token dies with the access token.
func TestForceLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	_, sec := e.activate(t, "secadmin", e.pw["secadmin"], strongPW)
	_, tok := e.user(t, "victim", "13800001234", e.cityID(t), RoleInspector)
	resp, body := e.do(t, "POST", "/identity/v1/heartbeat", tok.AccessToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "POST", "/identity/v1/online/"+tok.sessionID+"/logout", sec.AccessToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("force logout: %d %s", resp.StatusCode, body)
	}
	_, err := e.f.Refresh(ctx, tok.RefreshToken)
	wantCode(t, "refresh after force logout", err, errs.Unauthorized)
	testwait.For(t, "the forced-out token to be refused", func() bool {
		r, _ := e.do(t, "GET", "/identity/v1/me", tok.AccessToken, "")
		return r.StatusCode == http.StatusUnauthorized
	})
}

// TestChangesWriteBeforeAndAfter checks the operation log of each kind of
// change carries the object's state around it.
func TestChangesWriteBeforeAndAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	admin := e.adminActor(t)
	d := e.dept(t, e.cityID(t), "新华区市场监督管理局", "district", []string{"130105"}, nil)
	if _, err := e.f.UpdateDepartment(ctx, admin, d.ID, DeptInput{Name: "新华区市场监管局", DistrictCodes: []string{"130105"}}); err != nil {
		t.Fatal(err)
	}
	r, err := e.f.CreateRole(ctx, admin, RoleInput{Code: "viewer", Name: "查看员", Perms: []string{"registry.entity:view"}, ScopeKind: auth.ScopeDept})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := e.user(t, "logged", "13800005678", d.ID, RoleInspector)
	if _, err := e.f.UpdateUser(ctx, admin, u.UserID, UserInput{Name: "改过的名字", Phone: "13800005678", DeptID: d.ID,
		RoleIDs: []string{r.ID}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ action, path, before, after string }{
		{"dept.create", "name", "", "新华区市场监督管理局"},
		{"dept.update", "name", "新华区市场监督管理局", "新华区市场监管局"},
		{"role.create", "code", "", "viewer"},
		{"user.update", "name", "测试logged", "改过的名字"},
		{"user.password.change", "must_change_password", "true", "false"},
	} {
		var before, after *string
		err := e.f.pool.QueryRow(ctx, `SELECT before->>$2, after->>$2 FROM recorded.op_log WHERE action = $1 ORDER BY at DESC LIMIT 1`,
			c.action, c.path).Scan(&before, &after)
		if err != nil {
			t.Fatalf("%s: %v", c.action, err)
		}
		if deref(before) != c.before || deref(after) != c.after {
			t.Errorf("%s: before %q after %q, want %q %q", c.action, deref(before), deref(after), c.before, c.after)
		}
	}
	var roles string
	_ = e.f.pool.QueryRow(ctx, `SELECT after->'roles'->0->>'code' FROM recorded.op_log WHERE action = 'user.update'`).Scan(&roles)
	if roles != "viewer" {
		t.Fatalf("user.update after roles %q", roles)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// BenchmarkLogin measures password logins (argon2id at the production
// cost, session and token issue, login log) one after another.
func BenchmarkLogin(b *testing.B) {
	e := newEnvB(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.f.Login(ctx, LoginInput{Username: "admin", Password: e.pw["admin"]}, "10.0.0.1", "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPasswordCheck is the anchor for BenchmarkLogin: one argon2id
// verification at the production cost.
func BenchmarkPasswordCheck(b *testing.B) {
	h, err := config.Defaults[Config]().hashPassword(strongPW)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !checkPassword(h, strongPW) {
			b.Fatal("mismatch")
		}
	}
}

// A database bootstrapped again with the same data directory (a benchmark's
// or a recreated one) replaces the accounts' lines instead of appending a
// second, valid line below a stale one.
func TestInitialPasswordFileKeepsOneLinePerAccount(t *testing.T) {
	t.Parallel()
	f := &Function{cfg: Config{DataDir: t.TempDir()}}
	path := filepath.Join(f.cfg.DataDir, InitialPasswordFile)
	if err := f.writeCredentials([]credential{{"admin", "old-a"}, {"secadmin", "old-s"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.writeCredentials([]credential{{"admin", "new-a"}, {"auditor", "new-u"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.removeCredentialLine("secadmin"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "admin\tnew-a\nauditor\tnew-u\n"; got != want {
		t.Errorf("file %q, want %q", got, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	for _, u := range []string{"admin", "auditor"} {
		if err := f.removeCredentialLine(u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file left after the last line: %v", err)
	}
}

// TestUnknownParametersRefused: a filter or sort the list does not know
// is refused, never silently ignored.
func TestUnknownParametersRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, tok := e.activate(t, "admin", e.pw["admin"], strongPW)
	for path, want := range map[string]int{
		"/identity/v1/users?bogus=1":          http.StatusBadRequest,
		"/identity/v1/users?sort=password":    http.StatusBadRequest,
		"/identity/v1/users?sort=-username":   http.StatusOK,
		"/identity/v1/departments?tree=1&x=1": http.StatusBadRequest,
		// The console's list sends its paging to the whole-list routes.
		"/identity/v1/roles?page=1&page_size=20&q=admin&sort=-name":  http.StatusOK,
		"/identity/v1/roles?sort=perms":                              http.StatusBadRequest,
		"/identity/v1/changelog?page=1&page_size=10":                 http.StatusOK,
		"/identity/v1/registrations?sort=-created_at&status=pending": http.StatusOK,
		"/identity/v1/registrations?sort=name":                       http.StatusBadRequest,
	} {
		if resp, body := e.do(t, "GET", path, tok.AccessToken, ""); resp.StatusCode != want {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
	}
}

// TestStartSaysTheSMSGatewayIsTheSimulator: the default gateway is the
// local simulator, and the start-up log says so.
func TestStartSaysTheSMSGatewayIsTheSimulator(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var buf syncBuffer
	d := e.deps
	d.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	c := e.cfg
	c.SMSGatewayURL = "http://localhost:8080/sim/sms"
	start(t, d, c)
	if !strings.Contains(buf.String(), "SMS gateway is the local simulator") {
		t.Fatalf("start-up log does not name the simulator:\n%s", buf.String())
	}
	buf.Reset()
	c.SMSGatewayURL = "https://sms.example.gov.cn"
	start(t, d, c)
	if strings.Contains(buf.String(), "simulator") {
		t.Fatalf("a real gateway is called a simulator:\n%s", buf.String())
	}
}

// syncBuffer is a log sink safe for the function's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
