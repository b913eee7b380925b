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
	"crypto/sha256"
	"embed"
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
	"github.com/sjzamr/smartreg/shared/store"
)

// Component is the migration component (schema identity).
const Component = "identity-oidc"

// IssuerPath is where the provider lives below PUBLIC_BASE_URL.
const IssuerPath = "/identity/oidc"

// Providers of external identities, as passed to Accounts.
const (
	ProviderUpstream = "upstream" // subject: the provincial system's "sub"
	ProviderWeChat   = "wechat"   // subject: the WeChat unionid
)

//go:embed migrations/*.sql
var migrations embed.FS

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the document of the routes Routes mounts, for identity to
// merge into its own.
func OpenAPI() []byte { return openapi }

// Migration is this package's part of the identity schema.
func Migration() store.Migration {
	return store.Migration{Component: Component, FS: migrations, Dir: "migrations"}
}

// Accounts is what the provider needs from identity's user accounts.
// identity's service implements it.
type Accounts interface {
	// CheckPassword verifies a password; lockout and the login log apply.
	// The error is an *errs.Error with a message fit for the user.
	CheckPassword(ctx context.Context, username, password, ip, device string) (userID string, err error)
	// Principal is the user's current roles, permissions and data scope; an
	// error (for a frozen or deleted user) refuses the token.
	Principal(ctx context.Context, userID string) (*auth.Principal, error)
	// UserByExternal returns errs.ErrNotFound when the identity is unbound.
	UserByExternal(ctx context.Context, provider, subject string) (userID string, err error)
	BindExternal(ctx context.Context, userID, provider, subject string) error
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
	// Issuer signs the access tokens; its Issuer() is the OIDC issuer and
	// must be PUBLIC_BASE_URL + "/identity/oidc"; its current key signs ID tokens.
	Issuer *auth.Issuer
	// Verifier checks access tokens presented to userinfo and the
	// smartreg_at cookie for single sign-on; nil builds an in-process one
	// from Issuer (without revocation checks).
	Verifier *auth.Verifier
	// PublicBaseURL is the platform's external address; default: Issuer's
	// issuer without "/identity/oidc".
	PublicBaseURL string
	// CryptoKey encrypts authorization codes' payload; share it across
	// replicas (derive it from the identity secret). Zero: derived from the
	// issuer's signing key.
	CryptoKey [32]byte
	Upstream  UpstreamConfig
	WeChat    WeChatConfig
	// HTTPClient calls the upstream provider and WeChat; default 10 s timeout.
	HTTPClient *http.Client
	Now        func() time.Time
}

// Provider is the OpenID Connect provider with its login pages.
type Provider struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	accounts Accounts
	issuer   *auth.Issuer
	verifier *auth.Verifier
	ownVerif bool
	base     string // PUBLIC_BASE_URL without trailing slash
	secure   bool   // cookies Secure (https)
	now      func() time.Time
	http     *http.Client

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
)

