package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// countingHasher counts the password checks, so a test proves the work
// every login does without timing anything.
type countingHasher struct {
	Hasher
	checks atomic.Int64
}

func (h *countingHasher) Check(phc, pw string) bool {
	h.checks.Add(1)
	return h.Hasher.Check(phc, pw)
}

// answer is what a client can observe of an HTTP answer.
type answer struct {
	status int
	body   string
	header http.Header
}

func (e *env) post(t *testing.T, path, body string, hdr map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.f.Handler().ServeHTTP(rec, req)
	h := rec.Header().Clone()
	h.Del("Date")
	return answer{rec.Code, rec.Body.String(), h}
}

func loginBody(username, password string) string {
	b, _ := json.Marshal(LoginInput{Username: username, Password: password})
	return string(b)
}

// solveCaptcha makes a captcha and reads its answer, as a person reads the
// picture.
func (e *env) solveCaptcha(t *testing.T, ip string) (id, answer string) {
	t.Helper()
	ctx := context.Background()
	id, err := e.f.NewCaptcha(ctx, ip)
	if err != nil {
		t.Fatal(err)
	}
	digits, err := e.rdb.Get(ctx, e.f.captchaKey(id)).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range digits {
		answer += fmt.Sprint(d)
	}
	return id, answer
}

