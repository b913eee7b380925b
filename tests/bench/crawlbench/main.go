// Command crawlbench crawls the site farm (tests/sim/sitefarm) with
// crawler-shard and with Colly (github.com/gocolly/colly/v2) at equal
// politeness: robots.txt honoured by both, one request at a time per host,
// the same Crawl-delay, the same depth. It prints pages per second, pages
// per CPU-second and the peak heap of each (issue 15).
//
//	go run ./bench/crawlbench -shops 400 -delay 0
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gocolly/colly/v2"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	crawlershard "github.com/sjzamr/smartreg/functions/crawler-shard"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/sim/sitefarm"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "crawlbench:", err)
		os.Exit(1)
	}
}

type nopVerifier struct{}

func (nopVerifier) Middleware(h http.Handler) http.Handler { return h }

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type peak struct {
	stop chan struct{}
	max  atomic.Uint64
	wg   sync.WaitGroup
}

func watchHeap() *peak {
	p := &peak{stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > p.max.Load() {
				p.max.Store(ms.HeapInuse)
			}
			select {
			case <-p.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *peak) end() uint64 { close(p.stop); p.wg.Wait(); return p.max.Load() }

// backendCPU is the CPU time the PostgreSQL backends serving database
// db have used so far (their /proc entries; the machine's own server).
func backendCPU(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, db string) time.Duration {
	rows, err := q.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, db)
	if err != nil {
		return 0
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
	var sum time.Duration
	for _, pid := range pids {
		sum += procCPU(int(pid))
	}
	return sum
}

// procCPU is a process's user + system time from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s) // from field 3 (state) on
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// redisCPU is the Redis server's CPU time so far (INFO cpu).
func redisCPU(ctx context.Context, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var sum float64
	for _, l := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			x, _ := strconv.ParseFloat(v, 64)
			sum += x
		}
	}
	return time.Duration(sum * float64(time.Second))
}

// pagesOf counts the distinct pages the farm served (robots.txt aside):
// Colly requests one address twice when a link spells it differently
// (upper-case host, :80, #fragment), which a request count would credit.
func pagesOf(f *sitefarm.Farm) int {
	n := 0
	for u := range f.AllHits() {
		if !strings.HasSuffix(u, "/robots.txt") {
			n++
		}
	}
	return n
}

