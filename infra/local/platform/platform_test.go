package platform

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

func defaults(t *testing.T) Config {
	t.Helper()
	var cfg Config
	if err := config.Load(&cfg, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Every default must work on a fresh checkout: the object store default
// is opened for real, in a scratch working directory.
func TestDefaultBlobURLOpens(t *testing.T) {
	t.Chdir(t.TempDir())
	st, err := blob.Open(context.Background(), defaults(t).BlobURL)
	if err != nil {
		t.Fatalf("default BLOB_URL does not open: %v", err)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The platform's own variables are documented with their defaults where
// operators look first (README and docs/operations.md).
func TestConfigIsDocumented(t *testing.T) {
	for _, doc := range []string{"../../../README.md", "../../../docs/operations.md"} {
		b, err := os.ReadFile(filepath.Clean(doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range coreFields() {
			if !strings.Contains(string(b), "`"+f.Env+"`") || !strings.Contains(string(b), f.Default) {
				t.Errorf("%s does not document %s with its default %q", doc, f.Env, f.Default)
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite the generated settings table in docs/operations.md")

// Every function's settings are listed in docs/operations.md between the
// settings markers, generated from the Config structs so they cannot drift:
// go test ./infra/local/platform -run Settings -update
func TestFunctionSettingsTable(t *testing.T) {
	const path, begin, end = "../../../docs/operations.md", "<!-- settings:begin -->", "<!-- settings:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %s … %s markers", path, begin, end)
	}
	var tb strings.Builder
	tb.WriteString("\n| variable | default | meaning |\n| --- | --- | --- |\n")
	for _, group := range []struct {
		name string
		cfg  any
	}{{"identity", Config{}.Identity}, {"identity (OIDC, WeChat)", Config{}.OIDC}, {"identity (online)", Config{}.Online},
		{"audit", Config{}.Audit}, {"notify", Config{}.Notify}, {"scan-resolve", Config{}.Scan}} {
		for _, f := range config.Describe(group.cfg) {
			def := "(none)"
			if f.Default != "" {
				def = "`" + f.Default + "`"
			}
			help := strings.ReplaceAll(f.Help, "|", "\\|")
			if f.Secret {
				help += "（机密）"
			}
			fmt.Fprintf(&tb, "| `%s` | %s | %s: %s |\n", f.Env, def, group.name, help)
		}
	}
	want := doc[:i+len(begin)] + tb.String() + doc[j:]
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != doc {
		t.Fatal("docs/operations.md settings table is stale: go test ./infra/local/platform -run Settings -update")
	}
}

// coreFields is the platform's own variables and its shared groups,
// without the functions' groups.
func coreFields() []config.Field {
	var out []config.Field
	for f := range reflect.TypeFor[Config]().Fields() {
		switch {
		case f.Anonymous:
			out = append(out, config.Describe(reflect.Zero(f.Type).Interface())...)
		case f.Tag.Get("env") != "":
			out = append(out, config.Field{Env: f.Tag.Get("env"), Default: f.Tag.Get("default")})
		}
	}
	return out
}

// A failed start returns its error and releases what it opened; it must
// not panic on the way out.
func TestBuildFailureReturnsError(t *testing.T) {
	cfg := defaults(t)
	cfg.DatabaseURL = storetest.URLFor(storetest.NewDatabase(t))
	cfg.RedisURL = "redis://127.0.0.1:1/0" // nothing listens there
	cfg.BlobURL = "file:" + t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := Build(ctx, cfg, httpx.NewLogger(io.Discard, "error"), Options{})
	if err == nil || p != nil {
		t.Fatalf("Build with an unreachable Redis: platform %v, error %v", p, err)
	}
}
