// Package sealbox encrypts secrets and objects at rest with envelope keys:
// each object gets a fresh 256-bit data key, the object is sealed with it
// (AES-GCM) and the data key is sealed with a key-encryption key derived
// from configuration. The sealed object names its KEK, so keys can rotate:
// the first configured secret seals, every listed one opens.
//
// Layout: "SRE1" | kek id (8 bytes) | nonce (12) | sealed data key (48) | nonce (12) | sealed object.
//
// First written for ocr-idcard's ID photos; datahub seals third-party
// platform credentials with it. Each user passes its own label, so a KEK
// secret reused by mistake across functions still derives different keys.
package sealbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Box seals and opens.
type Box struct {
	seal keyEntry
	byID map[string]cipher.AEAD
}

type keyEntry struct {
	id   [8]byte
	aead cipher.AEAD
}

const magic = "SRE1"

// MinSecret is the shortest KEK secret accepted.
const MinSecret = 16

// ErrSealed is returned for an object that does not open.
var ErrSealed = errors.New("sealbox: sealed object unreadable")

// New derives the KEKs of label from secrets (the first seals). setting
// names the configuration variable in errors.
func New(label, setting string, secrets []string) (*Box, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%s: no key (%s)", label, setting)
	}
	s := &Box{byID: map[string]cipher.AEAD{}}
	for i, sec := range secrets {
		if len(sec) < MinSecret {
			return nil, fmt.Errorf("%s: key %d of %s is shorter than %d characters", label, i+1, setting, MinSecret)
		}
		k := sha256.Sum256([]byte("smartreg " + label + " kek\x00" + sec))
		b, _ := aes.NewCipher(k[:])
		g, _ := cipher.NewGCM(b)
		id := sha256.Sum256(k[:])
		var e keyEntry
		copy(e.id[:], id[:8])
		e.aead = g
		if i == 0 {
			s.seal = e
		}
		s.byID[hex.EncodeToString(e.id[:])] = g
	}
	return s, nil
}

// Seal encrypts plain under a fresh data key.
func (s *Box) Seal(plain []byte) ([]byte, error) {
	dek := make([]byte, 32)
	if _, err := rand.Read(dek); err != nil {
		return nil, err
	}
	b, _ := aes.NewCipher(dek)
	g, _ := cipher.NewGCM(b)
	n1, n2 := make([]byte, 12), make([]byte, 12)
	rand.Read(n1)
	rand.Read(n2)
	var out bytes.Buffer
	out.WriteString(magic)
	out.Write(s.seal.id[:])
	out.Write(n1)
	out.Write(s.seal.aead.Seal(nil, n1, dek, s.seal.id[:]))
	out.Write(n2)
	out.Write(g.Seal(nil, n2, plain, []byte(magic)))
	return out.Bytes(), nil
}

// Open decrypts what Seal sealed with any of the box's keys.
func (s *Box) Open(sealed []byte) ([]byte, error) {
	const head = 4 + 8 + 12 + 48 + 12
	if len(sealed) < head || string(sealed[:4]) != magic {
		return nil, ErrSealed
	}
	id := sealed[4:12]
	kek, ok := s.byID[hex.EncodeToString(id)]
	if !ok {
		return nil, fmt.Errorf("%w: sealed with a key not configured", ErrSealed)
	}
	dek, err := kek.Open(nil, sealed[12:24], sealed[24:72], id)
	if err != nil {
		return nil, ErrSealed
	}
	b, _ := aes.NewCipher(dek)
	g, _ := cipher.NewGCM(b)
	plain, err := g.Open(nil, sealed[72:84], sealed[84:], []byte(magic))
	if err != nil {
		return nil, ErrSealed
	}
	return plain, nil
}
