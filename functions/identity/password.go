package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/sjzamr/smartreg/shared/errs"
)

// argon2id output sizes; the cost (memory, passes) is configurable and
// defaults to OWASP's interactive-login setting: 19 MiB, 2 passes, 1 lane.
const (
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// argon2Hasher is the default Hasher: argon2id at the configured cost.
type argon2Hasher struct{ c Config }

func (h argon2Hasher) Hash(pw string) (string, error) { return h.c.hashPassword(pw) }
func (argon2Hasher) Check(phc, pw string) bool        { return checkPassword(phc, pw) }

// hashPassword returns the PHC string of an argon2id hash of pw with the
// configured cost; checkPassword reads the cost back from the string, so
// raising it later keeps old hashes valid.
func (c Config) hashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	mem, passes := uint32(c.Argon2MemoryKiB), uint32(c.Argon2Passes)
	key := argon2.IDKey([]byte(pw), salt, passes, mem, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, mem, passes, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// checkPassword verifies pw against a PHC string, with the parameters the
// string records, so raising the cost later keeps old hashes valid.
func checkPassword(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// checkPolicy returns a field error when pw does not meet the configured
// complexity policy.
func (c Config) checkPolicy(field, pw, username string) error {
	var classes [4]bool
	n := 0
	for _, r := range pw {
		n++
		switch {
		case unicode.IsLower(r):
			classes[0] = true
		case unicode.IsUpper(r):
			classes[1] = true
		case unicode.IsDigit(r):
			classes[2] = true
		default:
			classes[3] = true
		}
	}
	k := 0
	for _, c := range classes {
		if c {
			k++
		}
	}
	msg := ""
	switch {
	case n < c.PasswordMinLength:
		msg = fmt.Sprintf("密码长度至少 %d 位", c.PasswordMinLength)
	case n > 64:
		msg = "密码长度不能超过 64 位"
	case k < c.PasswordClasses:
		msg = fmt.Sprintf("密码须包含大写字母、小写字母、数字、特殊字符中的至少 %d 类", c.PasswordClasses)
	case username != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(username)):
		msg = "密码不能包含用户名"
	}
	if msg == "" {
		return nil
	}
	return errs.Fields([]errs.FieldError{{Field: field, Message: msg}})
}

// generatePassword makes a random password that meets any sane policy:
// 16 characters drawn from all four classes, avoiding look-alikes.
func generatePassword() string {
	sets := []string{"abcdefghijkmnpqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789", "@#%+=!?"}
	all := strings.Join(sets, "")
	out := make([]byte, 16)
	for i := range out {
		s := all
		if i < len(sets) {
			s = sets[i]
		}
		out[i] = s[randInt(len(s))]
	}
	// Shuffle so the class order is not predictable.
	for i := len(out) - 1; i > 0; i-- {
		j := randInt(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func randInt(n int) int {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return int((uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) % uint32(n))
}

// sealer encrypts small secrets at rest (signing keys, ID numbers) with
// AES-256-GCM under a key derived from IDENTITY_SECRET_KEY.
type sealer struct {
	aead cipher.AEAD
	mac  []byte
}

func newSealer(secret string) (*sealer, error) {
	if len(secret) < 16 {
		return nil, errors.New("identity: IDENTITY_SECRET_KEY must be at least 16 characters")
	}
	k := sha256.Sum256([]byte("smartreg identity seal\x00" + secret))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := sha256.Sum256([]byte("smartreg identity mac\x00" + secret))
	return &sealer{aead: aead, mac: m[:]}, nil
}

func (s *sealer) seal(plain []byte, label string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, []byte(label))
}

func (s *sealer) open(sealed []byte, label string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed value too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], []byte(label))
}

// hmacOf keys short secrets (SMS codes) so a database read does not reveal
// them: six digits would fall to a plain hash at once.
func (s *sealer) hmacOf(parts ...string) []byte {
	h := hmac.New(sha256.New, s.mac)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}
