package crawlershard

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/sim/sitefarm"
)

// TestMain lets the kill test run this binary as a crawler instance.
func TestMain(m *testing.M) {
	if os.Getenv("CRAWL_CHILD_DB") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

func testConfig(farmAddr string) Config {
	c := config.Defaults[Config]()
	c.Resolve = sitefarm.Domain + "=" + farmAddr
	c.Lease = 500 * time.Millisecond
	c.RetryBase = 20 * time.Millisecond
	c.MaxPageBytes = 4 << 20
	c.HostsParallel = 16
	return c
}

func newCrawler(t testing.TB, pool *pgxpool.Pool, c Config, log *slog.Logger) *Function {
	t.Helper()
	f, err := New(Deps{Logger: log, Pool: pool, Redis: newRedis(t), Now: time.Now, Verifier: authtest.NewIssuer(t.(*testing.T)).Verifier()}, c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// crawlAll runs every shard of a job to its end, as the shard events would.
func crawlAll(ctx context.Context, f *Function, j Job) error {
	var wg sync.WaitGroup
	errc := make(chan error, j.Shards)
	for s := 0; s < j.Shards; s++ {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- f.CrawlShard(ctx, j.ID, s) }()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestNormalize(t *testing.T) {
	base, _ := url.Parse("http://s1.farm.test/p/1")
	for in, want := range map[string]string{
		"HTTP://S1.FARM.TEST:80/p/2#top": "http://s1.farm.test/p/2",
		"./p/../p/3":                     "http://s1.farm.test/p/p/3",
		"../x/./y/":                      "http://s1.farm.test/x/y/",
		"https://a.test:443":             "https://a.test/",
		"http://a.test:8080/a?b=1":       "http://a.test:8080/a?b=1",
	} {
		u, err := Normalize(base, in)
		if err != nil || u.String() != want {
			t.Errorf("Normalize(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	if _, err := Normalize(base, "mailto:x@farm.test"); err == nil {
		t.Error("mailto accepted")
	}
	for _, s := range []string{"http://t/a/a/a/a", "http://t/" + strings.Repeat("x", 600)} {
		u, _ := url.Parse(s)
		if trap(u) == "" {
			t.Errorf("%s not taken for a trap", s)
		}
	}
}

// The whole farm with its hazards: every hazard ends with a logged reason
// and the crawl goes on; entities and products are extracted; politeness
// holds.
func TestCrawlFarmWithHazards(t *testing.T) {
	farm := sitefarm.New(12, 60*time.Millisecond)
	farm.SlowLatency = 100 * time.Millisecond
	srv := httptest.NewServer(farm)
	defer srv.Close()
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	pool := storetest.New(t, Migrations()...)
	f := newCrawler(t, pool, testConfig(strings.TrimPrefix(srv.URL, "http://")), log)
	ctx := context.Background()
	j, err := f.CreateJob(ctx, Job{Name: "全农场", Seeds: farm.Seeds(true), Scope: []string{sitefarm.Domain}, MaxDepth: 4, MaxPagesHost: 20, DelayMS: 10, Shards: 4})
	if err != nil {
		t.Fatal(err)
	}
	var events int
	pool.QueryRow(ctx, `SELECT count(*) FROM platform.outbox WHERE event_type LIKE '%crawl.shard.requested.v1'`).Scan(&events)
	if events < 2 || events > 4 {
		t.Errorf("%d shard events for 4 shards", events)
	}
	if err := crawlAll(ctx, f, j); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < farm.Shops; i++ {
		for _, p := range sitefarm.ShopPages(i) {
			if n := farm.Hits(p); n != 1 {
				var row string
				pool.QueryRow(ctx, `SELECT state || ' attempts ' || attempts || ' ' || reason FROM crawlershard.frontier WHERE job_id = $1 AND url = $2`, j.ID, p).Scan(&row)
				t.Errorf("%s fetched %d times (%s)", p, n, row)
			}
		}
	}
	if v := farm.Violations(5 * time.Millisecond); len(v) > 0 {
		t.Errorf("politeness violated:\n%s", strings.Join(v, "\n"))
	}
	reason := func(u string) string {
		var r string
		pool.QueryRow(ctx, `SELECT state || ':' || reason FROM crawlershard.frontier WHERE job_id = $1 AND url = $2`, j.ID, u).Scan(&r)
		return r
	}
	for u, want := range map[string]string{
		"http://" + sitefarm.HostHuge + "/big":              "failed:页面超过",
		"http://" + sitefarm.HostLoop + "/r/5":              "failed:重定向超过 5 次",
		"http://" + sitefarm.HostFlaky + "/":                "done:",
		"http://" + sitefarm.HostBroken + "/":               "done:",
		"http://" + sitefarm.ShopHost(1) + "/private/admin": "skipped:robots.txt 禁止抓取",
	} {
		if got := reason(u); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q…", u, got, want)
		}
	}
	if n := farm.Hits("http://" + sitefarm.HostLoop + "/r/6"); n != 0 {
		t.Errorf("redirect followed past the bound")
	}
	mu.Lock()
	if !strings.Contains(logs.String(), "页面超过") || !strings.Contains(logs.String(), "重定向超过") {
		t.Errorf("hazards not logged with a reason:\n%s", logs.String())
	}
	mu.Unlock()
	var trapPages int
	pool.QueryRow(ctx, `SELECT count(*) FROM crawlershard.frontier WHERE job_id = $1 AND host = $2`, j.ID, sitefarm.HostTrap).Scan(&trapPages)
	if trapPages > 20 {
		t.Errorf("the calendar trap took %d pages", trapPages)
	}
	// GBK and Big5 pages come out as UTF-8 Chinese.
	for host, want := range map[string]string{sitefarm.HostGBK: "全国最低价", sitefarm.HostBig5: "產品品質優良"} {
		var text, cs string
		pool.QueryRow(ctx, `SELECT body_text, charset FROM crawlershard.pages WHERE job_id = $1 AND host = $2`, j.ID, host).Scan(&text, &cs)
		if !strings.Contains(text, want) {
			t.Errorf("%s (%s): %q", host, cs, text)
		}
	}
	// Entities with valid credit codes, products with prices.
	ents, total, err := listEntities(ctx, pool, EntityFilter{}, httpx.Page{Page: 1, Size: 100})
	if err != nil || total != farm.Shops {
		t.Fatalf("entities: %d %v", total, err)
	}
	for _, e := range ents {
		if codes.CheckCreditCode(e.CreditCode) != nil || e.Name == "" || e.District == "" {
			t.Errorf("entity %+v", e)
		}
	}
	var products int
	pool.QueryRow(ctx, `SELECT count(*) FROM crawlershard.online_objects('-infinity') WHERE kind = 'product' AND price > 0`).Scan(&products)
	if products != farm.Shops*sitefarm.ProductsPerShop {
		t.Errorf("%d products", products)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// child is one crawler instance of the kill test: it crawls every shard.
func child() int {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("CRAWL_CHILD_DB"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c := testConfig(os.Getenv("CRAWL_CHILD_FARM"))
	rdb := newRedisPlain()
	f, err := New(Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: rdb, Now: time.Now, Verifier: nopVerifier{}}, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	id, _ := strconv.ParseInt(os.Getenv("CRAWL_CHILD_JOB"), 10, 64)
	j, err := getJob(ctx, pool, id)
	if err == nil {
		err = crawlAll(ctx, f, j)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Kill test (issue 15): kill -9 of a crawler instance mid-crawl, then a
// restart: the crawl completes, no committed page is fetched again, a page
// sent and not committed at the kill at most once more, and robots.txt and
// Crawl-delay are never violated.
func TestKillAndResume(t *testing.T) {
	farm := sitefarm.New(60, 80*time.Millisecond)
	srv := httptest.NewServer(farm)
	defer srv.Close()
	pool := storetest.New(t, Migrations()...)
	c := testConfig(strings.TrimPrefix(srv.URL, "http://"))
	f := newCrawler(t, pool, c, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	j, err := f.CreateJob(ctx, Job{Name: "杀进程测试", Seeds: farm.Seeds(false), Scope: []string{sitefarm.Domain}, MaxDepth: 2, MaxPagesHost: 50, DelayMS: 0, Shards: 4})
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CRAWL_CHILD_DB="+pool.Config().ConnString(), "CRAWL_CHILD_FARM="+strings.TrimPrefix(srv.URL, "http://"),
			"CRAWL_CHILD_JOB="+strconv.FormatInt(j.ID, 10))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	done := func() int {
		var n int
		pool.QueryRow(ctx, `SELECT count(*) FROM crawlershard.frontier WHERE job_id = $1 AND state = 'done'`, j.ID).Scan(&n)
		return n
	}
	total := farm.Shops * (1 + sitefarm.ProductsPerShop)
	for i := 0; i < farm.Shops; i++ {
		if sitefarm.HasLicence(i) {
			total++ // its /licence page
		}
	}
	first := start()
	deadline := time.Now().Add(60 * time.Second)
	for done() < total/3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	atKill := done()
	if atKill >= total {
		t.Fatalf("the crawl ended before the kill (%d pages)", atKill)
	}
	// What the farm had served and what was committed when the instance died.
	servedAtKill := farm.AllHits()
	committed := map[string]bool{}
	rows, err := pool.Query(ctx, `SELECT url FROM crawlershard.frontier WHERE job_id = $1 AND state = 'done'`, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		rows.Scan(&u)
		committed[u] = true
	}
	rows.Close()
	inflight := 0 // sent and not committed
	for u, n := range servedAtKill {
		if n > 0 && !committed[u] && !strings.HasSuffix(u, "/robots.txt") {
			inflight++
		}
	}
	second := start()
	if err := second.Wait(); err != nil {
		t.Fatalf("restarted instance: %v", err)
	}
	if n := done(); n != total {
		t.Fatalf("done %d of %d pages after restart", n, total)
	}
	twice := 0
	for i := 0; i < farm.Shops; i++ {
		for _, p := range sitefarm.ShopPages(i) {
			n := farm.Hits(p)
			switch {
			case n == 0:
				t.Errorf("%s never fetched", p)
			case n > 1:
				twice++
			}
			// A page committed before the kill is never fetched again; one
			// sent and not committed (its instance died first) once more.
			if committed[p] && n != 1 || !committed[p] && n > servedAtKill[p]+1 {
				t.Errorf("%s fetched %d times (%d before the kill, committed %v)", p, n, servedAtKill[p], committed[p])
			}
		}
	}
	if twice > inflight {
		t.Errorf("%d pages fetched twice, only %d were sent and not committed at the kill", twice, inflight)
	}
	// What a kill can cost is bounded by the claim batch of each worker.
	if max := c.HostsParallel * j.Shards * c.ClaimBatch; inflight > max {
		t.Errorf("%d pages sent and not committed at the kill, more than %d workers' batches", inflight, max)
	}
	if v := farm.Violations(5 * time.Millisecond); len(v) > 0 {
		t.Errorf("politeness violated:\n%s", strings.Join(v, "\n"))
	}
	t.Logf("killed at %d/%d pages with %d sent and not committed; %d pages fetched twice; %d requests in all", atKill, total, inflight, twice, farm.Requests())
}

type nopVerifier struct{}

func (nopVerifier) Middleware(next http.Handler) http.Handler { return next }

func newRedisPlain() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 10})
}

// A shard event crawls for its budget and re-emits the shard for the rest.
func TestReceiveContinuesAShard(t *testing.T) {
	farm := sitefarm.New(2, 400*time.Millisecond)
	srv := httptest.NewServer(farm)
	defer srv.Close()
	pool := storetest.New(t, Migrations()...)
	c := testConfig(strings.TrimPrefix(srv.URL, "http://"))
	c.ShardBudget = time.Second
	f := newCrawler(t, pool, c, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	j, err := f.CreateJob(ctx, Job{Name: "预算", Seeds: farm.Seeds(false), Scope: []string{sitefarm.Domain}, MaxDepth: 1, MaxPagesHost: 10, Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		pool.QueryRow(ctx, `SELECT count(*) FROM platform.outbox WHERE event_type = $1`, events.CrawlShardRequested).Scan(&n)
		return n
	}
	e := cloudevents.New()
	e.SetID("x")
	e.SetSource(Source)
	e.SetType(events.CrawlShardRequested)
	_ = e.SetData(cloudevents.ApplicationJSON, events.CrawlShardRequestedData{JobID: j.ID, Shard: 0, Shards: 1, Hosts: 2})
	if _, err := f.Receive(ctx, e); err != nil {
		t.Fatal(err)
	}
	if count() != 2 {
		t.Fatalf("%d shard events after a delivery that ran out of budget", count())
	}
	for i := 0; i < 5 && count() < 10; i++ {
		before := count()
		if _, err := f.Receive(ctx, e); err != nil {
			t.Fatal(err)
		}
		if count() == before {
			break // finished without a continuation
		}
	}
	p, _ := f.Progress(ctx, j.ID)
	if p.States["queued"]+p.States["fetching"] != 0 || p.States["done"] == 0 {
		t.Fatalf("progress %v", p.States)
	}
}
