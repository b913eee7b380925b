package identity

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Tokens is the answer to a login, a refresh or a password change.
type Tokens struct {
	AccessToken        string `json:"access_token"`
	RefreshToken       string `json:"refresh_token"`
	ExpiresIn          int    `json:"expires_in"` // seconds
	MustChangePassword bool   `json:"must_change_password"`
	User               User   `json:"user"`

	sessionID string
}

const msgBadCredentials = "用户名或密码错误"

// msgChangeFirst refuses a login that cannot reach the forced password
// change (OIDC, account binding): the change only happens in the console.
const msgChangeFirst = "首次登录或密码已过期，须先修改密码：请先在管理平台用用户名和密码登录并修改密码，再使用此方式登录"

// authenticate checks a password under the lockout policy and writes the
// login log row. The failure counter commits even when the login fails.
// With current set, a right password is still refused while the account
// must change it (first login, expiry): callers that cannot force the
// change must not hand out a session.
func (f *Function) authenticate(ctx context.Context, username, password, ip, device string, current bool) (User, error) {
	username = strings.TrimSpace(username)
	var user User
	var fail error
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		entry := loginEntry{At: now, Username: username, IP: ip, Device: device, Result: loginFailure}
		u, err := getUser(ctx, tx, "u.username = $1", username, true)
		switch {
		case errs.CodeOf(err) == errs.NotFound:
			checkPassword(f.dummy, password) // same cost as a real check
			entry.Reason = "用户不存在"
			fail = errs.New(errs.Unauthorized, msgBadCredentials)
			return f.recordLogin(ctx, tx, entry)
		case err != nil:
			return err
		}
		entry.UserID = u.ID
		if u.Status == "frozen" {
			entry.Reason = "账号已冻结"
			fail = errs.New(errs.Forbidden, "账号已被冻结，请联系管理员")
			return f.recordLogin(ctx, tx, entry)
		}
		if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
			entry.Reason = "账号已锁定"
			fail = lockedError(u.LockedUntil.Sub(now))
			return f.recordLogin(ctx, tx, entry)
		}
		if !checkPassword(u.passwordHash, password) {
			n := u.failedLogins + 1
			var lockUntil *time.Time
			if n >= f.cfg.LockoutThreshold {
				t := now.Add(f.cfg.LockoutDuration)
				lockUntil, n = &t, 0
				entry.Reason = fmt.Sprintf("密码错误，连续 %d 次，账号锁定", f.cfg.LockoutThreshold)
				fail = lockedError(f.cfg.LockoutDuration)
			} else {
				entry.Reason = "密码错误"
				fail = errs.New(errs.Unauthorized, fmt.Sprintf("%s，再失败 %d 次账号将被锁定", msgBadCredentials, f.cfg.LockoutThreshold-n))
			}
			if _, err := tx.Exec(ctx, `UPDATE identity.users SET failed_logins = $2, locked_until = $3 WHERE id = $1`, u.ID, n, lockUntil); err != nil {
				return err
			}
			return f.recordLogin(ctx, tx, entry)
		}
		if current && u.mustChange(f.cfg, now) {
			// The password is right, so the failure streak ends, but this
			// is not a login: no last-login update, a failure row saying why.
			if _, err := tx.Exec(ctx, `UPDATE identity.users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, u.ID); err != nil {
				return err
			}
			entry.Reason = "须先修改密码"
			fail = errs.New(errs.Forbidden, msgChangeFirst)
			return f.recordLogin(ctx, tx, entry)
		}
		if _, err := tx.Exec(ctx, `UPDATE identity.users SET failed_logins = 0, locked_until = NULL, last_login_at = $2, last_login_ip = $3 WHERE id = $1`,
			u.ID, now, ip); err != nil {
			return err
		}
		entry.Result, entry.Reason = loginSuccess, ""
		user = u
		return f.recordLogin(ctx, tx, entry)
	})
	if err != nil {
		return User{}, err
	}
	return user, fail
}

func lockedError(d time.Duration) error {
	return errs.New(errs.Forbidden, fmt.Sprintf("连续登录失败次数过多，账号已锁定，请 %d 分钟后再试", int(math.Ceil(d.Minutes()))))
}

// Login checks the password and opens a session.
func (f *Function) Login(ctx context.Context, username, password, ip, device string) (Tokens, error) {
	u, err := f.authenticate(ctx, username, password, ip, device, false)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		sid := randomToken(16)
		if _, err := tx.Exec(ctx, `INSERT INTO identity.sessions (id, user_id, ip, device, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			sid, u.ID, ip, truncate(device, 500), f.now()); err != nil {
			return err
		}
		out, err = f.issue(ctx, tx, u, sid)
		return err
	})
	if err == nil {
		f.forgetInitialPassword(ctx, u)
	}
	return out, err
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// issue mints an access token and a new refresh token for a session.
func (f *Function) issue(ctx context.Context, tx pgx.Tx, u User, sid string) (Tokens, error) {
	p, _, err := f.principalFor(ctx, tx, u)
	if err != nil {
		return Tokens{}, err
	}
	p.SessionID = sid
	at, _, err := f.issuer.Issue(*p)
	if err != nil {
		return Tokens{}, err
	}
	rt := randomToken(32)
	sum := sha256.Sum256([]byte(rt))
	if _, err := tx.Exec(ctx, `INSERT INTO identity.refresh_tokens (hash, session_id, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		sum[:], sid, u.ID, f.now().Add(f.cfg.RefreshTTL), f.now()); err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: int(f.issuer.TTL().Seconds()),
		MustChangePassword: u.mustChange(f.cfg, f.now()), User: u, sessionID: sid}, nil
}

var errSessionEnded = errs.New(errs.Unauthorized, "登录已失效，请重新登录")

// Refresh rotates a refresh token: the presented one is spent and a new
// pair issued. A spent token presented again means it was copied, so the
// whole session ends. Sessions idle longer than the idle timeout end too.
func (f *Function) Refresh(ctx context.Context, raw string) (Tokens, error) {
	if raw == "" {
		return Tokens{}, errSessionEnded
	}
	sum := sha256.Sum256([]byte(raw))
	now := f.now()
	var out Tokens
	var endSession string
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var sid, userID string
		var expires, lastSeen time.Time
		var used, revoked *time.Time
		err := tx.QueryRow(ctx, `SELECT t.session_id, t.user_id, t.expires_at, t.used_at, s.last_seen_at, s.revoked_at
			FROM identity.refresh_tokens t JOIN identity.sessions s ON s.id = t.session_id WHERE t.hash = $1 FOR UPDATE OF t, s`, sum[:]).
			Scan(&sid, &userID, &expires, &used, &lastSeen, &revoked)
		if err == pgx.ErrNoRows {
			return errSessionEnded
		}
		if err != nil {
			return err
		}
		switch {
		case revoked != nil:
			return errSessionEnded
		case used != nil, !now.Before(expires), now.Sub(lastSeen) > f.cfg.SessionIdleTimeout:
			endSession = sid
			return nil
		}
		u, err := getUser(ctx, tx, "u.id = $1", userID, false)
		if err != nil {
			return err
		}
		if u.Status != "active" {
			endSession = sid
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE identity.refresh_tokens SET used_at = $2 WHERE hash = $1`, sum[:], now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE identity.sessions SET last_seen_at = $2 WHERE id = $1`, sid, now); err != nil {
			return err
		}
		out, err = f.issue(ctx, tx, u, sid)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	if endSession != "" {
		if err := f.EndSession(ctx, endSession); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, errSessionEnded
	}
	return out, nil
}

// EndSession revokes a session: its refresh tokens are deleted and its
// access tokens refused everywhere (logout, force-logout, theft).
func (f *Function) EndSession(ctx context.Context, sid string) error {
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE identity.sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, sid, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM identity.refresh_tokens WHERE session_id = $1`, sid); err != nil {
			return err
		}
		return f.recordRevocation(ctx, tx, "session", sid, now)
	})
	if err == nil {
		f.publishRevocation(ctx, "session", sid, now)
	}
	return err
}

