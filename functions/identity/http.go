package identity

import (
	"context"
	_ "embed"
	"net/http"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// RefreshCookie holds the refresh token, sent only to the refresh and
// logout endpoints.
const RefreshCookie = "smartreg_rt"

func guard(resource, action string, h http.HandlerFunc) http.Handler {
	return auth.Require(resource, action)(h)
}

// signedIn lets any authenticated caller through.
func signedIn(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.FromContext(r.Context()); !ok {
			httpx.Error(w, r, discardLog, errs.New(errs.Unauthorized, auth.MsgLoginRequired))
			return
		}
		h(w, r)
	})
}

func (f *Function) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /identity/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		// The combined document: identity's routes and its sub-packages'.
		doc, err := combinedOpenAPI()
		if err != nil {
			httpx.Error(w, r, discardLog, err)
			return
		}
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("POST /identity/v1/login", f.handleLogin)
	mux.HandleFunc("POST /identity/v1/token/refresh", f.handleRefresh)
	mux.HandleFunc("POST /identity/v1/logout", f.handleLogout)
	mux.Handle("GET /identity/v1/me", signedIn(f.handleMe))
	mux.Handle("POST /identity/v1/password/change", signedIn(f.handlePasswordChange))
	mux.HandleFunc("POST /identity/v1/password/reset/sms", f.handleResetSMS)
	mux.HandleFunc("POST /identity/v1/password/reset", f.handleReset)

	mux.HandleFunc("POST /identity/v1/registrations", f.handleRegister)
	mux.Handle("GET /identity/v1/registrations", guard("identity.user", "approve", f.handleRegistrations))
	mux.Handle("POST /identity/v1/registrations/{id}/approve", guard("identity.user", "approve", f.handleApprove))
	mux.Handle("POST /identity/v1/registrations/{id}/reject", guard("identity.user", "approve", f.handleReject))
	mux.Handle("POST /identity/v1/registrations/{id}/request-info", guard("identity.user", "approve", f.handleRequestInfo))

	mux.Handle("GET /identity/v1/users", guard("identity.user", "view", f.handleUsers))
	mux.Handle("POST /identity/v1/users", guard("identity.user", "create", f.handleCreateUser))
	mux.Handle("GET /identity/v1/users/{id}", guard("identity.user", "view", f.handleUser))
	mux.Handle("PUT /identity/v1/users/{id}", guard("identity.user", "edit", f.handleUpdateUser))
	mux.Handle("POST /identity/v1/users/{id}/freeze", guard("identity.user", "edit", f.handleFreeze))
	mux.Handle("POST /identity/v1/users/{id}/unfreeze", guard("identity.user", "edit", f.handleUnfreeze))

	mux.HandleFunc("GET /identity/v1/departments", f.handleDepartments)
	mux.Handle("POST /identity/v1/departments", guard("identity.dept", "create", f.handleCreateDept))
	mux.Handle("PUT /identity/v1/departments/{id}", guard("identity.dept", "edit", f.handleUpdateDept))
	mux.Handle("DELETE /identity/v1/departments/{id}", guard("identity.dept", "delete", f.handleDeleteDept))

	mux.Handle("GET /identity/v1/roles", guard("identity.role", "view", f.handleRoles))
	mux.Handle("POST /identity/v1/roles", guard("identity.role", "create", f.handleCreateRole))
	mux.Handle("PUT /identity/v1/roles/{id}", guard("identity.role", "edit", f.handleUpdateRole))
	mux.Handle("DELETE /identity/v1/roles/{id}", guard("identity.role", "delete", f.handleDeleteRole))
	mux.Handle("GET /identity/v1/permissions", guard("identity.role", "view", f.handlePermissions))

	mux.Handle("GET /identity/v1/changelog", guard("identity.changelog", "view", f.handleChangelog))
	mux.Handle("POST /identity/v1/changelog", guard("identity.changelog", "create", f.handlePublishChangelog))
	mux.Handle("GET /identity/v1/changelog/unseen", signedIn(f.handleUnseen))
	mux.Handle("POST /identity/v1/changelog/{id}/seen", signedIn(f.handleSeen))
}

func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, f.log, err)
}

// actorOrFail reads the caller; false when it answered 401.
func (f *Function) actorOrFail(w http.ResponseWriter, r *http.Request) (Actor, bool) {
	a, err := actorFrom(r)
	if err != nil {
		f.fail(w, r, err)
		return a, false
	}
	return a, true
}

// setCookies hands a browser its tokens: HttpOnly, SameSite=Lax; the
// refresh cookie goes only to the token endpoints.
func (f *Function) setCookies(w http.ResponseWriter, t Tokens) {
	http.SetCookie(w, &http.Cookie{Name: auth.CookieName, Value: t.AccessToken, Path: "/", MaxAge: t.ExpiresIn,
		HttpOnly: true, Secure: f.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: t.RefreshToken, Path: "/identity/v1/token", MaxAge: int(f.cfg.RefreshTTL.Seconds()),
		HttpOnly: true, Secure: f.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (f *Function) clearCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: auth.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: f.cfg.SecureCookies})
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: "", Path: "/identity/v1/token", MaxAge: -1, HttpOnly: true, Secure: f.cfg.SecureCookies})
}

type loginInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Captcha  string `json:"captcha"`
}

func (in *loginInput) Validate() error {
	var fe []errs.FieldError
	if strings.TrimSpace(in.Username) == "" {
		fe = append(fe, errs.FieldError{Field: "username", Message: "请输入用户名"})
	}
	if in.Password == "" {
		fe = append(fe, errs.FieldError{Field: "password", Message: "请输入密码"})
	}
	return errs.Fields(fe)
}

func (f *Function) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in loginInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	t, err := f.Login(r.Context(), in.Username, in.Password, clientIP(r), r.UserAgent())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.setCookies(w, t)
	httpx.JSON(w, http.StatusOK, t)
}

type refreshInput struct {
	RefreshToken string `json:"refresh_token"`
}

// refreshToken reads the token from the body or, for browsers, the cookie.
func refreshToken(r *http.Request) (string, error) {
	var in refreshInput
	if r.ContentLength != 0 {
		if err := httpx.Decode(r, &in); err != nil {
			return "", err
		}
	}
	if in.RefreshToken == "" {
		if c, err := r.Cookie(RefreshCookie); err == nil {
			in.RefreshToken = c.Value
		}
	}
	return in.RefreshToken, nil
}

func (f *Function) handleRefresh(w http.ResponseWriter, r *http.Request) {
	raw, err := refreshToken(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	t, err := f.Refresh(r.Context(), raw)
	if err != nil {
		f.clearCookies(w)
		f.fail(w, r, err)
		return
	}
	f.setCookies(w, t)
	httpx.JSON(w, http.StatusOK, t)
}

func (f *Function) handleLogout(w http.ResponseWriter, r *http.Request) {
	raw, err := refreshToken(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	sid := ""
	if tok := auth.TokenFrom(r); tok != "" {
		// An expired or revoked token still names nothing to end; the
		// refresh token does.
		if p, err := f.verifier.Verify(r.Context(), tok); err == nil {
			sid = p.SessionID
		}
	}
	if err := f.Logout(r.Context(), sid, raw); err != nil {
		f.fail(w, r, err)
		return
	}
	f.clearCookies(w)
	w.WriteHeader(http.StatusNoContent)
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

// Me returns the caller's profile with menus derived from their roles,
// read fresh from the database.
func (f *Function) Me(r *http.Request, userID string) (Me, error) {
	ctx := r.Context()
	u, err := getUser(ctx, f.pool, "u.id = $1", userID, false)
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

func (f *Function) handleMe(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	me, err := f.Me(r, a.UserID)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, me)
}

func (f *Function) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in PasswordChange
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	t, err := f.ChangePassword(r.Context(), a, in)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if t.AccessToken != "" {
		f.setCookies(w, t)
	}
	httpx.JSON(w, http.StatusOK, t)
}

type messageAnswer struct {
	Message string `json:"message"`
}

func (f *Function) handleResetSMS(w http.ResponseWriter, r *http.Request) {
	var in ResetRequest
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	if err := f.RequestResetCode(r.Context(), in, clientIP(r)); err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusAccepted, messageAnswer{"如用户名与手机号匹配，验证码已发送，5 分钟内有效"})
}

func (f *Function) handleReset(w http.ResponseWriter, r *http.Request) {
	var in ResetInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	if err := f.ResetPassword(r.Context(), in, clientIP(r), r.UserAgent()); err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, messageAnswer{"密码已重置，请使用新密码登录"})
}

func (f *Function) handleRegister(w http.ResponseWriter, r *http.Request) {
	var in RegistrationInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	g, err := f.Register(r.Context(), in, clientIP(r))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, g)
}

func (f *Function) handleRegistrations(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	out, err := f.Registrations(r.Context(), a, r.URL.Query().Get("status"), r.URL.Query().Get("q"), page)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, out)
}

type approveInput struct {
	RoleIDs []string `json:"role_ids"`
}

type reasonInput struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (f *Function) handleApprove(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in approveInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	f.answer(w, r)(f.Approve(r.Context(), a, r.PathValue("id"), in.RoleIDs))
}

func (f *Function) handleReject(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in reasonInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	f.answer(w, r)(f.Reject(r.Context(), a, r.PathValue("id"), in.Reason))
}

func (f *Function) handleRequestInfo(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in reasonInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	f.answer(w, r)(f.RequestInfo(r.Context(), a, r.PathValue("id"), in.Message))
}

