package config

import (
	"testing"
	"time"
)

type sample struct {
	URL   string        `env:"X_URL" default:"postgres://u:pw@h/db" secret:"true"`
	N     int           `env:"X_N" default:"3"`
	On    bool          `env:"X_ON" default:"true"`
	Wait  time.Duration `env:"X_WAIT" default:"2s"`
	Plain string
}

func TestLoadDefaultsAndOverrides(t *testing.T) {
	var c sample
	env := map[string]string{"X_N": "7"}
	if err := Load(&c, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.N != 7 || !c.On || c.Wait != 2*time.Second || c.URL != "postgres://u:pw@h/db" {
		t.Fatalf("loaded %+v", c)
	}
	env["X_N"] = "seven"
	if err := Load(&c, func(k string) string { return env[k] }); err == nil {
		t.Fatal("a non-numeric X_N was accepted")
	}
}

func TestMaskedHidesSecrets(t *testing.T) {
	var c sample
	_ = Load(&c, func(string) string { return "" })
	m := Masked(&c)
	if m["X_URL"] != "postgres://u:xxxxx@h/db" || m["X_N"] != "3" {
		t.Fatalf("masked = %v", m)
	}
	if len(Describe(c)) != 4 {
		t.Fatalf("Describe found %d fields, want 4", len(Describe(c)))
	}
}

// A function's own Config embedded in the platform's is loaded, described
// and masked as if its fields were the platform's.
func TestNestedGroups(t *testing.T) {
	type inner struct {
		Key string `env:"INNER_KEY" default:"k" secret:"true"`
		N   int    `env:"INNER_N" default:"3"`
	}
	type outer struct {
		Port  int `env:"PORT" default:"8080"`
		Inner inner
	}
	var c outer
	if err := Load(&c, func(k string) string { return map[string]string{"INNER_N": "7"}[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Inner.N != 7 || c.Inner.Key != "k" || c.Port != 8080 {
		t.Fatalf("loaded %+v", c)
	}
	if d := Describe(outer{}); len(d) != 3 || d[2].Env != "INNER_N" {
		t.Fatalf("described %+v", d)
	}
	if m := Masked(&c); m["INNER_KEY"] != "******" || m["INNER_N"] != "7" {
		t.Fatalf("masked %v", m)
	}
}
