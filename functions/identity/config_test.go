package identity

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/config"
)

// TestConfigDocumented keeps every field named, defaulted and explained,
// and DefaultConfig equal to what the tags give an empty environment.
func TestConfigDocumented(t *testing.T) {
	for _, f := range config.Describe(Config{}) {
		if f.Env == "" || f.Help == "" {
			t.Errorf("config field %+v lacks an env name or help text", f)
		}
	}
	var fromTags Config
	if err := config.Load(&fromTags, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if fromTags != DefaultConfig() {
		t.Fatalf("DefaultConfig differs from the tag defaults:\n%+v\n%+v", DefaultConfig(), fromTags)
	}
	if err := fromTags.validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}
