// Package browser drives the admin console in real Chromium (headless,
// through chromedp) against identity, registry and the console served in
// this process on real PostgreSQL and Redis.
package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/functions/console"
	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/functions/registry"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	smssim "github.com/sjzamr/smartreg/tests/sim/sms"
)

// stack is identity + registry + console mounted under their prefixes on
// one port, composed exactly as the one-process platform mounts functions
// (runtime.Handler per function under /<name>/).
type stack struct {
	url     string
	dataDir string
	sms     *smssim.Simulator
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	migrations := append(identity.Migrations(), registry.Migration())
	pool := storetest.New(t, migrations...)
	if err := store.Migrate(ctx, pool, store.Platform()); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 6})
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at 127.0.0.1:6379: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	cfg := identity.DefaultConfig()
	cfg.Issuer = base + "/identity/oidc"
	cfg.SecretKey = "browser-test-secret-0123456789"
	cfg.DataDir = t.TempDir()
	cfg.RedisPrefix = "test:browser:" + suffix + ":"
	cfg.RevocationPrefix = "test:browser-auth:" + suffix + ":"
	t.Cleanup(func() {
		for _, p := range []string{cfg.RedisPrefix, cfg.RevocationPrefix} {
			iter := rdb.Scan(context.Background(), 0, p+"*", 500).Iterator()
			for iter.Next(context.Background()) {
				rdb.Del(context.Background(), iter.Val())
			}
		}
	})
	sim := smssim.New(cfg.SMSAppKey, cfg.SMSAppSecret)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	sender, err := identity.NewSMSClient(simSrv.URL, cfg.SMSAppKey, cfg.SMSAppSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	bl, err := blob.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := quietLog()
	idf, err := identity.New(identity.Deps{Logger: log, Pool: pool, Redis: rdb, Now: time.Now, Config: cfg, SMS: sender, Blob: bl})
	if err != nil {
		t.Fatalf("identity.New: %v", err)
	}
	t.Cleanup(idf.Close)
	// Registry verifies tokens with the verifier identity itself uses
	// (in-process keys, same revocation prefix), as the platform wires it.
	reg, err := registry.New(registry.Deps{Logger: log, Pool: pool, Now: time.Now, Auth: idf.Verifier()})
	if err != nil {
		t.Fatal(err)
	}
	con, err := console.New(console.Deps{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if con.Placeholder() {
		t.Fatal("the console was built without its front end: run `task console:build` (npm ci && npm run build in functions/console/web) first")
	}
	mux := http.NewServeMux()
	for name, fn := range map[string]runtime.Function{"identity": idf, "registry": reg, "console": con} {
		h := runtime.Handler(name, fn, log, nil)
		mux.Handle("/"+name+"/", h)
	}
	mux.Handle("/console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(c)
	})
	return &stack{url: base, dataDir: cfg.DataDir, sms: sim}
}

// initialPasswords reads the owner-only file identity writes at first start.
func (s *stack) initialPasswords(t *testing.T) map[string]string {
	t.Helper()
	fh, err := os.Open(filepath.Join(s.dataDir, identity.InitialPasswordFile))
	if err != nil {
		t.Fatalf("initial password file: %v", err)
	}
	defer fh.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if name, pw, ok := strings.Cut(sc.Text(), "\t"); ok {
			out[name] = pw
		}
	}
	return out
}

// api calls a JSON API outside the browser (seeding test data).
func (s *stack) api(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s → %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}
