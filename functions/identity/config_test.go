package identity

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/config"
)

// TestConfigDocumented keeps every field named, defaulted and explained,
// including the sub-packages' groups, and the defaults valid.
func TestConfigDocumented(t *testing.T) {
	for _, f := range config.Describe(Config{}) {
		if f.Env == "" || f.Help == "" {
			t.Errorf("config field %+v lacks an env name or help text", f)
		}
	}
	c := config.Defaults[Config]()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if c.OIDC.UpstreamName == "" || c.Online.TTL == 0 || c.Public.BaseURL == "" {
		t.Fatalf("the embedded groups did not load: %+v", c)
	}
	for name, mut := range map[string]func(*Config){
		"issuer":   func(c *Config) { c.Issuer = "https://elsewhere.example/identity/oidc" },
		"secret":   func(c *Config) { c.SecretKey = "short" },
		"ttl":      func(c *Config) { c.AccessTTL = 0 },
		"captcha":  func(c *Config) { c.CaptchaAfter = 0 },
		"window":   func(c *Config) { c.LoginWindow = 0 },
		"online":   func(c *Config) { c.Online.TTL = 0 },
		"upstream": func(c *Config) { c.OIDC.UpstreamIssuer = "https://sso.example" },
		"cors":     func(c *Config) { c.OIDC.CORSOrigins = "https://app.example/path" },
	} {
		c := config.Defaults[Config]()
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}
