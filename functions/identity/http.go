package identity

import (
	_ "embed"
	"net/http"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// Permission resources of identity's own routes (the catalogue in
// shared/auth lists their actions).
const (
	PermUser      = "identity.user"
	PermDept      = "identity.dept"
	PermRole      = "identity.role"
	PermChangelog = "identity.changelog"
)

// routes declares identity's own routes; the files http_*.go hold their
// handlers, by resource. The public ones are where a person becomes
// authenticated, asks for an account or a reset; everything else needs a
// signed-in caller, most a permission. Users, departments and roles are
// not market-entity data (httpx.NoEntity); identity keeps them in the
// caller's data scope by department itself (capacityOf).
func (f *Function) routes(m *httpx.Mux) {
	// FP-3, FP-5: login, tokens, logout; the captcha of a throttled login.
	m.Handle("POST /identity/v1/login", http.HandlerFunc(f.handleLogin), httpx.Public())
	m.Handle("POST /identity/v1/token/refresh", http.HandlerFunc(f.handleRefresh), httpx.Public())
	m.Handle("POST /identity/v1/logout", http.HandlerFunc(f.handleLogout), httpx.Public())
	m.Handle("POST /identity/v1/captchas", httpx.Endpoint(f.handleNewCaptcha), httpx.Public())
	m.Handle("GET /identity/v1/captchas/{id}", http.HandlerFunc(f.handleCaptchaImage), httpx.Public())
	m.Handle("GET /identity/v1/me", httpx.Endpoint(f.handleMe), auth.SignedIn(), httpx.NoEntity())
	m.Handle("POST /identity/v1/password/change", http.HandlerFunc(f.handlePasswordChange), auth.SignedIn(), httpx.NoEntity())
	// FP-4: password reset by SMS.
	m.Handle("POST /identity/v1/password/reset/sms", httpx.Body(f.handleResetSMS), httpx.Public())
	m.Handle("POST /identity/v1/password/reset", httpx.Body(f.handleReset), httpx.Public())

	// FP-2: registration and its review.
	m.Handle("POST /identity/v1/registrations", httpx.Body(f.handleRegister), httpx.Public())
	m.Handle("GET /identity/v1/registrations", httpx.Endpoint(f.handleRegistrations), auth.Requires(PermUser, "approve"), httpx.NoEntity(),
		httpx.Params(append([]string{"status", "q", "sort"}, httpx.PageParams...)...))
	m.Handle("POST /identity/v1/registrations/{id}/approve", httpx.Body(f.handleApprove), auth.Requires(PermUser, "approve"), httpx.NoEntity())
	m.Handle("POST /identity/v1/registrations/{id}/reject", httpx.Body(f.handleReject), auth.Requires(PermUser, "approve"), httpx.NoEntity())
	m.Handle("POST /identity/v1/registrations/{id}/request-info", httpx.Body(f.handleRequestInfo), auth.Requires(PermUser, "approve"), httpx.NoEntity())

	// FP-1: users.
	m.Handle("GET /identity/v1/users", httpx.Endpoint(f.handleUsers), auth.Requires(PermUser, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"q", "dept_id", "status", "role_id", "sort"}, httpx.PageParams...)...))
	m.Handle("POST /identity/v1/users", httpx.Body(f.handleCreateUser), auth.Requires(PermUser, "create"), httpx.NoEntity())
	m.Handle("GET /identity/v1/users/{id}", httpx.Endpoint(f.handleUser), auth.Requires(PermUser, "view"), httpx.NoEntity())
	m.Handle("PUT /identity/v1/users/{id}", httpx.Body(f.handleUpdateUser), auth.Requires(PermUser, "edit"), httpx.NoEntity())
	m.Handle("POST /identity/v1/users/{id}/freeze", httpx.Body(f.handleFreeze), auth.Requires(PermUser, "edit"), httpx.NoEntity())
	m.Handle("POST /identity/v1/users/{id}/unfreeze", httpx.Endpoint(f.handleUnfreeze), auth.Requires(PermUser, "edit"), httpx.NoEntity())

	// FP-1: departments; the registration form's public list.
	m.Handle("GET /identity/v1/departments/public", httpx.Endpoint(f.handlePublicDepartments), httpx.Public())
	m.Handle("GET /identity/v1/departments", httpx.Endpoint(f.handleDepartments), auth.Requires(PermDept, "view"), httpx.NoEntity(),
		httpx.Params("tree"))
	m.Handle("POST /identity/v1/departments", httpx.Body(f.handleCreateDept), auth.Requires(PermDept, "create"), httpx.NoEntity())
	m.Handle("PUT /identity/v1/departments/{id}", httpx.Endpoint(f.handleUpdateDept), auth.Requires(PermDept, "edit"), httpx.NoEntity())
	m.Handle("DELETE /identity/v1/departments/{id}", httpx.Endpoint(f.handleDeleteDept), auth.Requires(PermDept, "delete"), httpx.NoEntity())

	// FP-6: roles and the permission catalogue.
	// Roles and the changelog answer their whole (short) list; the
	// console's list component sends its paging anyway.
	// FP-157: the contacts directory, the caller's favourites and groups.
	m.Handle("GET /identity/v1/contacts", httpx.Endpoint(f.handleContacts), auth.Requires(PermContact, "view"), httpx.NoEntity(),
		httpx.Params("q", "dept_id"))
	m.Handle("GET /identity/v1/contacts/{id}/phone", httpx.Endpoint(f.handleContactPhone), auth.Requires(PermContact, "view"), httpx.NoEntity())
	m.Handle("PUT /identity/v1/contacts/{id}/favourite", httpx.Endpoint(f.handleFavourite), auth.Requires(PermContact, "view"), httpx.NoEntity())
	m.Handle("DELETE /identity/v1/contacts/{id}/favourite", httpx.Endpoint(f.handleFavourite), auth.Requires(PermContact, "view"), httpx.NoEntity())
	m.Handle("POST /identity/v1/contact-groups", httpx.Body(f.handleSaveGroup), auth.Requires(PermContact, "view"), httpx.NoEntity())
	m.Handle("PUT /identity/v1/contact-groups/{id}", httpx.Body(f.handleSaveGroup), auth.Requires(PermContact, "view"), httpx.NoEntity())
	m.Handle("DELETE /identity/v1/contact-groups/{id}", httpx.Endpoint(f.handleDeleteGroup), auth.Requires(PermContact, "view"), httpx.NoEntity())
	m.Handle("GET /identity/v1/roles", httpx.Endpoint(f.handleRoles), auth.Requires(PermRole, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"q", "sort"}, httpx.PageParams...)...))
	m.Handle("POST /identity/v1/roles", httpx.Body(f.handleCreateRole), auth.Requires(PermRole, "create"), httpx.NoEntity())
	m.Handle("PUT /identity/v1/roles/{id}", httpx.Endpoint(f.handleUpdateRole), auth.Requires(PermRole, "edit"), httpx.NoEntity())
	m.Handle("DELETE /identity/v1/roles/{id}", httpx.Endpoint(f.handleDeleteRole), auth.Requires(PermRole, "delete"), httpx.NoEntity())
	m.Handle("GET /identity/v1/permissions", httpx.Endpoint(f.handlePermissions), auth.Requires(PermRole, "view"), httpx.NoEntity())

	// FP-10: the version changelog.
	m.Handle("GET /identity/v1/changelog", httpx.Endpoint(f.handleChangelog), auth.Requires(PermChangelog, "view"), httpx.NoEntity(),
		httpx.Params(httpx.PageParams...))
	m.Handle("POST /identity/v1/changelog", httpx.Body(f.handlePublishChangelog), auth.Requires(PermChangelog, "create"), httpx.NoEntity())
	m.Handle("GET /identity/v1/changelog/unseen", httpx.Endpoint(f.handleUnseen), auth.SignedIn(), httpx.NoEntity())
	m.Handle("POST /identity/v1/changelog/{id}/seen", httpx.Endpoint(f.handleSeen), auth.SignedIn(), httpx.NoEntity())
}

// actorFrom reads the caller of an authenticated request.
func actorFrom(r *http.Request) (Actor, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return Actor{}, errs.New(errs.Unauthorized, auth.MsgLoginRequired)
	}
	return Actor{UserID: p.UserID, Username: p.Username, SessionID: p.SessionID, IP: httpx.ClientIP(r), Device: r.UserAgent()}, nil
}

// messageAnswer is the body of answers that only say something.
type messageAnswer struct {
	Message string `json:"message"`
}
