// Package oidcprovider makes identity the platform's unified identity
// provider (统一身份认证, FP-100): an OpenID Connect provider built on
// github.com/zitadel/oidc/v3 (authorization code with PKCE, refresh tokens,
// userinfo, JWKS), mounted at /identity/oidc. It also logs people in through
// the provincial identity system (an upstream OIDC provider, as a relying
// party with github.com/coreos/go-oidc/v3) and by WeChat QR code (FP-122),
// binding each external identity to a local user once, with a password.
//
// The access tokens it issues are shared/auth tokens signed by the same
// auth.Issuer as POST /identity/v1/login, so every function verifies either;
// ID tokens are signed with that issuer's current Ed25519 key, so one JWKS
// (/identity/oidc/keys, also /identity/v1/jwks) verifies both.
package oidcprovider

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// IssuerPath is where the provider lives below PUBLIC_BASE_URL.
const IssuerPath = "/identity/oidc"

// Providers of external identities, as passed to Accounts.
const (
	ProviderUpstream = "upstream" // subject: the provincial system's "sub"
	ProviderWeChat   = "wechat"   // subject: the WeChat unionid
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the document of the routes Routes mounts, for identity to
// merge into its own.
func OpenAPI() []byte { return openapi }

// PasswordCheck is one password login attempt, with the captcha the
// throttle may ask for and where it came from.
type PasswordCheck struct {
	Username, Password string
	CaptchaID, Captcha string
	IP, Device         string
}

// Accounts is what the provider needs from identity's user accounts.
// identity's service implements it.
type Accounts interface {
	// CheckPassword verifies a password; throttling, captcha, lockout and
	// the login log apply. The error is an *errs.Error with a message fit
	// for the user; a field error on "captcha" asks for a captcha.
	CheckPassword(ctx context.Context, in PasswordCheck) (userID string, err error)
	// NewCaptcha makes a captcha for a login form; its image is served at
	// /identity/v1/captchas/{id}.
	NewCaptcha(ctx context.Context, ip string) (id string, err error)
	// Principal is the user's current roles, permissions and data scope; an
	// error (for a frozen or deleted user) refuses the token.
	Principal(ctx context.Context, userID string) (*auth.Principal, error)
	// UserByExternal returns errs.ErrNotFound when the identity is unbound.
	UserByExternal(ctx context.Context, provider, subject string) (userID string, err error)
	BindExternal(ctx context.Context, userID, provider, subject string) error
	// EndSession refuses every access token of a session everywhere: the
	// provider ends the sessions of tokens issued from a reused code.
	EndSession(ctx context.Context, sessionID string) error
}

// SessionStarter is optionally implemented by Accounts: it does what a
// successful POST /identity/v1/login does after the password check (issue
// the tokens, set the smartreg_at / smartreg_rt cookies, record the session
// and the login log). With it, upstream and WeChat logins started directly
// from the console (without an OIDC client) log the person in; without it
// they only serve OIDC authorization requests.
type SessionStarter interface {
	StartSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID, method string) error
}

// Signer signs the access tokens (identity's keyring around a shared/auth
// Issuer); its current key signs ID tokens, and its public keys are the
// JWKS.
type Signer interface {
	Issuer() string
	Audience() string
	SigningKey() auth.SigningKey
	PublicKeys() []auth.PublicKey
	Issue(p auth.Principal) (string, time.Time, error)
}

// Verifier checks access tokens (*auth.Verifier).
type Verifier interface {
	Verify(ctx context.Context, raw string) (*auth.Principal, error)
}

// UpstreamConfig is the provincial identity system; empty Issuer disables it.
type UpstreamConfig struct {
	Issuer, ClientID, ClientSecret string
	Name                           string // button text; default "河北省统一身份认证"
}

// WeChatConfig is the WeChat Open Platform website application; empty
// AppID disables WeChat login.
type WeChatConfig struct {
	AppID, Secret string
	OpenBaseURL   string // default https://open.weixin.qq.com
	APIBaseURL    string // default https://api.weixin.qq.com
}

// Deps is what the provider needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Accounts Accounts
	// Signer signs the access tokens; its Issuer() is the OIDC issuer and
	// must be PublicBaseURL + "/identity/oidc".
	Signer Signer
	// Verifier checks access tokens presented to userinfo and the
	// smartreg_at cookie for single sign-on.
	Verifier Verifier
	// PublicBaseURL is the platform's external address (PUBLIC_BASE_URL).
	PublicBaseURL string
	// CryptoKey encrypts authorization codes' payload; share it across
	// replicas (identity derives it from its secret).
	CryptoKey [32]byte
	// HTTPClient calls the upstream provider and WeChat; nil: 10 s timeout.
	HTTPClient *http.Client
	Now        func() time.Time
}

// Provider is the OpenID Connect provider with its login pages.
type Provider struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	accounts Accounts
	signer   Signer
	verifier Verifier
	base     string // PUBLIC_BASE_URL without trailing slash
	secure   bool   // cookies Secure (https)
	now      func() time.Time
	http     *http.Client
	cors     []string // origins allowed besides the registered clients'

	op       *op.Provider
	store    *storage
	upstream *upstream
	wechat   *wechatClient
}

