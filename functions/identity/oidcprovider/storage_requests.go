package oidcprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Authorization requests and codes, kept in PostgreSQL so any replica finishes a flow.

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
	// Only S256 is ever stored (CreateAuthRequest refuses the rest).
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: oidc.CodeChallengeMethod(a.req.CodeChallengeMethod)}
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
	// A challenge without a method is plain (RFC 7636 §4.3): refused like
	// an explicit plain, for every client.
	if r.CodeChallenge != "" && r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256 (plain, or no method, is not accepted)")
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
// The spent code is remembered: presented again, it revokes every token
// already issued from it (§4.1.2: someone else holds a copy).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	now := s.p.now()
	a, err := scanAuthRequest(s.p.pool.QueryRow(ctx, `UPDATE identity.oidc_auth_requests SET code_hash = NULL
		WHERE code_hash = $1 AND code_expires_at > $2 AND done RETURNING `+authRequestCols, hashToken(code), now))
	if errors.Is(err, errs.ErrNotFound) {
		if rerr := s.revokeReusedCode(ctx, code); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.p.pool.Exec(ctx, `DELETE FROM identity.oidc_spent_codes WHERE expires_at < $1`, now); err != nil {
		return nil, err
	}
	if _, err := s.p.pool.Exec(ctx, `INSERT INTO identity.oidc_spent_codes (code_hash, auth_request_id, client_id, user_id, spent_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code_hash) DO NOTHING`,
		hashToken(code), a.id, a.clientID, a.userID, now, now.Add(spentCodeTTL)); err != nil {
		return nil, err
	}
	return a, nil
}

// revokeReusedCode ends the tokens issued from a code presented a second
// time: the refresh tokens of its logins and the sessions their access
// tokens carry ("oidc-" + the auth request or the refresh family).
func (s *storage) revokeReusedCode(ctx context.Context, code string) error {
	var arID, clientID, userID string
	err := s.p.pool.QueryRow(ctx, `SELECT auth_request_id::text, client_id, user_id FROM identity.oidc_spent_codes WHERE code_hash = $1`,
		hashToken(code)).Scan(&arID, &clientID, &userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	rows, err := s.p.pool.Query(ctx, `UPDATE identity.oidc_refresh_tokens SET revoked_at = COALESCE(revoked_at, $2)
		WHERE auth_request_id = $1 RETURNING family_id::text`, arID, s.p.now())
	if err != nil {
		return err
	}
	families, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	sessions := []string{"oidc-" + arID}
	for _, f := range families {
		if !slices.Contains(sessions, "oidc-"+f) {
			sessions = append(sessions, "oidc-"+f)
		}
	}
	for _, sid := range sessions {
		if err := s.p.accounts.EndSession(ctx, sid); err != nil {
			return err
		}
	}
	s.p.log.WarnContext(ctx, "authorization code reused; the tokens issued from it are revoked", "client_id", clientID, "user_id", userID)
	return nil
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
