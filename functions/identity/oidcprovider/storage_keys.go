package oidcprovider

import (
	"context"

	"github.com/go-jose/go-jose/v4"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Signing and verifying keys: the signer's, one JWKS for ID and access tokens.

type signingKey struct{ k auth.SigningKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (k signingKey) Key() any                                    { return k.k.Private }
func (k signingKey) ID() string                                  { return k.k.ID }

type publicKey struct{ k auth.PublicKey }

func (k publicKey) ID() string                         { return k.k.ID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.EdDSA }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.k.Key }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.p.signer.SigningKey()}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.EdDSA}, nil
}

// KeySet is the shared issuer's keys: the same JWKS verifies ID tokens and
// every access token identity issues.
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	var out []op.Key
	for _, k := range s.p.signer.PublicKeys() {
		out = append(out, publicKey{k})
	}
	return out, nil
}