// answer writes a command's result as 200 JSON, or its error.
func (f *Function) answer(w http.ResponseWriter, r *http.Request) func(v any, err error) {
	return func(v any, err error) {
		if err != nil {
			f.fail(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusOK, v)
	}
}

func (f *Function) handleUsers(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	flt := UserFilter{Q: q.Get("q"), DeptID: q.Get("dept_id"), Status: q.Get("status"), RoleID: q.Get("role_id"), Sort: q.Get("sort")}
	if flt.Status != "" && flt.Status != "active" && flt.Status != "frozen" {
		f.fail(w, r, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态应为 active 或 frozen"}}))
		return
	}
	f.answer(w, r)(f.Users(r.Context(), a, flt, page))
}

func (f *Function) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in UserInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	c, err := f.CreateUser(r.Context(), a, in)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/identity/v1/users/"+c.User.ID)
	httpx.JSON(w, http.StatusCreated, c)
}

func (f *Function) handleUser(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	f.answer(w, r)(f.User(r.Context(), a, r.PathValue("id")))
}

func (f *Function) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in UserInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	f.answer(w, r)(f.UpdateUser(r.Context(), a, r.PathValue("id"), in))
}

func (f *Function) handleFreeze(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in reasonInput
	if err := httpx.Decode(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	f.answer(w, r)(f.Freeze(r.Context(), a, r.PathValue("id"), in.Reason))
}

func (f *Function) handleUnfreeze(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	f.answer(w, r)(f.Unfreeze(r.Context(), a, r.PathValue("id")))
}

// publicDept is what the registration form may see of a department.
type publicDept struct {
	ID       string  `json:"id"`
	ParentID *string `json:"parent_id"`
	Name     string  `json:"name"`
	Level    string  `json:"level"`
}

func (f *Function) handleDepartments(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("public") == "1" {
		x, err := loadDepts(r.Context(), f.pool)
		if err != nil {
			f.fail(w, r, err)
			return
		}
		out := make([]publicDept, 0, len(x.list))
		for _, d := range x.list {
			out = append(out, publicDept{d.ID, d.ParentID, d.Name, d.Level})
		}
		httpx.JSON(w, http.StatusOK, out)
		return
	}
	p, _ := auth.FromContext(r.Context())
	if err := auth.Check(p, "identity.dept", "view"); err != nil {
		f.fail(w, r, err)
		return
	}
	a, _ := actorFrom(r)
	f.answer(w, r)(f.Departments(r.Context(), a, r.URL.Query().Get("tree") == "1"))
}

func (f *Function) handleCreateDept(w http.ResponseWriter, r *http.Request) {
	createAs(f, f.CreateDepartment)(w, r)
}

func (f *Function) handleUpdateDept(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in DeptInput
	if err := decodeLoose(r, &in); err != nil {
		f.fail(w, r, err)
		return
	}
	f.answer(w, r)(f.UpdateDepartment(r.Context(), a, r.PathValue("id"), in))
}

// decodeLoose decodes without running Validate: the command fills fixed
// fields from the stored row first.
func decodeLoose(r *http.Request, in *DeptInput) error {
	type plain DeptInput
	return httpx.Decode(r, (*plain)(in))
}

func (f *Function) handleDeleteDept(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	if err := f.DeleteDepartment(r.Context(), a, r.PathValue("id")); err != nil {
		f.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// createAs decodes an In, runs cmd as the calling actor and answers 201
// with what it created.
func createAs[In, Out any](f *Function, cmd func(context.Context, Actor, In) (Out, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := f.actorOrFail(w, r)
		if !ok {
			return
		}
		var in In
		if err := httpx.Decode(r, &in); err != nil {
			f.fail(w, r, err)
			return
		}
		out, err := cmd(r.Context(), a, in)
		if err != nil {
			f.fail(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusCreated, out)
	}
}

func (f *Function) handleRoles(w http.ResponseWriter, r *http.Request) {
	f.answer(w, r)(f.Roles(r.Context()))
}

func (f *Function) handleCreateRole(w http.ResponseWriter, r *http.Request) {
	createAs(f, f.CreateRole)(w, r)
}

func (f *Function) handleUpdateRole(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	var in RoleInput
	type plain RoleInput // validated after the code is filled in
	if err := httpx.Decode(r, (*plain)(&in)); err != nil {
		f.fail(w, r, err)
		return
	}
	f.answer(w, r)(f.UpdateRole(r.Context(), a, r.PathValue("id"), in))
}

func (f *Function) handleDeleteRole(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	if err := f.DeleteRole(r.Context(), a, r.PathValue("id")); err != nil {
		f.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Catalogue is every grantable menu and permission.
type Catalogue struct {
	Menus []Menu `json:"menus"`
	Perms []Perm `json:"perms"`
}

func (f *Function) handlePermissions(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, Catalogue{Menus: menuCatalogue, Perms: permCatalogue})
}

func (f *Function) handleChangelog(w http.ResponseWriter, r *http.Request) {
	f.answer(w, r)(f.Changelog(r.Context()))
}

func (f *Function) handlePublishChangelog(w http.ResponseWriter, r *http.Request) {
	createAs(f, f.PublishChangelog)(w, r)
}

func (f *Function) handleUnseen(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	f.answer(w, r)(f.UnseenChangelog(r.Context(), a.UserID))
}

func (f *Function) handleSeen(w http.ResponseWriter, r *http.Request) {
	a, ok := f.actorOrFail(w, r)
	if !ok {
		return
	}
	if err := f.MarkChangelogSeen(r.Context(), a.UserID, r.PathValue("id")); err != nil {
		f.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