// TestLoginAnswersAlike (issue 10, username enumeration): an unknown user,
// a wrong password, and a frozen or locked account with the right
// password or a wrong one all get the same status, body and headers, and
// every one of them costs exactly one password check, the unknown user's
// against the dummy hash.
// FP-3
func TestLoginAnswersAlike(t *testing.T) {
	t.Parallel()
	hasher := &countingHasher{Hasher: argon2Hasher{Config{Argon2MemoryKiB: 1024, Argon2Passes: 1}}}
	e := newEnvDeps(t, nil, func(d *Deps) { d.Hasher = hasher })
	ctx := context.Background()
	admin := e.adminActor(t)
	city := e.cityID(t)
	e.user(t, "alice", "13800000201", city, RoleInspector)
	frozen, _ := e.user(t, "frozen_u", "13800000202", city, RoleInspector)
	locked, _ := e.user(t, "locked_u", "13800000203", city, RoleInspector)
	if _, err := e.f.Freeze(ctx, admin, frozen.UserID, "离职冻结"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.pool.Exec(ctx, `UPDATE identity.users SET locked_until = $2 WHERE id = $1`, locked.UserID, e.clock.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, username, password string }{
		{"unknown user", "ghost", "Wrong#Pass123"},
		{"wrong password", "alice", "Wrong#Pass123"},
		{"frozen, right password", "frozen_u", strongPW},
		{"frozen, wrong password", "frozen_u", "Wrong#Pass123"},
		{"locked, right password", "locked_u", strongPW},
		{"locked, wrong password", "locked_u", "Wrong#Pass123"},
	}
	var first answer
	for i, c := range cases {
		before := hasher.checks.Load()
		// No name fails more than twice, the address six times: no
		// captcha is asked for, so nothing but the account differs.
		got := e.post(t, "/identity/v1/login", loginBody(c.username, c.password), nil)
		if n := hasher.checks.Load() - before; n != 1 {
			t.Errorf("%s: %d password checks, want exactly 1", c.name, n)
		}
		if i == 0 {
			first = got
			if got.status != http.StatusUnauthorized || !strings.Contains(got.body, msgBadCredentials) {
				t.Fatalf("%s: %d %s", c.name, got.status, got.body)
			}
			continue
		}
		if got.status != first.status || got.body != first.body || fmt.Sprint(got.header) != fmt.Sprint(first.header) {
			t.Errorf("%s answers differently from an unknown user:\n%d %v %s\n%d %v %s", c.name,
				got.status, got.header, got.body, first.status, first.header, first.body)
		}
	}
	if strings.Contains(first.body, "锁定") || strings.Contains(first.body, "冻结") || strings.Contains(first.body, "再失败") {
		t.Errorf("the refusal tells the account's state: %s", first.body)
	}
	// The log still tells the administrators what happened.
	var reasons []string
	rows, err := e.f.pool.Query(ctx, `SELECT reason FROM recorded.login_log WHERE result = 'failure' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r string
		_ = rows.Scan(&r)
		reasons = append(reasons, r)
	}
	for _, want := range []string{"用户不存在", "密码错误", "账号已冻结", "账号已锁定"} {
		if !slices.Contains(reasons, want) {
			t.Errorf("login log reasons %v lack %q", reasons, want)
		}
	}
}

// TestRegistrationAnswersAlikeForTakenNames (issue 10): applying for a
// taken username answers exactly like applying for a free one, files
// nothing, and tells the applicant by SMS instead.
func TestRegistrationAnswersAlikeForTakenNames(t *testing.T) {
	t.Parallel()
	hasher := &countingHasher{Hasher: argon2Hasher{Config{Argon2MemoryKiB: 1024, Argon2Passes: 1}}}
	e := newEnvDeps(t, nil, func(d *Deps) { d.Hasher = hasher })
	ctx := context.Background()
	city := e.cityID(t)
	form := func(username, phone string) string {
		return `{"username":"` + username + `","name":"申请人","phone":"` + phone + `","id_number":"11010519491231002X","dept_id":"` + city +
			`","reason":"新入职","password":"Reg#Pass2024x"}`
	}
	taken := e.post(t, "/identity/v1/registrations", form("admin", "13844440001"), nil)
	free := e.post(t, "/identity/v1/registrations", form("newcomer", "13844440002"), nil)
	if taken.status != http.StatusAccepted || taken.status != free.status || taken.body != free.body || fmt.Sprint(taken.header) != fmt.Sprint(free.header) {
		t.Fatalf("taken and free names answer differently:\n%d %s\n%d %s", taken.status, taken.body, free.status, free.body)
	}
	var n int
	if err := e.f.pool.QueryRow(ctx, `SELECT count(*) FROM identity.registrations WHERE username = 'admin'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d applications filed for a taken name (%v)", n, err)
	}
	if m, ok := e.sim.Last("13844440001"); !ok || !strings.Contains(m.Params["result"], "用户名已被使用") {
		t.Fatalf("the applicant for a taken name is not told by SMS: %+v", m)
	}
	if m, ok := e.sim.Last("13844440002"); !ok || !strings.Contains(m.Params["result"], "已受理") {
		t.Fatalf("the applicant for a free name is not told by SMS: %+v", m)
	}
	// A pending application holds its name the same way.
	again := e.post(t, "/identity/v1/registrations", form("newcomer", "13844440003"), nil)
	if again.status != free.status || again.body != free.body {
		t.Fatalf("a name held by a pending application answers %d %s", again.status, again.body)
	}
}

// TestAnonymousFailuresNeverLockTheOwnerOut (issue 10, lockout as denial
// of service): fifty anonymous wrong passwords for admin lock nothing:
// after three the account asks for a captcha, and attempts without one
// are refused before any password check; the owner solves a captcha and
// logs in.
func TestAnonymousFailuresNeverLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	hasher := &countingHasher{Hasher: argon2Hasher{Config{Argon2MemoryKiB: 1024, Argon2Passes: 1}}}
	e := newEnvDeps(t, nil, func(d *Deps) { d.Hasher = hasher })
	ctx := context.Background()
	e.adminActor(t)
	before := hasher.checks.Load()
	var captchaAsked int
	for i := range 50 {
		_, err := e.f.Login(ctx, LoginInput{Username: "admin", Password: "wrong-password"}, fmt.Sprintf("10.7.%d.%d", i/200, i%200), "attacker")
		switch e := errs.As(err); {
		case e == nil:
			t.Fatal("a wrong password logged in")
		case i < e2cAfter() && e.Code != errs.Unauthorized:
			t.Fatalf("attempt %d: %v, want the plain refusal", i, err)
		case i >= e2cAfter() && (e.Code != errs.Invalid || !slices.ContainsFunc(e.Fields, func(f errs.FieldError) bool { return f.Field == "captcha" })):
			t.Fatalf("attempt %d without a captcha: %v, want a captcha asked for", i, err)
		case i >= e2cAfter():
			captchaAsked++
		}
	}
	if n := hasher.checks.Load() - before; n != int64(e2cAfter()) {
		t.Fatalf("%d password checks for 50 anonymous attempts, want %d (the rest stopped at the captcha)", n, e2cAfter())
	}
	var failed int
	var lockedUntil *time.Time
	if err := e.f.pool.QueryRow(ctx, `SELECT failed_logins, locked_until FROM identity.users WHERE username = 'admin'`).Scan(&failed, &lockedUntil); err != nil {
		t.Fatal(err)
	}
	if failed != 0 || lockedUntil != nil {
		t.Fatalf("anonymous failures count toward the lock: failed_logins %d, locked_until %v", failed, lockedUntil)
	}
	// Every attempt is in the login log, those stopped at the captcha too,
	// so the audit function's failure alerts still see the guesser.
	var logged, atCaptcha int
	if err := e.f.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE reason = '未提供验证码')
		FROM recorded.login_log WHERE username = 'admin' AND result = 'failure' AND device = 'attacker'`).Scan(&logged, &atCaptcha); err != nil {
		t.Fatal(err)
	}
	if logged != 50 || atCaptcha != captchaAsked {
		t.Fatalf("login log has %d of 50 refused attempts (%d at the captcha, want %d)", logged, atCaptcha, captchaAsked)
	}
	// The owner, from the office: asked for a captcha too, solves it, is in.
	_, err := e.f.Login(ctx, LoginInput{Username: "admin", Password: strongPW}, "10.0.0.1", "owner")
	wantCode(t, "owner without a captcha", err, errs.Invalid)
	id, ans := e.solveCaptcha(t, "10.0.0.1")
	if _, err := e.f.Login(ctx, LoginInput{Username: "admin", Password: strongPW, CaptchaID: id, Captcha: ans}, "10.0.0.1", "owner"); err != nil {
		t.Fatalf("the owner with a solved captcha: %v", err)
	}
	// In, the account's counter is cleared: no captcha next time.
	if _, err := e.f.Login(ctx, LoginInput{Username: "admin", Password: strongPW}, "10.0.0.1", "owner"); err != nil {
		t.Fatalf("the owner's next login: %v", err)
	}
}

func e2cAfter() int { return 3 } // IDENTITY_CAPTCHA_AFTER's default

// TestCaptchaVerifiedFailuresDelayThenLock: failures that passed a
// captcha make the next attempt wait 1 s, 2 s, 4 s … and the fifth locks
// the account; its owner is told by SMS, the right password is refused
// like a wrong one while it lasts, and an SMS reset unlocks it at once.
func TestCaptchaVerifiedFailuresDelayThenLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	e.user(t, "zhao", "13912340000", e.cityID(t), RoleInspector)
	ip := "10.8.0.1"
	for range e2cAfter() {
		_, err := e.f.Login(ctx, LoginInput{Username: "zhao", Password: "wrong-password"}, ip, "t")
		wantCode(t, "free failure", err, errs.Unauthorized)
	}
	for i := range e.cfg.LockoutThreshold {
		id, ans := e.solveCaptcha(t, ip)
		_, err := e.f.Login(ctx, LoginInput{Username: "zhao", Password: "wrong-password", CaptchaID: id, Captcha: ans}, ip, "t")
		wantCode(t, "captcha-verified failure", err, errs.Unauthorized)
		if i == e.cfg.LockoutThreshold-1 {
			break
		}
		// The next attempt must wait: refused at once without a check.
		id, ans = e.solveCaptcha(t, ip)
		_, err = e.f.Login(ctx, LoginInput{Username: "zhao", Password: strongPW, CaptchaID: id, Captcha: ans}, ip, "t")
		wantCode(t, "attempt before the delay is over", err, errs.Unavailable)
		if !strings.Contains(errs.As(err).Message, "秒后再试") {
			t.Fatalf("the delay does not say how long: %v", err)
		}
		e.clock.Advance(e.cfg.LoginDelayMax)
	}
	var lockedUntil *time.Time
	_ = e.f.pool.QueryRow(ctx, `SELECT locked_until FROM identity.users WHERE username = 'zhao'`).Scan(&lockedUntil)
	if lockedUntil == nil {
		t.Fatal("five captcha-verified failures did not lock the account")
	}
	m, ok := e.sim.Last("13912340000")
	if !ok || m.Template != e.cfg.SMSTemplateLocked || m.Params["username"] != "zhao" {
		t.Fatalf("the owner is not told of the lock: %+v", m)
	}
	e.clock.Advance(e.cfg.LoginDelayMax)
	id, ans := e.solveCaptcha(t, ip)
	_, err := e.f.Login(ctx, LoginInput{Username: "zhao", Password: strongPW, CaptchaID: id, Captcha: ans}, ip, "t")
	wantCode(t, "right password while locked", err, errs.Unauthorized)

	// The SMS reset always works and unlocks.
	if err := e.f.RequestResetCode(ctx, ResetRequest{Username: "zhao", Phone: "13912340000"}, "10.8.0.2"); err != nil {
		t.Fatal(err)
	}
	m, _ = e.sim.Last("13912340000")
	if err := e.f.ResetPassword(ctx, ResetInput{Username: "zhao", Phone: "13912340000", Code: m.Params["code"], NewPassword: "Nw8#kdPq2!zz"}, "10.8.0.2", "t"); err != nil {
		t.Fatalf("reset while locked: %v", err)
	}
	e.clock.Advance(e.cfg.LoginDelayMax)
	id, ans = e.solveCaptcha(t, "10.8.0.2")
	if _, err := e.f.Login(ctx, LoginInput{Username: "zhao", Password: "Nw8#kdPq2!zz", CaptchaID: id, Captcha: ans}, "10.8.0.2", "t"); err != nil {
		t.Fatalf("login after the reset: %v", err)
	}
}

// TestCaptchaIsOneUseAndServed: the picture is a PNG served by identity;
// an answer is spent by its first check, right or wrong; an address that
// failed often needs a captcha for any name.
func TestCaptchaIsOneUseAndServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.CaptchaAfterIP = 2 })
	ctx := context.Background()
	got := e.post(t, "/identity/v1/captchas", "", nil)
	var c CaptchaAnswer
	if err := json.Unmarshal([]byte(got.body), &c); got.status != http.StatusCreated || err != nil || c.CaptchaID == "" {
		t.Fatalf("new captcha: %d %s", got.status, got.body)
	}
	rec := httptest.NewRecorder()
	e.f.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.ImageURL, nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || !strings.HasPrefix(rec.Body.String(), "\x89PNG") {
		t.Fatalf("captcha image: %d %s", rec.Code, rec.Header())
	}
	id, ans := e.solveCaptcha(t, "10.9.0.1")
	if ok, err := e.f.checkCaptcha(ctx, id, ans); !ok || err != nil {
		t.Fatalf("the right answer: %v %v", ok, err)
	}
	if ok, _ := e.f.checkCaptcha(ctx, id, ans); ok {
		t.Fatal("a captcha answered twice")
	}
	id, ans = e.solveCaptcha(t, "10.9.0.1")
	if ok, _ := e.f.checkCaptcha(ctx, id, ans+"0"); ok {
		t.Fatal("a wrong answer passed")
	}
	if ok, _ := e.f.checkCaptcha(ctx, id, ans); ok {
		t.Fatal("a wrong answer did not spend the captcha")
	}
	// Per address: two failures on different names, then any name asks.
	for _, name := range []string{"n1", "n2"} {
		_, err := e.f.Login(ctx, LoginInput{Username: name, Password: "x"}, "10.9.0.9", "t")
		wantCode(t, "failure", err, errs.Unauthorized)
	}
	_, err := e.f.Login(ctx, LoginInput{Username: "n3", Password: "x"}, "10.9.0.9", "t")
	wantCode(t, "a fresh name from a failing address", err, errs.Invalid)
}

