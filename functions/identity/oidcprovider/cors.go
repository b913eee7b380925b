package oidcprovider

import (
	"context"
	"net/http"
	"slices"

	"github.com/rs/cors"
)

// corsOptions replace the library's default, which answers every origin
// with credentials allowed: a page on any site could then read what the
// endpoints answer a logged-in browser. Only the origins of registered,
// enabled clients' redirect URIs (and IDENTITY_OIDC_CORS_ORIGINS) may
// call from script, and never with credentials: the token and userinfo
// endpoints authenticate by the request's own parameters and bearer
// token, not by cookies.
func (p *Provider) corsOptions() *cors.Options {
	return &cors.Options{
		AllowCredentials: false,
		AllowedHeaders:   []string{"Origin", "Accept", "Accept-Language", "Authorization", "Content-Type", "X-Requested-With"},
		AllowedMethods:   []string{http.MethodGet, http.MethodHead, http.MethodPost},
		ExposedHeaders:   []string{"Location", "Content-Length"},
		AllowOriginVaryRequestFunc: func(r *http.Request, origin string) (bool, []string) {
			return p.corsAllowed(r.Context(), origin), nil
		},
	}
}

// corsAllowed reports whether origin belongs to the platform itself, to a
// registered client, or to the configured list.
func (p *Provider) corsAllowed(ctx context.Context, origin string) bool {
	o := originOf(origin)
	if o == "" {
		return false
	}
	if o == originOf(p.base) || slices.Contains(p.cors, o) {
		return true
	}
	rows, err := p.pool.Query(ctx, `SELECT DISTINCT unnest(redirect_uris) FROM identity.oidc_clients WHERE NOT disabled`)
	if err != nil {
		p.log.WarnContext(ctx, "oidc: CORS origin check", "err", err)
		return false
	}
	defer rows.Close()
	for rows.Next() {
		var uri string
		if err := rows.Scan(&uri); err == nil && originOf(uri) == o {
			return true
		}
	}
	return false
}
