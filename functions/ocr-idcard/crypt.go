package ocridcard

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

// sealer encrypts photos and numbers at rest with envelope keys: each
// object gets a fresh 256-bit data key, the object is sealed with it
// (AES-GCM) and the data key is sealed with the key-encryption key from
// configuration (OCR_PHOTO_KEYS). The sealed object names its KEK, so
// keys can rotate: the first key seals, every listed key opens.
//
// Layout: "SRE1" | kek id (8 bytes) | nonce (12) | sealed data key (48) | nonce (12) | sealed object.
type sealer struct {
	seal keyEntry
	byID map[string]cipher.AEAD
}

type keyEntry struct {
	id   [8]byte
	aead cipher.AEAD
}

const sealMagic = "SRE1"

func newSealer(secrets []string) (*sealer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("ocr-idcard: no photo key (OCR_PHOTO_KEYS)")
	}
	s := &sealer{byID: map[string]cipher.AEAD{}}
	for i, sec := range secrets {
		if len(sec) < 16 {
			return nil, fmt.Errorf("ocr-idcard: photo key %d is shorter than 16 characters", i+1)
		}
		k := sha256.Sum256([]byte("smartreg ocr-idcard kek\x00" + sec))
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

func (s *sealer) Seal(plain []byte) ([]byte, error) {
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
	out.WriteString(sealMagic)
	out.Write(s.seal.id[:])
	out.Write(n1)
	out.Write(s.seal.aead.Seal(nil, n1, dek, s.seal.id[:]))
	out.Write(n2)
	out.Write(g.Seal(nil, n2, plain, []byte(sealMagic)))
	return out.Bytes(), nil
}

var errSealed = errors.New("ocr-idcard: sealed object unreadable")

func (s *sealer) Open(sealed []byte) ([]byte, error) {
	const head = 4 + 8 + 12 + 48 + 12
	if len(sealed) < head || string(sealed[:4]) != sealMagic {
		return nil, errSealed
	}
	id := sealed[4:12]
	kek, ok := s.byID[hex.EncodeToString(id)]
	if !ok {
		return nil, fmt.Errorf("%w: sealed with a key not configured", errSealed)
	}
	dek, err := kek.Open(nil, sealed[12:24], sealed[24:72], id)
	if err != nil {
		return nil, errSealed
	}
	b, _ := aes.NewCipher(dek)
	g, _ := cipher.NewGCM(b)
	plain, err := g.Open(nil, sealed[72:84], sealed[84:], []byte(sealMagic))
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}
