// Command authbench measures what authentication costs (issue 4) and
// writes the results into docs/benchmarks.md:
//
//   - token verification per request in another function: an http.Handler
//     wrapped in (*auth.Verifier).Middleware and auth.Require, driven
//     in-process (httptest.NewRecorder, no network), for a token presented
//     again (the common case: a client sends the same token until it
//     expires), for first-seen tokens (full signature and claim check), and
//     for a mix (50 active users, 1 request in 100 with a new token), against
//     two anchors run side by side: the same handler without the middleware,
//     and a bare ed25519.Verify of the same signed bytes. Target: under
//     50 µs per request and no network call — the verifier's HTTP client
//     counts requests and the program fails if it made one;
//   - login throughput: POST /identity/v1/login through identity's real
//     handler (PostgreSQL, Redis, login log, session, token issue) with N
//     concurrent clients for a fixed number of logins, against the same
//     number of bare argon2id hashes at the configured cost with the same
//     concurrency: the hash is the floor, the ratio is what the rest costs.
//
// Every number is the best of a few interleaved rounds (the machine is
// shared); allocations are per request, from runtime.MemStats.
//
// Usage: go run ./tests/bench/authbench [-n 100000] [-fresh 2000] [-rounds 3] [-logins 80] [-c 1,8] [-out docs/benchmarks.md]
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/argon2"

	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

type options struct {
	n      int // requests per round for the repeat, mix and anchor cases
	fresh  int // first-seen tokens per round
	rounds int
	logins int
	conc   []int
	redis  string
	out    string
}

func main() {
	var o options
	var conc string
	flag.IntVar(&o.n, "n", 100_000, "requests per round (repeat, mix, anchors)")
	flag.IntVar(&o.fresh, "fresh", 2000, "first-seen tokens per round")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds; the best is reported")
	flag.IntVar(&o.logins, "logins", 80, "logins (and anchor hashes) per concurrency level")
	flag.StringVar(&conc, "c", "1,8", "concurrent login clients, comma-separated")
	flag.StringVar(&o.redis, "redis", "127.0.0.1:6379", "Redis address (DB 12, a per-run key prefix, cleaned up)")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown file to update")
	flag.Parse()
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "authbench: bad -c", conc)
			os.Exit(2)
		}
		o.conc = append(o.conc, n)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "authbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	rdb := redis.NewClient(&redis.Options{Addr: o.redis, DB: 12})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", o.redis, err)
	}
	prefix := fmt.Sprintf("authbench:%d:", os.Getpid())
	defer cleanRedis(rdb, prefix)

	verify, err := benchVerify(ctx, o, rdb, prefix+"rev:")
	if err != nil {
		return err
	}
	logins, err := benchLogin(ctx, o, rdb, prefix)
	if err != nil {
		return err
	}
	return report.Write(o.out, "authbench", report.Section{
		Title: "Authentication: token verification per request, login throughput (authbench)",
		Intro: fmt.Sprintf("`go run ./tests/bench/authbench` (issue 4), %d CPUs, shared with other work while measured, so absolute times are inflated; "+
			"the ratios come from anchors run interleaved with the measured cases (best of %d rounds).\n\n"+
			"**Token verification** in a function other than identity: a small JSON handler wrapped in `(*auth.Verifier).Middleware` + "+
			"`auth.Require(\"registry.entity\", \"view\")`, driven in-process with `httptest.NewRecorder` (no network), a realistic token "+
			"(two roles, twelve permissions, a district scope), in-process keys (`KeySource`) and revocations synced from Redis. "+
			"*repeat*: the same token again (what a client does for 15 minutes); *first-seen*: a token never seen by this replica "+
			"(full EdDSA signature and claims check); *mix*: 50 active users, one request in 100 carrying a new token. "+
			"Target: < 50 µs per request with no network call; the verifier's HTTP client counted **%d** requests.\n\n%s\n\n"+
			"**Login** (`POST /identity/v1/login` through identity's real handler: user row lock, argon2id check at the configured cost "+
			"(m=%d KiB, t=%d, p=1), the login-log row recorded for audit (an outbox event of the same transaction), session and refresh token in PostgreSQL, access token signed) with N concurrent "+
			"clients, each its own user, against the same number of bare `argon2.IDKey` hashes at the same cost and concurrency "+
			"(best of %d rounds per side, sides alternating; latencies from the best round). Every login is checked to have recorded its login-log event.",
			runtime.NumCPU(), o.rounds, verify.httpCalls, verify.table(), config.Defaults[identity.Config]().Argon2MemoryKiB, config.Defaults[identity.Config]().Argon2Passes, o.rounds),
		Rows: logins,
	})
}

