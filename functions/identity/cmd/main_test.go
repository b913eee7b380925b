package main

import (
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/config"
)

// TestConfigLoadsEveryGroup: the Knative entry reads the sub-packages'
// settings from the environment too, not only identity's own.
func TestConfigLoadsEveryGroup(t *testing.T) {
	env := map[string]string{
		"IDENTITY_LOCKOUT_THRESHOLD": "7",
		"WECHAT_APPID":               "wx-test",
		"ONLINE_TTL":                 "2m",
	}
	var cfg settings
	if err := config.Load(&cfg, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	switch {
	case cfg.LockoutThreshold != 7:
		t.Errorf("identity group: %+v", cfg.Config)
	case cfg.OIDC.WeChat().AppID != "wx-test":
		t.Errorf("oidc group: %+v", cfg.OIDC)
	case cfg.Online.TTL != 2*time.Minute || cfg.Online.Prefix == "":
		t.Errorf("online group: %+v", cfg.Online)
	}
	// Masked walks the groups as well, so the start-up log shows them all.
	m := config.Masked(&cfg)
	for _, k := range []string{"DATABASE_URL", "IDENTITY_SECRET_KEY", "WECHAT_SECRET", "ONLINE_REDIS_PREFIX"} {
		if _, ok := m[k]; !ok {
			t.Errorf("Masked lacks %s", k)
		}
	}
	if m["IDENTITY_SECRET_KEY"] != "******" {
		t.Errorf("secret shown in the log: %q", m["IDENTITY_SECRET_KEY"])
	}
}
