package oidcprovider

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Access and refresh tokens: shared/auth access tokens, rotated refresh tokens.

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
	return s.p.signer.Issue(*pr)
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
		arID     *string
	)
	switch r := req.(type) {
	case *authRequest:
		clientID, amr, authTime, arID = r.clientID, r.amr, r.authTime, &r.id
	case *refreshRequest:
		clientID, amr, authTime, family, arID = r.clientID, r.amr, r.authTime, r.family, r.authRequestID
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
		(token_hash, family_id, client_id, user_id, scopes, audience, amr, auth_time, created_at, expires_at, auth_request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, hashToken(rt), family, clientID, req.GetSubject(),
		req.GetScopes(), req.GetAudience(), amr, authTime, now, now.Add(refreshTokenTTL), arID); err != nil {
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
	authRequestID            *string // the login the family started from
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
	err := s.p.pool.QueryRow(ctx, `SELECT family_id::text, client_id, user_id, scopes, audience, amr, auth_time, expires_at, used_at, revoked_at,
		auth_request_id::text FROM identity.oidc_refresh_tokens WHERE token_hash = $1`, hashToken(token)).
		Scan(&r.family, &r.clientID, &r.userID, &r.scopes, &r.audience, &r.amr, &r.authTime, &expires, &used, &revoked, &r.authRequestID)
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
		if err := s.p.accounts.EndSession(ctx, "oidc-"+r.family); err != nil {
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
