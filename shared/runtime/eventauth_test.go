package runtime

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sjzamr/smartreg/shared/httpx"
)

// cluster plays the Kubernetes API server's OIDC issuer: it serves a JWKS
// and signs service-account tokens as the TokenRequest API does.
type cluster struct {
	key     *rsa.PrivateKey
	kid     string
	jwks    *httptest.Server
	fetches atomic.Int32
}

const testIssuer = "https://kubernetes.default.svc.cluster.local"

func newCluster(t *testing.T) *cluster {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{key: k, kid: "sa-key-1"}
	c.jwks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fetches.Add(1)
		if r.Header.Get("Authorization") != "Bearer pod-token" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: c.kid, Algorithm: "RS256", Use: "sig"}}})
	}))
	t.Cleanup(c.jwks.Close)
	return c
}

func (c *cluster) token(t *testing.T, key *rsa.PrivateKey, kid string, claims jwt.Claims) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func claims(aud, sub string, exp time.Time) jwt.Claims {
	return jwt.Claims{Issuer: testIssuer, Audience: jwt.Audience{aud}, Subject: sub,
		IssuedAt: jwt.NewNumericDate(exp.Add(-time.Hour)), Expiry: jwt.NewNumericDate(exp)}
}

// TestKnativeEventsNeedTheBrokersOIDCToken: on the one port of a Knative
// Service, an event is handled only with a token of the cluster's issuer,
// for this function's audience, from a Trigger's service account, unexpired.
func TestKnativeEventsNeedTheBrokersOIDCToken(t *testing.T) {
	c := newCluster(t)
	tokenFile := t.TempDir() + "/token"
	if err := writeFile(tokenFile, "pod-token\n"); err != nil {
		t.Fatal(err)
	}
	oidc, err := NewOIDC("demo", OIDCConfig{Issuer: testIssuer, JWKSURL: c.jwks.URL, Subjects: "system:serviceaccount:smartreg:",
		TokenFile: tokenFile}, c.jwks.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if oidc.Audience() != "smartreg-demo" {
		t.Fatalf("default audience %q", oidc.Audience())
	}
	fn := &fakeFn{}
	h := Knative("demo", fn, oidc, Options{Logger: httpx.NewLogger(io.Discard, "error")})
	now := time.Now()
	trigger := "system:serviceaccount:smartreg:oidc-trigger-qr-entity-events"
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	bad := map[string]string{
		"no token":          "",
		"garbage":           "not-a-jwt",
		"wrong audience":    c.token(t, c.key, c.kid, claims("smartreg-registry", trigger, now.Add(time.Hour))),
		"expired":           c.token(t, c.key, c.kid, claims("smartreg-demo", trigger, now.Add(-time.Hour))),
		"foreign signer":    c.token(t, other, c.kid, claims("smartreg-demo", trigger, now.Add(time.Hour))),
		"unknown key":       c.token(t, other, "attacker-kid", claims("smartreg-demo", trigger, now.Add(time.Hour))),
		"other namespace":   c.token(t, c.key, c.kid, claims("smartreg-demo", "system:serviceaccount:default:evil", now.Add(time.Hour))),
		"our access token?": "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
	}
	for name, tok := range bad {
		rec := postEventWith(t, h, "/", false, func(r *http.Request) {
			if tok != "" {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
		})
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, rec.Code)
		}
	}
	if n := fn.received.Load(); n != 0 {
		t.Fatalf("%d forged events were handled", n)
	}
	good := c.token(t, c.key, c.kid, claims("smartreg-demo", trigger, now.Add(time.Hour)))
	rec := postEventWith(t, h, "/", true, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+good) })
	if rec.Code != http.StatusAccepted || fn.received.Load() != 1 {
		t.Fatalf("the Broker's delivery: status %d, handled %d", rec.Code, fn.received.Load())
	}
	// Unknown kids are not fetched for again and again.
	if n := c.fetches.Load(); n > 2 {
		t.Errorf("JWKS fetched %d times", n)
	}
	// The public routes still work on the same port, without a token.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/demo/v1/hello", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "你好") {
		t.Errorf("public route on the Knative port: %d %s", rec.Code, rec.Body)
	}
}

func writeFile(name, s string) error { return os.WriteFile(name, []byte(s), 0o600) }
