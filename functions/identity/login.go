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

// msgBadCredentials is the one answer to every refused password login:
// unknown user, wrong password, locked or frozen account alike, so the
// answer does not tell who has an account or in what state it is.
const msgBadCredentials = "用户名或密码错误"

// msgChangeFirst refuses a login that cannot reach the forced password
// change (OIDC, account binding): the change only happens in the console.
// It is said only to someone who gave the right password.
const msgChangeFirst = "首次登录或密码已过期，须先修改密码：请先在管理平台用用户名和密码登录并修改密码，再使用此方式登录"

// LoginInput is one password login: the body of POST /login, and what the
// OIDC login page and the account binding submit. The captcha is needed
// once the throttle asks for it (a field error on "captcha").
type LoginInput struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	CaptchaID string `json:"captcha_id"`
	Captcha   string `json:"captcha"`
}

// Validate checks the form's shape only: nothing here depends on whether
// the account exists.
func (in *LoginInput) Validate() error {
	var fe []errs.FieldError
	in.Username = strings.TrimSpace(in.Username)
	if in.Username == "" || len([]rune(in.Username)) > 64 {
		fe = append(fe, errs.FieldError{Field: "username", Message: "请输入用户名（不超过 64 个字符）"})
	}
	if in.Password == "" || len(in.Password) > 256 {
		fe = append(fe, errs.FieldError{Field: "password", Message: "请输入密码"})
	}
	return errs.Fields(fe)
}

// badCredentials is the refusal after a failed check; once the next
// attempt needs a captcha it says so, for every account name alike.
func (f *Function) badCredentials(after throttleState) error {
	e := &errs.Error{Code: errs.Unauthorized, Message: msgBadCredentials}
	if f.needsCaptcha(after) {
		e.Fields = []errs.FieldError{{Field: "captcha", Message: MsgCaptchaRequired}}
	}
	return e
}

// authenticate checks a password under the throttle and the lockout
// policy and writes the login log row. Every attempt that passes the
// throttle costs exactly one password check, against the account's hash
// or, for an unknown name, a dummy one; a locked or frozen account is
// checked too and refused like a wrong password afterwards. The failure
// counter commits even when the login fails. With current set, a right
// password is still refused while the account must change it (first
// login, expiry): callers that cannot force the change must not hand out
// a session.
func (f *Function) authenticate(ctx context.Context, in LoginInput, ip, device string, current bool) (User, error) {
	if err := in.Validate(); err != nil {
		return User{}, err
	}
	username := in.Username
	st, err := f.throttleState(ctx, username, ip)
	if err != nil {
		return User{}, err
	}
	// Attempts refused before the password check are logged too (without
	// touching the lock counters), so the audit function's alerts see a
	// guesser who never solves a captcha.
	refused := func(reason string, answer error) (User, error) {
		if err := f.recordLogin(ctx, f.pool, loginEntry{At: f.now(), Username: username, IP: ip, Device: device,
			Result: loginFailure, Reason: reason}); err != nil {
			return User{}, err
		}
		return User{}, answer
	}
	if d := f.wait(st); d > 0 {
		return refused("尝试过于频繁", tooSoon(d))
	}
	verified := false // the attempt passed a captcha: its failure counts toward the lock
	if f.needsCaptcha(st) {
		if in.CaptchaID == "" || strings.TrimSpace(in.Captcha) == "" {
			return refused("未提供验证码", captchaError(MsgCaptchaRequired))
		}
		ok, err := f.checkCaptcha(ctx, in.CaptchaID, strings.TrimSpace(in.Captcha))
		if err != nil {
			return User{}, err
		}
		if !ok {
			return refused("验证码错误", captchaError(MsgCaptchaWrong))
		}
		verified = true
	}
	dummy, err := f.dummy()
	if err != nil {
		return User{}, err
	}
	var user User
	var fail error
	var locked *User // the account this attempt locked: its owner is told
	failed := false
	now := f.now()
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		entry := loginEntry{At: now, Username: username, IP: ip, Device: device, Result: loginFailure}
		u, err := userByUsername(ctx, tx, username, true)
		known := err == nil
		if err != nil && errs.CodeOf(err) != errs.NotFound {
			return err
		}
		hash := dummy
		if known {
			hash, entry.UserID = u.passwordHash, u.ID
		}
		right := f.hasher.Check(hash, in.Password) && known
		failed = true
		switch {
		case !known:
			entry.Reason = "用户不存在"
		case u.Status == "frozen":
			entry.Reason = "账号已冻结"
		case u.LockedUntil != nil && now.Before(*u.LockedUntil):
			entry.Reason = "账号已锁定"
		case !right && !verified:
			entry.Reason = "密码错误"
		case !right:
			n := u.failedLogins + 1
			var lockUntil *time.Time
			entry.Reason = "密码错误（已通过验证码）"
			if n >= f.cfg.LockoutThreshold {
				t := now.Add(f.cfg.LockoutDuration)
				lockUntil, n, locked = &t, 0, &u
				entry.Reason = fmt.Sprintf("密码错误，通过验证码后连续 %d 次，账号锁定", f.cfg.LockoutThreshold)
			}
			if err := setFailedLogins(ctx, tx, u.ID, n, lockUntil); err != nil {
				return err
			}
		case current && u.mustChange(f.cfg, now):
			// The password is right, so the failure streak ends, but this
			// is not a login: no last-login update, a failure row saying why.
			failed = false
			if err := clearFailedLogins(ctx, tx, u.ID); err != nil {
				return err
			}
			entry.Reason = "须先修改密码"
			fail = errs.New(errs.Forbidden, msgChangeFirst)
		default:
			failed = false
			if err := recordPasswordLogin(ctx, tx, u.ID, now, ip); err != nil {
				return err
			}
			entry.Result, entry.Reason = loginSuccess, ""
			user = u
		}
		return f.recordLogin(ctx, tx, entry)
	})
	if err != nil {
		return User{}, err
	}
	if !failed {
		f.forgetFailures(ctx, username)
		return user, fail
	}
	after, err := f.countFailure(ctx, username, ip)
	if err != nil {
		return User{}, err
	}
	if locked != nil {
		f.tellLocked(ctx, *locked)
	}
	return User{}, f.badCredentials(after)
}