func run() error {
	shops := flag.Int("shops", 400, "shop hosts")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the crawler-shard run to this file")
	delay := flag.Duration("delay", 0, "Crawl-delay every robots.txt announces")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	flag.Parse()
	ctx := context.Background()

	// The farm runs in another process's worth of budget: its CPU counts
	// for both crawlers alike, so the per-CPU figures carry it equally.
	mk := func() (*sitefarm.Farm, *httptest.Server) {
		f := sitefarm.New(*shops, *delay)
		return f, httptest.NewServer(f)
	}
	pages := *shops * (1 + sitefarm.ProductsPerShop)

	// crawler-shard.
	farm, srv := mk()
	conn, err := pgx.Connect(ctx, *admin)
	if err != nil {
		return err
	}
	_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS bench_crawl WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE bench_crawl`); err != nil {
		return err
	}
	conn.Close(ctx)
	url := strings.Replace(*admin, "/postgres?", "/bench_crawl?", 1)
	pool, err := store.Connect(ctx, url, 40)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, crawlershard.Migrations()...)...); err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 11})
	rdb.FlushDB(ctx)
	c := config.Defaults[crawlershard.Config]()
	c.Resolve = sitefarm.Domain + "=" + strings.TrimPrefix(srv.URL, "http://")
	f, err := crawlershard.New(crawlershard.Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: rdb, Now: time.Now, Verifier: nopVerifier{}}, c)
	if err != nil {
		return err
	}
	j, err := f.CreateJob(ctx, crawlershard.Job{Name: "bench", Seeds: farm.Seeds(false), Scope: []string{sitefarm.Domain}, MaxDepth: 2,
		MaxPagesHost: 50, DelayMS: int(delay.Milliseconds()), Shards: 8})
	if err != nil {
		return err
	}
	runtime.GC()
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	hp := watchHeap()
	// Backends that exist before the run (the migration's) are subtracted.
	pg0, rd0 := backendCPU(ctx, pool, "bench_crawl"), redisCPU(ctx, rdb)
	c0, t0 := cpu(), time.Now()
	var wg sync.WaitGroup
	for s := 0; s < j.Shards; s++ {
		wg.Add(1)
		go func() { defer wg.Done(); _ = f.CrawlShard(ctx, j.ID, s) }()
	}
	wg.Wait()
	oursWall, oursCPU, oursHeap := time.Since(t0), cpu()-c0, hp.end()
	oursPG, oursRedis := backendCPU(ctx, pool, "bench_crawl")-pg0, redisCPU(ctx, rdb)-rd0
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	oursReq, oursPages := farm.Requests(), pagesOf(farm)
	oursViol := len(farm.Violations(2 * time.Millisecond))
	srv.Close()

	// Colly, same farm, same politeness.
	farm, srv = mk()
	defer srv.Close()
	to := strings.TrimPrefix(srv.URL, "http://")
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{MaxIdleConnsPerHost: 2, DialContext: func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, to) }}
	col := colly.NewCollector(colly.Async(true), colly.MaxDepth(3), colly.AllowedDomains(), colly.UserAgent("SmartRegBot"))
	col.IgnoreRobotsTxt = false
	col.WithTransport(tr)
	col.SetRequestTimeout(20 * time.Second)
	_ = col.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: 1, Delay: *delay})
	col.OnHTML("a[href]", func(e *colly.HTMLElement) {
		u := e.Request.AbsoluteURL(e.Attr("href"))
		if strings.Contains(u, "."+sitefarm.Domain) {
			_ = e.Request.Visit(u)
		}
	})
	col.OnResponse(func(r *colly.Response) { _, _ = io.Discard.Write(r.Body) })
	runtime.GC()
	hp = watchHeap()
	c0, t0 = cpu(), time.Now()
	for _, s := range farm.Seeds(false) {
		_ = col.Visit(s)
	}
	col.Wait()
	collyWall, collyCPU, collyHeap := time.Since(t0), cpu()-c0, hp.end()
	collyReq, collyPages := farm.Requests(), pagesOf(farm)
	if os.Getenv("CRAWLBENCH_DEBUG") != "" {
		n := 0
		for u, k := range farm.AllHits() {
			if k > 1 && n < 10 {
				fmt.Println("colly fetched twice:", u, k)
				n++
			}
		}
	}
	collyViol := len(farm.Violations(2 * time.Millisecond))

	fmt.Printf("farm: %d shops, %d shop pages (+licence pages), Crawl-delay %v, depth 2\n", *shops, pages, *delay)
	fmt.Printf("| crawler | requests | pages (distinct) | wall | pages/s | CPU s | pages per CPU-second | requests per CPU-second | peak heap | politeness violations |\n|---|---|---|---|---|---|---|---|---|---|\n")
	row := func(name string, req, pages int, wall, cpu time.Duration, heap uint64, viol int) {
		fmt.Printf("| %s | %d | %d | %v | %.0f | %.2f | %.0f | %.0f | %.1f MiB | %d |\n", name, req, pages, wall.Round(time.Millisecond), float64(pages)/wall.Seconds(),
			cpu.Seconds(), float64(pages)/cpu.Seconds(), float64(req)/cpu.Seconds(), float64(heap)/(1<<20), viol)
	}
	all := oursCPU + oursPG + oursRedis
	row("crawler-shard (PostgreSQL frontier, Redis limiter), process CPU", oursReq, oursPages, oursWall, oursCPU, oursHeap, oursViol)
	row("crawler-shard, PostgreSQL backends' and Redis's CPU added", oursReq, oursPages, oursWall, all, oursHeap, oursViol)
	row("Colly v2.3.0 (in-memory)", collyReq, collyPages, collyWall, collyCPU, collyHeap, collyViol)
	fmt.Printf("PostgreSQL backends %.2f CPU s, Redis %.2f CPU s\n", oursPG.Seconds(), oursRedis.Seconds())
	per := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
	fmt.Printf("crawler-shard ÷ Colly, pages per CPU-second: %.2f process only, %.2f with PostgreSQL and Redis; requests per CPU-second: %.2f, %.2f\n",
		per(oursPages, oursCPU)/per(collyPages, collyCPU), per(oursPages, all)/per(collyPages, collyCPU),
		per(oursReq, oursCPU)/per(collyReq, collyCPU), per(oursReq, all)/per(collyReq, collyCPU))
	fmt.Printf("wall pages/s crawler-shard ÷ Colly: %.2f\n", per(oursPages, oursWall)/per(collyPages, collyWall))
	return nil
}
