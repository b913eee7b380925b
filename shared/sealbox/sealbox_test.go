package sealbox

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpenRotateAndRefuse(t *testing.T) {
	old, _ := New("t", "T_KEYS", []string{"an-old-key-of-enough-length"})
	both, err := New("t", "T_KEYS", []string{"a-new-key-of-enough-length", "an-old-key-of-enough-length"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := old.Seal([]byte("secret"))
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("plain text in the sealed object")
	}
	if got, err := both.Open(sealed); err != nil || string(got) != "secret" {
		t.Fatalf("rotation: %q %v", got, err)
	}
	other, _ := New("other-label", "T_KEYS", []string{"an-old-key-of-enough-length"})
	if _, err := other.Open(sealed); !errors.Is(err, ErrSealed) {
		t.Errorf("another label opened it: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := old.Open(sealed); !errors.Is(err, ErrSealed) {
		t.Errorf("a tampered object opened: %v", err)
	}
	if _, err := New("t", "T_KEYS", []string{"short"}); err == nil {
		t.Error("a short key accepted")
	}
	if _, err := New("t", "T_KEYS", nil); err == nil {
		t.Error("no key accepted")
	}
}