// New checks the dependencies and builds the provider. It does not call
// the upstream provider: its discovery document is fetched on first use.
func New(d Deps) (*Provider, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("oidcprovider: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("oidcprovider: Pool is required")
	case d.Accounts == nil:
		return nil, errors.New("oidcprovider: Accounts is required")
	case d.Issuer == nil:
		return nil, errors.New("oidcprovider: Issuer is required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	iss := d.Issuer.Issuer()
	base := strings.TrimSuffix(d.PublicBaseURL, "/")
	if base == "" {
		b, ok := strings.CutSuffix(iss, IssuerPath)
		if !ok {
			return nil, fmt.Errorf("oidcprovider: issuer %q does not end in %s; set PublicBaseURL", iss, IssuerPath)
		}
		base = b
	}
	if iss != base+IssuerPath {
		return nil, fmt.Errorf("oidcprovider: issuer %q must be PUBLIC_BASE_URL + %s (%s)", iss, IssuerPath, base+IssuerPath)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("oidcprovider: PublicBaseURL %q is not an http(s) URL", base)
	}
	p := &Provider{log: d.Logger, pool: d.Pool, accounts: d.Accounts, issuer: d.Issuer, verifier: d.Verifier,
		base: base, secure: u.Scheme == "https", now: d.Now, http: d.HTTPClient}
	if p.verifier == nil {
		v, err := auth.NewVerifier(auth.VerifierConfig{Keys: d.Issuer, Issuer: iss, Audience: d.Issuer.Audience(), Logger: d.Logger, Now: d.Now})
		if err != nil {
			return nil, err
		}
		p.verifier, p.ownVerif = v, true
	}
	p.store = &storage{p: p}
	key := d.CryptoKey
	if key == ([32]byte{}) {
		// Codes are looked up by hash in PostgreSQL, never decrypted, so a
		// per-key derivation only has to be stable, not secret-shared.
		key = sha256.Sum256(append([]byte("smartreg-oidc-code-key:"), d.Issuer.SigningKey().Private.Seed()...))
	}
	cfg := &op.Config{
		CryptoKey:                key,
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
		op.WithCrypto(&tokenCrypto{codes: op.NewAES256GCMCrypto(key, "code"), verifier: p.verifier}),
	}
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(cfg, p.store, op.StaticIssuer(iss), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: %w", err)
	}
	if d.Upstream.Issuer != "" {
		if d.Upstream.ClientID == "" || d.Upstream.ClientSecret == "" {
			return nil, errors.New("oidcprovider: UPSTREAM_OIDC_CLIENT_ID and _CLIENT_SECRET are required with UPSTREAM_OIDC_ISSUER")
		}
		p.upstream = newUpstream(d.Upstream, base+"/identity/v1/login/upstream/callback", d.HTTPClient)
	}
	if d.WeChat.AppID != "" {
		if d.WeChat.Secret == "" {
			return nil, errors.New("oidcprovider: WECHAT_SECRET is required with WECHAT_APPID")
		}
		p.wechat = newWeChatClient(d.WeChat, d.HTTPClient)
	}
	return p, nil
}

// Close stops the verifier New built for itself.
func (p *Provider) Close() {
	if p.ownVerif {
		p.verifier.Close()
	}
}

// Issuer is the OIDC issuer URL.
func (p *Provider) Issuer() string { return p.issuer.Issuer() }

// Ready answers when the database does.
func (p *Provider) Ready(ctx context.Context) error { return p.pool.Ping(ctx) }

// Routes mounts the provider and the external-login routes on mux:
// /identity/oidc/... (discovery, authorize, token, userinfo, keys, revoke,
// end_session, and the login page), /identity/v1/jwks and
// /identity/v1/login/{upstream,wechat}[/callback], /identity/v1/login/bind.
// Those are public: they are where a person becomes authenticated. With a
// guard it also mounts the client administration API under
// /identity/v1/oidc/clients (permissions identity.client:view|create|edit).
func (p *Provider) Routes(mux *http.ServeMux, guard func(resource, action string) func(http.Handler) http.Handler) {
	p.clientRoutes(mux, guard)
	opHandler := http.StripPrefix(IssuerPath, p.op)
	mux.HandleFunc("GET /identity/oidc/login", p.loginPage)
	mux.HandleFunc("POST /identity/oidc/login", p.loginSubmit)
	mux.Handle("/identity/oidc/", opHandler)
	mux.Handle("GET /identity/v1/jwks", p.issuer.JWKSHandler())
	mux.HandleFunc("GET /identity/v1/login/providers", p.providers)
	mux.HandleFunc("GET /identity/v1/login/upstream", p.upstreamStart)
	mux.HandleFunc("GET /identity/v1/login/upstream/callback", p.upstreamCallback)
	mux.HandleFunc("GET /identity/v1/login/wechat", p.wechatStart)
	mux.HandleFunc("GET /identity/v1/login/wechat/callback", p.wechatCallback)
	mux.HandleFunc("POST /identity/v1/login/bind", p.bindSubmit)
	mux.HandleFunc("POST /identity/v1/wechat/bind", p.bindSubmit)
}

// Handler serves the public routes alone, without the admin API (tests).
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	p.Routes(mux, nil)
	return mux
}
