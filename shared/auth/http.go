package auth

import (
	"log/slog"
	"net/http"
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
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

// Middleware puts the caller's principal into the request context. A
// request without a token passes through anonymous (Require decides); a
// token that is malformed, expired or revoked is answered 401 at once, so
// the client knows to log in again.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := TokenFrom(r)
		if raw == "" {
			next.ServeHTTP(w, r)
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
				httpx.Error(w, r, discard(), errs.New(errs.Unauthorized, MsgLoginRequired))
			case !p.Can(resource, action):
				httpx.Error(w, r, discard(), errs.New(errs.Forbidden, MsgForbidden))
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

// discard is the logger for httpx.Error here: 401 and 403 are never logged.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