// TestPasswordChangeGuessesCount (issue 10): a wrong old password is a
// password guess: each is in the login log and counts toward the lock;
// the fifth locks the account and ends its sessions.
func TestPasswordChangeGuessesCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	a, tok := e.user(t, "qian", "13912341111", e.cityID(t), RoleInspector)
	for i := range e.cfg.LockoutThreshold {
		resp, body := e.do(t, "POST", "/identity/v1/password/change", tok.AccessToken, `{"old_password":"Guess#00`+fmt.Sprint(i)+`x","new_password":"Nw8#kdPq2!zz"}`)
		if i < e.cfg.LockoutThreshold-1 && (resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "原密码不正确")) {
			t.Fatalf("guess %d: %d %s", i, resp.StatusCode, body)
		}
		e.clock.Advance(e.cfg.LoginDelayMax)
	}
	var n, failed int
	var lockedUntil *time.Time
	_ = e.f.pool.QueryRow(ctx, `SELECT count(*) FROM recorded.login_log WHERE user_id = $1 AND result = 'failure' AND reason LIKE '修改密码时原密码错误%'`,
		a.UserID).Scan(&n)
	_ = e.f.pool.QueryRow(ctx, `SELECT failed_logins, locked_until FROM identity.users WHERE id = $1`, a.UserID).Scan(&failed, &lockedUntil)
	if n != e.cfg.LockoutThreshold || lockedUntil == nil {
		t.Fatalf("%d logged guesses (want %d), locked_until %v", n, e.cfg.LockoutThreshold, lockedUntil)
	}
	testwait.For(t, "the locked account's token to be refused", func() bool {
		r, _ := e.do(t, "GET", "/identity/v1/me", tok.AccessToken, "")
		return r.StatusCode == http.StatusUnauthorized
	})
	if _, err := e.f.Refresh(ctx, tok.RefreshToken); err == nil {
		t.Fatal("the locked account's refresh token still works")
	}
}

