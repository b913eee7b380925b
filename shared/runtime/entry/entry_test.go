package entry

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// full is a function's Config as the entry points declare it.
type full struct {
	Server
	Backend
	Blob
	Auth
	DBMaxConns int `env:"DB_MAX_CONNS" default:"50"`
}

// backendOnly uses neither the object store nor access tokens.
type backendOnly struct {
	Server
	Backend
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestLoadDefaultsAndOverrides(t *testing.T) {
	env := map[string]string{
		"K_SINK":       "http://broker.example/smartreg/default",
		"PORT":         "9090",
		"DATABASE_URL": "postgres://app:s3cret@db:5432/smartreg",
	}
	var cfg full
	var out bytes.Buffer
	log, err := load("registry", &cfg, getenv(env), &out, "extra", "x")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case cfg.Port != 9090 || cfg.LogLevel != "info" || cfg.DrainTimeout != 20*time.Second:
		t.Errorf("server group: %+v", cfg.Server)
	case cfg.BrokerURL != env["K_SINK"] || cfg.RedisURL != "redis://127.0.0.1:6379/0":
		t.Errorf("backend group: %+v", cfg.Backend)
	case cfg.BlobURL != "file:.data/blob":
		t.Errorf("blob group: %+v", cfg.Blob)
	case cfg.Audience != "smartreg" || cfg.JWKSURL != "http://localhost:8080/identity/oidc/keys":
		t.Errorf("auth group: %+v", cfg.Auth)
	case cfg.DBMaxConns != 50:
		t.Errorf("the function's own DB_MAX_CONNS default was not kept: %d", cfg.DBMaxConns)
	}
	if log == nil {
		t.Fatal("no logger")
	}
	line := out.String()
	for _, want := range []string{`"msg":"starting"`, `"function":"registry"`, `"PORT":"9090"`, `"extra":"x"`, "app:xxxxx@db"} {
		if !strings.Contains(line, want) {
			t.Errorf("start-up log lacks %q: %s", want, line)
		}
	}
	if strings.Contains(line, "s3cret") {
		t.Errorf("start-up log shows the database password: %s", line)
	}
}

func TestLoadRefusesMissingSink(t *testing.T) {
	var out bytes.Buffer
	_, err := load("qr-generate", &backendOnly{}, getenv(nil), &out)
	if err == nil || !strings.Contains(err.Error(), "K_SINK is not set: bind qr-generate to the Broker") {
		t.Fatalf("missing K_SINK: %v", err)
	}
	// The settings are logged before the refusal, to show what was read.
	if !strings.Contains(out.String(), "starting") {
		t.Errorf("no start-up log before the refusal: %s", out.String())
	}
	// A function without a Backend (console) needs no Broker.
	var s Server
	if _, err := load("console", &s, getenv(nil), &out); err != nil {
		t.Fatalf("Server alone: %v", err)
	}
}

func TestLoadRejectsBadValue(t *testing.T) {
	var cfg full
	_, err := load("registry", &cfg, getenv(map[string]string{"K_SINK": "http://b", "DB_MAX_CONNS": "many"}), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "DB_MAX_CONNS") {
		t.Fatalf("DB_MAX_CONNS=many: %v", err)
	}
}

// Open against the real PostgreSQL and Redis: it opens exactly the groups
// the Config embeds, and fails with the cause when Redis is unreachable.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	log := httpx.NewLogger(&bytes.Buffer{}, "error")
	dbURL := storetest.URLFor(storetest.NewDatabase(t))

	cfg := full{Backend: Backend{Data: Data{DatabaseURL: dbURL, RedisURL: "redis://127.0.0.1:6379/0"}, BrokerURL: "http://127.0.0.1:1/"},
		Blob: Blob{BlobURL: "file:" + t.TempDir()},
		Auth: Auth{JWKSURL: "http://127.0.0.1:1/keys", Issuer: "iss", Audience: "aud"}}
	probe := store.Migration{Component: "entrytest", Dir: "m", FS: fstest.MapFS{
		"m/0001_probe.sql": {Data: []byte("CREATE TABLE entry_probe (id int)")}}}
	d, err := Open(ctx, &cfg, 3, log, probe)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pool.Config().MaxConns != 3 || d.Redis == nil || d.Blobs == nil || d.Verifier == nil {
		t.Errorf("opened %+v", d)
	}
	if err := d.Pool.QueryRow(ctx, "SELECT count(*) FROM entry_probe").Scan(new(int)); err != nil {
		t.Errorf("the function's migration was not applied: %v", err)
	}
	d.Close()
	if err := d.Pool.Ping(ctx); err == nil {
		t.Error("pool still open after Close")
	}

	lean := backendOnly{Backend: cfg.Backend}
	d, err = Open(ctx, &lean, 2, log)
	if err != nil {
		t.Fatal(err)
	}
	if d.Blobs != nil || d.Verifier != nil {
		t.Errorf("opened what the Config does not embed: %+v", d)
	}
	d.Close()

	lean.RedisURL = "redis://127.0.0.1:1/0" // nothing listens there
	if d, err := Open(ctx, &lean, 2, log); err == nil || d != nil || !strings.Contains(err.Error(), "redis") {
		t.Fatalf("unreachable Redis: deps %v, error %v", d, err)
	}
}
