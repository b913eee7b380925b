// Package browser drives the admin console in real Chromium (headless,
// through chromedp) against the one-process platform started in this
// process on real PostgreSQL and Redis.
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
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
	smssim "github.com/sjzamr/smartreg/tests/sim/sms"
)

// stack is the one-process platform (infra/local/platform, every function
// under its prefixes, the local broker) on a random port, with the SMS
// gateway pointed at a simulator the test reads.
type stack struct {
	url     string
	dataDir string
	sms     *smssim.Simulator
	// Where identity keeps its captcha answers, for tests that act as a
	// person solving one.
	redisURL, identityPrefix string
	p                        *platform.Platform // the functions, to seed data in-process
	// stop ends serving (the port refuses connections), as a network gone
	// away would look to a browser.
	stop func()
}

// startStack starts the platform; tune, if given, adjusts its settings
// first (a test pointing a function at a simulator of its own).
func startStack(t *testing.T, tune ...func(*platform.Config)) *stack {
	t.Helper()
	db := storetest.NewDatabase(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()

	var cfg platform.Config
	if err := config.Load(&cfg, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.RedisURL, cfg.BlobURL = storetest.URLFor(db), "redis://127.0.0.1:6379/6", "file://"+t.TempDir()
	cfg.Public.BaseURL, cfg.DBMaxConns, cfg.DrainTimeout, cfg.Simulators = base, 10, 5*time.Second, true
	cfg.Identity.Issuer = base + "/identity/oidc"
	cfg.Identity.DataDir = t.TempDir()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	cfg.Identity.RedisPrefix = "test:browser:" + suffix + ":"
	cfg.Identity.RevocationPrefix = "test:browser-auth:" + suffix + ":"
	sim := smssim.New(cfg.Identity.SMSAppKey, cfg.Identity.SMSAppSecret)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	cfg.Identity.SMSGatewayURL = simSrv.URL
	cfg.Laws.IndexDir = filepath.Join(t.TempDir(), "laws-index")
	cfg.OcrIdcard.VerifyURL = base + "/sim/idverify" // the simulator the platform mounts (FP-12)
	cfg.EvidenceCapture.CaptureAllowPrivate = true   // 一键取证 of a loopback test page (FP-90)
	for _, f := range tune {
		f(&cfg)
	}

	ctx, cancel := context.WithCancel(context.Background())
	p, err := platform.Build(ctx, cfg, quietLog(), platform.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		cancel()
		t.Fatalf("build platform: %v", err)
	}
	if p.Console.Placeholder() {
		cancel()
		p.Close()
		t.Fatal("the console was built without its front end: run `task console:build` (npm ci && npm run build in functions/console/web) first")
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, ln, 5*time.Second) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("platform run: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		p.Close()
		cleanRedis(cfg.RedisURL, cfg.Identity.RedisPrefix, cfg.Identity.RevocationPrefix)
	})
	// Run starts every function before it serves: once it answers,
	// identity has written the first administrators' passwords.
	hc := &http.Client{Timeout: 5 * time.Second}
	testwait.For(t, "the platform to serve", func() bool {
		resp, err := hc.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return &stack{url: base, dataDir: cfg.Identity.DataDir, sms: sim, redisURL: cfg.RedisURL, identityPrefix: cfg.Identity.RedisPrefix, p: p, stop: stop}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func cleanRedis(url string, prefixes ...string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	for _, p := range prefixes {
		iter := rdb.Scan(ctx, 0, p+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	}
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

// solveCaptcha asks identity for a captcha and reads its answer where
// identity keeps it, as a person reading the picture would.
func (s *stack) solveCaptcha(t *testing.T) (id, answer string) {
	t.Helper()
	var c struct {
		CaptchaID string `json:"captcha_id"`
	}
	if st := s.api(t, "POST", "/identity/v1/captchas", "", nil, &c); st != http.StatusCreated || c.CaptchaID == "" {
		t.Fatalf("new captcha: %d %+v", st, c)
	}
	opt, err := redis.ParseURL(s.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	digits, err := rdb.Get(context.Background(), s.identityPrefix+"captcha:"+c.CaptchaID).Bytes()
	if err != nil {
		t.Fatalf("captcha %s: %v", c.CaptchaID, err)
	}
	for _, d := range digits {
		answer += fmt.Sprint(d)
	}
	return c.CaptchaID, answer
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
