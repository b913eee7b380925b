package qrtoken

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/config"
)

// The default key is the documented development key, and Codec refuses a
// key too short to keep tokens unforgeable.
func TestConfigCodec(t *testing.T) {
	def := config.Defaults[Config]()
	if def.Key != DevKey {
		t.Errorf("default QR_TOKEN_KEY = %q, want DevKey", def.Key)
	}
	c, err := def.Codec()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Mint()
	if err != nil || !c.Valid(tok) {
		t.Fatalf("the default codec does not check its own token: %v", err)
	}
	if _, err := (Config{Key: "short"}).Codec(); err == nil {
		t.Error("a 5-byte key accepted")
	}
}