func cleanRedis(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// ---- token verification ----

// result is one measured case.
type result struct {
	wall, cpu     time.Duration // per op
	allocs, bytes float64       // per op
}

// cpuTime is the CPU (user+system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn(i) for i < n on this goroutine.
func measure(n int, fn func(i int) error) (result, error) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, t0 := cpuTime(), time.Now()
	for i := range n {
		if err := fn(i); err != nil {
			return result{}, err
		}
	}
	wall, cpu := time.Since(t0), cpuTime()-c0
	runtime.ReadMemStats(&m1)
	return result{wall: wall / time.Duration(n), cpu: cpu / time.Duration(n),
		allocs: float64(m1.Mallocs-m0.Mallocs) / float64(n), bytes: float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n)}, nil
}

// countingTransport fails and counts every request: the verifier must
// make none.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("authbench: the verifier made an HTTP request")
}

type verifyResults struct {
	cases     []string
	best      map[string]result
	httpCalls int64
}

const (
	caseEd25519 = "anchor: bare ed25519.Verify of the token's signed bytes"
	caseBare    = "anchor: handler without the middleware"
	caseRepeat  = "middleware + Require, same token repeated"
	caseMix     = "middleware + Require, mix (50 users, 1 % first-seen)"
	caseFresh   = "middleware + Require, first-seen token"
)

