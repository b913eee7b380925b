package oidcprovider

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// The login page is server-rendered and small: it works without the
// console's JavaScript, for any application that sends people here.
var pages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} - 石家庄市市场智慧监管平台</title>
<style>
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;background:#f0f2f5;margin:0}
main{max-width:22em;margin:8vh auto;background:#fff;padding:2em;border-radius:8px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.25em;margin:0 0 .3em}p.sub{color:#666;margin:0 0 1.2em;font-size:.9em}
label{display:block;margin:.8em 0 .3em;font-size:.9em}input{width:100%;box-sizing:border-box;padding:.6em;border:1px solid #ccc;border-radius:4px}
button,.btn{display:block;width:100%;box-sizing:border-box;margin-top:1.2em;padding:.7em;border:0;border-radius:4px;background:#1677ff;color:#fff;font-size:1em;text-align:center;text-decoration:none;cursor:pointer}
.btn.alt{background:#fff;color:#333;border:1px solid #ccc;margin-top:.6em}.btn.wx{background:#07c160}
.err{color:#c00;background:#fff1f0;border:1px solid #ffccc7;padding:.5em;border-radius:4px;font-size:.9em}
.or{text-align:center;color:#999;margin-top:1.2em;font-size:.85em}
</style></head><body><main>
<h1>{{.Title}}</h1><p class="sub">{{.Sub}}</p>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Action}}<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<label for="username">用户名</label><input id="username" name="username" value="{{.Username}}" autocomplete="username" required autofocus>
<label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password" required>
{{if .CaptchaID}}<input type="hidden" name="captcha_id" value="{{.CaptchaID}}"><label for="captcha">验证码</label>
<img src="{{.CaptchaURL}}" alt="图形验证码" width="160" height="60" style="display:block;margin:.3em 0">
<input id="captcha" name="captcha" inputmode="numeric" autocomplete="off" required>{{end}}
<button type="submit">{{.Submit}}</button></form>{{end}}
{{if or .UpstreamURL .WeChatURL}}<p class="or">其他登录方式</p>{{end}}
{{if .UpstreamURL}}<a class="btn alt" href="{{.UpstreamURL}}">{{.UpstreamName}}</a>{{end}}
{{if .WeChatURL}}<a class="btn wx" href="{{.WeChatURL}}">微信扫码登录</a>{{end}}
</main></body></html>`))

type pageData struct {
	Title, Sub, Error, Action, Submit, Username string
	Hidden                                      map[string]string
	UpstreamURL, UpstreamName, WeChatURL        string
	CaptchaID, CaptchaURL                       string
}

func renderPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page may not be framed (clickjacking on a password form).
	w.Header().Set("X-Frame-Options", "DENY")
	// No form-action: browsers apply it to the redirects that follow a
	// submitted form too, and the login ends at the client's redirect URI.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = pages.Execute(w, d)
}

// userMessage is what a person may read about err.
func userMessage(err error) string {
	if e := errs.As(err); e != nil && e.Code != errs.Internal {
		return e.Message
	}
	return "系统内部错误，请稍后重试"
}

func statusOf(err error) int {
	if e := errs.As(err); e != nil {
		return httpx.Status(e.Code)
	}
	return http.StatusInternalServerError
}

func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	if errs.CodeOf(err) == errs.Internal || errs.CodeOf(err) == errs.Unavailable {
		p.log.ErrorContext(r.Context(), "login failed", "err", err, "path", r.URL.Path)
	}
	renderPage(w, statusOf(err), pageData{Title: "登录未完成", Sub: "石家庄市市场智慧监管平台统一身份认证", Error: userMessage(err)})
}

// needsCaptcha reports whether a refused password check asks for a
// captcha (the throttle's field error).
func needsCaptcha(err error) bool {
	if e := errs.As(err); e != nil {
		return slices.ContainsFunc(e.Fields, func(f errs.FieldError) bool { return f.Field == "captcha" })
	}
	return false
}

// withCaptcha puts a fresh captcha on a form the throttle refused.
func (p *Provider) withCaptcha(r *http.Request, d pageData, err error) pageData {
	if !needsCaptcha(err) {
		return d
	}
	id, cerr := p.accounts.NewCaptcha(r.Context(), httpx.ClientIP(r))
	if cerr != nil {
		p.log.WarnContext(r.Context(), "captcha for the login page", "err", cerr)
		return d
	}
	d.CaptchaID, d.CaptchaURL = id, p.base+"/identity/v1/captchas/"+url.PathEscape(id)
	return d
}

func checkOf(r *http.Request, username, password string) PasswordCheck {
	return PasswordCheck{Username: username, Password: password, CaptchaID: r.PostForm.Get("captcha_id"),
		Captcha: r.PostForm.Get("captcha"), IP: httpx.ClientIP(r), Device: device(r)}
}

func device(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return ua
}

func (p *Provider) loginPageData(authReqID, username, errMsg string) pageData {
	d := pageData{Title: "统一身份认证登录", Sub: "石家庄市市场智慧监管平台", Error: errMsg,
		Action: p.Issuer() + "/login", Submit: "登录", Username: username, Hidden: map[string]string{"id": authReqID}}
	q := "?auth_request=" + url.QueryEscape(authReqID)
	if p.upstream != nil {
		d.UpstreamURL, d.UpstreamName = p.base+"/identity/v1/login/upstream"+q, p.upstream.name
	}
	if p.wechat != nil {
		d.WeChatURL = p.base + "/identity/v1/login/wechat" + q
	}
	return d
}

// loginPage shows the password form for an authorization request. A person
// already logged in to the platform (a valid smartreg_at cookie) goes
// straight back to the application, unless it asked for prompt=login or a
// max_age (the cookie does not tell when the password was typed). With
// prompt=none and no such cookie the application gets login_required.
func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	req, err := p.store.AuthRequestByID(r.Context(), id)
	if err != nil {
		p.errorPage(w, r, expiredRequest(err))
		return
	}
	ar := req.(*authRequest)
	if !slices.Contains(ar.req.Prompt, "login") && ar.req.MaxAge == nil {
		if c, err := r.Cookie(auth.CookieName); err == nil {
			if pr, err := p.verifier.Verify(r.Context(), c.Value); err == nil {
				if err := p.completeAuthRequest(r.Context(), id, pr.UserID, []string{"sso"}); err == nil {
					http.Redirect(w, r, p.callbackURL(id), http.StatusFound)
					return
				}
			}
		}
	}
	if slices.Contains(ar.req.Prompt, "none") {
		if err := p.store.DeleteAuthRequest(r.Context(), id); err != nil {
			p.errorPage(w, r, err)
			return
		}
		http.Redirect(w, r, authError(ar, "login_required"), http.StatusFound)
		return
	}
	renderPage(w, http.StatusOK, p.loginPageData(id, ar.req.LoginHint, ""))
}

// authError is the redirect URI carrying an OAuth error (query mode: the
// provider only answers response_type=code).
func authError(ar *authRequest, code string) string {
	u, err := url.Parse(ar.req.RedirectURI)
	if err != nil {
		return ar.req.RedirectURI
	}
	q := u.Query()
	q.Set("error", code)
	if ar.req.State != "" {
		q.Set("state", ar.req.State)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func expiredRequest(err error) error {
	if errors.Is(err, errs.ErrNotFound) {
		return errs.New(errs.Invalid, "登录请求不存在或已过期，请返回应用重新登录")
	}
	return err
}

func (p *Provider) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, errs.New(errs.Invalid, "表单无效"))
		return
	}
	id, username := r.PostForm.Get("id"), strings.TrimSpace(r.PostForm.Get("username"))
	if _, err := p.store.AuthRequestByID(r.Context(), id); err != nil {
		p.errorPage(w, r, expiredRequest(err))
		return
	}
	if username == "" || r.PostForm.Get("password") == "" {
		renderPage(w, http.StatusBadRequest, p.loginPageData(id, username, "请输入用户名和密码"))
		return
	}
	userID, err := p.accounts.CheckPassword(r.Context(), checkOf(r, username, r.PostForm.Get("password")))
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			p.log.ErrorContext(r.Context(), "password check failed", "err", err)
		}
		renderPage(w, statusOf(err), p.withCaptcha(r, p.loginPageData(id, username, userMessage(err)), err))
		return
	}
	if err := p.completeAuthRequest(r.Context(), id, userID, []string{"pwd"}); err != nil {
		p.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, p.callbackURL(id), http.StatusFound)
}

// providers tells the console which other login methods are on.
func (p *Provider) providers(w http.ResponseWriter, r *http.Request) {
	type prov struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		URL   string `json:"url"`
		Ready bool   `json:"direct_login"` // a direct console login works (SessionStarter)
	}
	_, direct := p.accounts.(SessionStarter)
	out := []prov{}
	if p.upstream != nil {
		out = append(out, prov{ProviderUpstream, p.upstream.name, p.base + "/identity/v1/login/upstream", direct})
	}
	if p.wechat != nil {
		out = append(out, prov{ProviderWeChat, "微信扫码登录", p.base + "/identity/v1/login/wechat", direct})
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"items": out})
}

// ---- external logins: shared start, finish and bind ----

// flow is where an external login returns to: an OIDC authorization
// request, or a direct console login that goes to returnTo.
type flow struct {
	authRequestID string
	returnTo      string
}

const stateCookie = "smartreg_login_state"

// startFlow validates where the login will return to and stores the state
// sent upstream; the state is also set as a cookie, so a callback from
// another browser (login CSRF) is refused.
func (p *Provider) startFlow(w http.ResponseWriter, r *http.Request, provider, nonce, verifier string) (string, flow, error) {
	q := r.URL.Query()
	f := flow{authRequestID: q.Get("auth_request"), returnTo: q.Get("return_to")}
	if f.authRequestID != "" {
		if _, err := p.store.AuthRequestByID(r.Context(), f.authRequestID); err != nil {
			return "", f, expiredRequest(err)
		}
	} else {
		if _, ok := p.accounts.(SessionStarter); !ok {
			return "", f, errs.New(errs.Invalid, "请从应用的登录页面发起登录")
		}
		f.returnTo = p.safeReturn(f.returnTo)
	}
	state := randomToken()
	now := p.now()
	var arID *string
	if f.authRequestID != "" {
		arID = &f.authRequestID
	}
	if _, err := p.pool.Exec(r.Context(), `DELETE FROM identity.oidc_login_states WHERE expires_at < $1`, now); err != nil {
		return "", f, err
	}
	if _, err := p.pool.Exec(r.Context(), `INSERT INTO identity.oidc_login_states
		(state_hash, provider, auth_request_id, return_to, nonce, verifier, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		hashToken(state), provider, arID, f.returnTo, nonce, verifier, now, now.Add(loginStateTTL)); err != nil {
		return "", f, err
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: state, Path: "/identity/v1/login", MaxAge: int(loginStateTTL.Seconds()),
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	return state, f, nil
}

type loginState struct {
	flow
	nonce, verifier string
}

// takeState consumes the state of a callback: single use, same browser.
func (p *Provider) takeState(w http.ResponseWriter, r *http.Request, provider string) (loginState, error) {
	var s loginState
	state := r.URL.Query().Get("state")
	c, err := r.Cookie(stateCookie)
	if state == "" || err != nil || c.Value != state {
		return s, errs.New(errs.Invalid, "登录状态校验失败，请重新发起登录")
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/identity/v1/login", MaxAge: -1, HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	var arID *string
	err = p.pool.QueryRow(r.Context(), `DELETE FROM identity.oidc_login_states WHERE state_hash = $1 AND provider = $2 AND expires_at > $3
		RETURNING auth_request_id::text, return_to, nonce, verifier`, hashToken(state), provider, p.now()).
		Scan(&arID, &s.returnTo, &s.nonce, &s.verifier)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, errs.New(errs.Invalid, "登录已过期，请重新发起登录")
	}
	if arID != nil {
		s.authRequestID = *arID
	}
	return s, err
}

// safeReturn keeps a direct login's destination on this platform (no open
// redirect): only a local absolute path is accepted.
func (p *Provider) safeReturn(to string) string {
	if to == "" || !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.HasPrefix(to, "/\\") {
		return "/console/"
	}
	return to
}

// externalLogin finishes a login whose external identity was verified:
// a bound identity logs in; an unbound one gets the bind form.
func (p *Provider) externalLogin(w http.ResponseWriter, r *http.Request, f flow, provider, subject, displayName string) {
	userID, err := p.accounts.UserByExternal(r.Context(), provider, subject)
	switch {
	case errors.Is(err, errs.ErrNotFound):
		p.bindPage(w, r, f, provider, subject, displayName)
		return
	case err != nil:
		p.errorPage(w, r, err)
		return
	}
	p.finish(w, r, f, userID, provider)
}

// finish logs userID in for the flow.
func (p *Provider) finish(w http.ResponseWriter, r *http.Request, f flow, userID, provider string) {
	if f.authRequestID != "" {
		// Refuse a frozen or deleted account here, not only at the token
		// exchange, and log the login (FP-7) as the password path does.
		entry := auditlog.Login{At: p.now(), UserID: userID, IP: httpx.ClientIP(r), Device: device(r), Result: auditlog.ResultSuccess,
			Reason: providerNames[provider] + "登录（统一身份认证）"}
		pr, err := p.accounts.Principal(r.Context(), userID)
		if pr != nil {
			entry.Username = pr.Username
		}
		if err != nil {
			entry.Result, entry.Reason = auditlog.ResultFailure, entry.Reason+"："+userMessage(err)
		}
		if lerr := store.InTx(r.Context(), p.pool, func(tx pgx.Tx) error { return auditlog.RecordLogin(r.Context(), tx, source, entry) }); lerr != nil {
			p.errorPage(w, r, lerr)
			return
		}
		if err != nil {
			p.errorPage(w, r, err)
			return
		}
		if err := p.completeAuthRequest(r.Context(), f.authRequestID, userID, []string{amrOf(provider)}); err != nil {
			p.errorPage(w, r, err)
			return
		}
		http.Redirect(w, r, p.callbackURL(f.authRequestID), http.StatusFound)
		return
	}
	ss, ok := p.accounts.(SessionStarter)
	if !ok {
		p.errorPage(w, r, errs.New(errs.Invalid, "请从应用的登录页面发起登录"))
		return
	}
	if err := ss.StartSession(r.Context(), w, r, userID, provider); err != nil {
		p.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, p.safeReturn(f.returnTo), http.StatusFound)
}

// amrOf names the authentication method in the ID token (RFC 8176 where
// it has a name; "fed" for a federated login as commonly used).
func amrOf(provider string) string {
	switch provider {
	case ProviderUpstream, ProviderWeChat:
		return "fed"
	}
	return "pwd"
}

var providerNames = map[string]string{ProviderUpstream: "省统一身份认证", ProviderWeChat: "微信"}

func (p *Provider) bindPage(w http.ResponseWriter, r *http.Request, f flow, provider, subject, displayName string) {
	token := randomToken()
	now := p.now()
	var arID *string
	if f.authRequestID != "" {
		arID = &f.authRequestID
	}
	if _, err := p.pool.Exec(r.Context(), `DELETE FROM identity.oidc_pending_binds WHERE expires_at < $1`, now); err != nil {
		p.errorPage(w, r, err)
		return
	}
	if _, err := p.pool.Exec(r.Context(), `INSERT INTO identity.oidc_pending_binds
		(token_hash, provider, subject, display_name, auth_request_id, return_to, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		hashToken(token), provider, subject, displayName, arID, f.returnTo, now, now.Add(pendingBindTTL)); err != nil {
		p.errorPage(w, r, err)
		return
	}
	renderPage(w, http.StatusOK, p.bindPageData(token, provider, displayName, "", ""))
}

func (p *Provider) bindPageData(token, provider, displayName, username, errMsg string) pageData {
	who := providerNames[provider]
	if displayName != "" {
		who += "账号“" + displayName + "”"
	} else {
		who += "账号"
	}
	return pageData{Title: "绑定平台账号", Sub: "您的" + who + "尚未绑定平台账号。请用平台用户名和密码登录一次完成绑定，以后即可直接登录。",
		Error: errMsg, Action: p.base + "/identity/v1/login/bind", Submit: "登录并绑定", Username: username,
		Hidden: map[string]string{"bind_token": token}}
}

type bindInput struct {
	BindToken string `json:"bind_token"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	CaptchaID string `json:"captcha_id"`
	Captcha   string `json:"captcha"`
}

func (in bindInput) Validate() error {
	var fe []errs.FieldError
	if in.BindToken == "" {
		fe = append(fe, errs.FieldError{Field: "bind_token", Message: "缺少绑定凭证"})
	}
	if strings.TrimSpace(in.Username) == "" {
		fe = append(fe, errs.FieldError{Field: "username", Message: "请输入用户名"})
	}
	if in.Password == "" {
		fe = append(fe, errs.FieldError{Field: "password", Message: "请输入密码"})
	}
	return errs.Fields(fe)
}

type pendingBind struct {
	flow
	provider, subject, displayName string
}

// bindSubmit checks the password once and binds the external identity.
// It takes the form of the bind page, or JSON from the console (which then
// gets {"redirect": url} instead of a redirect).
func (p *Provider) bindSubmit(w http.ResponseWriter, r *http.Request) {
	isJSON := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	var in bindInput
	if isJSON {
		if err := httpx.Decode(r, &in); err != nil {
			httpx.Fail(w, r, err)
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			p.errorPage(w, r, errs.New(errs.Invalid, "表单无效"))
			return
		}
		in = bindInput{BindToken: r.PostForm.Get("bind_token"), Username: strings.TrimSpace(r.PostForm.Get("username")), Password: r.PostForm.Get("password"),
			CaptchaID: r.PostForm.Get("captcha_id"), Captcha: r.PostForm.Get("captcha")}
	}
	fail := func(pb *pendingBind, err error) {
		if isJSON {
			httpx.Fail(w, r, err)
			return
		}
		if pb == nil {
			p.errorPage(w, r, err)
			return
		}
		renderPage(w, statusOf(err), p.withCaptcha(r, p.bindPageData(in.BindToken, pb.provider, pb.displayName, in.Username, userMessage(err)), err))
	}
	pb, err := p.pendingBind(r.Context(), in.BindToken)
	if err != nil {
		fail(nil, err)
		return
	}
	if err := in.Validate(); err != nil {
		fail(pb, err)
		return
	}
	userID, err := p.accounts.CheckPassword(r.Context(), PasswordCheck{Username: in.Username, Password: in.Password,
		CaptchaID: in.CaptchaID, Captcha: in.Captcha, IP: httpx.ClientIP(r), Device: device(r)})
	if err != nil {
		fail(pb, err)
		return
	}
	if err := p.accounts.BindExternal(r.Context(), userID, pb.provider, pb.subject); err != nil {
		fail(pb, err)
		return
	}
	if _, err := p.pool.Exec(r.Context(), `DELETE FROM identity.oidc_pending_binds WHERE token_hash = $1`, hashToken(in.BindToken)); err != nil {
		fail(pb, err)
		return
	}
	p.log.InfoContext(r.Context(), "external identity bound", "provider", pb.provider, "user_id", userID)
	if isJSON {
		// The console follows the redirect itself.
		rec := &redirectRecorder{header: http.Header{}}
		p.finish(rec, r, pb.flow, userID, pb.provider)
		for _, c := range rec.header.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", c)
		}
		if rec.location == "" {
			httpx.Fail(w, r, errs.New(errs.Invalid, "绑定成功，但登录未完成，请重新登录"))
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]string{"redirect": rec.location})
		return
	}
	p.finish(w, r, pb.flow, userID, pb.provider)
}

func (p *Provider) pendingBind(ctx context.Context, token string) (*pendingBind, error) {
	pb := &pendingBind{}
	var arID *string
	err := p.pool.QueryRow(ctx, `SELECT provider, subject, display_name, auth_request_id::text, return_to
		FROM identity.oidc_pending_binds WHERE token_hash = $1 AND expires_at > $2`, hashToken(token), p.now()).
		Scan(&pb.provider, &pb.subject, &pb.displayName, &arID, &pb.returnTo)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.New(errs.Invalid, "绑定已过期，请重新扫码或重新登录")
	}
	if arID != nil {
		pb.authRequestID = *arID
	}
	return pb, err
}

// redirectRecorder captures finish's redirect for a JSON answer.
type redirectRecorder struct {
	header   http.Header
	location string
	status   int
}

func (r *redirectRecorder) Header() http.Header { return r.header }
func (r *redirectRecorder) Write(b []byte) (int, error) {
	return len(b), nil
}
func (r *redirectRecorder) WriteHeader(status int) {
	r.status = status
	if status == http.StatusFound {
		r.location = r.header.Get("Location")
	}
}
