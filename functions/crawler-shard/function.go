// Package crawlershard is the crawler-shard function (网络爬虫, issue 15):
// crawl jobs (seeds, scope, depth, politeness) split by host hash into
// crawl.shard.requested events, so Knative scales crawler instances out
// with the work; a frontier in PostgreSQL (a killed instance resumes and
// never fetches a committed page again); robots.txt with Crawl-delay
// (github.com/temoto/robotstxt); a per-host rate limit shared in Redis;
// bounded retries, redirects and traps; charset decoding; extractors that
// turn shop pages into online entities and products. Read crawl.go first.
package crawlershard

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "crawler-shard"

// Source is the CloudEvents source of everything crawler-shard emits.
const Source = "/functions/crawler-shard"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the crawlershard schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	HostsParallel int           `env:"CRAWL_HOSTS_PARALLEL" default:"32" help:"一个分片同时抓取的主机数（每台主机同一时刻只有一个请求）"`
	ClaimBatch    int           `env:"CRAWL_CLAIM_BATCH" default:"8" help:"一次为一台主机领取的地址数：逐个抓取后与其他主机的结果同一事务提交（实例被杀时至多重抓这么多页）"`
	Lease         time.Duration `env:"CRAWL_LEASE" default:"30s" help:"主机与地址租约时长；实例被杀后租约到期即由其他实例接手"`
	MaxRedirects  int           `env:"CRAWL_MAX_REDIRECTS" default:"5" help:"一个地址最多跟随的重定向次数"`
	MaxAttempts   int           `env:"CRAWL_MAX_ATTEMPTS" default:"4" help:"网络错误或 5xx 时最多尝试次数（指数退避）"`
	RetryBase     time.Duration `env:"CRAWL_RETRY_BASE" default:"2s" help:"重试退避的起始间隔（每次加倍）"`
	MaxPageBytes  int64         `env:"CRAWL_MAX_PAGE_BYTES" default:"8388608" help:"单个页面的最大字节数，超过则记录原因并跳过"`
	Timeout       time.Duration `env:"CRAWL_TIMEOUT" default:"20s" help:"单个请求的超时"`
	ShardBudget   time.Duration `env:"CRAWL_SHARD_BUDGET" default:"30s" help:"一次分片事件最多抓取的时长，未完成的部分再发一个分片事件继续"`
	Resolve       string        `env:"CRAWL_RESOLVE" default:"" help:"测试用：主机后缀=地址，所有匹配的主机都连到该地址（如 farm.test=127.0.0.1:8099）"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case c.HostsParallel < 1:
		return errors.New("crawler-shard: CRAWL_HOSTS_PARALLEL must be at least 1")
	case c.ClaimBatch < 1 || c.ClaimBatch > 1000:
		return errors.New("crawler-shard: CRAWL_CLAIM_BATCH must be between 1 and 1000")
	case c.ShardBudget < time.Second:
		return errors.New("crawler-shard: CRAWL_SHARD_BUDGET must be at least 1s")
	case c.Lease < 100*time.Millisecond:
		return errors.New("crawler-shard: CRAWL_LEASE must be at least 100ms")
	case c.MaxRedirects < 0 || c.MaxAttempts < 1 || c.MaxPageBytes < 1024:
		return errors.New("crawler-shard: CRAWL_MAX_REDIRECTS, CRAWL_MAX_ATTEMPTS or CRAWL_MAX_PAGE_BYTES out of range")
	case c.Resolve != "" && !strings.Contains(c.Resolve, "="):
		return errors.New("crawler-shard: CRAWL_RESOLVE must be suffix=host:port")
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Now      func() time.Time
	Verifier Verifier
}

// Function is crawler-shard.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	cfg      Config
	client   *http.Client
	limiter  limiter
	instance string
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (background work goes in Start, its end in Stop).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("crawler-shard: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("crawler-shard: Pool is required")
	case d.Redis == nil:
		return nil, errors.New("crawler-shard: Redis is required")
	case d.Now == nil:
		return nil, errors.New("crawler-shard: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("crawler-shard: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second, ResponseHeaderTimeout: c.Timeout,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if suffix, to, ok := strings.Cut(c.Resolve, "="); ok {
				if h, _, _ := net.SplitHostPort(addr); h == suffix || strings.HasSuffix(h, "."+suffix) {
					addr = to
				}
			}
			return dialer.DialContext(ctx, network, addr)
		}}
	client := &http.Client{Transport: tr, Timeout: c.Timeout,
		// Redirects are queued as URLs of their own, so each hop waits
		// for its host's slot and the hop count is bounded.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, cfg: c, client: client,
		limiter: limiter{rdb: d.Redis}, instance: hex.EncodeToString(b)}, nil
}

// Ready answers when the database and Redis do.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	return f.limiter.rdb.Ping(ctx).Err()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
