package oidcprovider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
)

// storage implements op.Storage on PostgreSQL (schema identity) and the
// shared auth.Issuer.
type storage struct{ p *Provider }

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ---- clients ----

type client struct {
	id, name           string
	secretHash         *string
	redirects, logouts []string
	appType            string
	grants             []string
	idTokenLifetime    time.Duration
	dev                bool
	loginURL           string // issuer + "/login"
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string { return c.logouts }
func (c *client) ApplicationType() op.ApplicationType {
	switch c.appType {
	case "native":
		return op.ApplicationTypeNative
	case "user_agent":
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.secretHash == nil {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.grants))
	for _, g := range c.grants {
		out = append(out, oidc.GrantType(g))
	}
	return out
}
func (c *client) LoginURL(id string) string           { return c.loginURL + "?id=" + id }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTokenLifetime }
func (c *client) DevMode() bool                       { return c.dev }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts name and username into the ID token,
// so a relying party needs no userinfo call to greet the user.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// resolve makes a relative redirect URI absolute against PUBLIC_BASE_URL.
func (p *Provider) resolve(uris []string) []string {
	out := make([]string, len(uris))
	for i, u := range uris {
		if strings.HasPrefix(u, "/") {
			u = p.base + u
		}
		out[i] = u
	}
	return out
}

func (s *storage) client(ctx context.Context, id string) (*client, error) {
	c := &client{id: id, loginURL: s.p.Issuer() + "/login"}
	var lifetime int
	var disabled bool
	err := s.p.pool.QueryRow(ctx, `SELECT name, secret_hash, redirect_uris, post_logout_redirect_uris, application_type,
		grant_types, id_token_lifetime_s, disabled FROM identity.oidc_clients WHERE id = $1`, id).
		Scan(&c.name, &c.secretHash, &c.redirects, &c.logouts, &c.appType, &c.grants, &lifetime, &disabled)
	if errors.Is(err, pgx.ErrNoRows) || disabled {
		return nil, fmt.Errorf("client %q: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	c.redirects, c.logouts = s.p.resolve(c.redirects), s.p.resolve(c.logouts)
	c.idTokenLifetime = time.Duration(lifetime) * time.Second
	// Plain-http redirect URIs are fine while the platform itself runs on
	// http (a workstation); in production PUBLIC_BASE_URL is https.
	c.dev = !s.p.secure
	return c, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	return s.client(ctx, clientID)
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, clientSecret string) error {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return err
	}
	if c.secretHash == nil || subtle.ConstantTimeCompare([]byte(*c.secretHash), []byte(hashToken(clientSecret))) != 1 {
		return errors.New("invalid client secret")
	}
	return nil
}

// ---- auth requests ----

// storedRequest is the part of oidc.AuthRequest kept between /authorize
// and the token exchange.
type storedRequest struct {
	Scopes              []string `json:"scopes"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	RedirectURI         string   `json:"redirect_uri"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
	MaxAge              *uint    `json:"max_age,omitempty"`
	LoginHint           string   `json:"login_hint,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
}

// authRequest implements op.AuthRequest.
type authRequest struct {
	id, clientID, userID string
	req                  storedRequest
	authTime             time.Time
	amr                  []string
	done                 bool
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAMR() []string       { return a.amr }
func (a *authRequest) GetAudience() []string  { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }
func (a *authRequest) GetClientID() string    { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	m := oidc.CodeChallengeMethod(a.req.CodeChallengeMethod)
	if m == "" {
		m = oidc.CodeChallengeMethodPlain
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: m}
}
func (a *authRequest) GetNonce() string       { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.req.ResponseType)
}
func (a *authRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.req.ResponseMode)
}
func (a *authRequest) GetScopes() []string { return a.req.Scopes }
func (a *authRequest) GetState() string    { return a.req.State }
func (a *authRequest) GetSubject() string  { return a.userID }
func (a *authRequest) Done() bool          { return a.done }

func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	c, err := s.client(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	// OAuth 2.1 / RFC 9700: a public client proves possession of the code
	// with PKCE, and only S256 resists an observer of the request.
	if c.AuthMethod() == oidc.AuthMethodNone && (r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256) {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required for public clients")
	}
	if r.CodeChallenge != "" && r.CodeChallengeMethod == oidc.CodeChallengeMethodPlain {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method=plain is not accepted; use S256")
	}
	sr := storedRequest{Scopes: r.Scopes, ResponseType: string(r.ResponseType), ResponseMode: string(r.ResponseMode),
		RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce, Prompt: r.Prompt, MaxAge: r.MaxAge, LoginHint: r.LoginHint,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: string(r.CodeChallengeMethod)}
	body, err := json.Marshal(sr)
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	id := uuid.NewString()
	// Expired rows are swept a few at a time by the requests that follow.
	if _, err := s.p.pool.Exec(ctx, `DELETE FROM identity.oidc_auth_requests WHERE ctid IN
		(SELECT ctid FROM identity.oidc_auth_requests WHERE expires_at < $1 LIMIT 50)`, now); err != nil {
		return nil, err
	}
	if _, err := s.p.pool.Exec(ctx, `INSERT INTO identity.oidc_auth_requests (id, client_id, request, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, id, r.ClientID, body, now, now.Add(authRequestTTL)); err != nil {
		return nil, err
	}
	return &authRequest{id: id, clientID: r.ClientID, req: sr}, nil
}

const authRequestCols = `id::text, client_id, request, coalesce(user_id, ''), coalesce(auth_time, 'epoch'), amr, done`

func scanAuthRequest(row pgx.Row) (*authRequest, error) {
	a := &authRequest{}
	var body []byte
	if err := row.Scan(&a.id, &a.clientID, &body, &a.userID, &a.authTime, &a.amr, &a.done); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errs.ErrNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal(body, &a.req); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("auth request %q: %w", id, errs.ErrNotFound)
	}
	return scanAuthRequest(s.p.pool.QueryRow(ctx, `SELECT `+authRequestCols+` FROM identity.oidc_auth_requests
		WHERE id = $1 AND expires_at > $2`, id, s.p.now()))
}

