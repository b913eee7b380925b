package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
)

const (
	testIss = "http://localhost:8080/identity/oidc"
	testAud = "smartreg"
)

func newIssuer(t *testing.T, cfg auth.IssuerConfig) *auth.Issuer {
	t.Helper()
	if cfg.Key.ID == "" {
		k, err := auth.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Key = k
	}
	if cfg.Issuer == "" {
		cfg.Issuer = testIss
	}
	if cfg.Audience == "" {
		cfg.Audience = testAud
	}
	iss, err := auth.NewIssuer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func newVerifier(t *testing.T, cfg auth.VerifierConfig) *auth.Verifier {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = testIss
	}
	if cfg.Audience == "" {
		cfg.Audience = testAud
	}
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func issue(t *testing.T, iss *auth.Issuer, p auth.Principal) string {
	t.Helper()
	raw, _, err := iss.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

var alice = auth.Principal{UserID: "u-alice", Username: "alice", Name: "张三", DeptID: "d-changan", SessionID: "s-1",
	Roles: []string{"inspector"}, Perms: []string{"registry.entity:view", "registry.entity:edit"},
	Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}}

func TestVerifyAcceptsAGoodToken(t *testing.T) {
	iss := newIssuer(t, auth.IssuerConfig{})
	v := newVerifier(t, auth.VerifierConfig{Keys: iss})
	raw := issue(t, iss, alice)
	for range 2 { // the second answer comes from the verified-token cache
		p, err := v.Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !reflect.DeepEqual(*p, alice) {
			t.Fatalf("principal = %+v, want %+v", *p, alice)
		}
		p.Perms[0] = "changed" // a caller changing its copy…
		p.Perms = nil
	}
	if p, _ := v.Verify(context.Background(), raw); len(p.Perms) != 2 { // …does not change the cache
		t.Fatalf("cached principal was changed: %+v", p)
	}
}

func TestVerifyRefuses(t *testing.T) {
	iss := newIssuer(t, auth.IssuerConfig{})
	v := newVerifier(t, auth.VerifierConfig{Keys: iss})
	good := issue(t, iss, alice)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tamperedPayload := strings.Replace(string(payload), `"130102"`, `"130104"`, 1)
	if tamperedPayload == string(payload) {
		t.Fatal("test setup: payload has no district to tamper with")
	}
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tamperedPayload)) + "." + parts[2]

	old := newIssuer(t, auth.IssuerConfig{Key: iss.SigningKey(), Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	otherAud := newIssuer(t, auth.IssuerConfig{Key: iss.SigningKey(), Audience: "another-app"})
	otherIss := newIssuer(t, auth.IssuerConfig{Key: iss.SigningKey(), Issuer: "https://evil.example/oidc"})
	stranger := newIssuer(t, auth.IssuerConfig{}) // same iss/aud, key unknown to the verifier

	cases := []struct {
		name string
		raw  string
		want error
	}{
		{"expired", issue(t, old, alice), auth.ErrTokenExpired},
		{"wrong-audience", issue(t, otherAud, alice), auth.ErrTokenClaims},
		{"wrong-issuer", issue(t, otherIss, alice), auth.ErrTokenClaims},
		{"tampered", tampered, auth.ErrTokenInvalid},
		{"unknown-kid", issue(t, stranger, alice), auth.ErrUnknownKey},
		{"garbage", "not.a.token", auth.ErrTokenInvalid},
		{"alg-none", "eyJhbGciOiJub25lIn0." + parts[1] + ".", auth.ErrTokenInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), c.raw)
			if err == nil {
				t.Fatalf("accepted, principal %+v", p)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if e := errs.As(err); e == nil || e.Code != errs.Unauthorized || e.Message != auth.MsgExpired {
				t.Fatalf("err = %#v, want an unauthorized errs.Error", err)
			}
		})
	}
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("the untampered token is refused: %v", err)
	}
}

