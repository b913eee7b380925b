package oidcprovider

import (
	"context"
	"errors"
	"slices"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Userinfo and introspection claims, read from identity's accounts.

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) fillUserinfo(ctx context.Context, ui *oidc.UserInfo, userID string, scopes []string) error {
	pr, err := s.p.accounts.Principal(ctx, userID)
	if err != nil {
		return err
	}
	ui.Subject = userID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		ui.Name = pr.Name
		ui.PreferredUsername = pr.Username
		ui.Locale = oidc.NewLocale(language.SimplifiedChinese)
		ui.AppendClaims("dept_id", pr.DeptID)
		ui.AppendClaims("roles", pr.Roles)
	}
	return nil
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.fillUserinfo(ctx, ui, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers /userinfo; tokenID is the verified access
// token's jti (see tokenCrypto), so the token was checked already.
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	return s.fillUserinfo(ctx, ui, subject, []string{oidc.ScopeOpenID, oidc.ScopeProfile})
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	pr, err := s.p.accounts.Principal(ctx, subject)
	if err != nil {
		return err
	}
	resp.Active = true
	resp.Subject = subject
	resp.ClientID = clientID
	resp.Username = pr.Username
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grant is not supported")
}

func (s *storage) Health(ctx context.Context) error { return s.p.pool.Ping(ctx) }