// tellLocked tells an account's owner, by SMS to the bound phone, that
// repeated failures locked the account and how to unlock it: the login
// answer says nothing of it, so a stranger learns nothing.
func (f *Function) tellLocked(ctx context.Context, u User) {
	if u.Phone == "" {
		f.log.WarnContext(ctx, "account locked; no phone to tell its owner", "user_id", u.ID)
		return
	}
	err := f.sms.Send(ctx, SMS{Phone: u.Phone, SignName: f.cfg.SMSSignName, Template: f.cfg.SMSTemplateLocked,
		Params: map[string]string{"username": u.Username, "minutes": fmt.Sprint(int(math.Ceil(f.cfg.LockoutDuration.Minutes())))}})
	if err != nil {
		f.log.WarnContext(ctx, "could not tell the owner of a locked account", "user_id", u.ID, "err", err)
	}
}

// Login checks the password and opens a session.
func (f *Function) Login(ctx context.Context, in LoginInput, ip, device string) (Tokens, error) {
	u, err := f.authenticate(ctx, in, ip, device, false)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		sid := randomToken(16)
		if err := insertSession(ctx, tx, sid, u.ID, ip, truncate(device, 500), f.now()); err != nil {
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
	at, _, err := f.keys.Issue(*p)
	if err != nil {
		return Tokens{}, err
	}
	rt := randomToken(32)
	sum := sha256.Sum256([]byte(rt))
	if err := insertRefreshToken(ctx, tx, sum[:], sid, u.ID, f.now().Add(f.cfg.RefreshTTL), f.now()); err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: at, RefreshToken: rt, ExpiresIn: int(f.keys.TTL().Seconds()),
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
		tok, err := refreshTokenForUpdate(ctx, tx, sum[:])
		if errs.CodeOf(err) == errs.NotFound {
			return errSessionEnded
		}
		if err != nil {
			return err
		}
		sid := tok.sessionID
		switch {
		case tok.revoked != nil:
			return errSessionEnded
		case tok.used != nil, !now.Before(tok.expires), now.Sub(tok.lastSeen) > f.cfg.SessionIdleTimeout:
			endSession = sid
			return nil
		}
		u, err := userByID(ctx, tx, tok.userID, false)
		if err != nil {
			return err
		}
		if u.Status != "active" {
			endSession = sid
			return nil
		}
		if err := spendRefreshToken(ctx, tx, sum[:], now); err != nil {
			return err
		}
		if err := touchSession(ctx, tx, sid, now); err != nil {
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
		if err := revokeSession(ctx, tx, sid, now); err != nil {
			return err
		}
		if err := deleteSessionRefreshTokens(ctx, tx, sid); err != nil {
			return err
		}
		return f.recordRevocation(ctx, tx, "session", sid, now)
	})
	if err == nil {
		f.publishRevocation(ctx, "session", sid, now)
	}
	return err
}

