package runtime

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// bearer is the token of an Authorization: Bearer header, "" without one.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// Secret authenticates in-process deliveries of the one-process platform:
// a random key made at start, known only to this process's broker, so no
// request from outside can pass even if a receiver were ever mounted.
type Secret struct{ key string }

// NewSecret makes a fresh random key.
func NewSecret() *Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return &Secret{key: base64.RawURLEncoding.EncodeToString(b)}
}

// Authorize adds the key to a delivery the broker is about to make.
func (s *Secret) Authorize(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s.key) }

// AuthenticateEvent accepts only a request carrying the key.
func (s *Secret) AuthenticateEvent(r *http.Request) error {
	tok := bearer(r)
	if tok == "" {
		return errors.New("no delivery token")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.key)) != 1 {
		return errors.New("delivery token does not match")
	}
	return nil
}

// OIDCConfig is how a Knative receiver checks the sender identity of
// Knative Eventing (feature authentication-oidc): every delivery from the
// Broker carries a Kubernetes service-account token, issued by the
// cluster's OIDC issuer to the Trigger's own service account, for the
// audience the Trigger names as its subscriber's.
type OIDCConfig struct {
	Issuer   string `env:"EVENTS_OIDC_ISSUER" default:"https://kubernetes.default.svc.cluster.local" help:"事件投递令牌的签发者（集群 service-account issuer）"`
	JWKSURL  string `env:"EVENTS_OIDC_JWKS_URL" default:"https://kubernetes.default.svc.cluster.local/openid/v1/jwks" help:"集群签发者的公钥集（JWKS）地址"`
	Audience string `env:"EVENTS_OIDC_AUDIENCE" default:"" help:"本函数接收事件的受众（Trigger 的 subscriber.audience），为空时取 smartreg-<函数名>"`
	// Subjects are the service accounts allowed to deliver, as prefixes of
	// the token's sub ("system:serviceaccount:smartreg:"); the Trigger
	// identities Knative makes live in the Trigger's namespace.
	Subjects string `env:"EVENTS_OIDC_SUBJECTS" default:"system:serviceaccount:smartreg:" help:"允许投递事件的服务账号前缀（逗号分隔）"`
	// The pod's own service-account token and CA, to read the JWKS from
	// the API server.
	TokenFile string `env:"EVENTS_OIDC_TOKEN_FILE" default:"/var/run/secrets/kubernetes.io/serviceaccount/token" help:"读取 JWKS 时使用的服务账号令牌文件"`
	CAFile    string `env:"EVENTS_OIDC_CA_FILE" default:"/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" help:"集群 CA 证书文件"`
}

// OIDC verifies Knative Eventing sender-identity tokens.
type OIDC struct {
	issuer, audience string
	subjects         []string
	jwksURL          string
	tokenFile        string
	client           *http.Client
	now              func() time.Time

	mu        sync.Mutex
	keys      jose.JSONWebKeySet
	fetchedAt time.Time
}

// OIDC algorithms the Kubernetes API server signs service-account tokens with.
var saAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.RS384, jose.RS512, jose.ES384, jose.ES512, jose.PS256}

// NewOIDC builds the verifier of function name's deliveries. It does no
// I/O: keys are fetched at the first delivery and when a token names an
// unknown key.
func NewOIDC(name string, c OIDCConfig, client *http.Client, now func() time.Time) (*OIDC, error) {
	if c.Issuer == "" || c.JWKSURL == "" {
		return nil, errors.New("EVENTS_OIDC_ISSUER and EVENTS_OIDC_JWKS_URL are required")
	}
	if c.Audience == "" {
		c.Audience = "smartreg-" + name
	}
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if pem, err := os.ReadFile(c.CAFile); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		client = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	o := &OIDC{issuer: c.Issuer, audience: c.Audience, jwksURL: c.JWKSURL, tokenFile: c.TokenFile, client: client, now: now}
	for _, s := range strings.Split(c.Subjects, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.subjects = append(o.subjects, s)
		}
	}
	return o, nil
}

// Audience is the audience deliveries must be issued for.
func (o *OIDC) Audience() string { return o.audience }

// AuthenticateEvent checks signature, issuer, audience, expiry and sender.
func (o *OIDC) AuthenticateEvent(r *http.Request) error {
	raw := bearer(r)
	if raw == "" {
		return errors.New("no OIDC token")
	}
	tok, err := jwt.ParseSigned(raw, saAlgs)
	if err != nil {
		return fmt.Errorf("parse token: %w", err)
	}
	if len(tok.Headers) != 1 {
		return errors.New("token must have one signature")
	}
	key, err := o.key(r.Context(), tok.Headers[0].KeyID)
	if err != nil {
		return err
	}
	var c jwt.Claims
	if err := tok.Claims(key, &c); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: o.issuer, AnyAudience: jwt.Audience{o.audience}, Time: o.now()}, 30*time.Second); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	if c.Expiry == nil {
		return errors.New("token has no expiry")
	}
	if len(o.subjects) > 0 && !slices.ContainsFunc(o.subjects, func(p string) bool { return strings.HasPrefix(c.Subject, p) }) {
		return fmt.Errorf("sender %q is not allowed", c.Subject)
	}
	return nil
}

// key finds kid among the cached keys, fetching them again when kid is
// unknown, at most every 10 s so a stream of forged kids cannot hammer
// the API server.
func (o *OIDC) key(ctx context.Context, kid string) (any, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if k := o.keys.Key(kid); len(k) > 0 {
		return k[0].Public().Key, nil
	}
	if !o.fetchedAt.IsZero() && o.now().Sub(o.fetchedAt) < 10*time.Second {
		return nil, fmt.Errorf("unknown key %q", kid)
	}
	o.fetchedAt = o.now()
	set, err := o.fetch(ctx)
	if err != nil {
		return nil, err
	}
	o.keys = set
	if k := o.keys.Key(kid); len(k) > 0 {
		return k[0].Public().Key, nil
	}
	return nil, fmt.Errorf("unknown key %q", kid)
}

func (o *OIDC) fetch(ctx context.Context) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.jwksURL, nil)
	if err != nil {
		return set, err
	}
	if tok, err := os.ReadFile(o.tokenFile); err == nil {
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return set, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("fetch JWKS: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return set, fmt.Errorf("decode JWKS: %w", err)
	}
	return set, nil
}
