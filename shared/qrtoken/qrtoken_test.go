package qrtoken

import (
	"strings"
	"testing"
)

func codec(t *testing.T, key string) *Codec {
	t.Helper()
	c, err := New([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMintIsValidShortAndURLSafe(t *testing.T) {
	c := codec(t, DevKey)
	for range 1000 {
		tok, err := c.Mint()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != Len || Len > 16 {
			t.Fatalf("token %q has length %d, want %d (≤ 16)", tok, len(tok), Len)
		}
		if strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("token %q is not URL-safe", tok)
		}
		if !c.Valid(tok) {
			t.Fatalf("minted token %q is not valid", tok)
		}
	}
}

func TestMintNIsValidAndDistinct(t *testing.T) {
	c := codec(t, DevKey)
	toks, err := c.MintN(20000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tok := range toks {
		if !c.Valid(tok) {
			t.Fatalf("MintN token %q is not valid", tok)
		}
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
}

// Consecutive tokens share no common prefix beyond chance: nothing about
// one token predicts the next.
func TestTokensAreNotSequential(t *testing.T) {
	c := codec(t, DevKey)
	prev, _ := c.Mint()
	sharedPrefix := 0
	for range 2000 {
		tok, _ := c.Mint()
		if tok[:3] == prev[:3] {
			sharedPrefix++
		}
		prev = tok
	}
	// 64^3 combinations: a 3-character shared prefix should be very rare.
	if sharedPrefix > 5 {
		t.Fatalf("%d of 2000 consecutive tokens share a 3-character prefix: tokens look sequential", sharedPrefix)
	}
}

func TestForgedAndMistypedTokensAreRejected(t *testing.T) {
	c := codec(t, DevKey)
	tok, _ := c.Mint()
	other := codec(t, "another-key-of-sufficient-length")
	forged, _ := other.Mint()
	if c.Valid(forged) {
		t.Errorf("token minted under another key %q is accepted", forged)
	}
	// Every single-character typo is rejected.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	accepted := 0
	for i := range tok {
		for _, r := range alphabet {
			if byte(r) == tok[i] {
				continue
			}
			typo := tok[:i] + string(r) + tok[i+1:]
			if c.Valid(typo) {
				accepted++
			}
		}
	}
	// 16 × 63 typos, each passing with probability 2^-32.
	if accepted > 0 {
		t.Errorf("%d single-character typos of %q were accepted", accepted, tok)
	}
	for _, bad := range []string{"", "short", tok + "A", tok[:Len-1], strings.Repeat("A", Len), "!!!!!!!!!!!!!!!!", strings.ToUpper(tok)} {
		if bad == tok {
			continue
		}
		if c.Valid(bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	if _, err := New([]byte("too-short")); err == nil {
		t.Fatal("New accepted a 9-byte key")
	}
	if _, err := New(nil); err == nil {
		t.Fatal("New accepted an empty key")
	}
	if _, err := codec(t, DevKey).MintN(-1); err == nil {
		t.Fatal("MintN(-1) did not fail")
	}
}

func BenchmarkValid(b *testing.B) {
	c, _ := New([]byte(DevKey))
	tok, _ := c.Mint()
	for b.Loop() {
		if !c.Valid(tok) {
			b.Fatal("invalid")
		}
	}
}
