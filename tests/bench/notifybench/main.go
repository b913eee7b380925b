// Command notifybench measures one notify instance holding many open
// consoles (issue 23) and writes the result into docs/benchmarks.md:
//
//   - memory per stream: the notify function runs in a child process of
//     its own (this program with -serve), so its memory is measured apart
//     from the 2 000 clients: Go heap and stacks in use (after a GC) and
//     the resident set, before and after the streams open, divided by the
//     streams;
//   - delivery: a notice aimed at a role all 2 000 users hold is posted
//     (notify's Receive: stored once under its inbox mark, published on
//     Redis, fanned out by the instance's subscription to every matching
//     stream); the time from the post to each stream's "notice" event, and
//     to the last of the 2 000, over several notices. Target: p99 < 500 ms;
//   - the anchor: a bare SSE handler in the same child (no token, no
//     database, no Redis: one channel per stream, written in a loop), with
//     the same number of streams from the same client, so what notify adds
//     per stream and per delivery is visible against the machine's floor.
//
// Usage: go run ./tests/bench/notifybench [-streams 2000] [-notices 20] [-out docs/benchmarks.md]
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/notify"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const (
	benchDB  = "bench_notifybench"
	issuer   = "http://localhost:8080/identity/oidc"
	audience = "smartreg"
	role     = "bench"
)

type options struct {
	streams, notices int
	redis, out       string
	serve            bool
}

func main() {
	var o options
	flag.IntVar(&o.streams, "streams", 2000, "concurrent SSE streams")
	flag.IntVar(&o.notices, "notices", 20, "notices posted, one after another")
	flag.StringVar(&o.redis, "redis", "127.0.0.1:6379", "Redis address (DB 12, a per-run channel)")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown file to update")
	flag.BoolVar(&o.serve, "serve", false, "run the notify instance (the child process)")
	flag.Parse()
	var err error
	if o.serve {
		err = serve(context.Background(), o)
	} else {
		err = run(context.Background(), o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifybench:", err)
		os.Exit(1)
	}
}

// ---- the child: one notify instance ----

// serve runs notify (and the bare anchor) on a loopback port and prints
// it; the key to verify tokens comes from the parent.
func serve(ctx context.Context, o options) error {
	seed, err := hex.DecodeString(os.Getenv("NOTIFYBENCH_KEY"))
	if err != nil {
		return err
	}
	key, err := auth.KeyFromSeed("", seed)
	if err != nil {
		return err
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: issuer, Audience: audience, Key: key})
	if err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: issuer, Audience: audience})
	if err != nil {
		return err
	}
	defer verifier.Close()
	pool, err := store.Connect(ctx, storetest.URLFor(benchDB), 10)
	if err != nil {
		return err
	}
	defer pool.Close()
	rdb := redis.NewClient(&redis.Options{Addr: o.redis, DB: 12})
	defer rdb.Close()
	cfg := config.Defaults[notify.Config]()
	cfg.Channel = os.Getenv("NOTIFYBENCH_CHANNEL")
	cfg.KeepAlive, cfg.MaxStreamAge = time.Minute, 290*time.Second // no stream ends during a run
	fn, err := notify.New(notify.Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: rdb, Verifier: verifier, Now: time.Now}, cfg)
	if err != nil {
		return err
	}
	defer fn.Stop(ctx) //nolint:errcheck
	raw := newRaw()
	mux := http.NewServeMux()
	mux.Handle("/", runtime.Handler(notify.Name, fn, runtime.Options{Logger: slog.New(slog.DiscardHandler)}))
	mux.HandleFunc("GET /bench/mem", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(memory()) })
	mux.HandleFunc("POST /bench/notice", func(w http.ResponseWriter, r *http.Request) {
		e := event.New()
		e.SetID(uuid.NewString())
		e.SetSource("/functions/notifybench")
		e.SetType(events.NotifyNoticeRequested)
		_ = e.SetData(event.ApplicationJSON, sharednotify.Notice{Title: r.URL.Query().Get("title"), Level: "warning", Popup: true,
			Roles: []string{role}}.Data("/functions/notifybench"))
		if _, err := fn.Receive(r.Context(), e); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /bench/raw", raw.stream)
	mux.HandleFunc("POST /bench/raw", raw.post)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("LISTEN", ln.Addr().String())
	return http.Serve(ln, mux)
}

// raw is the anchor: the least an SSE fan-out can do.
type raw struct {
	mu      sync.Mutex
	clients map[chan string]struct{}
}

func newRaw() *raw { return &raw{clients: map[chan string]struct{}{}} }

func (a *raw) stream(w http.ResponseWriter, r *http.Request) {
	ch := make(chan string, 16)
	a.mu.Lock()
	a.clients[ch] = struct{}{}
	a.mu.Unlock()
	defer func() { a.mu.Lock(); delete(a.clients, ch); a.mu.Unlock() }()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "event: ready\ndata: {}\n\n")
	_ = rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case m := <-ch:
			fmt.Fprintf(w, "event: notice\ndata: %s\n\n", m)
			if rc.Flush() != nil {
				return
			}
		}
	}
}

