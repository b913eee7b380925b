package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Token lifetimes. Revocation entries live MaxTokenLifetime, so no token
// may outlive them.
const (
	DefaultTokenTTL  = 15 * time.Minute
	MaxTokenLifetime = time.Hour
)

// SigningKey is one Ed25519 key pair with its key id (JWK "kid").
// Persist Private.Seed() to keep a key across restarts.
type SigningKey struct {
	ID      string
	Private ed25519.PrivateKey
}

// PublicKey is the verifying half of a SigningKey.
type PublicKey struct {
	ID  string
	Key ed25519.PublicKey
}

// GenerateKey makes a fresh key whose id is derived from its public key
// (RFC 7638-style thumbprint), so two keys never share an id.
func GenerateKey() (SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("auth: generate key: %w", err)
	}
	return KeyFromSeed("", priv.Seed())
}

// KeyFromSeed rebuilds a key from its 32-byte seed; an empty id is derived
// from the public key.
func KeyFromSeed(id string, seed []byte) (SigningKey, error) {
	if len(seed) != ed25519.SeedSize {
		return SigningKey{}, fmt.Errorf("auth: key seed must be %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if id == "" {
		sum := sha256.Sum256(priv.Public().(ed25519.PublicKey))
		id = base64.RawURLEncoding.EncodeToString(sum[:12])
	}
	return SigningKey{ID: id, Private: priv}, nil
}

// Public returns the verifying half.
func (k SigningKey) Public() PublicKey {
	return PublicKey{ID: k.ID, Key: k.Private.Public().(ed25519.PublicKey)}
}

// KeySource gives the current verifying keys in-process (an Issuer is one),
// for a Verifier running beside identity without fetching its JWKS.
type KeySource interface {
	PublicKeys() []PublicKey
}

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	Issuer   string           // "iss", e.g. PUBLIC_BASE_URL + "/identity/oidc"
	Audience string           // "aud" every function expects, e.g. "smartreg"
	TTL      time.Duration    // access-token lifetime; DefaultTokenTTL when zero, at most MaxTokenLifetime
	Key      SigningKey       // the current signing key
	Now      func() time.Time // time.Now when nil
}

// Issuer signs access tokens (identity uses it). It keeps the current key
// and the retired keys still published in the JWKS, so tokens signed before
// a rotation verify until they expire.
type Issuer struct {
	iss, aud string
	ttl      time.Duration
	now      func() time.Time

	mu      sync.RWMutex
	current SigningKey
	signer  jose.Signer
	older   []PublicKey
}

// NewIssuer checks cfg and builds an issuer.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("auth: IssuerConfig.Issuer is required")
	case cfg.Audience == "":
		return nil, errors.New("auth: IssuerConfig.Audience is required")
	case cfg.TTL > MaxTokenLifetime:
		return nil, fmt.Errorf("auth: token TTL %s exceeds %s", cfg.TTL, MaxTokenLifetime)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTokenTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	i := &Issuer{iss: cfg.Issuer, aud: cfg.Audience, ttl: cfg.TTL, now: cfg.Now}
	if err := i.Rotate(cfg.Key); err != nil {
		return nil, err
	}
	return i, nil
}

// TTL is the lifetime of the tokens this issuer signs ("expires_in").
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issuer and Audience are the "iss" and "aud" the tokens carry.
func (i *Issuer) Issuer() string   { return i.iss }
func (i *Issuer) Audience() string { return i.aud }

// Rotate makes k the signing key; the previous key stays published until
// Retire removes it (wait at least TTL after rotating).
func (i *Issuer) Rotate(k SigningKey) error {
	if k.ID == "" || len(k.Private) != ed25519.PrivateKeySize {
		return errors.New("auth: signing key needs an id and an Ed25519 private key")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return fmt.Errorf("auth: signer: %w", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.current.ID != "" && i.current.ID != k.ID {
		i.older = append([]PublicKey{i.current.Public()}, i.older...)
	}
	i.older = slices.DeleteFunc(i.older, func(p PublicKey) bool { return p.ID == k.ID })
	i.current, i.signer = k, signer
	return nil
}

// Retire stops publishing a previous key; tokens it signed stop verifying.
func (i *Issuer) Retire(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.older = slices.DeleteFunc(i.older, func(p PublicKey) bool { return p.ID == kid })
}

// SigningKey returns the current key (identity's OIDC provider signs ID
// tokens with it).
func (i *Issuer) SigningKey() SigningKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current
}

// PublicKeys lists the current key first, then the published older ones.
func (i *Issuer) PublicKeys() []PublicKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return append([]PublicKey{i.current.Public()}, i.older...)
}

// JWKS is the JSON Web Key Set of PublicKeys, served at identity's
// /identity/oidc/keys.
func (i *Issuer) JWKS() ([]byte, error) { return MarshalJWKS(i.PublicKeys()) }

// MarshalJWKS encodes public keys as a JWKS document.
func MarshalJWKS(keys []PublicKey) ([]byte, error) {
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.ID, Algorithm: string(jose.EdDSA), Use: "sig"})
	}
	return json.Marshal(set)
}

// JWKSHandler serves JWKS; verifiers cache it, so a short max-age is enough.
func (i *Issuer) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := i.JWKS()
		if err != nil {
			http.Error(w, "jwks unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(b)
	})
}

// claims is the access token's body: the registered claims plus the
// principal. "scope" is left to OAuth (a space-separated string), so the
// data scope travels as "data_scope".
type claims struct {
	jwt.Claims
	SessionID string   `json:"sid,omitempty"`
	IssuedUS  int64    `json:"iat_us,omitempty"` // iat in microseconds: a revocation at second t must not hit a token issued later in t
	Username  string   `json:"preferred_username,omitempty"`
	Name      string   `json:"name,omitempty"`
	DeptID    string   `json:"dept,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	Perms     []string `json:"perms,omitempty"`
	Scope     Scope    `json:"data_scope"`
}

// Issue signs an access token for p and returns it with its expiry.
func (i *Issuer) Issue(p Principal) (string, time.Time, error) {
	if p.UserID == "" {
		return "", time.Time{}, errors.New("auth: principal without user id")
	}
	now := i.now()
	exp := now.Add(i.ttl)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, err
	}
	c := claims{
		Claims: jwt.Claims{Issuer: i.iss, Audience: jwt.Audience{i.aud}, Subject: p.UserID,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp),
			ID: base64.RawURLEncoding.EncodeToString(jti)},
		SessionID: p.SessionID, IssuedUS: now.UnixMicro(), Username: p.Username, Name: p.Name, DeptID: p.DeptID,
		Roles: p.Roles, Perms: packPerms(p.Perms), Scope: p.Scope,
	}
	i.mu.RLock()
	signer := i.signer
	i.mu.RUnlock()
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return raw, exp, nil
}