// Logout ends the session of the access token, or of the refresh token
// when the access token has already expired.
func (f *Function) Logout(ctx context.Context, sid, refresh string) error {
	if sid == "" && refresh != "" {
		sum := sha256.Sum256([]byte(refresh))
		_ = f.pool.QueryRow(ctx, `SELECT session_id FROM identity.refresh_tokens WHERE hash = $1`, sum[:]).Scan(&sid)
	}
	if sid == "" {
		return nil
	}
	return f.EndSession(ctx, sid)
}

// PasswordChange is the body of POST /password/change.
type PasswordChange struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// ChangePassword sets a new password after checking the old one. Every
// other session ends; the caller's session gets fresh tokens carrying the
// permissions withheld until the change.
func (f *Function) ChangePassword(ctx context.Context, a Actor, in PasswordChange) (Tokens, error) {
	var out Tokens
	now := f.now()
	var user User
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		u, err := getUser(ctx, tx, "u.id = $1", a.UserID, true)
		if err != nil {
			return err
		}
		if !checkPassword(u.passwordHash, in.OldPassword) {
			return errs.Fields([]errs.FieldError{{Field: "old_password", Message: "原密码不正确"}})
		}
		if err := f.cfg.checkPolicy("new_password", in.NewPassword, u.Username); err != nil {
			return err
		}
		if in.NewPassword == in.OldPassword {
			return errs.Fields([]errs.FieldError{{Field: "new_password", Message: "新密码不能与原密码相同"}})
		}
		if err := f.setPassword(ctx, tx, a, u, in.NewPassword, "user.password.change"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE identity.sessions SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL`, u.ID, a.SessionID, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM identity.refresh_tokens WHERE user_id = $1`, u.ID); err != nil {
			return err
		}
		if user, err = getUser(ctx, tx, "u.id = $1", a.UserID, false); err != nil {
			return err
		}
		if a.SessionID == "" {
			return nil
		}
		var live bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.sessions WHERE id = $1 AND revoked_at IS NULL)`, a.SessionID).Scan(&live); err != nil || !live {
			return err
		}
		out, err = f.issue(ctx, tx, user, a.SessionID)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	f.publishRevocation(ctx, "user", user.ID, revokedAt(now))
	f.forgetInitialPassword(ctx, user)
	if out.AccessToken == "" {
		out.User = user
	}
	return out, nil
}

// revokedAt is the revocation time of a password change: one millisecond
// before the change, so the token issued with the change (same
// millisecond) is not refused by "issued at or before".
func revokedAt(now time.Time) time.Time { return now.Add(-time.Millisecond) }

// setPassword stores a new hash, clears lockout and the forced change,
// records the revocation of older tokens, and logs the change (without
// any password material).
func (f *Function) setPassword(ctx context.Context, tx pgx.Tx, a Actor, u User, pw, action string) error {
	hash, err := f.cfg.hashPassword(pw)
	if err != nil {
		return err
	}
	now := f.now()
	if _, err := tx.Exec(ctx, `UPDATE identity.users SET password_hash = $2, password_changed_at = $3, must_change_password = false,
		failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE id = $1`, u.ID, hash, now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM identity.initial_credentials WHERE user_id = $1`, u.ID); err != nil {
		return err
	}
	if err := f.recordRevocation(ctx, tx, "user", u.ID, revokedAt(now)); err != nil {
		return err
	}
	type pwState struct {
		MustChangePassword bool       `json:"must_change_password"`
		PasswordChangedAt  *time.Time `json:"password_changed_at"`
	}
	return f.opLog(ctx, tx, a, action, "user", u.ID,
		pwState{u.MustChangePassword, u.passwordChangedAt}, pwState{false, &now})
}