// AuthRequestByCode claims the code: the update succeeds for exactly one
// caller, so a code is single-use even when two replicas race. A failed
// exchange (wrong code_verifier) spends it too, as RFC 6749 §4.1.2 allows.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	return scanAuthRequest(s.p.pool.QueryRow(ctx, `UPDATE identity.oidc_auth_requests SET code_hash = NULL
		WHERE code_hash = $1 AND code_expires_at > $2 AND done RETURNING `+authRequestCols, hashToken(code), s.p.now()))
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	tag, err := s.p.pool.Exec(ctx, `UPDATE identity.oidc_auth_requests SET code_hash = $2, code_expires_at = $3 WHERE id = $1 AND done`,
		id, hashToken(code), s.p.now().Add(codeTTL))
	if err == nil && tag.RowsAffected() == 0 {
		err = errs.ErrNotFound
	}
	return err
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	_, err := s.p.pool.Exec(ctx, `DELETE FROM identity.oidc_auth_requests WHERE id = $1`, id)
	return err
}

// completeAuthRequest records who logged in; the browser then goes to
// /authorize/callback, which issues the code.
func (p *Provider) completeAuthRequest(ctx context.Context, id, userID string, amr []string) error {
	tag, err := p.pool.Exec(ctx, `UPDATE identity.oidc_auth_requests SET user_id = $2, auth_time = $3, amr = $4, done = true
		WHERE id = $1 AND expires_at > $3 AND NOT done`, id, userID, p.now(), amr)
	if err == nil && tag.RowsAffected() == 0 {
		err = errs.New(errs.Invalid, "登录请求已过期，请返回应用重新登录")
	}
	return err
}

func (p *Provider) callbackURL(authRequestID string) string {
	return p.Issuer() + "/authorize/callback?id=" + authRequestID
}

// ---- tokens ----

// accessToken signs a shared/auth access token for the user. A user the
// accounts refuse (frozen, deleted) gets no token, which also ends refresh.
func (s *storage) accessToken(ctx context.Context, userID, sessionID string) (string, time.Time, error) {
	pr, err := s.p.accounts.Principal(ctx, userID)
	if err != nil {
		return "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("user is not allowed to log in").WithParent(err)
	}
	if pr.SessionID == "" {
		pr.SessionID = sessionID
	}
	return s.p.issuer.Issue(*pr)
}

// The access token "ID" handed to the library is the signed token itself:
// with Bearer tokens the library passes "<id>:<subject>" to Crypto.Encrypt,
// and tokenCrypto returns the JWT, so the client receives exactly the token
// POST /identity/v1/login would issue.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	sid := ""
	if a, ok := req.(*authRequest); ok {
		sid = "oidc-" + a.id
	}
	return s.accessToken(ctx, req.GetSubject(), sid)
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	now := s.p.now()
	var (
		clientID string
		family   = uuid.NewString()
		amr      []string
		authTime time.Time
	)
	switch r := req.(type) {
	case *authRequest:
		clientID, amr, authTime = r.clientID, r.amr, r.authTime
	case *refreshRequest:
		clientID, amr, authTime, family = r.clientID, r.amr, r.authTime, r.family
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	at, exp, err := s.accessToken(ctx, req.GetSubject(), "oidc-"+family)
	if err != nil {
		return "", "", time.Time{}, err
	}
	rt := randomToken()
	tx, err := s.p.pool.Begin(ctx)
	if err != nil {
		return "", "", time.Time{}, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if current != "" {
		// Rotation: the presented token is spent in the same transaction
		// that stores its successor; a concurrent second use finds it spent.
		tag, err := tx.Exec(ctx, `UPDATE identity.oidc_refresh_tokens SET used_at = $2
			WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL`, hashToken(current), now)
		if err != nil {
			return "", "", time.Time{}, err
		}
		if tag.RowsAffected() == 0 {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
		}
	}
	if authTime.IsZero() {
		authTime = now
	}
	if amr == nil {
		amr = []string{}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO identity.oidc_refresh_tokens
		(token_hash, family_id, client_id, user_id, scopes, audience, amr, auth_time, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, hashToken(rt), family, clientID, req.GetSubject(),
		req.GetScopes(), req.GetAudience(), amr, authTime, now, now.Add(refreshTokenTTL)); err != nil {
		return "", "", time.Time{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return "", "", time.Time{}, err
	}
	return at, rt, exp, nil
}

// refreshRequest implements op.RefreshTokenRequest.
type refreshRequest struct {
	family, clientID, userID string
	scopes, audience, amr    []string
	authTime                 time.Time
}

func (r *refreshRequest) GetAMR() []string            { return r.amr }
func (r *refreshRequest) GetAudience() []string       { return r.audience }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshRequest) GetClientID() string         { return r.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.userID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	r := &refreshRequest{}
	var used, revoked *time.Time
	var expires time.Time
	err := s.p.pool.QueryRow(ctx, `SELECT family_id::text, client_id, user_id, scopes, audience, amr, auth_time, expires_at, used_at, revoked_at
		FROM identity.oidc_refresh_tokens WHERE token_hash = $1`, hashToken(token)).
		Scan(&r.family, &r.clientID, &r.userID, &r.scopes, &r.audience, &r.amr, &r.authTime, &expires, &used, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidc.ErrInvalidGrant().WithDescription("invalid refresh token")
	}
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	switch {
	case used != nil:
		// A spent token presented again means it was copied: end the whole
		// login so neither copy keeps working (RFC 9700 §4.14.2).
		if _, err := s.p.pool.Exec(ctx, `UPDATE identity.oidc_refresh_tokens SET revoked_at = $2
			WHERE family_id = $1 AND revoked_at IS NULL`, r.family, now); err != nil {
			return nil, err
		}
		s.p.log.WarnContext(ctx, "refresh token reused; login revoked", "user_id", r.userID, "client_id", r.clientID)
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token already used")
	case revoked != nil || !now.Before(expires):
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token expired or revoked")
	}
	return r, nil
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	_, err := s.p.pool.Exec(ctx, `UPDATE identity.oidc_refresh_tokens SET revoked_at = $3
		WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL`, userID, clientID, s.p.now())
	return err
}

// RevokeToken revokes a refresh token (tokenOrID is then the hash that
// GetRefreshTokenInfo returned) with the rest of its login. An access token
// is short-lived and verified offline everywhere; ending it early is
// shared/auth's Revoker's job (logout, freeze), so revoking one here is
// accepted and changes nothing. RFC 7009 §2.2: unknown tokens answer 200 too.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *oidc.Error {
	_, err := s.p.pool.Exec(ctx, `UPDATE identity.oidc_refresh_tokens SET revoked_at = $3
		WHERE family_id = (SELECT family_id FROM identity.oidc_refresh_tokens WHERE token_hash = $1 AND client_id = $2)
		AND revoked_at IS NULL`, tokenOrID, clientID, s.p.now())
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	var userID string
	h := hashToken(token)
	err := s.p.pool.QueryRow(ctx, `SELECT user_id FROM identity.oidc_refresh_tokens WHERE token_hash = $1 AND client_id = $2`, h, clientID).Scan(&userID)
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return userID, h, nil
}

// ---- keys ----

type signingKey struct{ k auth.SigningKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (k signingKey) Key() any                                    { return k.k.Private }
func (k signingKey) ID() string                                  { return k.k.ID }

type publicKey struct{ k auth.PublicKey }

func (k publicKey) ID() string                         { return k.k.ID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.k.Key }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.p.issuer.SigningKey()}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.EdDSA}, nil
}

// KeySet is the shared issuer's keys: the same JWKS verifies ID tokens and
// every access token identity issues.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	var out []op.Key
	for _, k := range s.p.issuer.PublicKeys() {
		out = append(out, publicKey{k})
	}
	return out, nil
}

// ---- userinfo ----

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) fillUserinfo(ctx context.Context, ui *oidc.UserInfo, userID string, scopes []string) error {
	pr, err := s.p.accounts.Principal(ctx, userID)
	if err != nil {
		return err
	}
	ui.Subject = userID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		ui.Name = pr.Name
		ui.PreferredUsername = pr.Username
		ui.Locale = oidc.NewLocale(language.SimplifiedChinese)
		ui.AppendClaims("dept_id", pr.DeptID)
		ui.AppendClaims("roles", pr.Roles)
	}
	return nil
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.fillUserinfo(ctx, ui, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers /userinfo; tokenID is the verified access
// token's jti (see tokenCrypto), so the token was checked already.
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	return s.fillUserinfo(ctx, ui, subject, []string{oidc.ScopeOpenID, oidc.ScopeProfile})
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	pr, err := s.p.accounts.Principal(ctx, subject)
	if err != nil {
		return err
	}
	resp.Active = true
	resp.Subject = subject
	resp.ClientID = clientID
	resp.Username = pr.Username
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grant is not supported")
}

func (s *storage) Health(ctx context.Context) error { return s.p.pool.Ping(ctx) }

// ---- crypto ----

// tokenCrypto is the library's Crypto: authorization codes are AES-GCM
// encrypted as usual, while an access token is a shared/auth JWT passed
// through as is (Encrypt) and verified with the shared verifier (Decrypt),
// giving back "<jti>:<subject>".
type tokenCrypto struct {
	codes    op.Crypto
	verifier *auth.Verifier
}

func (c *tokenCrypto) Encrypt(s string) (string, error) {
	if tok, _, ok := strings.Cut(s, ":"); ok && strings.Count(tok, ".") == 2 {
		return tok, nil
	}
	return c.codes.Encrypt(s)
}

func (c *tokenCrypto) Decrypt(s string) (string, error) {
	if strings.Count(s, ".") == 2 {
		pr, err := c.verifier.Verify(context.Background(), s)
		if err != nil {
			return "", err
		}
		return jwtID(s) + ":" + pr.UserID, nil
	}
	return c.codes.Decrypt(s)
}

// jwtID reads the jti of a token already verified.
func jwtID(raw string) string {
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		ID string `json:"jti"`
	}
	_ = json.Unmarshal(b, &c)
	return c.ID
}