// TestPasswordChangeIsThrottled: a guess right after one that counted
// waits like a login.
func TestPasswordChangeIsThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.CaptchaAfter = 1 })
	a, _ := e.user(t, "sun", "13912342222", e.cityID(t), RoleInspector)
	ctx := context.Background()
	for i := range 2 {
		_, err := e.f.ChangePassword(ctx, a, PasswordChange{OldPassword: "Guess#123x", NewPassword: "Nw8#kdPq2!zz"})
		wantCode(t, fmt.Sprint("guess ", i), err, errs.Invalid)
	}
	_, err := e.f.ChangePassword(ctx, a, PasswordChange{OldPassword: strongPW, NewPassword: "Nw8#kdPq2!zz"})
	wantCode(t, "a change right after counted guesses", err, errs.Unavailable)
	e.clock.Advance(e.cfg.LoginDelayMax)
	if _, err := e.f.ChangePassword(ctx, a, PasswordChange{OldPassword: strongPW, NewPassword: "Nw8#kdPq2!zz"}); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
}

// browserClient is a browser on the test server: a cookie jar honouring
// paths, and the page's Origin on every request.
func (e *env) browserClient(t *testing.T) (*http.Client, func(method, path, body string) *http.Response) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	return c, func(method, path, body string) *http.Response {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", e.srv.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
}

