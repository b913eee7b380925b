package identity

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sync"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// compose builds the mux: identity's routes, then the OIDC provider's and
// the online list's, each declaring its access.
func (f *Function) compose(d Deps) error {
	m := httpx.NewMux()
	m.Use(f.verifyTokens(m))
	f.routes(m)

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
	return deptNamesByID(ctx, f.pool, ids)
}
