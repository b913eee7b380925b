package oidcprovider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestReusedCodeRevokesItsTokens (issue 10, RFC 6749 §4.1.2): a code
// presented a second time is refused and revokes what its first use
// issued: the refresh token stops working and the access token's session
// is ended everywhere.
func TestReusedCodeRevokesItsTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := e.relyingParty("rp", e.registerRP())
	c := browser(t)
	pkce := oauth2.GenerateVerifier()
	code, _ := rpCode(t, e.passwordLogin(c, e.authorize(c, r, "st", "n", pkce), "zhangsan", "Passw0rd!"))
	ctx := context.Background()
	tok, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %v %+v", err, tok)
	}
	pr, err := e.verifier.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(pkce)); err == nil {
		t.Fatal("a code was exchanged twice")
	}
	if !slices.Contains(e.accounts.endedSessions(), pr.SessionID) {
		t.Errorf("the access token's session %q was not ended (ended: %v)", pr.SessionID, e.accounts.endedSessions())
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if _, err := r.conf.TokenSource(ctx, tok).Token(); err == nil {
		t.Error("the refresh token issued from a reused code still works")
	}
}

// TestPKCEPlainRefused (issue 10): a code_challenge without a method is
// plain (RFC 7636 §4.3); plain is refused for every client, confidential
// ones too, and S256 passes.
func TestPKCEPlainRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	r := e.relyingParty("rp", e.registerRP())
	c := browser(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	base := e.p.Issuer() + "/authorize?client_id=rp&response_type=code&scope=openid&state=s&redirect_uri=" + url.QueryEscape(rpRedirect)
	challenge := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	for name, q := range map[string]string{"no method": "&code_challenge=" + challenge,
		"plain": "&code_challenge=" + challenge + "&code_challenge_method=plain"} {
		resp, err := c.Get(base + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if !strings.HasPrefix(resp.Header.Get("Location"), rpRedirect) || loc.Query().Get("error") != "invalid_request" {
			t.Errorf("%s: %d %s, want invalid_request to the client", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp := e.authorize(c, r, "s", "n", oauth2.GenerateVerifier())
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Location"), e.p.Issuer()+"/login?id=") {
		t.Fatalf("S256: %d %s, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestCORSAllowsOnlyKnownOrigins (issue 10): the provider's endpoints
// answer cross-origin scripts only from a registered client's origin (or
// IDENTITY_OIDC_CORS_ORIGINS), never with credentials; another site's
// origin is not reflected.
func TestCORSAllowsOnlyKnownOrigins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.registerRP()
	h := e.p.Handler(e.verifier.Middleware)
	ask := func(method, path, origin string) http.Header {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Origin", origin)
		if method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Header()
	}
	for _, path := range []string{"/identity/oidc/.well-known/openid-configuration", "/identity/oidc/keys"} {
		if got := ask(http.MethodGet, path, "https://evil.example").Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("GET %s from another site: Access-Control-Allow-Origin %q", path, got)
		}
		hdr := ask(http.MethodGet, path, "http://rp.example")
		if hdr.Get("Access-Control-Allow-Origin") != "http://rp.example" {
			t.Errorf("GET %s from the client's origin: %v", path, hdr)
		}
		if hdr.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("GET %s allows credentials: %v", path, hdr)
		}
	}
	if got := ask(http.MethodOptions, "/identity/oidc/token", "https://evil.example").Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("preflight from another site: Access-Control-Allow-Origin %q", got)
	}
	if got := ask(http.MethodOptions, "/identity/oidc/token", "http://rp.example").Get("Access-Control-Allow-Origin"); got != "http://rp.example" {
		t.Errorf("preflight from the client's origin: %q", got)
	}
}

// TestLoginPageShowsCaptchaWhenAsked: when the accounts ask for a captcha
// the server-rendered login page shows one (picture and field) and the
// answered form logs in.
func TestLoginPageShowsCaptchaWhenAsked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.accounts.captcha = "24680"
	r := e.relyingParty("rp", e.registerRP())
	c := browser(t)
	resp := e.passwordLogin(c, e.authorize(c, r, "st", "n", oauth2.GenerateVerifier()), "zhangsan", "Passw0rd!")
	page := body(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `name="captcha"`) || !strings.Contains(page, "/identity/v1/captchas/cap-1") {
		t.Fatalf("login page asked for a captcha: %d %s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self'") {
		t.Errorf("the page's CSP %q blocks the captcha picture", csp)
	}
	form := formFields(page)
	form.Set("username", "zhangsan")
	form.Set("password", "Passw0rd!")
	form.Set("captcha", "24680")
	resp, err := c.PostForm(e.p.Issuer()+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := rpCode(t, resp); code == "" {
		t.Fatal("no code after the captcha")
	}
}
