package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
)

func benchSetup(b *testing.B, cached bool) (*Verifier, string) {
	k, err := GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	iss, err := NewIssuer(IssuerConfig{Issuer: "http://localhost:8080/identity/oidc", Audience: "smartreg", Key: k})
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(VerifierConfig{Keys: iss, Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.Close)
	v.noCache = !cached
	// A realistic token: a district user with two roles and a dozen permissions.
	raw, _, err := iss.Issue(Principal{UserID: "0190f5c2-6a4e-7a51-9b3e-2f7d5c8e1a40", Username: "zhangsan", Name: "张三",
		DeptID: "d-130102", SessionID: "0190f5c2-7b00-7c00-8d00-1a2b3c4d5e6f", Roles: []string{"inspector", "clerk"},
		Perms: []string{"registry.entity:view", "registry.entity:edit", "registry.entity:export", "registry.import:create",
			"qr.code:view", "qr.code:approve", "qr.code:invalidate", "qr.code:download", "scan.inspection:view",
			"scan.inspection:create", "scan.stats:view", "notify.notice:view"},
		Scope: Scope{Kind: ScopeDeptAndBelow, Districts: []string{"130102"}}})
	if err != nil {
		b.Fatal(err)
	}
	return v, raw
}

// BenchmarkVerify measures token verification per request in a function
// (target: under 50 µs, no network call). "repeat" is the common case, a
// client presenting the same token again (verified-token cache);
// "first-use" is the full Ed25519 signature check and claim decoding.
func BenchmarkVerify(b *testing.B) {
	for _, c := range []struct {
		name   string
		cached bool
	}{{"first-use", false}, {"repeat", true}} {
		b.Run(c.name, func(b *testing.B) {
			v, raw := benchSetup(b, c.cached)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEd25519Anchor is the bare signature check of the same token
// with the standard library: the floor "first-use" stands on, so the
// ratio of the two is the cost of parsing and claim checks, whatever the
// machine's speed.
func BenchmarkEd25519Anchor(b *testing.B) {
	v, raw := benchSetup(b, false)
	i := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	var pub ed25519.PublicKey
	for _, k := range *v.keys.Load() {
		pub = k
	}
	msg := []byte(raw[:i])
	b.ResetTimer()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkVerifyParallel is "repeat" under concurrent requests.
func BenchmarkVerifyParallel(b *testing.B) {
	v, raw := benchSetup(b, true)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(context.Background(), raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
