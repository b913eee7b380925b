package identity

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	smssim "github.com/sjzamr/smartreg/tests/sim/sms"
)

// clock is a settable time source: tests move it past lockouts and code
// expiry instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	f     *Function
	deps  Deps
	cfg   Config
	sim   *smssim.Simulator
	rdb   *redis.Client
	clock *clock
	srv   *httptest.Server
	admin Actor // the bootstrap sysadmin, password already changed
	pw    map[string]string
}

const testSecret = "test-identity-secret-0123456789"

func redisFor(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 5})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at 127.0.0.1:6379: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// newEnv starts identity on a fresh database with the SMS simulator, a
// test-only Redis prefix and data dir.
func newEnv(t *testing.T, mutate func(*Config)) *env { return newEnvTB(t, mutate) }

// newEnvDeps is newEnv with the dependencies changed too (an injected
// hasher).
func newEnvDeps(t *testing.T, mutate func(*Config), deps func(*Deps)) *env {
	return newEnvWith(t, mutate, deps)
}

// newEnvB is newEnv for benchmarks, at the production argon2 cost.
func newEnvB(b *testing.B) *env {
	return newEnvTB(b, func(c *Config) { c.Argon2MemoryKiB, c.Argon2Passes = 19456, 2 })
}

func newEnvTB(t testing.TB, mutate func(*Config)) *env { return newEnvWith(t, mutate, nil) }

func newEnvWith(t testing.TB, mutate func(*Config), deps func(*Deps)) *env {
	t.Helper()
	pool := storetest.New(t, append(Migrations(), auditlogtest.Migration())...)
	rdb := redisFor(t)
	suffix := randomToken(6)
	cfg := config.Defaults[Config]()
	cfg.SecretKey = testSecret
	// The cheapest cost the config allows: tests hash hundreds of passwords.
	cfg.Argon2MemoryKiB, cfg.Argon2Passes = 1024, 1
	cfg.DataDir = t.TempDir()
	cfg.RedisPrefix = "test:identity:" + suffix + ":"
	cfg.RevocationPrefix = "test:auth:" + suffix + ":"
	if mutate != nil {
		mutate(&cfg)
	}
	t.Cleanup(func() { cleanRedis(rdb, cfg.RedisPrefix, cfg.RevocationPrefix) })
	sim := smssim.New(cfg.SMSAppKey, cfg.SMSAppSecret)
	sim.PerPhonePerMinute = 20 // a test sends an applicant several notices at once
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	sender, err := NewSMSClient(simSrv.URL, cfg.SMSAppKey, cfg.SMSAppSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	d := Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Pool: pool, Redis: rdb, Now: c.Now, SMS: sender}
	if deps != nil {
		deps(&d)
	}
	f := start(t, d, cfg)
	srv := httptest.NewServer(f.Handler())
	t.Cleanup(srv.Close)
	e := &env{f: f, deps: d, cfg: cfg, sim: sim, rdb: rdb, clock: c, srv: srv, pw: readPasswordFile(t, cfg.DataDir)}
	return e
}

// start builds identity and starts it, stopping it when the test ends.
func start(t testing.TB, d Deps, cfg Config) *Function {
	t.Helper()
	f, err := New(d, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return f
}

func cleanRedis(rdb *redis.Client, prefixes ...string) {
	ctx := context.Background()
	for _, p := range prefixes {
		iter := rdb.Scan(ctx, 0, p+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	}
}

func readPasswordFile(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fh, err := os.Open(filepath.Join(dir, InitialPasswordFile))
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		name, pw, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			out[name] = pw
		}
	}
	return out
}

const strongPW = "Xq7#mLp2!vR9"

// activate logs a user in with the generated password and sets a known one.
func (e *env) activate(t *testing.T, username, initial, newPW string) (Actor, Tokens) {
	t.Helper()
	ctx := context.Background()
	tok, err := e.f.Login(ctx, LoginInput{Username: username, Password: initial}, "10.0.0.1", "test")
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	a := Actor{UserID: tok.User.ID, Username: username, SessionID: tok.sessionID, IP: "10.0.0.1"}
	tok, err = e.f.ChangePassword(ctx, a, PasswordChange{OldPassword: initial, NewPassword: newPW})
	if err != nil {
		t.Fatalf("change password of %s: %v", username, err)
	}
	return a, tok
}

// adminActor activates the bootstrap sysadmin.
func (e *env) adminActor(t *testing.T) Actor {
	t.Helper()
	if e.admin.UserID == "" {
		e.admin, _ = e.activate(t, "admin", e.pw["admin"], strongPW)
	}
	return e.admin
}

func (e *env) roleID(t *testing.T, code string) string {
	t.Helper()
	var id string
	if err := e.f.pool.QueryRow(context.Background(), `SELECT id FROM identity.roles WHERE code = $1`, code).Scan(&id); err != nil {
		t.Fatalf("role %s: %v", code, err)
	}
	return id
}

func (e *env) cityID(t *testing.T) string {
	t.Helper()
	var id string
	if err := e.f.pool.QueryRow(context.Background(), `SELECT id FROM identity.departments WHERE parent_id IS NULL`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// dept creates a department as the admin.
func (e *env) dept(t *testing.T, parent, name, level string, districts, townships []string) Department {
	t.Helper()
	d, err := e.f.CreateDepartment(context.Background(), e.adminActor(t), DeptInput{ParentID: &parent, Name: name, Level: level,
		DistrictCodes: districts, TownshipCodes: townships})
	if err != nil {
		t.Fatalf("create dept %s: %v", name, err)
	}
	return d
}

// user creates and activates a user with the given roles as the admin.
func (e *env) user(t *testing.T, username, phone, deptID string, roleCodes ...string) (Actor, Tokens) {
	t.Helper()
	var ids []string
	for _, c := range roleCodes {
		ids = append(ids, e.roleID(t, c))
	}
	c, err := e.f.CreateUser(context.Background(), e.adminActor(t), UserInput{Username: username, Name: "测试" + username, Phone: phone,
		DeptID: deptID, RoleIDs: ids})
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return e.activate(t, username, c.InitialPassword, strongPW)
}

// do sends a JSON request with an optional bearer token.
func (e *env) do(t *testing.T, method, path, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
