package qrtoken

// Config is the token key setting, shared by every function that mints or
// checks tokens (qr-generate and scan-resolve embed it in their Config).
type Config struct {
	Key string `env:"QR_TOKEN_KEY" default:"smartreg-dev-qr-token-key-not-for-production" secret:"true" help:"二维码令牌 MAC 密钥（qr-generate 与 scan-resolve 相同）；生产环境必须更换且不可再改"`
}

// Codec is the codec for the configured key; it fails for a key shorter
// than MinKeyLen.
func (c Config) Codec() (*Codec, error) { return New([]byte(c.Key)) }