// Logout ends the session of the access token and the session the
// refresh token belongs to (normally the same one). Either suffices: a
// browser whose access cookie has expired still sends the refresh
// cookie, so logging out ends the session and the refresh token stops
// working.
func (f *Function) Logout(ctx context.Context, sid, refresh string) error {
	var sids []string
	if sid != "" {
		sids = append(sids, sid)
	}
	if refresh != "" {
		sum := sha256.Sum256([]byte(refresh))
		rsid, err := refreshTokenSession(ctx, f.pool, sum[:])
		if err != nil && errs.CodeOf(err) != errs.NotFound {
			return err
		}
		if rsid != "" && rsid != sid {
			sids = append(sids, rsid)
		}
	}
	for _, s := range sids {
		if err := f.EndSession(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// PasswordChange is the body of POST /password/change.
type PasswordChange struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

var errWrongOld = errs.Fields([]errs.FieldError{{Field: "old_password", Message: "原密码不正确"}})

// ChangePassword sets a new password after checking the old one. Every
// other session ends; the caller's session gets fresh tokens carrying the
// permissions withheld until the change. A wrong old password is a
// password guess like a failed login: throttled, counted toward the
// account's lock (which also ends its sessions) and written to the login
// log.
func (f *Function) ChangePassword(ctx context.Context, a Actor, in PasswordChange) (Tokens, error) {
	st, err := f.throttleState(ctx, a.Username, a.IP)
	if err != nil {
		return Tokens{}, err
	}
	if d := f.wait(st); d > 0 {
		return Tokens{}, tooSoon(d)
	}
	var out Tokens
	now := f.now()
	var user User
	var wrong bool
	var locked *User
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		u, err := userByID(ctx, tx, a.UserID, true)
		if err != nil {
			return err
		}
		if !f.hasher.Check(u.passwordHash, in.OldPassword) {
			wrong, user = true, u
			n := u.failedLogins + 1
			var lockUntil *time.Time
			reason := "修改密码时原密码错误"
			if n >= f.cfg.LockoutThreshold {
				t := now.Add(f.cfg.LockoutDuration)
				lockUntil, n, locked = &t, 0, &u
				reason += fmt.Sprintf("，连续 %d 次，账号锁定并下线", f.cfg.LockoutThreshold)
				if err := f.endSessions(ctx, tx, u.ID, now); err != nil {
					return err
				}
				if err := f.recordRevocation(ctx, tx, "user", u.ID, now); err != nil {
					return err
				}
			}
			if err := setFailedLogins(ctx, tx, u.ID, n, lockUntil); err != nil {
				return err
			}
			return f.recordLogin(ctx, tx, loginEntry{At: now, UserID: u.ID, Username: u.Username, IP: a.IP, Device: a.Device,
				Result: loginFailure, Reason: reason})
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
		if err := revokeOtherSessions(ctx, tx, u.ID, a.SessionID, now); err != nil {
			return err
		}
		if err := deleteUserRefreshTokens(ctx, tx, u.ID); err != nil {
			return err
		}
		if user, err = userByID(ctx, tx, a.UserID, false); err != nil {
			return err
		}
		if a.SessionID == "" {
			return nil
		}
		if live, err := sessionLive(ctx, tx, a.SessionID); err != nil || !live {
			return err
		}
		out, err = f.issue(ctx, tx, user, a.SessionID)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	if wrong {
		if _, err := f.countFailure(ctx, a.Username, a.IP); err != nil {
			return Tokens{}, err
		}
		if locked != nil {
			f.publishRevocation(ctx, "user", user.ID, now)
			f.tellLocked(ctx, *locked)
		}
		return Tokens{}, errWrongOld
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
	hash, err := f.hasher.Hash(pw)
	if err != nil {
		return err
	}
	now := f.now()
	if err := setPasswordHash(ctx, tx, u.ID, hash, now); err != nil {
		return err
	}
	if _, err := deleteInitialCredential(ctx, tx, u.ID); err != nil {
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
