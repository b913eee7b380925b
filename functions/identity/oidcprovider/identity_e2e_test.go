package oidcprovider_test

// The provider composed by identity.New, with the real accounts (argon2id
// passwords, lockout, login log, external_accounts bindings): an OIDC
// client completes the code flow with PKCE as the bootstrap administrator,
// and a WeChat identity is bound with the real BindExternal.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/sim/wechat"
)

var hidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

func hiddenFields(page string) url.Values {
	v := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], strings.NewReplacer("&amp;", "&", "&#43;", "+").Replace(m[2]))
	}
	return v
}

func read(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func codeFrom(t *testing.T, resp *http.Response) string {
	t.Helper()
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != "rp.example" || loc.Query().Get("code") == "" {
		t.Fatalf("want a code at the RP, got %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func TestWithRealIdentityAccounts(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t, append(identity.Migrations(), auditlogtest.Migration())...)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 5})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at 127.0.0.1:6379: %v", err)
	}
	prefix := "test:oidc-e2e:" + strings.ReplaceAll(t.Name(), "/", "_") + ":" + filepath.Base(t.TempDir()) + ":"
	t.Cleanup(func() {
		iter := rdb.Scan(context.Background(), 0, prefix+"*", 500).Iterator()
		for iter.Next(context.Background()) {
			rdb.Del(context.Background(), iter.Val())
		}
	})

	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	wx := wechat.New(wechat.Config{AppID: "wx-e2e", Secret: "wx-e2e-secret", Users: wechat.DemoUsers()})
	wxSrv := httptest.NewServer(wx)
	t.Cleanup(wxSrv.Close)

	cfg := config.Defaults[identity.Config]()
	cfg.Public.BaseURL = srv.URL
	cfg.Issuer = srv.URL + oidcprovider.IssuerPath
	cfg.OIDC.WeChatAppID, cfg.OIDC.WeChatSecret, cfg.OIDC.WeChatOpenBaseURL, cfg.OIDC.WeChatAPIBaseURL = "wx-e2e", "wx-e2e-secret", wxSrv.URL, wxSrv.URL
	cfg.SecretKey = "oidc-e2e-test-secret-0123456789"
	cfg.Argon2MemoryKiB, cfg.Argon2Passes = 1024, 1
	cfg.DataDir = t.TempDir()
	cfg.RedisPrefix, cfg.RevocationPrefix = prefix+"id:", prefix+"rev:"
	f, err := identity.New(identity.Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: rdb, Now: time.Now,
		SMS: nopSMS{}}, cfg)
	if err != nil {
		t.Fatalf("identity.New: %v", err)
	}
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h = f.Handler()

	// The bootstrap administrator's generated password.
	pw := map[string]string{}
	fh, err := os.Open(filepath.Join(cfg.DataDir, identity.InitialPasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if name, p, ok := strings.Cut(sc.Text(), "\t"); ok {
			pw[name] = p
		}
	}
	fh.Close()
	if pw["admin"] == "" {
		t.Fatalf("no initial admin password in %v", pw)
	}

	// A confidential relying party (stored as the admin API would: the
	// SHA-256 of its secret).
	secret := []string{"", "rp-secret-0123456789-abcdefghijklmnopqrstuvwxyz"}
	sum := sha256.Sum256([]byte(secret[1]))
	if _, err := pool.Exec(ctx, `INSERT INTO identity.oidc_clients (id, name, secret_hash, redirect_uris) VALUES ('rp', '测试应用', $1, '{http://rp.example/cb}')`,
		hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	// A console login too (for the login log below); the generated password
	// must be changed there before any OIDC login.
	consoleToken := loginAPI(t, srv.URL, "admin", pw["admin"])

	provider, err := gooidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: "rp", ClientSecret: secret[1], Endpoint: provider.Endpoint(), RedirectURL: "http://rp.example/cb",
		Scopes: []string{gooidc.ScopeOpenID, "profile"}}
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
			if r.URL.Host == "rp.example" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	}

	// Password login on the OIDC page, checked by the real accounts: refused
	// while the generated first-login password is unchanged (the forced
	// change happens only in the console), accepted after the change.
	c := browser()
	pkce := oauth2.GenerateVerifier()
	oidcLogin := func(password string) *http.Response {
		t.Helper()
		resp, err := c.Get(conf.AuthCodeURL("st", gooidc.Nonce("nn"), oauth2.S256ChallengeOption(pkce)))
		if err != nil {
			t.Fatal(err)
		}
		form := hiddenFields(read(t, resp))
		form.Set("username", "admin")
		form.Set("password", password)
		resp, err = c.PostForm(cfg.Issuer+"/login", form)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := oidcLogin(pw["admin"])
	if page := read(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "须先修改密码") {
		t.Fatalf("OIDC login with the unchanged first-login password: %d %s", resp.StatusCode, page)
	}
	const newPW = "Oidc#E2e-Pass2026"
	req, _ := http.NewRequest("POST", srv.URL+"/identity/v1/password/change",
		strings.NewReader(`{"old_password":"`+pw["admin"]+`","new_password":"`+newPW+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+consoleToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("password change: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	pw["admin"] = newPW
	resp = oidcLogin(pw["admin"])
	tok, err := conf.Exchange(ctx, codeFrom(t, resp), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{JWKSURL: srv.URL + "/identity/v1/jwks", Issuer: cfg.Issuer, Audience: cfg.Audience})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	pr, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("OIDC access token refused: %v", err)
	}
	if pr.UserID != idt.Subject || pr.Username != "admin" || !pr.HasRole("sysadmin") {
		t.Errorf("principal %+v (id token sub %s)", pr, idt.Subject)
	}
	var logged int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM recorded.login_log WHERE user_id = $1 AND result = 'success'`, idt.Subject).Scan(&logged); err != nil || logged < 2 {
		t.Errorf("login log rows for admin = %d (%v), want the API login and the OIDC login", logged, err)
	}

	// WeChat: the unionid is bound to admin with the real BindExternal,
	// then the next scan logs straight in.
	scan := func(c *http.Client) *http.Response {
		stop := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(conf.AuthCodeURL("st2", oauth2.S256ChallengeOption(pkce), oauth2.SetAuthURLParam("prompt", "login")))
		if err != nil {
			t.Fatal(err)
		}
		start := regexp.MustCompile(`href="([^"]*/identity/v1/login/wechat[^"]*)"`).FindStringSubmatch(read(t, resp))
		if start == nil {
			t.Fatal("no WeChat button on the login page")
		}
		resp, err = stop.Get(strings.ReplaceAll(start[1], "&amp;", "&"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, err := wx.Scan(resp.Header.Get("Location"), wechat.DemoUsers()[0].OpenID)
		if err != nil {
			t.Fatal(err)
		}
		resp, err = c.Get(back)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	c = browser()
	page := read(t, scan(c))
	form := hiddenFields(page)
	if form.Get("bind_token") == "" {
		t.Fatalf("want the bind page: %s", page)
	}
	form.Set("username", "admin")
	form.Set("password", pw["admin"])
	resp, err = c.PostForm(srv.URL+"/identity/v1/login/bind", form)
	if err != nil {
		t.Fatal(err)
	}
	codeFrom(t, resp)
	if got, err := f.UserByExternal(ctx, oidcprovider.ProviderWeChat, wechat.DemoUsers()[0].UnionID); err != nil || got != idt.Subject {
		t.Fatalf("binding: %q %v, want %s", got, err, idt.Subject)
	}
	tok, err = conf.Exchange(ctx, codeFrom(t, scan(browser())), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange after a bound WeChat login: %v", err)
	}
	if idt2, err := provider.Verifier(&gooidc.Config{ClientID: "rp"}).Verify(ctx, tok.Extra("id_token").(string)); err != nil || idt2.Subject != idt.Subject {
		t.Fatalf("bound WeChat login: %v %v", idt2, err)
	}
}

// loginAPI logs in through POST /identity/v1/login and returns the access token.
func loginAPI(t *testing.T, base, username, password string) string {
	t.Helper()
	resp, err := http.Post(base+"/identity/v1/login", "application/json",
		strings.NewReader(`{"username":"`+username+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	body := read(t, resp)
	m := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("POST /identity/v1/login: %d %s", resp.StatusCode, body)
	}
	return m[1]
}

// nopSMS is an SMS sender for a test that sends none.
type nopSMS struct{}

func (nopSMS) Send(context.Context, identity.SMS) error { return nil }
