package identity

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/functions/identity/notify"
	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// receiver is a sub-package's event handler: it reports whether the event
// was its own.
type receiver func(ctx context.Context, e event.Event) (bool, error)

// compose builds the mux: identity's routes, then the OIDC provider's and
// the online list's, each declaring its access.
func (f *Function) compose(d Deps) error {
	m := httpx.NewMux()
	m.Use(f.verifyTokens(m))
	f.routes(m)
	if err := f.composeAuditNotify(m, d); err != nil {
		return err
	}

	key := sha256.Sum256([]byte("smartreg oidc code key\x00" + f.cfg.SecretKey))
	op, err := oidcprovider.New(oidcprovider.Deps{Logger: f.log.With("component", "identity-oidc"), Pool: f.pool, Accounts: f,
		Signer: f.keys, Verifier: f.verifier, PublicBaseURL: f.cfg.Public.URL(), CryptoKey: key, HTTPClient: d.HTTPClient, Now: f.now}, f.cfg.OIDC)
	if err != nil {
		return err
	}
	op.Routes(m)
	f.oidc = op
	f.subReady = append(f.subReady, op.Ready)

	on, err := online.New(online.Deps{Logger: f.log.With("component", "identity-online"), Redis: f.rdb, Pool: f.pool,
		Revoker: sessionEnder{f}, Now: f.now, DeptNames: f.deptNames}, f.cfg.Online)
	if err != nil {
		return err
	}
	on.Routes(m)
	f.online = on
	f.subReady = append(f.subReady, on.Ready)
	f.mux = m
	return m.Err()
}

// composeAuditNotify serves the audit and notify packages' routes until
// they move to their own functions (functions/audit, functions/notify).
// Their handlers check their own permissions and parameters; the routes
// are declared here so the conformance tests see every route identity
// serves.
func (f *Function) composeAuditNotify(m *httpx.Mux, d Deps) error {
	sub := http.NewServeMux()
	acfg := d.Audit
	if acfg == (audit.Config{}) {
		acfg = audit.DefaultConfig()
	}
	au, err := audit.New(context.Background(), audit.Deps{Logger: f.log.With("component", "identity-audit"), Pool: f.pool, Blob: d.Blob, Now: f.now, Config: acfg})
	if err != nil {
		return err
	}
	au.Routes(sub, auth.Require)
	f.audit = au
	f.subReady = append(f.subReady, au.Ready)
	f.receivers = append(f.receivers, au.Receive)

	nt, err := notify.New(notify.Deps{Logger: f.log.With("component", "identity-notify"), Pool: f.pool, Redis: f.rdb, Now: f.now, Config: d.Notify})
	if err != nil {
		return err
	}
	nt.Routes(sub, auth.Require)
	f.subReady = append(f.subReady, nt.Ready)
	f.receivers = append(f.receivers, nt.Receive)
	f.closers = append(f.closers, nt.Close)

	logFilters := httpx.Params(append([]string{"user", "ip", "action", "result", "q", "object_type", "object_id", "kind", "sort", "from", "to"},
		httpx.PageParams...)...)
	for _, rt := range []struct {
		pattern string
		opts    []httpx.Option
	}{
		{"GET /identity/v1/logs/login", []httpx.Option{auth.Requires("identity.log", "view"), logFilters}},
		{"GET /identity/v1/logs/operation", []httpx.Option{auth.Requires("identity.log", "view"), logFilters}},
		{"GET /identity/v1/logs/login/export", []httpx.Option{auth.Requires("identity.log", "export"), logFilters}},
		{"GET /identity/v1/logs/operation/export", []httpx.Option{auth.Requires("identity.log", "export"), logFilters}},
		{"GET /identity/v1/logs/archives", []httpx.Option{auth.Requires("identity.log", "view"), httpx.Params(httpx.PageParams...)}},
		{"GET /identity/v1/alerts", []httpx.Option{auth.Requires("identity.alert", "view"), logFilters}},
		{"GET /identity/v1/openapi-audit.yaml", []httpx.Option{httpx.Internal()}},
		{"GET /identity/v1/notices", []httpx.Option{auth.SignedIn(), httpx.Params(append([]string{"unread", "popup", "level", "q"}, httpx.PageParams...)...)}},
		{"GET /identity/v1/notices/unread-count", []httpx.Option{auth.SignedIn()}},
		{"POST /identity/v1/notices/{id}/read", []httpx.Option{auth.SignedIn()}},
		{"POST /identity/v1/notices/read-all", []httpx.Option{auth.SignedIn()}},
		{"GET /identity/v1/notices/stream", []httpx.Option{auth.SignedIn()}},
		{"POST /identity/v1/notices", []httpx.Option{auth.Requires("identity.notice", "create")}},
	} {
		m.Handle(rt.pattern, sub, append(rt.opts, httpx.NoEntity())...)
	}
	return nil
}

// verifyTokens puts the caller's principal into every request but those
// of public routes, which skip token verification so a stale or revoked
// cookie never blocks logging in again; the cookie-reading public routes
// (refresh, logout) check the request's origin themselves.
func (f *Function) verifyTokens(m *httpx.Mux) func(http.Handler) http.Handler {
	public := sync.OnceValue(func() map[string]bool {
		out := map[string]bool{}
		for _, rt := range m.Routes() {
			if rt.Access == httpx.AccessPublic {
				out[rt.Pattern] = true
			}
		}
		return out
	})
	return func(next http.Handler) http.Handler {
		verified := f.verifier.Middleware(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, pattern := m.Handler(r); public()[pattern] {
				next.ServeHTTP(w, r)
				return
			}
			verified.ServeHTTP(w, r)
		})
	}
}

// sessionEnder lets the online list's force-logout end the session here:
// refresh tokens deleted, revocation stored and published.
type sessionEnder struct{ f *Function }

func (s sessionEnder) RevokeSession(ctx context.Context, sid string) error {
	return s.f.EndSession(ctx, sid)
}

// deptNames names departments for the online list.
func (f *Function) deptNames(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := f.pool.Query(ctx, `SELECT id, name FROM identity.departments WHERE id = ANY ($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}