// TestLogoutRevokesTheRefreshCookie (issue 10): once the access cookie
// has expired, the browser still sends the refresh cookie to logout, and
// logout ends its session: the refresh token stops working.
func TestLogoutRevokesTheRefreshCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user(t, "zhou", "13912343333", e.cityID(t), RoleReviewer)
	c, do := e.browserClient(t)
	if resp := do("POST", "/identity/v1/login", loginBody("zhou", strongPW)); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	logoutURL, _ := url.Parse(e.srv.URL + "/identity/v1/logout")
	var refresh string
	for _, ck := range c.Jar.Cookies(logoutURL) {
		if ck.Name == RefreshCookie {
			refresh = ck.Value
		}
	}
	if refresh == "" {
		t.Fatalf("the browser does not send the refresh cookie to logout: %v", c.Jar.Cookies(logoutURL))
	}
	// The access cookie expired: only the refresh cookie goes along.
	req, _ := http.NewRequest("POST", logoutURL.String(), nil)
	req.Header.Set("Origin", e.srv.URL)
	req.AddCookie(&http.Cookie{Name: RefreshCookie, Value: refresh})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if _, err := e.f.Refresh(context.Background(), refresh); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("the refresh token after logout: %v", err)
	}
}

// TestCrossSiteCookieRequestsRefused (issue 10, CSRF): a page on another
// site cannot use a logged-in browser's cookies: the text/plain POST that
// created a user is refused and creates nobody, and so are refresh and
// logout; a login posted from another site is refused too. The console's
// own requests (same origin) pass.
func TestCrossSiteCookieRequestsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	e.adminActor(t)
	c, do := e.browserClient(t)
	if resp := do("POST", "/identity/v1/login", loginBody("admin", strongPW)); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	user := func(name string) string {
		return `{"username":"` + name + `","name":"跨站测试","phone":"13912344444","dept_id":"` + e.cityID(t) + `","role_ids":["` + e.roleID(t, RoleInspector) + `"]}`
	}
	cross := func(path, body string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := cross("/identity/v1/users", user("csrf_victim")); st != http.StatusForbidden {
		t.Fatalf("cross-site create user: %d, want 403", st)
	}
	var n int
	_ = e.f.pool.QueryRow(ctx, `SELECT count(*) FROM identity.users WHERE username = 'csrf_victim'`).Scan(&n)
	if n != 0 {
		t.Fatal("a cross-site request created a user")
	}
	for _, p := range []string{"/identity/v1/token/refresh", "/identity/v1/logout"} {
		if st := cross(p, ""); st != http.StatusForbidden {
			t.Errorf("cross-site %s with the cookies: %d, want 403", p, st)
		}
	}
	if st := cross("/identity/v1/login", loginBody("admin", strongPW)); st != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", st)
	}
	// The console, same origin, with the same cookies.
	if resp := do("POST", "/identity/v1/users", user("same_site")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("same-origin create user: %d", resp.StatusCode)
	}
	if resp := do("POST", "/identity/v1/token/refresh", ""); resp.StatusCode != 200 {
		t.Fatalf("same-origin refresh: %d", resp.StatusCode)
	}
	if resp := do("POST", "/identity/v1/logout", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("same-origin logout: %d", resp.StatusCode)
	}
}

