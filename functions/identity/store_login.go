package identity

import (
	"context"
	"time"

	"github.com/sjzamr/smartreg/shared/store"
)

// Logins: the failure counters and last login of identity.users, the
// console sessions (identity.sessions) and their refresh tokens
// (identity.refresh_tokens, kept as SHA-256 hashes).

// setFailedLogins stores an account's failure streak and its lock (nil: none).
func setFailedLogins(ctx context.Context, q store.Querier, userID string, n int, lockedUntil *time.Time) error {
	return exec(ctx, q, `UPDATE identity.users SET failed_logins = $2, locked_until = $3 WHERE id = $1`, userID, n, lockedUntil)
}

// clearFailedLogins ends an account's failure streak and lock.
func clearFailedLogins(ctx context.Context, q store.Querier, userID string) error {
	return exec(ctx, q, `UPDATE identity.users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, userID)
}

// recordPasswordLogin notes a successful password login: streak and lock
// cleared, last login stamped.
func recordPasswordLogin(ctx context.Context, q store.Querier, userID string, at time.Time, ip string) error {
	return exec(ctx, q, `UPDATE identity.users SET failed_logins = 0, locked_until = NULL, last_login_at = $2, last_login_ip = $3 WHERE id = $1`,
		userID, at, ip)
}

// setLastLogin stamps the last login of an account.
func setLastLogin(ctx context.Context, q store.Querier, userID string, at time.Time, ip string) error {
	return exec(ctx, q, `UPDATE identity.users SET last_login_at = $2, last_login_ip = $3 WHERE id = $1`, userID, at, ip)
}

// insertSession opens a session, last seen now.
func insertSession(ctx context.Context, q store.Querier, sid, userID, ip, device string, now time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.sessions (id, user_id, ip, device, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		sid, userID, ip, device, now)
}

func touchSession(ctx context.Context, q store.Querier, sid string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.sessions SET last_seen_at = $2 WHERE id = $1`, sid, now)
}

// sessionLive reports whether a session exists and is not revoked.
func sessionLive(ctx context.Context, q store.Querier, sid string) (bool, error) {
	var live bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.sessions WHERE id = $1 AND revoked_at IS NULL)`, sid).Scan(&live)
	return live, store.Classify(err)
}

// revokeSession ends a session, keeping the first revocation time.
func revokeSession(ctx context.Context, q store.Querier, sid string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, sid, now)
}

// revokeUserSessions ends every live session of a user.
func revokeUserSessions(ctx context.Context, q store.Querier, userID string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, userID, now)
}

// revokeOtherSessions ends every live session of a user but keep.
func revokeOtherSessions(ctx context.Context, q store.Querier, userID, keep string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.sessions SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL`, userID, keep, now)
}

func insertRefreshToken(ctx context.Context, q store.Querier, hash []byte, sid, userID string, expires, now time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.refresh_tokens (hash, session_id, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		hash, sid, userID, expires, now)
}

// refreshState is a refresh token with its session, as Refresh judges it.
type refreshState struct {
	sessionID, userID string
	expires, lastSeen time.Time
	used, revoked     *time.Time
}

// refreshTokenForUpdate reads and locks a refresh token and its session.
func refreshTokenForUpdate(ctx context.Context, q store.Querier, hash []byte) (refreshState, error) {
	var t refreshState
	err := q.QueryRow(ctx, `SELECT t.session_id, t.user_id, t.expires_at, t.used_at, s.last_seen_at, s.revoked_at
		FROM identity.refresh_tokens t JOIN identity.sessions s ON s.id = t.session_id WHERE t.hash = $1 FOR UPDATE OF t, s`, hash).
		Scan(&t.sessionID, &t.userID, &t.expires, &t.used, &t.lastSeen, &t.revoked)
	return t, store.Classify(err)
}

// refreshTokenSession is the session a refresh token belongs to.
func refreshTokenSession(ctx context.Context, q store.Querier, hash []byte) (string, error) {
	var sid string
	err := q.QueryRow(ctx, `SELECT session_id FROM identity.refresh_tokens WHERE hash = $1`, hash).Scan(&sid)
	return sid, store.Classify(err)
}

// spendRefreshToken marks a refresh token used: presented again, it
// betrays a copy.
func spendRefreshToken(ctx context.Context, q store.Querier, hash []byte, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.refresh_tokens SET used_at = $2 WHERE hash = $1`, hash, now)
}

func deleteSessionRefreshTokens(ctx context.Context, q store.Querier, sid string) error {
	return exec(ctx, q, `DELETE FROM identity.refresh_tokens WHERE session_id = $1`, sid)
}

func deleteUserRefreshTokens(ctx context.Context, q store.Querier, userID string) error {
	return exec(ctx, q, `DELETE FROM identity.refresh_tokens WHERE user_id = $1`, userID)
}
