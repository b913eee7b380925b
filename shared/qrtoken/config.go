package qrtoken

import "fmt"

// Config is the token key setting. Every function that mints or checks
// tokens (qr-generate, scan-resolve) embeds it in its own Config, so
// QR_TOKEN_KEY and its development default are declared once.
type Config struct {
	Key string `env:"QR_TOKEN_KEY" default:"smartreg-dev-qr-token-key-not-for-production" secret:"true" help:"二维码令牌 MAC 密钥（qr-generate 与 scan-resolve 相同）；生产环境必须更换且不可再改"`
}

// Validate refuses a key New would refuse, before anything is built.
func (c Config) Validate() error {
	if len(c.Key) < MinKeyLen {
		return fmt.Errorf("qrtoken: QR_TOKEN_KEY has %d bytes, want at least %d", len(c.Key), MinKeyLen)
	}
	return nil
}

// Codec is the codec of the configured key.
func (c Config) Codec() (*Codec, error) { return New([]byte(c.Key)) }

// DevKeyInUse reports whether the key is the documented development key,
// which a production deployment must not run with.
func (c Config) DevKeyInUse() bool { return c.Key == DevKey }