func (a *raw) post(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(map[string]string{"title": r.URL.Query().Get("title")})
	a.mu.Lock()
	for ch := range a.clients {
		select {
		case ch <- string(b):
		default:
		}
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

type mem struct {
	Heap, Stack, RSS uint64 // bytes
	Goroutines       int
}

// memory is the steady state after collections: an idle goroutine's stack
// is halved by each GC while it uses under a quarter of it, as a
// long-running server's are between notices.
func memory() mem {
	for range 3 {
		goruntime.GC()
	}
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return mem{Heap: m.HeapInuse, Stack: m.StackInuse, RSS: rss(), Goroutines: goruntime.NumGoroutine()}
}

// rss is the process's resident set from /proc (Linux).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// ---- the parent: 2 000 consoles ----

func run(ctx context.Context, o options) error {
	if err := recreateDB(ctx); err != nil {
		return err
	}
	defer dropDB(context.Background())
	pool, err := store.Connect(ctx, storetest.URLFor(benchDB), 4)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, notify.Migrations()...)...); err != nil {
		return err
	}
	pool.Close()
	key, err := auth.GenerateKey()
	if err != nil {
		return err
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: issuer, Audience: audience, Key: key, TTL: time.Hour})
	if err != nil {
		return err
	}
	seed := hex.EncodeToString(key.Private.Seed())
	fmt.Fprintf(os.Stderr, "notifybench: %d notify streams\n", o.streams)
	tokens := make([]string, o.streams)
	for i := range tokens {
		raw, _, err := iss.Issue(auth.Principal{UserID: fmt.Sprintf("bench-%05d", i), Username: fmt.Sprintf("bench%05d", i),
			DeptID: "d-bench", SessionID: uuid.NewString(), Roles: []string{role}, Perms: []string{"notify.notice:view"}, Scope: auth.All()})
		if err != nil {
			return err
		}
		tokens[i] = raw
	}
	nt, err := measure(ctx, o, seed, "/notify/v1/notices/stream", "/bench/notice", tokens)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	fmt.Fprintf(os.Stderr, "notifybench: %d bare streams (anchor)\n", o.streams)
	an, err := measure(ctx, o, seed, "/bench/raw", "/bench/raw", make([]string, o.streams))
	if err != nil {
		return fmt.Errorf("anchor: %w", err)
	}
	rows := [][]string{{"", "streams", "Go heap + stacks per stream", "RSS per stream", "delivery p50", "delivery p99", "to all streams, median", "to all streams, worst"}}
	for _, c := range []struct {
		name string
		r    measured
	}{{"notify (token, database, Redis fan-out)", nt}, {"bare SSE handler (anchor)", an}} {
		rows = append(rows, []string{c.name, strconv.Itoa(o.streams), kib(c.r.goPerStream), kib(c.r.rssPerStream), msf(c.r.p50), msf(c.r.p99), msf(c.r.allMedian), msf(c.r.allWorst)})
	}
	rows = append(rows, []string{"notify ÷ anchor", "", ratio(nt.goPerStream, an.goPerStream), ratio(nt.rssPerStream, an.rssPerStream),
		ratio(float64(nt.p50), float64(an.p50)), ratio(float64(nt.p99), float64(an.p99)), ratio(float64(nt.allMedian), float64(an.allMedian)), ""})
	verdict := "meets"
	if nt.p99 >= 500*time.Millisecond {
		verdict = "misses"
	}
	return report.Write(o.out, "notifybench", report.Section{
		Title: fmt.Sprintf("notify: one instance, %d open SSE streams (notifybench)", o.streams),
		Intro: fmt.Sprintf("`go run ./tests/bench/notifybench` (issue 23), %d CPUs shared with other work, client and server on the same machine "+
			"(the %d clients' goroutines compete with the server for the two cores, so delivery times are upper bounds). One notify "+
			"instance in a child process (`-serve`: `notify.New` behind `runtime.Handler`, real PostgreSQL and Redis, tokens verified "+
			"in-process), %d streams opened with each user's own access token as the console does, then %d notices aimed at a role all of "+
			"them hold, posted one after another: each is stored under its inbox mark, published on Redis, and fanned out by the instance's "+
			"one subscription. *Delivery* is the time from the post to a stream's `notice` event, over all %d deliveries; *to all streams* "+
			"is the time until the last stream had it. Memory is the child's, after a GC, before and after the streams opened, divided by "+
			"the streams. The anchor is a bare SSE handler in the same child (no token, no database, no Redis). Target p99 < 500 ms: "+
			"**%s** (%s).", goruntime.NumCPU(), o.streams, o.streams, o.notices, o.streams*o.notices, verdict, msf(nt.p99)),
		Rows: rows,
	})
}

