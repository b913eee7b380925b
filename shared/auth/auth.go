// Package auth is how every SmartReg function knows who is calling and what
// they may do. identity issues short-lived Ed25519-signed JWT access tokens
// (Issuer); every function verifies them locally against identity's public
// keys (Verifier: JWKS cached, no call to identity per request), learns
// revocations through Redis pub/sub (Revoker), checks operation permissions
// carried in the token (Principal.Can, Require) and restricts rows to the
// caller's data scope (Scope.Allows, Scope.Filter).
package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Principal is the authenticated caller, as carried in the access token.
type Principal struct {
	UserID    string   `json:"user_id"`
	Username  string   `json:"username"`
	Name      string   `json:"name"`
	DeptID    string   `json:"dept_id"`
	SessionID string   `json:"session_id"`
	Roles     []string `json:"roles"` // role codes, e.g. "sysadmin", "inspector"
	Perms     []string `json:"perms"` // "<resource>:<action>", flattened over all roles when the token is issued
	Scope     Scope    `json:"scope"`
}

// HasRole reports whether the principal holds the role code.
func (p *Principal) HasRole(code string) bool {
	return p != nil && slices.Contains(p.Roles, code)
}

// Can reports whether the principal may perform action on resource. A
// permission "<resource>:*" grants every action on the resource. The
// permissions are the union over the principal's roles (see
// docs/functions/auth.md), so Can needs no lookup.
func (p *Principal) Can(resource, action string) bool {
	if p == nil {
		return false
	}
	for _, perm := range p.Perms {
		res, act, ok := strings.Cut(perm, ":")
		if ok && res == resource && (act == action || act == "*") {
			return true
		}
	}
	return false
}

// Perm joins a resource and an action the way Principal.Perms spells them.
func Perm(resource, action string) string { return resource + ":" + action }

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal the middleware put into ctx; false for
// an anonymous request.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
}

// Reasons a token is refused; the error Verify returns wraps one of them
// (errors.Is) inside an errs.Unauthorized error with a Chinese message.
var (
	ErrTokenInvalid = errors.New("auth: token malformed or signature invalid")
	ErrTokenExpired = errors.New("auth: token expired")
	ErrTokenClaims  = errors.New("auth: token issuer or audience not accepted")
	ErrUnknownKey   = errors.New("auth: token signed with an unknown key")
	ErrTokenRevoked = errors.New("auth: token revoked")
)

// CanGrant reports whether p holds every permission in perms, so may grant
// them to a role or user (nobody grants what they do not hold).
func (p *Principal) CanGrant(perms []string) bool {
	for _, perm := range perms {
		res, act, ok := strings.Cut(perm, ":")
		if !ok || !p.Can(res, act) {
			return false
		}
	}
	return true
}
