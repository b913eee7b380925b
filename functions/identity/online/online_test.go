package online

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
)

var ctx = context.Background()

func uniq() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newRedis(t *testing.T, prefix string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 9})
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() {
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = rdb.Close()
	})
	return rdb
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fakeRevoker struct{ ids []string }

func (f *fakeRevoker) RevokeSession(_ context.Context, id string) error {
	f.ids = append(f.ids, id)
	return nil
}

func TestNewRequiresEachDependency(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, auditlogtest.Migration())
	prefix := "test:online:" + uniq() + ":"
	full := Deps{Logger: slog.New(slog.DiscardHandler), Redis: newRedis(t, prefix), Pool: pool, Revoker: &fakeRevoker{}, Now: time.Now}
	for name, mod := range map[string]func(*Deps){
		"logger": func(d *Deps) { d.Logger = nil }, "redis": func(d *Deps) { d.Redis = nil }, "pool": func(d *Deps) { d.Pool = nil },
		"revoker": func(d *Deps) { d.Revoker = nil }, "now": func(d *Deps) { d.Now = nil },
	} {
		d := full
		mod(&d)
		if _, err := New(d, config.Defaults[Config]()); err == nil {
			t.Errorf("%s: New accepted a missing dependency", name)
		}
	}
	for name, c := range map[string]Config{"ttl-1s": {Prefix: prefix, TTL: time.Second}, "no prefix": {TTL: time.Minute}} {
		if _, err := New(full, c); err == nil {
			t.Errorf("%s: New accepted a bad setting", name)
		}
	}
	if _, err := New(full, config.Defaults[Config]()); err != nil {
		t.Fatal(err)
	}
}

