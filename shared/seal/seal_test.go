package seal

import (
	"bytes"
	"errors"
	"testing"
)

// A sealed object opens with its key and any rotation that still lists
// it, never with another key or another purpose, and holds no plaintext.
func TestSealOpenRotate(t *testing.T) {
	old, _ := New("t", []string{"an-old-key-of-enough-length"})
	both, _ := New("t", []string{"a-new-key-of-enough-length", "an-old-key-of-enough-length"})
	other, _ := New("u", []string{"an-old-key-of-enough-length"})
	sealed, err := old.Seal([]byte("secret-password"))
	if err != nil || bytes.Contains(sealed, []byte("secret-password")) {
		t.Fatalf("seal: %v", err)
	}
	if p, err := both.Open(sealed); err != nil || string(p) != "secret-password" {
		t.Fatalf("rotated open: %q %v", p, err)
	}
	if _, err := other.Open(sealed); !errors.Is(err, ErrSealed) {
		t.Fatalf("another purpose opened it: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := old.Open(sealed); !errors.Is(err, ErrSealed) {
		t.Fatalf("tampered object opened: %v", err)
	}
	if _, err := New("t", []string{"short"}); err == nil {
		t.Fatal("a short key accepted")
	}
}