func TestVerifyRefusesATokenOnceItExpires(t *testing.T) {
	iss := newIssuer(t, auth.IssuerConfig{TTL: time.Minute})
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	v := newVerifier(t, auth.VerifierConfig{Keys: iss, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	raw := issue(t, iss, alice)
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	now.Add(int64(2 * time.Minute)) // the cached verdict must not outlive the token
	if _, err := v.Verify(context.Background(), raw); !errors.Is(err, auth.ErrTokenExpired) {
		t.Fatalf("err = %v, want expired", err)
	}
}

func TestIssuerRefusesLongLivedTokens(t *testing.T) {
	k, _ := auth.GenerateKey()
	if _, err := auth.NewIssuer(auth.IssuerConfig{Issuer: testIss, Audience: testAud, Key: k, TTL: 2 * auth.MaxTokenLifetime}); err == nil {
		t.Fatal("an issuer with a TTL past MaxTokenLifetime was built")
	}
}

func TestNewVerifierChecksConfig(t *testing.T) {
	iss := newIssuer(t, auth.IssuerConfig{})
	for name, cfg := range map[string]auth.VerifierConfig{
		"no-keys":     {Issuer: testIss, Audience: testAud},
		"both-keys":   {Keys: iss, JWKSURL: "http://x", Issuer: testIss, Audience: testAud},
		"no-issuer":   {Keys: iss, Audience: testAud},
		"no-audience": {Keys: iss, Issuer: testIss},
	} {
		if v, err := auth.NewVerifier(cfg); err == nil {
			v.Close()
			t.Errorf("%s: NewVerifier accepted %+v", name, cfg)
		}
	}
}

// TestJWKSRotation: a verifier fetching identity's JWKS accepts tokens of a
// new key as soon as it sees the new kid, keeps accepting the old key while
// it is published, and refuses it once retired.
func TestJWKSRotation(t *testing.T) {
	iss := newIssuer(t, auth.IssuerConfig{})
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		iss.JWKSHandler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	fresh := func() *auth.Verifier {
		return newVerifier(t, auth.VerifierConfig{JWKSURL: srv.URL, MinRefetch: time.Nanosecond})
	}

	v := fresh()
	oldTok := issue(t, iss, alice)
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatalf("token of the first key refused: %v", err)
	}
	k2, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := iss.Rotate(k2); err != nil {
		t.Fatal(err)
	}
	newTok := issue(t, iss, alice)
	if _, err := v.Verify(ctx, newTok); err != nil {
		t.Fatalf("token of the rotated-in key refused: %v", err)
	}
	if _, err := fresh().Verify(ctx, oldTok); err != nil {
		t.Fatalf("old key still published, but its token is refused: %v", err)
	}
	iss.Retire(k2.ID) // retiring the current key is a no-op…
	iss.Retire(iss.PublicKeys()[1].ID)
	if n := len(iss.PublicKeys()); n != 1 {
		t.Fatalf("after retiring, %d keys published, want 1", n)
	}
	if _, err := fresh().Verify(ctx, oldTok); !errors.Is(err, auth.ErrUnknownKey) {
		t.Fatalf("token of a retired key: err = %v, want unknown key", err)
	}
	if _, err := fresh().Verify(ctx, newTok); err != nil {
		t.Fatalf("current key refused after retiring the old one: %v", err)
	}
}

// TestUnknownKidRefetchIsRateLimited: a flood of tokens with made-up key
// ids must not turn into a flood of JWKS requests.
func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	iss := newIssuer(t, auth.IssuerConfig{})
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		iss.JWKSHandler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	v := newVerifier(t, auth.VerifierConfig{JWKSURL: srv.URL, MinRefetch: time.Hour})
	if _, err := v.Verify(context.Background(), issue(t, iss, alice)); err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	before := fetches.Load()
	for range 50 {
		stranger := newIssuer(t, auth.IssuerConfig{})
		if _, err := v.Verify(context.Background(), issue(t, stranger, alice)); !errors.Is(err, auth.ErrUnknownKey) {
			t.Fatalf("err = %v, want unknown key", err)
		}
	}
	if n := fetches.Load() - before; n > 1 {
		t.Fatalf("50 unknown kids caused %d JWKS fetches, want at most 1", n)
	}
}

func TestJWKSServesOnlyPublicKeys(t *testing.T) {
	iss := newIssuer(t, auth.IssuerConfig{})
	b, err := iss.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, `"kid":"`+iss.SigningKey().ID+`"`) || !strings.Contains(s, `"crv":"Ed25519"`) || strings.Contains(s, `"d":`) {
		t.Fatalf("JWKS = %s", s)
	}
}

func TestKeyFromSeedIsStable(t *testing.T) {
	k, _ := auth.GenerateKey()
	again, err := auth.KeyFromSeed("", k.Private.Seed())
	if err != nil || again.ID != k.ID || !again.Private.Equal(k.Private) {
		t.Fatalf("KeyFromSeed = %+v, %v; want the same key and id", again.ID, err)
	}
	if _, err := auth.KeyFromSeed("x", []byte("short")); err == nil {
		t.Fatal("a short seed was accepted")
	}
}

// TestInProcessKeysFollowRotation: a verifier beside identity (KeySource)
// accepts the new key's tokens right after a rotation, without the JWKS
// rate limit.
func TestInProcessKeysFollowRotation(t *testing.T) {
	iss := newIssuer(t, auth.IssuerConfig{})
	v := newVerifier(t, auth.VerifierConfig{Keys: iss, MinRefetch: time.Hour})
	if _, err := v.Verify(context.Background(), issue(t, iss, alice)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		k, _ := auth.GenerateKey()
		if err := iss.Rotate(k); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), issue(t, iss, alice)); err != nil {
			t.Fatalf("token of the rotated-in key refused: %v", err)
		}
	}
}
