package oidcupstream

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestCodeFlowAndSignature(t *testing.T) {
	sim, err := New(Config{
		Clients: []Client{{ID: "rp", Secret: "s3", RedirectURIs: []string{"http://rp/cb"}}},
		Users:   []User{{Subject: "hb-001", Username: "zhang", Password: "pw", Name: "张三"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.SetIssuer(srv.URL)

	var disc map[string]any
	resp, err := http.Get(srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	decode(t, resp, &disc)
	if disc["issuer"] != srv.URL || disc["jwks_uri"] != srv.URL+"/keys" {
		t.Fatalf("discovery %v", disc)
	}

	verifier := "a-long-enough-code-verifier-for-the-simulator-test-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	form := url.Values{"client_id": {"rp"}, "redirect_uri": {"http://rp/cb"}, "response_type": {"code"}, "scope": {"openid profile"},
		"state": {"st"}, "nonce": {"n1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"username": {"zhang"}, "password": {"wrong"}}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ = c.PostForm(srv.URL+"/authorize", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d", resp.StatusCode)
	}
	form.Set("password", "pw")
	resp, _ = c.PostForm(srv.URL+"/authorize", form)
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusFound || code == "" || loc.Query().Get("state") != "st" {
		t.Fatalf("login: %d %s", resp.StatusCode, loc)
	}
	exchange := func(v string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+"/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"http://rp/cb"}, "code_verifier": {v}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("rp", "s3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp = exchange(verifier)
	var tok struct {
		IDToken     string `json:"id_token"`
		AccessToken string `json:"access_token"`
	}
	decode(t, resp, &tok)
	if again := exchange(verifier); again.StatusCode != http.StatusBadRequest {
		t.Errorf("code reuse: status %d, want 400", again.StatusCode)
	}

	// Verify the RS256 signature with the published key.
	var jwks struct {
		Keys []struct{ N, E, Kid string }
	}
	resp, _ = http.Get(srv.URL + "/keys")
	decode(t, resp, &jwks)
	n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	e, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	parts := strings.Split(tok.IDToken, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		t.Fatalf("id token signature: %v", err)
	}
	var claims map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(payload, &claims)
	if claims["sub"] != "hb-001" || claims["nonce"] != "n1" || claims["aud"] != "rp" || claims["iss"] != srv.URL {
		t.Errorf("claims %v", claims)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, _ = http.DefaultClient.Do(req)
	var ui map[string]string
	decode(t, resp, &ui)
	if ui["preferred_username"] != "zhang" {
		t.Errorf("userinfo %v", ui)
	}
}

func TestBadRequests(t *testing.T) {
	sim, _ := New(Config{Clients: []Client{{ID: "rp", Secret: "s3", RedirectURIs: []string{"http://rp/cb"}}}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	for name, q := range map[string]string{
		"unknown-client": "client_id=x&redirect_uri=http://rp/cb&response_type=code&scope=openid",
		"bad-redirect":   "client_id=rp&redirect_uri=http://evil/cb&response_type=code&scope=openid",
		"no-openid":      "client_id=rp&redirect_uri=http://rp/cb&response_type=code&scope=profile",
	} {
		resp, err := http.Get(srv.URL + "/authorize?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
	resp, _ := http.PostForm(srv.URL+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"rp"}, "client_secret": {"bad"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad secret: status %d, want 401", resp.StatusCode)
	}
}

func TestDemo(t *testing.T) {
	s, err := Demo("http://localhost:8080/sim/province", "smartreg", "sec", "http://localhost:8080/identity/v1/login/upstream/callback")
	if err != nil {
		t.Fatal(err)
	}
	if s.issuer() != "http://localhost:8080/sim/province" || len(s.cfg.Users) != 2 || s.cfg.Users[0].Password != "hb.zhang-pw" {
		t.Errorf("demo config %+v", s.cfg)
	}
}
