// Package authtest issues real access tokens for other packages' tests: a
// fresh key per test, the same Issuer and Verifier code production runs.
package authtest

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
)

// Issuer and Audience of test tokens.
const (
	IssuerName = "http://localhost:8080/identity/oidc"
	Audience   = "smartreg"
)

// Issuer signs tokens for one test.
type Issuer struct {
	t testing.TB
	*auth.Issuer
	v *auth.Verifier
}

// NewIssuer makes an issuer with a fresh key; its Verifier trusts it.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	k, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: IssuerName, Audience: Audience, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{t: t, Issuer: iss}
}

// Token signs an access token for p; a missing UserID becomes "test-user".
func (i *Issuer) Token(p auth.Principal) string {
	i.t.Helper()
	if p.UserID == "" {
		p.UserID = "test-user"
	}
	raw, _, err := i.Issue(p)
	if err != nil {
		i.t.Fatal(err)
	}
	return raw
}

// Bearer is Token as an Authorization header value.
func (i *Issuer) Bearer(p auth.Principal) string { return "Bearer " + i.Token(p) }

// Verifier trusts this issuer's keys in-process, without revocation
// checks; it is closed when the test ends.
func (i *Issuer) Verifier() *auth.Verifier {
	i.t.Helper()
	if i.v == nil {
		v, err := auth.NewVerifier(auth.VerifierConfig{Keys: i.Issuer, Issuer: IssuerName, Audience: Audience})
		if err != nil {
			i.t.Fatal(err)
		}
		i.t.Cleanup(v.Close)
		i.v = v
	}
	return i.v
}

// CityWide is a principal with the city-wide scope and perms.
func CityWide(perms ...string) auth.Principal {
	return auth.Principal{UserID: "city-user", Username: "city", Name: "市局用户", Perms: perms, Scope: auth.All()}
}

// InDistricts is a principal who sees only the given districts.
func InDistricts(perms []string, districts ...string) auth.Principal {
	return auth.Principal{UserID: "district-user", Username: "district", Name: "区局用户", Perms: perms,
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: districts}}
}