// Lifetimes of the pieces of a login.
const (
	authRequestTTL  = 15 * time.Minute // from /authorize to the code: time to log in
	codeTTL         = time.Minute
	loginStateTTL   = 10 * time.Minute // a QR code or upstream login page left open
	pendingBindTTL  = 10 * time.Minute
	refreshTokenTTL = 7 * 24 * time.Hour
	// spentCodeTTL is how long a used code is remembered to catch its
	// reuse: past the longest access token, a reuse has nothing left to
	// revoke but refresh tokens, which a later reuse would not name anyway.
	spentCodeTTL = time.Hour
)

// New checks the dependencies and the settings and builds the provider.
// It does no I/O: the upstream provider's discovery document is fetched
// on first use.
func New(d Deps, c Config) (*Provider, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("oidcprovider: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("oidcprovider: Pool is required")
	case d.Accounts == nil:
		return nil, errors.New("oidcprovider: Accounts is required")
	case d.Signer == nil:
		return nil, errors.New("oidcprovider: Signer is required")
	case d.Verifier == nil:
		return nil, errors.New("oidcprovider: Verifier is required")
	case d.Now == nil:
		return nil, errors.New("oidcprovider: Now is required")
	case d.CryptoKey == [32]byte{}:
		return nil, errors.New("oidcprovider: CryptoKey is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	iss := d.Signer.Issuer()
	base := strings.TrimSuffix(d.PublicBaseURL, "/")
	if iss != base+IssuerPath {
		return nil, fmt.Errorf("oidcprovider: issuer %q must be PUBLIC_BASE_URL + %s (%s)", iss, IssuerPath, base+IssuerPath)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("oidcprovider: PublicBaseURL %q is not an http(s) URL", base)
	}
	p := &Provider{log: d.Logger, pool: d.Pool, accounts: d.Accounts, signer: d.Signer, verifier: d.Verifier,
		base: base, secure: u.Scheme == "https", now: d.Now, http: d.HTTPClient, cors: c.corsOrigins()}
	p.store = &storage{p: p}
	cfg := &op.Config{
		CryptoKey:                d.CryptoKey,
		CryptoKeyId:              "code",
		DefaultLogoutRedirectURI: base + "/console/",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          []string{"openid", "profile", "offline_access"},
	}
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint("authorize"), op.NewEndpoint("token"), op.NewEndpoint("userinfo"),
			op.NewEndpoint("revoke"), op.NewEndpoint("end_session"), op.NewEndpoint("keys")),
		op.WithCrypto(&tokenCrypto{codes: op.NewAES256GCMCrypto(d.CryptoKey, "code"), verifier: p.verifier}),
		op.WithCORSOptions(p.corsOptions()),
	}
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(cfg, p.store, op.StaticIssuer(iss), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	if up := c.Upstream(); up.Issuer != "" {
		p.upstream = newUpstream(up, base+"/identity/v1/login/upstream/callback", d.HTTPClient)
	}
	if wx := c.WeChat(); wx.AppID != "" {
		p.wechat = newWeChatClient(wx, d.HTTPClient)
	}
	return p, nil
}

// Issuer is the OIDC issuer URL.
func (p *Provider) Issuer() string { return p.signer.Issuer() }

// Ready answers when the database does.
func (p *Provider) Ready(ctx context.Context) error { return p.pool.Ping(ctx) }

// Routes mounts the provider and the external-login routes on m:
// /identity/oidc/... (discovery, authorize, token, userinfo, keys, revoke,
// end_session, and the login page), /identity/v1/jwks and
// /identity/v1/login/{upstream,wechat}[/callback], /identity/v1/login/bind.
// Those are public: they are where a person becomes authenticated. It
// also mounts the client administration API under
// /identity/v1/oidc/clients (permissions identity.client:view|create|edit).
func (p *Provider) Routes(m *httpx.Mux) {
	p.clientRoutes(m)
	m.HandleFunc("GET /identity/oidc/login", p.loginPage, httpx.Public(), httpx.Params("id"))
	m.HandleFunc("POST /identity/oidc/login", p.loginSubmit, httpx.Public())
	// The library's endpoints take the OAuth parameters it parses itself.
	m.Handle("/identity/oidc/", http.StripPrefix(IssuerPath, p.op), httpx.Public(), httpx.AnyParams())
	m.Handle("GET /identity/v1/jwks", jwks(p.signer), httpx.Public())
	m.HandleFunc("GET /identity/v1/login/providers", p.providers, httpx.Public())
	m.HandleFunc("GET /identity/v1/login/upstream", p.upstreamStart, httpx.Public(), httpx.Params("auth_request", "return_to"))
	m.HandleFunc("GET /identity/v1/login/upstream/callback", p.upstreamCallback, httpx.Public(), httpx.AnyParams())
	m.HandleFunc("GET /identity/v1/login/wechat", p.wechatStart, httpx.Public(), httpx.Params("auth_request", "return_to"))
	m.HandleFunc("GET /identity/v1/login/wechat/callback", p.wechatCallback, httpx.Public(), httpx.AnyParams())
	m.HandleFunc("POST /identity/v1/login/bind", p.bindSubmit, httpx.Public())
	m.HandleFunc("POST /identity/v1/wechat/bind", p.bindSubmit, httpx.Public())
}

// jwks serves the signer's public keys; verifiers cache them.
func jwks(s Signer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := auth.MarshalJWKS(s.PublicKeys())
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(b)
	})
}

// Handler serves the provider's routes alone (tests), behind v's
// middleware for the client administration API.
func (p *Provider) Handler(mw func(http.Handler) http.Handler) *httpx.Mux {
	m := httpx.NewMux()
	if mw != nil {
		m.Use(mw)
	}
	p.Routes(m)
	return m
}
