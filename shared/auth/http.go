package auth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// CookieName is the HttpOnly cookie identity sets with the access token,
// for browsers; API clients send "Authorization: Bearer …".
const CookieName = "smartreg_at"

// Messages of Require's refusals.
const (
	MsgLoginRequired = "请先登录"
	MsgForbidden     = "您没有执行此操作的权限"
)

// TokenFrom extracts the access token of a request: the Bearer header
// first, then the cookie; "" when there is none.
func TokenFrom(r *http.Request) string {
	tok, _ := tokenFrom(r)
	return tok
}

// tokenFrom also tells whether the token came from the cookie, which a
// browser attaches to cross-site requests too.
func tokenFrom(r *http.Request) (tok string, cookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), false
		}
		return "", false
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value, true
	}
	return "", false
}

// MsgCrossSite refuses a cookie-authenticated change from another site.
const MsgCrossSite = "请求来源不受信任，已拒绝（跨站请求）"

// SameOrigin reports whether a request's Origin (or, without one, its
// Referer) names the host it was sent to or one of allowed (origins such
// as "https://amr.sjz.gov.cn"). A request with neither is refused: every
// browser sends Origin with a POST, PUT, PATCH or DELETE, so only a
// forged or non-browser request lacks both, and such a caller can use
// the Bearer header instead.
func SameOrigin(r *http.Request, allowed []string) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
	}
	if src == "" || src == "null" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimRight(a, "/"), origin) {
			return true
		}
	}
	return false
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// Middleware puts the caller's principal into the request context. A
// request without a token passes through anonymous (Require decides); a
// token that is malformed, expired or revoked is answered 401 at once, so
// the client knows to log in again.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, cookie := tokenFrom(r)
		if raw == "" {
			next.ServeHTTP(w, r)
			return
		}
		// SameSite=Lax alone lets a cross-site text/plain POST through in
		// older browsers and from sibling subdomains: a cookie-borne change
		// must come from our own pages.
		if cookie && unsafeMethod(r.Method) && !SameOrigin(r, v.cfg.AllowedOrigins) {
			httpx.Fail(w, r, errs.New(errs.Forbidden, MsgCrossSite))
			return
		}
		p, err := v.Verify(r.Context(), raw)
		if err != nil {
			v.log.DebugContext(r.Context(), "auth: token refused", "err", err, "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			httpx.Error(w, r, v.log, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// Require lets a request through only when its principal may perform
// action on resource: 401 for an anonymous caller, 403 for one without the
// permission. Put it inside Middleware.
func Require(resource, action string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			switch {
			case !ok:
				w.Header().Set("WWW-Authenticate", `Bearer`)
				httpx.Fail(w, r, errs.New(errs.Unauthorized, MsgLoginRequired))
			case !p.Can(resource, action):
				httpx.Fail(w, r, errs.New(errs.Forbidden, MsgForbidden))
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// Check is Require for code that is not a handler chain: nil when the
// context's principal may perform action on resource.
func Check(p *Principal, resource, action string) error {
	switch {
	case p == nil:
		return errs.New(errs.Unauthorized, MsgLoginRequired)
	case !p.Can(resource, action):
		return errs.New(errs.Forbidden, MsgForbidden)
	}
	return nil
}

// RequireSignedIn lets a request through only with a principal (any valid
// access token): 401 otherwise. Put it inside Middleware.
func RequireSignedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			httpx.Fail(w, r, errs.New(errs.Unauthorized, MsgLoginRequired))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Requires is the route option for a permission: the route is served only
// to a principal holding resource:action, and the conformance tests check
// the permission is in the grantable Catalogue.
func Requires(resource, action string) httpx.Option {
	key := resource + ":" + action
	return httpx.NewOption(func(rt *httpx.Route) { rt.Access, rt.Permission = httpx.AccessPermission, key },
		Require(resource, action))
}

// SignedIn is the route option for any signed-in caller.
func SignedIn() httpx.Option {
	return httpx.NewOption(func(rt *httpx.Route) { rt.Access = httpx.AccessSignedIn }, RequireSignedIn)
}