// TestForwardedForFromUntrustedPeer (issue 10, trusted proxies): behind
// the runtime with no trusted proxy, X-Forwarded-For is the client's own
// claim: rotating it neither escapes the per-address SMS and registration
// limits nor writes invented addresses into the login log. From a trusted
// proxy the forwarded client is believed.
func TestForwardedForFromUntrustedPeer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SMSPerIPHour, c.RegisterPerIPHour = 2, 2 })
	ctx := context.Background()
	city := e.cityID(t)
	serve := func(proxies string, path, body, xff string) int {
		p, err := httpx.ParseProxies(proxies)
		if err != nil {
			t.Fatal(err)
		}
		h := runtime.Handler(Name, e.f, runtime.Options{Logger: e.deps.Logger, Proxies: p})
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.RemoteAddr = "192.0.2.10:40000"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 3 {
		st := serve("", "/identity/v1/password/reset/sms", `{"username":"u","phone":"1390000000`+fmt.Sprint(i)+`"}`, fmt.Sprintf("203.0.113.%d", i))
		if i < 2 && st != http.StatusAccepted || i == 2 && st != http.StatusServiceUnavailable {
			t.Errorf("SMS request %d with a fresh X-Forwarded-For: %d", i, st)
		}
	}
	for i := range 3 {
		body := `{"username":"xff` + fmt.Sprint(i) + `","name":"申请人","phone":"1384444000` + fmt.Sprint(i) + `","id_number":"11010519491231002X","dept_id":"` +
			city + `","reason":"x","password":"Reg#Pass2024x"}`
		st := serve("", "/identity/v1/registrations", body, fmt.Sprintf("198.51.100.%d", i))
		if i < 2 && st != http.StatusAccepted || i == 2 && st != http.StatusServiceUnavailable {
			t.Errorf("registration %d with a fresh X-Forwarded-For: %d", i, st)
		}
	}
	serve("", "/identity/v1/login", loginBody("ghost", "x"), "203.0.113.99")
	serve("192.0.2.10/32", "/identity/v1/login", loginBody("ghost2", "x"), "203.0.113.77")
	got := map[string]string{}
	rows, err := e.f.pool.Query(ctx, `SELECT username, ip FROM recorded.login_log WHERE username IN ('ghost', 'ghost2')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u, ip string
		if err := rows.Scan(&u, &ip); err != nil {
			t.Fatal(err)
		}
		got[u] = ip
	}
	if got["ghost"] != "192.0.2.10" || got["ghost2"] != "203.0.113.77" {
		t.Fatalf("login log addresses %v: want the peer from an untrusted one, the forwarded client from a trusted proxy", got)
	}
}
