// Package qrtoken mints and checks the tokens in market-entity QR codes
// (PUBLIC_BASE_URL/q/{token}). A token is 8 random bytes followed by the
// first 4 bytes of their HMAC-SHA256 under a secret key, base64url-encoded
// without padding: 16 URL-safe characters. Random bytes make tokens
// unguessable and non-sequential; the MAC lets scan-resolve reject a forged
// or mistyped token (probability of a random string passing: 2^-32) before
// it touches Redis or PostgreSQL.
//
// The key comes from QR_TOKEN_KEY. Rotating it invalidates every printed
// code, so it is set once per deployment and kept secret. DevKey is the
// documented key of the local default and tests; never use it in production.
package qrtoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sync"
)

const (
	randomLen = 8
	macLen    = 4
	// Len is the length of every token in characters.
	Len = (randomLen + macLen) * 4 / 3
	// MinKeyLen is the shortest key New accepts (128 bits).
	MinKeyLen = 16
)

// DevKey is the fixed key of the local one-process platform and tests.
const DevKey = "smartreg-dev-qr-token-key-not-for-production"

var enc = base64.RawURLEncoding

// Codec mints and checks tokens under one key. It is safe for concurrent use.
type Codec struct {
	key  []byte
	macs sync.Pool // keyed HMAC states: a scan checks a MAC without allocating
}

// New returns a codec for key, which must be at least MinKeyLen bytes.
func New(key []byte) (*Codec, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("qrtoken: key of %d bytes is too short, want at least %d", len(key), MinKeyLen)
	}
	c := &Codec{key: append([]byte(nil), key...)}
	c.macs.New = func() any { return hmac.New(sha256.New, c.key) }
	return c, nil
}

// Mint returns a fresh random token.
func (c *Codec) Mint() (string, error) {
	var b [randomLen + macLen]byte
	if _, err := rand.Read(b[:randomLen]); err != nil {
		return "", fmt.Errorf("qrtoken: read random bytes: %w", err)
	}
	c.sign(b[:randomLen], b[randomLen:])
	return enc.EncodeToString(b[:]), nil
}

// MintN returns n fresh tokens; bulk issuance uses it to mint a chunk at
// once with one read from the random source.
func (c *Codec) MintN(n int) ([]string, error) {
	if n < 0 {
		return nil, errors.New("qrtoken: negative count")
	}
	raw := make([]byte, n*randomLen)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("qrtoken: read random bytes: %w", err)
	}
	out := make([]string, n)
	mac := hmac.New(sha256.New, c.key)
	var b [randomLen + macLen]byte
	var sum [sha256.Size]byte
	for i := range n {
		copy(b[:randomLen], raw[i*randomLen:])
		mac.Reset()
		mac.Write(b[:randomLen])
		copy(b[randomLen:], mac.Sum(sum[:0]))
		out[i] = enc.EncodeToString(b[:])
	}
	return out, nil
}

// Valid reports whether token has the right shape and MAC. It never
// touches storage, so it is cheap enough for every scan.
func (c *Codec) Valid(token string) bool {
	if len(token) != Len {
		return false
	}
	var b [randomLen + macLen]byte
	n, err := enc.Decode(b[:], []byte(token))
	if err != nil || n != len(b) {
		return false
	}
	var want [macLen]byte
	c.sign(b[:randomLen], want[:])
	return hmac.Equal(want[:], b[randomLen:])
}

func (c *Codec) sign(random, out []byte) {
	mac := c.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(random)
	var sum [sha256.Size]byte
	copy(out, mac.Sum(sum[:0]))
	c.macs.Put(mac)
}
