package identity

import (
	"net/http"
	"time"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// RefreshCookie holds the refresh token. Its path covers the refresh and
// logout endpoints (and identity's other routes, which ignore it): logout
// must reach it after the access cookie has expired. SameSite=Strict and
// the origin check keep other sites from using it.
const RefreshCookie = "smartreg_rt"

const refreshCookiePath = "/identity/v1/"

// oldRefreshCookiePath is where earlier versions put the refresh cookie;
// logout and a failed refresh clear it there too.
const oldRefreshCookiePath = "/identity/v1/token"

// setCookies hands a browser its tokens: HttpOnly, SameSite=Lax for the
// access token, Strict for the refresh token.
func (f *Function) setCookies(w http.ResponseWriter, t Tokens) {
	http.SetCookie(w, &http.Cookie{Name: auth.CookieName, Value: t.AccessToken, Path: "/", MaxAge: t.ExpiresIn,
		HttpOnly: true, Secure: f.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: t.RefreshToken, Path: refreshCookiePath, MaxAge: int(f.cfg.RefreshTTL.Seconds()),
		HttpOnly: true, Secure: f.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (f *Function) clearCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: auth.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: f.cfg.SecureCookies})
	for _, p := range []string{refreshCookiePath, oldRefreshCookiePath} {
		http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: "", Path: p, MaxAge: -1, HttpOnly: true, Secure: f.cfg.SecureCookies})
	}
}

// checkOrigin guards the public routes that set or read the token
// cookies, which skip the verifier's own cross-site check: a request a
// browser sends from another site's page (it carries that page's Origin
// or Referer) is refused, and so is one that authenticates by cookie
// without naming its origin at all. API clients sending no cookie and no
// Origin pass.
func (f *Function) checkOrigin(r *http.Request, byCookie bool) error {
	named := r.Header.Get("Origin") != "" || r.Header.Get("Referer") != ""
	if (byCookie || named) && !auth.SameOrigin(r, []string{f.cfg.Public.URL()}) {
		return errs.New(errs.Forbidden, auth.MsgCrossSite)
	}
	return nil
}

func (f *Function) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in LoginInput
	err := f.checkOrigin(r, false)
	if err == nil {
		err = httpx.Decode(r, &in)
	}
	var t Tokens
	if err == nil {
		t, err = f.Login(r.Context(), in, httpx.ClientIP(r), r.UserAgent())
	}
	if err != nil {
		retryAfter(w, err)
		httpx.Fail(w, r, err)
		return
	}
	f.setCookies(w, t)
	httpx.JSON(w, http.StatusOK, t)
}

// retryAfter tells a throttled client when to come back.
func retryAfter(w http.ResponseWriter, err error) {
	if e := errs.As(err); e != nil && e.Code == errs.Unavailable {
		w.Header().Set("Retry-After", "1")
	}
}

type refreshInput struct {
	RefreshToken string `json:"refresh_token"`
}

// refreshToken reads the token from the body or, for browsers, the
// cookie, and says which.
func refreshToken(r *http.Request) (tok string, byCookie bool, err error) {
	var in refreshInput
	if r.ContentLength != 0 {
		if err := httpx.Decode(r, &in); err != nil {
			return "", false, err
		}
	}
	if in.RefreshToken != "" {
		return in.RefreshToken, false, nil
	}
	if c, err := r.Cookie(RefreshCookie); err == nil {
		return c.Value, true, nil
	}
	return "", false, nil
}

func (f *Function) handleRefresh(w http.ResponseWriter, r *http.Request) {
	raw, byCookie, err := refreshToken(r)
	if err == nil {
		err = f.checkOrigin(r, byCookie)
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	t, err := f.Refresh(r.Context(), raw)
	if err != nil {
		f.clearCookies(w)
		httpx.Fail(w, r, err)
		return
	}
	f.setCookies(w, t)
	httpx.JSON(w, http.StatusOK, t)
}

func (f *Function) handleLogout(w http.ResponseWriter, r *http.Request) {
	raw, byCookie, err := refreshToken(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	sid := ""
	if tok := auth.TokenFrom(r); tok != "" {
		byCookie = byCookie || r.Header.Get("Authorization") == ""
		// An expired or revoked token names nothing to end; the refresh
		// token does.
		if p, err := f.verifier.Verify(r.Context(), tok); err == nil {
			sid = p.SessionID
		}
	}
	if err := f.checkOrigin(r, byCookie); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if err := f.Logout(r.Context(), sid, raw); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	f.clearCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

// CaptchaAnswer is a new captcha: its id, to send back with the answer,
// and where its picture is.
type CaptchaAnswer struct {
	CaptchaID string `json:"captcha_id"`
	ImageURL  string `json:"image_url"`
	ExpiresIn int    `json:"expires_in"` // seconds
}

func (f *Function) handleNewCaptcha(r *http.Request) (any, error) {
	// No body, or an empty JSON object: anything else (a CloudEvent
	// posted here) is refused.
	if r.ContentLength != 0 {
		var none struct{}
		if err := httpx.Decode(r, &none); err != nil {
			return nil, err
		}
	}
	id, err := f.NewCaptcha(r.Context(), httpx.ClientIP(r))
	if err != nil {
		return nil, err
	}
	return httpx.Created(CaptchaAnswer{CaptchaID: id, ImageURL: "/identity/v1/captchas/" + id, ExpiresIn: int(f.cfg.CaptchaTTL / time.Second)}, ""), nil
}

func (f *Function) handleCaptchaImage(w http.ResponseWriter, r *http.Request) {
	png, err := f.CaptchaImage(r.Context(), r.PathValue("id"))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

// Me is the console's view of the caller.
type Me struct {
	User               MeUser     `json:"user"`
	Roles              []RoleRef  `json:"roles"`
	Perms              []string   `json:"perms"`
	Menus              []Menu     `json:"menus"`
	Scope              auth.Scope `json:"scope"`
	MustChangePassword bool       `json:"must_change_password"`
}

// MeUser is the caller's profile, phone masked.
type MeUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	DeptID   string `json:"dept_id"`
	DeptName string `json:"dept_name"`
	Phone    string `json:"phone"`
}

func (f *Function) handleMe(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.Me(r.Context(), a.UserID)
}

func (f *Function) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	a, err := actorFrom(r)
	var in PasswordChange
	if err == nil {
		err = httpx.Decode(r, &in)
	}
	var t Tokens
	if err == nil {
		t, err = f.ChangePassword(r.Context(), a, in)
	}
	if err != nil {
		retryAfter(w, err)
		httpx.Fail(w, r, err)
		return
	}
	if t.AccessToken != "" {
		f.setCookies(w, t)
	}
	httpx.JSON(w, http.StatusOK, t)
}

func (f *Function) handleResetSMS(r *http.Request, in ResetRequest) (any, error) {
	if err := f.RequestResetCode(r.Context(), in, httpx.ClientIP(r)); err != nil {
		return nil, err
	}
	return httpx.Accepted(messageAnswer{"如用户名与手机号匹配，验证码已发送，5 分钟内有效"}), nil
}

func (f *Function) handleReset(r *http.Request, in ResetInput) (any, error) {
	if err := f.ResetPassword(r.Context(), in, httpx.ClientIP(r), r.UserAgent()); err != nil {
		return nil, err
	}
	return messageAnswer{"密码已重置，请使用新密码登录"}, nil
}
