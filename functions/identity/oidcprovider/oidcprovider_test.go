package oidcprovider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/sim/oidcupstream"
	"github.com/sjzamr/smartreg/tests/sim/wechat"
)

// fakeAccounts stands in for identity's accounts service (the real one
// implements the same interface; see docs/functions/identity-oidc.md).
type fakeAccounts struct {
	mu       sync.Mutex
	users    map[string]fakeUser // by username
	bindings map[string]string   // provider+"|"+subject → user id
	frozen   map[string]bool
	captcha  string // when set, every password check needs this captcha answer
	checks   int
	sessions []string // user ids StartSession was called for
	ended    []string // sessions EndSession ended
	direct   bool     // implements StartSession
}

type fakeUser struct{ id, password, name string }

func newFakeAccounts() *fakeAccounts {
	return &fakeAccounts{
		users: map[string]fakeUser{
			"zhangsan": {"u-1", "Passw0rd!", "张三"},
			"lisi":     {"u-2", "S3cret#pw", "李四"},
		},
		bindings: map[string]string{}, frozen: map[string]bool{},
	}
}

func (a *fakeAccounts) CheckPassword(_ context.Context, in PasswordCheck) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks++
	if a.captcha != "" && (in.CaptchaID != "cap-1" || in.Captcha != a.captcha) {
		return "", &errs.Error{Code: errs.Invalid, Message: "请输入图形验证码", Fields: []errs.FieldError{{Field: "captcha", Message: "请输入图形验证码"}}}
	}
	u, ok := a.users[in.Username]
	if !ok || u.password != in.Password {
		return "", errs.New(errs.Unauthorized, "用户名或密码错误")
	}
	if in.IP == "" {
		return "", errors.New("no ip passed")
	}
	return u.id, nil
}

func (a *fakeAccounts) NewCaptcha(context.Context, string) (string, error) { return "cap-1", nil }

func (a *fakeAccounts) EndSession(_ context.Context, sid string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ended = append(a.ended, sid)
	return nil
}

func (a *fakeAccounts) endedSessions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.ended)
}

func (a *fakeAccounts) Principal(_ context.Context, userID string) (*auth.Principal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.frozen[userID] {
		return nil, errs.New(errs.Forbidden, "账号已冻结")
	}
	for name, u := range a.users {
		if u.id == userID {
			return &auth.Principal{UserID: u.id, Username: name, Name: u.name, DeptID: "d-1", Roles: []string{"inspector"},
				Perms: []string{"registry.entity:view"}, Scope: auth.Scope{Kind: "all"}}, nil
		}
	}
	return nil, errs.ErrNotFound
}

func (a *fakeAccounts) UserByExternal(_ context.Context, provider, subject string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := a.bindings[provider+"|"+subject]; ok {
		return id, nil
	}
	return "", errs.ErrNotFound
}

func (a *fakeAccounts) BindExternal(_ context.Context, userID, provider, subject string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bindings[provider+"|"+subject] = userID
	return nil
}

// directAccounts adds the optional SessionStarter.
type directAccounts struct{ *fakeAccounts }

func (a directAccounts) StartSession(_ context.Context, w http.ResponseWriter, _ *http.Request, userID, method string) error {
	a.mu.Lock()
	a.sessions = append(a.sessions, userID+"/"+method)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "smartreg_at", Value: "session-of-" + userID, Path: "/"})
	return nil
}

type env struct {
	t        *testing.T
	srv      *httptest.Server
	p        *Provider
	verifier *auth.Verifier
	issuer   *auth.Issuer
	accounts *fakeAccounts
	wx       *wechat.Server
	up       *oidcupstream.Server
	upSrv    *httptest.Server
}

