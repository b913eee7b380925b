package qrtoken

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/config"
)

// The default of QR_TOKEN_KEY is DevKey, the key the local platform and
// the tests share; a codec of the configured key checks what another
// function's codec of the same setting minted.
func TestConfigDefaultIsDevKey(t *testing.T) {
	c := config.Defaults[Config]()
	if c.Key != DevKey || !c.DevKeyInUse() {
		t.Fatalf("default QR_TOKEN_KEY = %q, want DevKey", c.Key)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("default key refused: %v", err)
	}
	a, err := c.Codec()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Mint()
	if err != nil {
		t.Fatal(err)
	}
	if !codec(t, DevKey).Valid(tok) {
		t.Error("a token minted under the configured key fails a codec of the same key")
	}
	for _, f := range config.Describe(Config{}) {
		if f.Env != "QR_TOKEN_KEY" || !f.Secret || f.Help == "" {
			t.Errorf("config field %+v: want QR_TOKEN_KEY, secret, with help", f)
		}
	}
}

func TestConfigRefusesShortKey(t *testing.T) {
	short := Config{Key: "too-short"}
	if err := short.Validate(); err == nil {
		t.Error("a 9-byte key validated")
	}
	if _, err := short.Codec(); err == nil {
		t.Error("a 9-byte key made a codec")
	}
	if (Config{Key: "a-production-key-of-enough-length"}).DevKeyInUse() {
		t.Error("a production key reported as the development key")
	}
}
