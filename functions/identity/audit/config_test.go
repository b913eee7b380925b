package audit_test

import (
	"testing"

	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/functions/identity/notify"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/config"
)

// The env defaults are the DefaultConfig values, so a platform that loads
// from the environment and one that takes DefaultConfig behave the same.
func TestConfigDefaultsMatchEnv(t *testing.T) {
	none := func(string) string { return "" }
	var a audit.Config
	if err := config.Load(&a, none); err != nil {
		t.Fatal(err)
	}
	if a != audit.DefaultConfig() {
		t.Errorf("audit: env defaults %+v, DefaultConfig %+v", a, audit.DefaultConfig())
	}
	var n notify.Config
	if err := config.Load(&n, none); err != nil {
		t.Fatal(err)
	}
	if n != notify.DefaultConfig() {
		t.Errorf("notify: env defaults %+v, DefaultConfig %+v", n, notify.DefaultConfig())
	}
	var o online.Config
	if err := config.Load(&o, none); err != nil {
		t.Fatal(err)
	}
	if o != online.DefaultConfig() {
		t.Errorf("online: env defaults %+v, DefaultConfig %+v", o, online.DefaultConfig())
	}
	for _, cfg := range []any{a, n, o} {
		for _, f := range config.Describe(cfg) {
			if f.Env == "" || f.Default == "" || f.Help == "" {
				t.Errorf("field %+v lacks env, default or help", f)
			}
		}
	}
	env := map[string]string{"AUDIT_RETENTION_MONTHS": "3"}
	if err := config.Load(&a, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err == nil {
		t.Error("retention of 3 months accepted")
	}
}