type envOpts struct {
	replicas int // >1: requests alternate between that many providers on one database
	direct   bool
	upstream bool
	wechat   bool
	wxRate   int
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	pool := storetest.New(t, schema(), auditlogtest.Migration())
	e := &env{t: t, accounts: newFakeAccounts()}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e.issuer, err = auth.NewIssuer(auth.IssuerConfig{Issuer: e.srv.URL + IssuerPath, Audience: "smartreg", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	e.verifier, err = auth.NewVerifier(auth.VerifierConfig{Keys: e.issuer, Issuer: e.issuer.Issuer(), Audience: e.issuer.Audience()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.verifier.Close)
	var c Config
	d := Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Accounts: e.accounts, Signer: e.issuer, Verifier: e.verifier,
		PublicBaseURL: e.srv.URL, CryptoKey: testKey, Now: time.Now}
	if o.direct {
		d.Accounts = directAccounts{e.accounts}
	}
	if o.upstream {
		e.up, err = oidcupstream.New(oidcupstream.Config{
			Clients: []oidcupstream.Client{{ID: "smartreg", Secret: "province-secret", RedirectURIs: []string{e.srv.URL + "/identity/v1/login/upstream/callback"}}},
			Users:   []oidcupstream.User{{Subject: "hb-130102-0001", Username: "zhang.san", Password: "province-pw", Name: "张三"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		e.upSrv = httptest.NewServer(e.up)
		t.Cleanup(e.upSrv.Close)
		e.up.SetIssuer(e.upSrv.URL)
		c.UpstreamIssuer, c.UpstreamClientID, c.UpstreamClientSecret = e.upSrv.URL, "smartreg", "province-secret"
	}
	if o.wechat {
		e.wx = wechat.New(wechat.Config{AppID: "wx-smartreg", Secret: "wx-secret", RatePerMinute: o.wxRate,
			Users: []wechat.User{{OpenID: "o-zhang", UnionID: "union-zhang", Nickname: "老张"}}})
		wxSrv := httptest.NewServer(e.wx)
		t.Cleanup(wxSrv.Close)
		c.WeChatAppID, c.WeChatSecret, c.WeChatOpenBaseURL, c.WeChatAPIBaseURL = "wx-smartreg", "wx-secret", wxSrv.URL, wxSrv.URL
	}
	e.p, err = New(d, c)
	if err != nil {
		t.Fatal(err)
	}
	h = e.p.Handler(e.verifier.Middleware)
	if o.replicas > 1 {
		handlers := []http.Handler{h}
		for range o.replicas - 1 {
			other, err := New(d, c)
			if err != nil {
				t.Fatal(err)
			}
			handlers = append(handlers, other.Handler(e.verifier.Middleware))
		}
		var mu sync.Mutex
		next := 0
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hh := handlers[next%len(handlers)]
			next++
			mu.Unlock()
			hh.ServeHTTP(w, r)
		})
	}
	return e
}

const rpRedirect = "http://rp.example/cb"

// registerRP adds a confidential client and returns its secret.
func (e *env) registerRP() string {
	e.t.Helper()
	secret, err := e.p.RegisterClient(context.Background(), ClientInput{ID: "rp", Name: "测试应用", RedirectURIs: []string{rpRedirect}})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// browser follows redirects like a browser, but stops at the relying
// party (rp.example) and at foreign hosts it is told to stop at.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == "rp.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formFields reads the hidden fields of a rendered form.
func formFields(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], unescapeHTML(m[2]))
	}
	return v
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// rpCode returns the code and state from the final redirect to the RP.
func rpCode(t *testing.T, resp *http.Response) (code, state string) {
	t.Helper()
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("want redirect to the RP, got %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "rp.example" {
		t.Fatalf("redirect to %q, want rp.example", resp.Header.Get("Location"))
	}
	if e := loc.Query().Get("error"); e != "" {
		t.Fatalf("authorization error %s: %s", e, loc.Query().Get("error_description"))
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

type rp struct {
	conf     *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	provider *gooidc.Provider
}

func (e *env) relyingParty(clientID, secret string) rp {
	e.t.Helper()
	provider, err := gooidc.NewProvider(context.Background(), e.p.Issuer())
	if err != nil {
		e.t.Fatalf("discovery: %v", err)
	}
	return rp{
		conf: &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: rpRedirect,
			Scopes: []string{gooidc.ScopeOpenID, "profile", gooidc.ScopeOfflineAccess}},
		verifier: provider.Verifier(&gooidc.Config{ClientID: clientID}),
		provider: provider,
	}
}

// authorize starts a flow and returns the login page response.
func (e *env) authorize(c *http.Client, r rp, state, nonce, pkce string) *http.Response {
	e.t.Helper()
	resp, err := c.Get(r.conf.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)))
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *env) passwordLogin(c *http.Client, loginPage *http.Response, username, password string) *http.Response {
	e.t.Helper()
	page := body(e.t, loginPage)
	if loginPage.StatusCode != http.StatusOK || !strings.Contains(page, "统一身份认证登录") {
		e.t.Fatalf("login page: %d %s", loginPage.StatusCode, page)
	}
	form := formFields(page)
	form.Set("username", username)
	form.Set("password", password)
	resp, err := c.PostForm(e.p.Issuer()+"/login", form)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// FP-100: unified identity authentication.
func TestAuthorizationCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := e.relyingParty("rp", e.registerRP())
	if r.provider.Endpoint().TokenURL != e.p.Issuer()+"/token" {
		t.Errorf("token endpoint %s", r.provider.Endpoint().TokenURL)
	}
	c := browser(t)
	pkce := oauth2.GenerateVerifier()

	// A wrong password stays on the page with the accounts' message.
	resp := e.passwordLogin(c, e.authorize(c, r, "st-1", "nonce-1", pkce), "zhangsan", "wrong")
	page := body(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "用户名或密码错误") {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, page)
	}
	form := formFields(page)
	form.Set("username", "zhangsan")
	form.Set("password", "Passw0rd!")
	resp, err := c.PostForm(e.p.Issuer()+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	code, state := rpCode(t, resp)
	if state != "st-1" || code == "" {
		t.Fatalf("state %q code %q", state, code)
	}

	ctx := context.Background()
	tok, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("id token does not verify: %v", err)
	}
	var claims struct {
		Nonce    string   `json:"nonce"`
		Name     string   `json:"name"`
		Username string   `json:"preferred_username"`
		AMR      []string `json:"amr"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "u-1" || claims.Nonce != "nonce-1" || claims.Name != "张三" || claims.Username != "zhangsan" || len(claims.AMR) != 1 || claims.AMR[0] != "pwd" {
		t.Errorf("id token: sub %s claims %+v", idt.Subject, claims)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}

	// The access token is a shared/auth token: any function verifies it.
	v, err := auth.NewVerifier(auth.VerifierConfig{JWKSURL: e.p.Issuer() + "/keys", Issuer: e.p.Issuer(), Audience: "smartreg"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	pr, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("access token refused by shared/auth: %v", err)
	}
	if pr.UserID != "u-1" || !pr.Can("registry.entity", "view") || pr.SessionID == "" {
		t.Errorf("principal %+v", pr)
	}

	// userinfo with that token.
	ui, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var uic struct {
		Name string `json:"name"`
	}
	_ = ui.Claims(&uic)
	if ui.Subject != "u-1" || uic.Name != "张三" {
		t.Errorf("userinfo %s %+v", ui.Subject, uic)
	}

	_ = code // its reuse is TestReusedCodeRevokesItsTokens

	// Refresh: a new token pair; the spent refresh token is refused and
	// its reuse ends the login.
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := r.conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == old || fresh.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if _, err := v.Verify(ctx, fresh.AccessToken); err != nil {
		t.Errorf("refreshed access token: %v", err)
	}
	stale := &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Minute)}
	if _, err := r.conf.TokenSource(ctx, stale).Token(); err == nil {
		t.Error("a spent refresh token was accepted")
	}
	fresh.Expiry = time.Now().Add(-time.Minute)
	if _, err := r.conf.TokenSource(ctx, fresh).Token(); err == nil {
		t.Error("after reuse was detected, the newest refresh token still works")
	}
}

// TestFlowAcrossReplicas alternates every request between two providers
// sharing only the database, as Knative replicas do.
func TestFlowAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{replicas: 2, wechat: true})
	r := e.relyingParty("rp", e.registerRP())
	c := browser(t)
	pkce := oauth2.GenerateVerifier()
	code, _ := rpCode(t, e.passwordLogin(c, e.authorize(c, r, "s", "n", pkce), "zhangsan", "Passw0rd!"))
	tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange on the other replica: %v", err)
	}
	if _, err := r.verifier.Verify(context.Background(), tok.Extra("id_token").(string)); err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if _, err := r.conf.TokenSource(context.Background(), tok).Token(); err != nil {
		t.Fatalf("refresh on the other replica: %v", err)
	}
	// A WeChat login started on one replica finishes (bind) on the other.
	c2 := browser(t)
	login := body(t, e.authorize(c2, r, "s2", "n2", pkce))
	start := unescapeHTML(regexp.MustCompile(`href="([^"]*/identity/v1/login/wechat[^"]*)"`).FindStringSubmatch(login)[1])
	code, _ = rpCode(t, e.bindStep(c2, body(t, e.wechatScan(c2, start)), "zhangsan", "Passw0rd!"))
	if _, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(pkce)); err != nil {
		t.Fatalf("exchange after a WeChat login across replicas: %v", err)
	}
}

func TestWrongCodeVerifierRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := e.relyingParty("rp", e.registerRP())
	c := browser(t)
	pkce := oauth2.GenerateVerifier()
	code, _ := rpCode(t, e.passwordLogin(c, e.authorize(c, r, "s", "n", pkce), "zhangsan", "Passw0rd!"))
	_, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("wrong code_verifier: %v, want invalid_grant", err)
	}
	// Without any verifier the exchange is refused too.
	c2 := browser(t)
	code, _ = rpCode(t, e.passwordLogin(c2, e.authorize(c2, r, "s", "n", pkce), "zhangsan", "Passw0rd!"))
	if _, err := r.conf.Exchange(context.Background(), code); err == nil {
		t.Fatal("exchange without code_verifier succeeded")
	}
}

func TestPublicClientNeedsS256(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	c := browser(t)
	consoleCB := e.srv.URL + "/console/oidc/callback"
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	base := e.p.Issuer() + "/authorize?client_id=smartreg-console&response_type=code&scope=openid&redirect_uri=" + url.QueryEscape(consoleCB)
	for name, q := range map[string]string{"no-pkce": "", "plain": "&code_challenge=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG&code_challenge_method=plain"} {
		resp, err := c.Get(base + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if !strings.HasPrefix(resp.Header.Get("Location"), consoleCB) || loc.Query().Get("error") != "invalid_request" {
			t.Errorf("%s: %d %s, want invalid_request to the console", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// With S256 the seeded console client (relative redirect URI) reaches the login page.
	resp, err := c.Get(base + "&code_challenge=" + oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()) + "&code_challenge_method=S256")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Location"), e.p.Issuer()+"/login?id=") {
		t.Fatalf("S256: %d %s, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRevokeRefreshToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	secret := e.registerRP()
	r := e.relyingParty("rp", secret)
	c := browser(t)
	pkce := oauth2.GenerateVerifier()
	code, _ := rpCode(t, e.passwordLogin(c, e.authorize(c, r, "s", "n", pkce), "zhangsan", "Passw0rd!"))
	tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Revocation string   `json:"revocation_endpoint"`
		EndSession string   `json:"end_session_endpoint"`
		Algs       []string `json:"id_token_signing_alg_values_supported"`
		PKCE       []string `json:"code_challenge_methods_supported"`
	}
	if err := r.provider.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	if disc.Revocation != e.p.Issuer()+"/revoke" || disc.EndSession != e.p.Issuer()+"/end_session" ||
		len(disc.Algs) != 1 || disc.Algs[0] != "EdDSA" || len(disc.PKCE) != 1 || disc.PKCE[0] != "S256" {
		t.Errorf("discovery %+v", disc)
	}
	req, _ := http.NewRequest("POST", disc.Revocation, strings.NewReader(url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rp", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if _, err := r.conf.TokenSource(context.Background(), tok).Token(); err == nil {
		t.Fatal("a revoked refresh token still works")
	}
}

func TestFrozenUserGetsNoToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := e.relyingParty("rp", e.registerRP())
	c := browser(t)
	pkce := oauth2.GenerateVerifier()
	code, _ := rpCode(t, e.passwordLogin(c, e.authorize(c, r, "s", "n", pkce), "zhangsan", "Passw0rd!"))
	tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	e.accounts.mu.Lock()
	e.accounts.frozen["u-1"] = true
	e.accounts.mu.Unlock()
	tok.Expiry = time.Now().Add(-time.Minute)
	if _, err := r.conf.TokenSource(context.Background(), tok).Token(); err == nil {
		t.Fatal("a frozen user's refresh token still works")
	}
}

// FP-100
func TestSingleSignOnWithCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := e.relyingParty("rp", e.registerRP())
	c := browser(t)
	at, _, err := e.issuer.Issue(auth.Principal{UserID: "u-2", Username: "lisi"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "smartreg_at", Value: at, Path: "/"}})
	code, _ := rpCode(t, e.authorize(c, r, "s", "n", "v-0123456789012345678901234567890123456789abc"))
	tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption("v-0123456789012345678901234567890123456789abc"))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := r.verifier.Verify(context.Background(), tok.Extra("id_token").(string))
	if err != nil || idt.Subject != "u-2" {
		t.Fatalf("SSO id token: %v %v", idt, err)
	}
	if e.accounts.checks != 0 {
		t.Errorf("password checked %d times during SSO", e.accounts.checks)
	}

	// prompt=login shows the form despite the cookie; prompt=none without
	// a session answers login_required.
	resp, err := c.Get(r.conf.AuthCodeURL("s", oauth2.S256ChallengeOption("v-0123456789012345678901234567890123456789abc"), oauth2.SetAuthURLParam("prompt", "login")))
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, "统一身份认证登录") {
		t.Errorf("prompt=login: %d, want the login form", resp.StatusCode)
	}
	anon := browser(t)
	resp, err = anon.Get(r.conf.AuthCodeURL("s-none", oauth2.S256ChallengeOption("v-0123456789012345678901234567890123456789abc"), oauth2.SetAuthURLParam("prompt", "none")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Host != "rp.example" || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "s-none" {
		t.Errorf("prompt=none: %d %s, want login_required", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// bindStep posts the bind form rendered on page.
func (e *env) bindStep(c *http.Client, page, username, password string) *http.Response {
	e.t.Helper()
	if !strings.Contains(page, "绑定平台账号") {
		e.t.Fatalf("want the bind page, got %s", page)
	}
	form := formFields(page)
	form.Set("username", username)
	form.Set("password", password)
	resp, err := c.PostForm(e.srv.URL+"/identity/v1/login/bind", form)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// upstreamLogin goes from the login page to the province's form and
// submits it, returning the response after the callback.
func (e *env) upstreamLogin(c *http.Client, loginPage *http.Response) *http.Response {
	e.t.Helper()
	page := body(e.t, loginPage)
	m := regexp.MustCompile(`href="([^"]*/identity/v1/login/upstream[^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no upstream button on %s", page)
	}
	resp, err := c.Get(unescapeHTML(m[1]))
	if err != nil {
		e.t.Fatal(err)
	}
	upPage := body(e.t, resp)
	if !strings.Contains(upPage, "统一身份认证平台") || resp.Request.URL.Host != strings.TrimPrefix(e.upSrv.URL, "http://") {
		e.t.Fatalf("not at the province: %s %s", resp.Request.URL, upPage)
	}
	form := formFields(upPage)
	form.Set("username", "zhang.san")
	form.Set("password", "province-pw")
	resp, err = c.PostForm(e.upSrv.URL+"/authorize", form)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// FP-122: login through the provincial identity system.
func TestUpstreamLoginBindsThenLogsIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{upstream: true})
	r := e.relyingParty("rp", e.registerRP())
	ctx := context.Background()

	// First time: the provincial identity is unknown, so bind with the password.
	c := browser(t)
	pkce := oauth2.GenerateVerifier()
	resp := e.upstreamLogin(c, e.authorize(c, r, "s1", "n1", pkce))
	page := body(t, resp)
	if !strings.Contains(page, "张三") {
		t.Errorf("bind page does not name the provincial account: %s", page)
	}
	wrong := e.bindStep(c, page, "zhangsan", "nope")
	if wp := body(t, wrong); wrong.StatusCode != http.StatusUnauthorized || !strings.Contains(wp, "用户名或密码错误") {
		t.Fatalf("bind with wrong password: %d %s", wrong.StatusCode, wp)
	}
	code, _ := rpCode(t, e.bindStep(c, page, "zhangsan", "Passw0rd!"))
	tok, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Subject != "u-1" {
		t.Fatalf("id token after bind: %v %v", idt, err)
	}
	if got, _ := e.accounts.UserByExternal(ctx, ProviderUpstream, "hb-130102-0001"); got != "u-1" {
		t.Fatalf("binding = %q, want u-1", got)
	}

	// Second time, in a fresh browser: straight through, no password.
	checks := e.accounts.checks
	c2 := browser(t)
	code, state := rpCode(t, e.upstreamLogin(c2, e.authorize(c2, r, "s2", "n2", pkce)))
	if state != "s2" {
		t.Errorf("state %q", state)
	}
	tok, err = r.conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	idt, err = r.verifier.Verify(ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Subject != "u-1" {
		t.Fatalf("id token of a bound login: %v %v", idt, err)
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	_ = idt.Claims(&claims)
	if len(claims.AMR) != 1 || claims.AMR[0] != "fed" {
		t.Errorf("amr %v, want [fed]", claims.AMR)
	}
	if e.accounts.checks != checks {
		t.Error("a bound upstream login asked for the password")
	}
	var logged int
	if err := e.p.pool.QueryRow(ctx, `SELECT count(*) FROM recorded.login_log WHERE user_id = 'u-1' AND username = 'zhangsan'
		AND result = 'success' AND reason LIKE '省统一身份认证%'`).Scan(&logged); err != nil || logged != 2 {
		t.Errorf("login log rows of upstream logins = %d (%v), want 2", logged, err)
	}

	// A frozen user's bound identity is refused at login, and that is logged.
	e.accounts.mu.Lock()
	e.accounts.frozen["u-1"] = true
	e.accounts.mu.Unlock()
	c3 := browser(t)
	resp = e.upstreamLogin(c3, e.authorize(c3, r, "s3", "n3", pkce))
	if page := body(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "账号已冻结") {
		t.Fatalf("frozen user: %d %s", resp.StatusCode, page)
	}
	if err := e.p.pool.QueryRow(ctx, `SELECT count(*) FROM recorded.login_log WHERE user_id = 'u-1' AND result = 'failure'`).Scan(&logged); err != nil || logged != 1 {
		t.Errorf("failure rows = %d (%v), want 1", logged, err)
	}
}

func TestUpstreamCallbackNeedsItsState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{upstream: true})
	c := browser(t)
	resp, err := c.Get(e.srv.URL + "/identity/v1/login/upstream/callback?code=x&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "登录状态校验失败") {
		t.Fatalf("forged state: %d %s", resp.StatusCode, page)
	}
	// Without an authorization request and without a SessionStarter there
	// is nowhere to log in to.
	resp, _ = c.Get(e.srv.URL + "/identity/v1/login/upstream")
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "请从应用的登录页面发起登录") {
		t.Fatalf("direct start without SessionStarter: %d %s", resp.StatusCode, page)
	}
}

