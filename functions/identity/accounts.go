package identity

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Function is the OIDC provider's account store, and starts console
// sessions for upstream and WeChat logins.
var (
	_ oidcprovider.Accounts       = (*Function)(nil)
	_ oidcprovider.SessionStarter = (*Function)(nil)
)

// CheckPassword verifies a password under the throttle and lockout
// policy, writing the login log row (the OIDC login page and account binding use it). An
// account that must change its password (first login with a generated
// password, expiry) is refused with a 403 telling the user to change it in
// the console first: those logins would otherwise skip the forced change.
func (f *Function) CheckPassword(ctx context.Context, in oidcprovider.PasswordCheck) (string, error) {
	u, err := f.authenticate(ctx, LoginInput{Username: in.Username, Password: in.Password, CaptchaID: in.CaptchaID, Captcha: in.Captcha},
		in.IP, in.Device, true)
	if err != nil {
		return "", err
	}
	f.forgetInitialPassword(ctx, u)
	return u.ID, nil
}

// Principal is the user's current roles, permissions and data scope; a
// frozen user gets an error, so no token is issued.
func (f *Function) Principal(ctx context.Context, userID string) (*auth.Principal, error) {
	u, err := userByID(ctx, f.pool, userID, false)
	if err != nil {
		return nil, err
	}
	if u.Status != "active" {
		return nil, errs.New(errs.Forbidden, "账号已被冻结，请联系管理员")
	}
	p, _, err := f.principalFor(ctx, f.pool, u)
	return p, err
}

// UserByExternal finds the account bound to an external identity.
func (f *Function) UserByExternal(ctx context.Context, provider, subject string) (string, error) {
	return externalAccountUser(ctx, f.pool, provider, subject)
}

// BindExternal binds an external identity (upstream OIDC subject, WeChat
// unionid) to an account; one binding per provider and account.
func (f *Function) BindExternal(ctx context.Context, userID, provider, subject string) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		u, err := userByID(ctx, tx, userID, true)
		if err != nil {
			return err
		}
		owner, err := externalAccountUser(ctx, tx, provider, subject)
		switch {
		case err == nil && owner == userID:
			return nil
		case err == nil:
			return errs.New(errs.Conflict, "该外部账号已绑定其他用户")
		case errs.CodeOf(err) != errs.NotFound:
			return err
		}
		if err := insertExternalAccount(ctx, tx, provider, subject, userID, f.now()); err != nil {
			if errs.CodeOf(err) == errs.Conflict {
				return errs.New(errs.Conflict, "该用户已绑定同类外部账号，请先解除绑定")
			}
			return err
		}
		type binding struct {
			Provider string `json:"provider"`
		}
		return f.opLog(ctx, tx, Actor{UserID: u.ID, Username: u.Username}, "user.external.bind", "user", u.ID, nil, binding{provider})
	})
}

// StartSession logs a user in after an upstream or WeChat login: session,
// tokens, cookies and the login log row, as POST /login does.
func (f *Function) StartSession(ctx context.Context, w http.ResponseWriter, r *http.Request, userID, method string) error {
	u, err := userByID(ctx, f.pool, userID, false)
	if err != nil {
		return err
	}
	ip := httpx.ClientIP(r)
	entry := loginEntry{At: f.now(), UserID: u.ID, Username: u.Username, IP: ip, Device: r.UserAgent(), Result: loginSuccess, Reason: method}
	if u.Status != "active" {
		entry.Result, entry.Reason = loginFailure, method+"：账号已冻结"
		if err := f.recordLogin(ctx, f.pool, entry); err != nil {
			return err
		}
		return errs.New(errs.Forbidden, "账号已被冻结，请联系管理员")
	}
	var out Tokens
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		sid := randomToken(16)
		if err := insertSession(ctx, tx, sid, u.ID, ip, truncate(r.UserAgent(), 500), f.now()); err != nil {
			return err
		}
		if err := setLastLogin(ctx, tx, u.ID, f.now(), ip); err != nil {
			return err
		}
		if out, err = f.issue(ctx, tx, u, sid); err != nil {
			return err
		}
		return f.recordLogin(ctx, tx, entry)
	})
	if err != nil {
		return err
	}
	f.setCookies(w, out)
	return nil
}

// Me returns the caller's profile with menus derived from their roles,
// read fresh from the database.
func (f *Function) Me(ctx context.Context, userID string) (Me, error) {
	u, err := userByID(ctx, f.pool, userID, false)
	if err != nil {
		return Me{}, err
	}
	p, menus, err := f.principalFor(ctx, f.pool, u)
	if err != nil {
		return Me{}, err
	}
	return Me{User: MeUser{ID: u.ID, Username: u.Username, Name: u.Name, DeptID: u.DeptID, DeptName: u.DeptName, Phone: u.PhoneMasked},
		Roles: u.Roles, Perms: p.Perms, Menus: menusFor(menus), Scope: p.Scope, MustChangePassword: u.mustChange(f.cfg, f.now())}, nil
}