type measured struct {
	goPerStream, rssPerStream float64 // bytes
	p50, p99                  time.Duration
	allMedian, allWorst       time.Duration
}

// child starts a fresh server process (each side of the comparison gets
// its own, so neither inherits the other's pooled buffers) and answers
// its address.
func child(o options, seed string) (*exec.Cmd, string, error) {
	cmd := exec.Command(os.Args[0], "-serve", "-redis", o.redis)
	cmd.Env = append(os.Environ(), "NOTIFYBENCH_KEY="+seed, fmt.Sprintf("NOTIFYBENCH_CHANNEL=notifybench:%d", os.Getpid()))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTEN ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("child did not start: %q %v", line, err)
	}
	return cmd, "http://" + strings.TrimSpace(strings.TrimPrefix(line, "LISTEN ")), nil
}

// measure opens len(tokens) streams at path on a fresh child, posts
// o.notices notices at post one at a time, and times each delivery.
func measure(ctx context.Context, o options, seed, path, post string, tokens []string) (measured, error) {
	var res measured
	notices := o.notices
	cmd, base, err := child(o, seed)
	if err != nil {
		return res, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(tokens), DisableCompression: true}}
	defer client.CloseIdleConnections()
	before, err := childMem(client, base)
	if err != nil {
		return res, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ready sync.WaitGroup
	var failed atomic.Value
	arrivals := make([]chan time.Time, notices) // one per notice, every stream sends its arrival
	for i := range arrivals {
		arrivals[i] = make(chan time.Time, len(tokens))
	}
	var streams sync.WaitGroup
	for i, tok := range tokens {
		ready.Add(1)
		streams.Go(func() {
			if err := readStream(sctx, client, base+path, tok, &ready, arrivals); err != nil && sctx.Err() == nil {
				failed.Store(fmt.Errorf("stream %d: %w", i, err))
			}
		})
		if i%200 == 199 { // open in waves, as consoles arrive, not as a SYN flood
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := waitGroup(&ready, 2*time.Minute); err != nil {
		if f, ok := failed.Load().(error); ok {
			return res, f
		}
		return res, fmt.Errorf("streams not ready: %w", err)
	}
	if f, ok := failed.Load().(error); ok {
		return res, f
	}
	after, err := childMem(client, base)
	if err != nil {
		return res, err
	}
	n := float64(len(tokens))
	res.goPerStream = (float64(after.Heap+after.Stack) - float64(before.Heap+before.Stack)) / n
	res.rssPerStream = (float64(after.RSS) - float64(before.RSS)) / n
	var all []time.Duration
	var last []time.Duration
	for k := range notices {
		t0 := time.Now()
		resp, err := client.Post(base+post+"?title="+fmt.Sprintf("bench-%d", k), "application/json", nil)
		if err != nil {
			return res, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return res, fmt.Errorf("post notice: %d", resp.StatusCode)
		}
		var worst time.Duration
		deadline := time.After(time.Minute)
		for range tokens {
			select {
			case at := <-arrivals[k]:
				d := at.Sub(t0)
				all = append(all, d)
				worst = max(worst, d)
			case <-deadline:
				return res, fmt.Errorf("notice %d did not reach every stream", k)
			}
		}
		last = append(last, worst)
		time.Sleep(100 * time.Millisecond) // let the streams settle between notices
	}
	slices.Sort(all)
	slices.Sort(last)
	res.p50, res.p99 = all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
	res.allMedian, res.allWorst = last[len(last)/2], last[len(last)-1]
	cancel()
	streams.Wait()
	return res, nil
}

// readStream reads one SSE stream, reporting ready once and each notice's
// arrival (the k-th notice of the run goes to arrivals[k]).
func readStream(ctx context.Context, client *http.Client, url, token string, ready *sync.WaitGroup, arrivals []chan time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		ready.Done()
		return err
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: token})
	}
	resp, err := client.Do(req)
	if err != nil {
		ready.Done()
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready.Done()
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	var name string
	got, isReady := 0, false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			switch name {
			case "ready":
				if !isReady {
					isReady = true
					ready.Done()
				}
			case "notice":
				if got < len(arrivals) {
					arrivals[got] <- time.Now()
					got++
				}
			}
		}
	}
	if !isReady {
		ready.Done()
	}
	return sc.Err()
}

func waitGroup(wg *sync.WaitGroup, d time.Duration) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(d):
		return errors.New("timed out")
	}
}

func childMem(client *http.Client, base string) (mem, error) {
	var m mem
	resp, err := client.Get(base + "/bench/mem")
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

func kib(b float64) string       { return fmt.Sprintf("%.1f KiB", b/1024) }
func msf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

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