// wechatScan starts a WeChat login at startURL, "scans" as o-zhang and
// follows WeChat's redirect back.
func (e *env) wechatScan(c *http.Client, startURL string) *http.Response {
	e.t.Helper()
	stop := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := stop.Get(startURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	qr := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(qr, "/connect/qrconnect?") || !strings.Contains(qr, "scope=snsapi_login") {
		e.t.Fatalf("wechat start: %d %s", resp.StatusCode, qr)
	}
	back, err := e.wx.Scan(qr, "o-zhang")
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err = c.Get(back)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// FP-122: WeChat login.
func TestWeChatLoginBindsThenLogsIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{wechat: true})
	r := e.relyingParty("rp", e.registerRP())
	ctx := context.Background()
	c := browser(t)
	pkce := oauth2.GenerateVerifier()
	login := body(t, e.authorize(c, r, "s1", "n1", pkce))
	m := regexp.MustCompile(`href="([^"]*/identity/v1/login/wechat[^"]*)"`).FindStringSubmatch(login)
	if m == nil {
		t.Fatalf("no WeChat button on the login page: %s", login)
	}
	start := unescapeHTML(m[1])
	page := body(t, e.wechatScan(c, start))
	if !strings.Contains(page, "老张") {
		t.Errorf("bind page does not show the WeChat nickname: %s", page)
	}
	code, _ := rpCode(t, e.bindStep(c, page, "lisi", "S3cret#pw"))
	tok, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	if idt, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string)); err != nil || idt.Subject != "u-2" {
		t.Fatalf("id token after WeChat bind: %v %v", idt, err)
	}
	if got, _ := e.accounts.UserByExternal(ctx, ProviderWeChat, "union-zhang"); got != "u-2" {
		t.Fatalf("unionid bound to %q, want u-2", got)
	}

	// Bound: the next scan logs straight in.
	c2 := browser(t)
	login = body(t, e.authorize(c2, r, "s2", "n2", pkce))
	start = unescapeHTML(regexp.MustCompile(`href="([^"]*/identity/v1/login/wechat[^"]*)"`).FindStringSubmatch(login)[1])
	code, _ = rpCode(t, e.wechatScan(c2, start))
	tok, err = r.conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	if idt, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string)); err != nil || idt.Subject != "u-2" {
		t.Fatalf("id token of a bound WeChat login: %v %v", idt, err)
	}
}

func TestWeChatErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{wechat: true, wxRate: 1, direct: true})
	c := browser(t)
	stop := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := func() string {
		resp, err := stop.Get(e.srv.URL + "/identity/v1/login/wechat?return_to=/console/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		q, _ := url.Parse(resp.Header.Get("Location"))
		return q.Query().Get("state")
	}
	// A bad code: WeChat answers 40029; the person is told to scan again.
	st := start()
	resp, err := c.Get(e.srv.URL + "/identity/v1/login/wechat/callback?code=bogus&state=" + url.QueryEscape(st))
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "请重新扫码") {
		t.Fatalf("bad code: %d %s", resp.StatusCode, page)
	}
	// The state was spent by that callback.
	resp, _ = c.Get(e.srv.URL + "/identity/v1/login/wechat/callback?code=bogus&state=" + url.QueryEscape(st))
	if page := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "登录状态校验失败") {
		t.Fatalf("replayed state: %d %s", resp.StatusCode, page)
	}
	// Over WeChat's rate (1 call a minute): 45009 becomes "busy" (503).
	st = start()
	resp, _ = c.Get(e.srv.URL + "/identity/v1/login/wechat/callback?code=bogus2&state=" + url.QueryEscape(st))
	if page := body(t, resp); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "繁忙") {
		t.Fatalf("rate limited: %d %s", resp.StatusCode, page)
	}
	if e.wx.APICalls() != 2 {
		t.Errorf("WeChat API calls = %d, want 2", e.wx.APICalls())
	}
}

func TestWeChatDirectConsoleLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{wechat: true, direct: true})
	c := browser(t)
	c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.Path, "/console/") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	page := body(t, e.wechatScan(c, e.srv.URL+"/identity/v1/login/wechat?return_to=/console/#/home"))
	// The console posts the bind form as JSON and follows the redirect itself.
	form := formFields(page)
	b, _ := json.Marshal(map[string]string{"bind_token": form.Get("bind_token"), "username": "zhangsan", "password": "Passw0rd!"})
	resp, err := c.Post(e.srv.URL+"/identity/v1/wechat/bind", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Redirect string `json:"redirect"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("JSON bind: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if out.Redirect != "/console/" {
		t.Errorf("redirect %q, want /console/", out.Redirect)
	}
	found := false
	for _, ck := range resp.Cookies() {
		found = found || (ck.Name == "smartreg_at" && ck.Value == "session-of-u-1")
	}
	if !found {
		t.Error("the session cookie of StartSession did not reach the browser")
	}
	// Next scan: directly logged in, redirected to the console.
	c2 := browser(t)
	c2.CheckRedirect = c.CheckRedirect
	resp = e.wechatScan(c2, e.srv.URL+"/identity/v1/login/wechat?return_to=https://evil.example/")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("bound direct login: %d %s (an absolute return_to must not be followed)", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(e.accounts.sessions) != 2 || e.accounts.sessions[1] != "u-1/wechat" {
		t.Errorf("sessions started: %v", e.accounts.sessions)
	}
}

func TestNewRequiresEachDependency(t *testing.T) {
	t.Parallel()
	key, _ := auth.GenerateKey()
	iss, _ := auth.NewIssuer(auth.IssuerConfig{Issuer: "http://localhost:8080/identity/oidc", Audience: "smartreg", Key: key})
	other, _ := auth.NewIssuer(auth.IssuerConfig{Issuer: "http://localhost:8080/elsewhere", Audience: "smartreg", Key: key})
	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: iss.Issuer(), Audience: "smartreg"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	pool := storetest.New(t, schema())
	full := Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Accounts: newFakeAccounts(), Signer: iss, Verifier: v,
		PublicBaseURL: "http://localhost:8080", CryptoKey: testKey, Now: time.Now}
	for name, mut := range map[string]func(*Deps, *Config){
		"no-logger":        func(d *Deps, _ *Config) { d.Logger = nil },
		"no-pool":          func(d *Deps, _ *Config) { d.Pool = nil },
		"no-accounts":      func(d *Deps, _ *Config) { d.Accounts = nil },
		"no-signer":        func(d *Deps, _ *Config) { d.Signer = nil },
		"no-verifier":      func(d *Deps, _ *Config) { d.Verifier = nil },
		"no-now":           func(d *Deps, _ *Config) { d.Now = nil },
		"no-key":           func(d *Deps, _ *Config) { d.CryptoKey = [32]byte{} },
		"issuer-path":      func(d *Deps, _ *Config) { d.Signer = other },
		"base-mismatch":    func(d *Deps, _ *Config) { d.PublicBaseURL = "https://amr.sjz.gov.cn" },
		"upstream-no-id":   func(_ *Deps, c *Config) { c.UpstreamIssuer = "https://province" },
		"wechat-no-secret": func(_ *Deps, c *Config) { c.WeChatAppID = "wx" },
		"cors-not-origin":  func(_ *Deps, c *Config) { c.CORSOrigins = "https://app.example/cb" },
	} {
		d, c := full, Config{}
		mut(&d, &c)
		if _, err := New(d, c); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	p, err := New(full, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v", err)
	}
	if _, err := p.RegisterClient(context.Background(), ClientInput{ID: "smartreg-console", Name: "x", RedirectURIs: []string{"/x"}, Public: true}); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("duplicate client: %v, want conflict", err)
	}
	if _, err := p.RegisterClient(context.Background(), ClientInput{}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("empty client: %v, want invalid", err)
	}
}

// testKey encrypts the tests' authorization codes.
var testKey = [32]byte{1, 2, 3}

// schema is identity's migration stream, which holds the provider's
// tables; read from the module's migrations directory (this package
// cannot import identity, which composes it).
func schema() store.Migration {
	return store.Migration{Component: "identity", FS: os.DirFS(".."), Dir: "migrations"}
}
