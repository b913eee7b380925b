package oidcprovider

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The registered relying parties, as op.Storage reads them.

type client struct {
	id, name           string
	secretHash         *string
	redirects, logouts []string
	appType            string
	grants             []string
	idTokenLifetime    time.Duration
	dev                bool
	loginURL           string // issuer + "/login"
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string { return c.logouts }
func (c *client) ApplicationType() op.ApplicationType {
	switch c.appType {
	case "native":
		return op.ApplicationTypeNative
	case "user_agent":
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.secretHash == nil {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.grants))
	for _, g := range c.grants {
		out = append(out, oidc.GrantType(g))
	}
	return out
}
func (c *client) LoginURL(id string) string           { return c.loginURL + "?id=" + id }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTokenLifetime }
func (c *client) DevMode() bool                       { return c.dev }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts name and username into the ID token,
// so a relying party needs no userinfo call to greet the user.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// resolve makes a relative redirect URI absolute against PUBLIC_BASE_URL.
func (p *Provider) resolve(uris []string) []string {
	out := make([]string, len(uris))
	for i, u := range uris {
		if strings.HasPrefix(u, "/") {
			u = p.base + u
		}
		out[i] = u
	}
	return out
}

func (s *storage) client(ctx context.Context, id string) (*client, error) {
	c := &client{id: id, loginURL: s.p.Issuer() + "/login"}
	var lifetime int
	var disabled bool
	err := s.p.pool.QueryRow(ctx, `SELECT name, secret_hash, redirect_uris, post_logout_redirect_uris, application_type,
		grant_types, id_token_lifetime_s, disabled FROM identity.oidc_clients WHERE id = $1`, id).
		Scan(&c.name, &c.secretHash, &c.redirects, &c.logouts, &c.appType, &c.grants, &lifetime, &disabled)
	if errors.Is(err, pgx.ErrNoRows) || disabled {
		return nil, fmt.Errorf("client %q: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	c.redirects, c.logouts = s.p.resolve(c.redirects), s.p.resolve(c.logouts)
	c.idTokenLifetime = time.Duration(lifetime) * time.Second
	// Plain-http redirect URIs are fine while the platform itself runs on
	// http (a workstation); in production PUBLIC_BASE_URL is https.
	c.dev = !s.p.secure
	return c, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	return s.client(ctx, clientID)
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, clientSecret string) error {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return err
	}
	if c.secretHash == nil || subtle.ConstantTimeCompare([]byte(*c.secretHash), []byte(hashToken(clientSecret))) != 1 {
		return errors.New("invalid client secret")
	}
	return nil
}