// FP-123: the online users count.
func TestHeartbeatListExpiry(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, auditlogtest.Migration())
	prefix := "test:online:" + uniq() + ":"
	clk := &clock{t: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	s, err := New(Deps{Logger: slog.New(slog.DiscardHandler), Redis: newRedis(t, prefix), Pool: pool, Revoker: &fakeRevoker{}, Now: clk.now,
		DeptNames: func(_ context.Context, ids []string) (map[string]string, error) {
			return map[string]string{"d1": "长安区市场监管局"}, nil
		}}, Config{Prefix: prefix, TTL: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	zhang := &auth.Principal{UserID: "u1", Username: "zhang", Name: "张三", DeptID: "d1", SessionID: "s1"}
	li := &auth.Principal{UserID: "u2", Username: "li", Name: "李四", DeptID: "d2", SessionID: "s2"}
	if _, err := s.Heartbeat(ctx, zhang, "10.0.0.1", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"); err != nil {
		t.Fatal(err)
	}
	clk.add(30 * time.Second)
	if _, err := s.Heartbeat(ctx, li, "10.0.0.2", "Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile Safari/537.36"); err != nil {
		t.Fatal(err)
	}
	clk.add(30 * time.Second)
	ss, err := s.Heartbeat(ctx, zhang, "10.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !ss.LoginAt.Equal(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)) || !ss.LastSeen.Equal(clk.now()) {
		t.Errorf("login_at %s last_seen %s", ss.LoginAt, ss.LastSeen)
	}
	page, err := s.List(ctx, ListFilter{}, pg(1, 10))
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || page.Items[0].Username != "zhang" || page.Items[0].DeptName != "长安区市场监管局" || page.Items[1].Device != "Chrome / Android" {
		t.Fatalf("list = %+v", page)
	}
	if p, _ := s.List(ctx, ListFilter{Q: "李"}, pg(1, 10)); p.Total != 1 || p.Items[0].UserID != "u2" {
		t.Errorf("q filter = %+v", p)
	}
	if p, _ := s.List(ctx, ListFilter{DeptID: "d1"}, pg(1, 10)); p.Total != 1 || p.Items[0].UserID != "u1" {
		t.Errorf("dept filter = %+v", p)
	}
	if p, _ := s.List(ctx, ListFilter{}, pg(2, 1)); p.Total != 2 || len(p.Items) != 1 || p.Items[0].UserID != "u2" {
		t.Errorf("page 2 = %+v", p)
	}
	// li's last heartbeat is 30 s + 61 s old: past the TTL, gone from the list.
	clk.add(61 * time.Second)
	if p, _ := s.List(ctx, ListFilter{}, pg(1, 10)); p.Total != 1 || p.Items[0].UserID != "u1" {
		t.Errorf("after li's TTL = %+v", p)
	}
	if n, _ := s.rdb.ZCard(ctx, s.seenKey()).Result(); n != 1 {
		t.Errorf("stale entries kept in the sorted set: %d", n)
	}
	if ttl, _ := s.rdb.TTL(ctx, s.sessionKey("s1")).Result(); ttl <= 0 || ttl > 90*time.Second {
		t.Errorf("session hash TTL = %s", ttl)
	}
}

func pg(p, size int) httpx.Page { return httpx.Page{Page: p, Size: size} }

// TestForceLogout drives the HTTP API with real tokens, a real Revoker and
// a Verifier listening for revocations: after the admin forces the clerk
// out, the clerk's own token is refused.
func TestForceLogout(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, auditlogtest.Migration())
	prefix := "test:online:" + uniq() + ":"
	rdb := newRedis(t, prefix)
	revPrefix := prefix + "revoked:"
	rev := auth.NewRevoker(rdb).WithPrefix(revPrefix)
	s, err := New(Deps{Logger: slog.New(slog.DiscardHandler), Redis: rdb, Pool: pool, Revoker: rev, Now: time.Now},
		Config{Prefix: prefix, TTL: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	iss := authtest.NewIssuer(t)
	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss.Issuer, Issuer: authtest.IssuerName, Audience: authtest.Audience,
		Redis: rdb, RevocationPrefix: revPrefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	mux := httpx.NewMux()
	mux.Use(v.Middleware)
	s.Routes(mux)
	// As the runtime does: the client address through the trusted proxies
	// (here the test's own and the 10/8 ingress).
	proxies, err := httpx.ParseProxies("127.0.0.1, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(httpx.WithClientIP(r.Context(), proxies.ClientIP(r))))
	}))
	t.Cleanup(srv.Close)

	clerk := iss.Token(auth.Principal{UserID: "u-clerk", Username: "clerk", Name: "王五", DeptID: "d1", SessionID: "sess-clerk"})
	admin := iss.Token(auth.Principal{UserID: "u-sec", Username: "sec", SessionID: "sess-sec", Roles: []string{"secadmin"},
		Perms: []string{"identity.online:view", "identity.online:edit"}})
	viewer := iss.Token(auth.Principal{UserID: "u-v", Username: "viewer", SessionID: "sess-v", Perms: []string{"identity.online:view"}})
	call := func(method, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0")
		req.Header.Set("X-Forwarded-For", "61.182.3.4, 10.0.0.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		name, method, path, token string
		status                    int
		contains                  string
	}{
		{"heartbeat-401", "POST", "/identity/v1/heartbeat", "", 401, "请先登录"},
		{"heartbeat-200", "POST", "/identity/v1/heartbeat", clerk, 200, `"session_id":"sess-clerk"`},
		{"list-403", "GET", "/identity/v1/online", clerk, 403, ""},
		{"list-bad-sort-400", "GET", "/identity/v1/online?sort=ip", admin, 400, "排序"},
		{"list-unknown-param-400", "GET", "/identity/v1/online?ip=1", admin, 400, "不支持的查询参数"},
		{"list-200", "GET", "/identity/v1/online", admin, 200, `"ip":"61.182.3.4"`},
		{"list-device", "GET", "/identity/v1/online", admin, 200, `"device":"微信 / iOS"`},
		{"logout-403", "POST", "/identity/v1/online/sess-clerk/logout", viewer, 403, ""},
		{"logout-404", "POST", "/identity/v1/online/nobody/logout", admin, 404, "该会话不在线"},
		{"logout-200", "POST", "/identity/v1/online/sess-clerk/logout", admin, 200, `"revoked":true`},
	} {
		status, body := call(c.method, c.path, c.token)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
	testwait.For(t, "the clerk's token to be refused", func() bool {
		status, _ := call("POST", "/identity/v1/heartbeat", clerk)
		return status == 401
	})
	status, body := call("GET", "/identity/v1/online", admin)
	var page httpx.PageOf[Session]
	_ = json.Unmarshal([]byte(body), &page)
	if status != 200 || page.Total != 0 {
		t.Errorf("online after force logout: %d %s", status, body)
	}
	var before, actor string
	if err := pool.QueryRow(ctx, `SELECT before->>'username', username FROM recorded.op_log
		WHERE action = 'identity.session.force_logout' AND object_id = 'sess-clerk'`).Scan(&before, &actor); err != nil || before != "clerk" || actor != "sec" {
		t.Errorf("op log: %q by %q, %v", before, actor, err)
	}
}

func TestDevice(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string]string{
		"": "未知",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0": "Edge / Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15":                            "Safari / macOS",
		"Mozilla/5.0 (Linux; Android 12; HarmonyOS; ALN-AL00) Chrome/99.0 Mobile Safari/537.36":                                     "Chrome / HarmonyOS",
		"curl/8.5.0": "curl / 其他系统",
	} {
		if got := Device(ua); got != want {
			t.Errorf("Device(%q) = %q, want %q", ua, got, want)
		}
	}
}
