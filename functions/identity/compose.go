package identity

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store"
)

// OIDCConfig configures the OpenID Connect provider sub-package.
type OIDCConfig struct {
	PublicBaseURL string // default: IDENTITY_ISSUER without /identity/oidc
	Upstream      oidcprovider.UpstreamConfig
	WeChat        oidcprovider.WeChatConfig
	HTTPClient    *http.Client
}

// Migrations are identity's schema and its sub-packages', in the order to
// apply them (this package's first: it owns the users table). The login
// and operation logs and the message centre are the audit and notify
// functions' own streams now.
func Migrations() []store.Migration {
	return []store.Migration{Migration(), oidcprovider.Migration()}
}

// receiver is a sub-package's event handler: it reports whether the event
// was its own.
type receiver func(ctx context.Context, e event.Event) (bool, error)

// compose builds the mux: identity's routes, then each sub-package's.
func (f *Function) compose(d Deps) error {
	mux := http.NewServeMux()
	f.routes(mux)

	key := sha256.Sum256([]byte("smartreg oidc code key\x00" + f.cfg.SecretKey))
	op, err := oidcprovider.New(oidcprovider.Deps{Logger: f.log.With("component", "identity-oidc"), Pool: f.pool, Accounts: f,
		Issuer: f.issuer, Verifier: f.verifier, PublicBaseURL: d.OIDC.PublicBaseURL, CryptoKey: key,
		Upstream: d.OIDC.Upstream, WeChat: d.OIDC.WeChat, HTTPClient: d.OIDC.HTTPClient, Now: f.now})
	if err != nil {
		return err
	}
	op.Routes(mux, auth.Require)
	f.subReady = append(f.subReady, op.Ready)
	f.closers = append(f.closers, op.Close)

	on, err := online.New(online.Deps{Logger: f.log.With("component", "identity-online"), Redis: f.rdb, Pool: f.pool,
		Revoker: sessionEnder{f}, Now: f.now, Config: d.Online, DeptNames: f.deptNames})
	if err != nil {
		return err
	}
	on.Routes(mux, auth.Require)
	f.subReady = append(f.subReady, on.Ready)

	protected := f.verifier.Middleware(mux)
	f.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Public endpoints skip token verification, so a stale or revoked
		// cookie never blocks logging in again.
		if isPublic(r) {
			mux.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
	return nil
}

// publicPaths answer anonymous callers; everything else under /identity/
// gets the caller's principal (and Require where a permission is needed).
var publicPaths = []string{
	"/identity/oidc/", "/identity/v1/login", "/identity/v1/token/refresh", "/identity/v1/logout",
	"/identity/v1/password/reset", "/identity/v1/jwks", "/identity/v1/openapi.yaml", "/identity/v1/wechat/bind",
}

func isPublic(r *http.Request) bool {
	p := r.URL.Path
	if p == "/identity/v1/registrations" && r.Method == http.MethodPost {
		return true
	}
	if p == "/identity/v1/departments" && r.Method == http.MethodGet && r.URL.Query().Get("public") == "1" {
		return true
	}
	for _, pre := range publicPaths {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
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

func (f *Function) receiveSub(ctx context.Context, e event.Event) (*event.Event, error) {
	for _, r := range f.receivers {
		if ok, err := r(ctx, e); ok || err != nil {
			return nil, err
		}
	}
	return nil, nil
}
