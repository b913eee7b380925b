package platform

import (
	"context"
	"io"
	"os"
	"path/filepath"
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

// Every variable is documented with its default where operators look.
func TestConfigIsDocumented(t *testing.T) {
	for _, doc := range []string{"../../../README.md", "../../../docs/operations.md"} {
		b, err := os.ReadFile(filepath.Clean(doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range config.Describe(Config{}) {
			if !strings.Contains(string(b), "`"+f.Env+"`") || !strings.Contains(string(b), f.Default) {
				t.Errorf("%s does not document %s with its default %q", doc, f.Env, f.Default)
			}
		}
	}
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
