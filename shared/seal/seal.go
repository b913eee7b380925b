// Package seal encrypts secrets and objects at rest with envelope keys
// (moved here from ocr-idcard so every function seals the same way): each
// object gets a fresh 256-bit data key, the object is sealed with it
// (AES-GCM) and the data key is sealed with a key-encryption key derived
// from configuration. The sealed object names its KEK, so keys can
// rotate: the first key seals, every listed key opens.
//
// Layout: "SRE1" | kek id (8 bytes) | nonce (12) | sealed data key (48) | nonce (12) | sealed object.
package seal

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

// Sealer seals with the first configured key and opens with any.
type Sealer struct {
	seal keyEntry
	byID map[string]cipher.AEAD
}

type keyEntry struct {
	id   [8]byte
	aead cipher.AEAD
}

const magic = "SRE1"

// ErrSealed is returned for an object that cannot be opened.
var ErrSealed = errors.New("seal: sealed object unreadable")

// New derives the KEKs of purpose (the function's name, which keeps one
// function's keys useless for another's objects) from secrets, each at
// least 16 characters; the first seals.
func New(purpose string, secrets []string) (*Sealer, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%s: no sealing key", purpose)
	}
	s := &Sealer{byID: map[string]cipher.AEAD{}}
	for i, sec := range secrets {
		if len(sec) < 16 {
			return nil, fmt.Errorf("%s: key %d is shorter than 16 characters", purpose, i+1)
		}
		k := sha256.Sum256([]byte("smartreg " + purpose + " kek\x00" + sec))
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
func (s *Sealer) Seal(plain []byte) ([]byte, error) {
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

// Open decrypts what Seal made with any configured key.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
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