func (v verifyResults) table() string {
	var b strings.Builder
	b.WriteString("| case | ns/op | CPU ns/op | allocs/op | B/op | vs. bare handler | vs. ed25519.Verify | < 50 µs |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	bare, ed := v.best[caseBare], v.best[caseEd25519]
	for _, c := range v.cases {
		r := v.best[c]
		ok := "—"
		if strings.HasPrefix(c, "middleware") {
			ok = map[bool]string{true: "yes", false: "**no**"}[r.wall < 50*time.Microsecond]
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.0f | %.0f | %.2f× | %.3f× | %s |\n", c, r.wall.Nanoseconds(), r.cpu.Nanoseconds(), r.allocs, r.bytes,
			float64(r.wall)/float64(bare.wall), float64(r.wall)/float64(ed.wall), ok)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func benchPrincipal(i int) auth.Principal {
	return auth.Principal{UserID: fmt.Sprintf("0190f5c2-6a4e-7a51-9b3e-%012d", i), Username: fmt.Sprintf("user%d", i), Name: "张三",
		DeptID: "d-130102", SessionID: fmt.Sprintf("0190f5c2-7b00-7c00-8d00-%012d", i), Roles: []string{"inspector", "clerk"},
		Perms: []string{"registry.entity:view", "registry.entity:edit", "registry.entity:export", "registry.import:create",
			"qr.code:view", "qr.code:approve", "qr.code:invalidate", "qr.code:download", "scan.inspection:view",
			"scan.inspection:create", "scan.stats:view", "notify.notice:view"},
		Scope: auth.Scope{Kind: auth.ScopeDeptAndBelow, Districts: []string{"130102"}}}
}

func benchVerify(ctx context.Context, o options, rdb *redis.Client, revPrefix string) (verifyResults, error) {
	key, err := auth.GenerateKey()
	if err != nil {
		return verifyResults{}, err
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: "http://localhost:8080/identity/oidc", Audience: "smartreg", Key: key})
	if err != nil {
		return verifyResults{}, err
	}
	rt := &countingTransport{}
	newVerifier := func() (*auth.Verifier, error) {
		return auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: iss.Issuer(), Audience: iss.Audience(),
			Redis: rdb, RevocationPrefix: revPrefix, HTTPClient: &http.Client{Transport: rt}})
	}
	issue := func(i int) (string, error) {
		raw, _, err := iss.Issue(benchPrincipal(i))
		return raw, err
	}
	body := []byte(`{"items":[],"total":0,"page":1,"page_size":20}`)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	request := func(tok string) *http.Request {
		r := httptest.NewRequest("GET", "/registry/v1/entities?page=1", nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	serve := func(h http.Handler, r *http.Request) error {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("handler answered %d: %s", rec.Code, rec.Body)
		}
		return nil
	}

	// The repeated token and the anchors' inputs.
	raw, err := issue(0)
	if err != nil {
		return verifyResults{}, err
	}
	dot := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
	if err != nil {
		return verifyResults{}, err
	}
	signed, pub := []byte(raw[:dot]), iss.PublicKeys()[0].Key
	// 50 warm users for the mix.
	var warm []*http.Request
	for i := range 50 {
		tok, err := issue(1 + i)
		if err != nil {
			return verifyResults{}, err
		}
		warm = append(warm, request(tok))
	}

	res := verifyResults{cases: []string{caseEd25519, caseBare, caseRepeat, caseMix, caseFresh}, best: map[string]result{}}
	keep := func(name string, r result) {
		if b, ok := res.best[name]; !ok || r.wall < b.wall {
			res.best[name] = r
		}
	}
	next := 1000 // principal index of the next first-seen token
	for round := range o.rounds {
		fmt.Fprintf(os.Stderr, "authbench: verification round %d/%d\n", round+1, o.rounds)
		v, err := newVerifier()
		if err != nil {
			return res, err
		}
		wrapped := v.Middleware(auth.Require("registry.entity", "view")(handler))
		// Inputs outside the timed loops: tokens are signed and requests
		// built beforehand, so only serving them is measured.
		freshReqs := make([]*http.Request, o.fresh)
		for i := range freshReqs {
			tok, err := issue(next)
			if err != nil {
				return res, err
			}
			next++
			freshReqs[i] = request(tok)
		}
		mixFresh := make([]*http.Request, o.n/100+1)
		for i := range mixFresh {
			tok, err := issue(next)
			if err != nil {
				return res, err
			}
			next++
			mixFresh[i] = request(tok)
		}
		repeatReq, bareReq := request(raw), request("")
		for _, r := range append([]*http.Request{repeatReq}, warm...) { // already seen
			if err := serve(wrapped, r); err != nil {
				return res, err
			}
		}

		steps := []struct {
			name string
			n    int
			fn   func(i int) error
		}{
			// The signature check is ~20× the others: fewer runs suffice.
			{caseEd25519, max(o.fresh, o.n/10), func(int) error {
				if !ed25519.Verify(pub, signed, sig) {
					return errors.New("signature does not verify")
				}
				return nil
			}},
			{caseBare, o.n, func(int) error { return serve(handler, bareReq) }},
			{caseRepeat, o.n, func(int) error { return serve(wrapped, repeatReq) }},
			{caseMix, o.n, func(i int) error {
				if i%100 == 0 {
					return serve(wrapped, mixFresh[i/100])
				}
				return serve(wrapped, warm[i%len(warm)])
			}},
			{caseFresh, o.fresh, func(i int) error { return serve(wrapped, freshReqs[i]) }},
		}
		for _, s := range steps {
			r, err := measure(s.n, s.fn)
			if err != nil {
				v.Close()
				return res, fmt.Errorf("%s: %w", s.name, err)
			}
			keep(s.name, r)
		}
		v.Close()
	}
	res.httpCalls = rt.n.Load()
	if res.httpCalls != 0 {
		return res, fmt.Errorf("the verifier made %d HTTP requests; it must verify locally", res.httpCalls)
	}
	return res, nil
}

// ---- login throughput ----

type nopSMS struct{}

func (nopSMS) Send(context.Context, identity.SMS) error { return nil }

const benchDB = "bench_authbench"

func recreateDB(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, storetest.AdminURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+benchDB+` WITH (FORCE)`); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE DATABASE `+benchDB)
	return err
}

func dropDB(ctx context.Context) {
	if conn, err := pgx.Connect(ctx, storetest.AdminURL()); err == nil {
		_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+benchDB+` WITH (FORCE)`)
		conn.Close(ctx)
	}
}

// client calls identity's handler in-process.
type client struct{ h http.Handler }

func (c client) do(method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	r := httptest.NewRequest(method, path, body)
	r.RemoteAddr = "10.1.2.3:40000"
	if in != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	if rec.Code/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	if out != nil {
		return json.Unmarshal(rec.Body.Bytes(), out)
	}
	return nil
}

type tokens struct {
	AccessToken string `json:"access_token"`
}

// activate logs in with a generated password and changes it, as a user's
// first login does.
func (c client) activate(username, initial, pw string) (string, error) {
	var t tokens
	if err := c.do("POST", "/identity/v1/login", "", map[string]string{"username": username, "password": initial}, &t); err != nil {
		return "", err
	}
	if err := c.do("POST", "/identity/v1/password/change", t.AccessToken, map[string]string{"old_password": initial, "new_password": pw}, &t); err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

func initialPassword(dir, username string) (string, error) {
	fh, err := os.Open(filepath.Join(dir, identity.InitialPasswordFile))
	if err != nil {
		return "", err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if name, p, ok := strings.Cut(sc.Text(), "\t"); ok && name == username {
			return p, nil
		}
	}
	return "", fmt.Errorf("no initial password for %s", username)
}

const benchPW = "Bench#Login-2026x"

// latencies runs total jobs on conc workers and returns the rate per
// second and the sorted latencies.
func latencies(conc, total int, job func(worker int) error) (float64, []time.Duration, error) {
	var next atomic.Int64
	lat := make([]time.Duration, total)
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				t0 := time.Now()
				if err := job(w); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	rate := float64(total) / time.Since(start).Seconds()
	slices.Sort(lat)
	return rate, lat, firstErr
}

func pct(lat []time.Duration, p float64) time.Duration {
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()*1000) }

func benchLogin(ctx context.Context, o options, rdb *redis.Client, prefix string) ([][]string, error) {
	fmt.Fprintln(os.Stderr, "authbench: setting up identity for the login benchmark")
	if err := recreateDB(ctx); err != nil {
		return nil, err
	}
	defer dropDB(context.Background())
	pool, err := store.Connect(ctx, storetest.URLFor(benchDB), 20)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, identity.Migrations()...)...); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "authbench-identity-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := config.Defaults[identity.Config]() // the production argon2id cost
	cfg.SecretKey = "authbench-secret-0123456789abcdef"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.RedisPrefix, cfg.RevocationPrefix = prefix+"id:", prefix+"idrev:"
	f, err := identity.New(identity.Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: rdb, Now: time.Now,
		SMS: nopSMS{}}, cfg)
	if err != nil {
		return nil, err
	}
	defer f.Stop(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := f.Start(ctx); err != nil {
		return nil, err
	}
	c := client{h: f.Handler()}

	adminPW, err := initialPassword(cfg.DataDir, "admin")
	if err != nil {
		return nil, err
	}
	admin, err := c.activate("admin", adminPW, benchPW)
	if err != nil {
		return nil, err
	}
	var depts []struct {
		ID    string `json:"id"`
		Level string `json:"level"`
	}
	if err := c.do("GET", "/identity/v1/departments", admin, nil, &depts); err != nil {
		return nil, err
	}
	var roles []struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	if err := c.do("GET", "/identity/v1/roles", admin, nil, &roles); err != nil {
		return nil, err
	}
	if len(depts) == 0 {
		return nil, errors.New("no department")
	}
	var inspector string
	for _, r := range roles {
		if r.Code == identity.RoleInspector {
			inspector = r.ID
		}
	}
	users := make([]string, slices.Max(o.conc))
	for i := range users {
		users[i] = fmt.Sprintf("bench%02d", i)
		var created struct {
			InitialPassword string `json:"initial_password"`
		}
		in := map[string]any{"username": users[i], "name": "压测用户", "phone": fmt.Sprintf("1380000%04d", i), "dept_id": depts[0].ID,
			"role_ids": []string{inspector}}
		if err := c.do("POST", "/identity/v1/users", admin, in, &created); err != nil {
			return nil, err
		}
		if _, err := c.activate(users[i], created.InitialPassword, benchPW); err != nil {
			return nil, err
		}
	}

	salt := []byte("0123456789abcdef")
	login := func(w int) error {
		var t tokens
		if err := c.do("POST", "/identity/v1/login", "", map[string]string{"username": users[w], "password": benchPW}, &t); err != nil {
			return err
		}
		if t.AccessToken == "" {
			return errors.New("login answered no access token")
		}
		return nil
	}
	hash := func(int) error {
		_ = argon2.IDKey([]byte(benchPW), salt, uint32(cfg.Argon2Passes), uint32(cfg.Argon2MemoryKiB), 1, 32)
		return nil
	}
	rows := [][]string{{"clients", "logins", "login/s", "argon2id hashes/s (anchor)", "ratio", "login p50 ms", "login p99 ms", "hash p50 ms", "hash p99 ms"}}
	type side struct {
		rate float64
		lat  []time.Duration
	}
	best := func(b *side, rate float64, lat []time.Duration) {
		if rate > b.rate {
			b.rate, b.lat = rate, lat
		}
	}
	for _, n := range o.conc {
		var h, l side
		for round := range o.rounds {
			fmt.Fprintf(os.Stderr, "authbench: %d logins with %d clients, and the anchor (round %d/%d)\n", o.logins, n, round+1, o.rounds)
			// Alternate which side goes first, so a change in the
			// machine's load does not always favour the same one.
			for k := range 2 {
				if (k+round)%2 == 0 {
					rate, lat, err := latencies(n, o.logins, hash)
					if err != nil {
						return nil, err
					}
					best(&h, rate, lat)
					continue
				}
				rate, lat, err := latencies(n, o.logins, login)
				if err != nil {
					return nil, err
				}
				best(&l, rate, lat)
			}
		}
		var logged int
		// Each login recorded its login-log row for the audit function, in
		// the login's transaction (the events wait in the outbox here).
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM platform.outbox WHERE event_type = 'cn.gov.sjz.amr.audit.login.recorded.v1'
			AND event->'data'->>'result' = 'success' AND event->'data'->>'username' LIKE 'bench%'`).Scan(&logged); err != nil {
			return nil, err
		}
		if logged < o.logins*o.rounds {
			return nil, fmt.Errorf("login log holds %d successful bench logins, want at least %d", logged, o.logins*o.rounds)
		}
		rows = append(rows, []string{strconv.Itoa(n), strconv.Itoa(o.logins), fmt.Sprintf("%.1f", l.rate), fmt.Sprintf("%.1f", h.rate),
			fmt.Sprintf("%.2f", l.rate/h.rate), ms(pct(l.lat, 0.5)), ms(pct(l.lat, 0.99)), ms(pct(h.lat, 0.5)), ms(pct(h.lat, 0.99))})
	}
	return rows, nil
}
