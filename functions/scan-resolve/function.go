// Package scanresolve answers the scan of a market entity's code (一码三用):
// the public mobile page /q/{token} (FP-26–35) with the consumer-rights
// block (FP-78–84), its JSON twin for the mini-program and app, the
// inspector's on-the-spot inspection form (FP-30, FP-32), and the scan
// statistics (FP-48–50). The page is served from memory or Redis as
// pre-rendered bytes; a miss costs one database round trip (scan.pages,
// which calls qr.code_status and registry.public_page, the published read
// functions of the qr and registry schemas). Every scan is recorded in
// batches without slowing the answer.
//
// # The path of a scan
//
// Read these files in this order; the path never returns to a file it left
// except to come back up the call it went down:
//
//  1. http.go — handleScan: the token's MAC (Deps.Tokens) refuses a forged
//     code without any I/O; then the cache is asked for the answer.
//  2. cache.go — pageCache.get: a copy this process saw within
//     SCAN_LOCAL_TTL (lru.go), else Redis (one MGET, shared by concurrent
//     lookups through batch.go). On a miss, one load per token
//     (singleflight) calls the loader the function gave the cache, and
//     stores what it returns in Redis and the LRU.
//  3. page.go — load: the loader. It asks store.go for the token's row
//     (queryPages: scan.pages for a batch of tokens, through batch.go),
//     builds the View and renders it.
//  4. render.go — the hand-written HTML of the page.
//  5. back in http.go — record: the scan's facts (the code's status and
//     the entity's credit code and area, carried from the row to the
//     cached entry to the record as one facts value) plus anonymous client
//     hints (hints.go) go to the recorder (recorder.go), which COPYs them
//     in batches in the background; then write sends the bytes.
//
// An inspector's scan leaves at step 1 for serveInspector (http.go), which
// loads the page fresh (page.go) with the inspection form; the form posts
// to inspection.go.
package scanresolve

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/qrtoken"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its probe prefix and Knative Service.
const Name = "scan-resolve"

// Source is the CloudEvents source of everything scan-resolve emits.
const Source = "/functions/scan-resolve"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the scan schema's one migration stream. Its functions call
// the published read functions qr.code_status and registry.public_page, so
// a database applies qr's and the registry's migrations first.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is scan-resolve's own settings; every default comes from its tag
// (config.Defaults in tests).
type Config struct {
	qrtoken.Config

	CacheTTL        time.Duration `env:"SCAN_CACHE_TTL" default:"24h" help:"公示页缓存时长（主体变更事件会提前失效）"`
	NegativeTTL     time.Duration `env:"SCAN_NEGATIVE_TTL" default:"1m" help:"未生效、不存在的码的缓存时长"`
	LRUSize         int           `env:"SCAN_LRU_SIZE" default:"20000" help:"进程内缓存的页面数（热点页面免访问 Redis；数据库与 Redis 均不可用时兜底）"`
	LocalTTL        time.Duration `env:"SCAN_LOCAL_TTL" default:"30s" help:"进程内缓存的新鲜期：期内命中不访问 Redis；变更经 Redis 发布订阅即时通知各副本，通知丢失时最迟在该时长后生效（0 关闭）"`
	RedisPrefix     string        `env:"SCAN_REDIS_PREFIX" default:"scan:" help:"Redis 键前缀"`
	FillConcurrency int           `env:"SCAN_FILL_CONCURRENCY" default:"2" help:"缓存未命中时同时进行的数据库查询数（每次查询合并多个码；宜取数据库 CPU 核数的 1 倍左右）"`
	FlushInterval   time.Duration `env:"SCAN_FLUSH_INTERVAL" default:"200ms" help:"扫码记录批量写入间隔"`
	FlushRows       int           `env:"SCAN_FLUSH_ROWS" default:"5000" help:"扫码记录缓冲达到该条数立即写入"`
	MaxBuffered     int           `env:"SCAN_MAX_BUFFERED" default:"1000000" help:"数据库与 Redis 均不可用时内存中最多保留的扫码记录数"`
	IPSalt          string        `env:"SCAN_IP_SALT" default:"smartreg-dev-scan-ip-salt" secret:"true" help:"客户端 IP 网段哈希的密钥"`
	MaxPhotos       int           `env:"SCAN_MAX_PHOTOS" default:"9" help:"每条检查记录最多照片数"`
	PublicPhotos    bool          `env:"SCAN_PUBLIC_PHOTOS" default:"true" help:"公示页是否展示扫码检查的现场照片链接"`
	MaxPhotoBytes   int64         `env:"SCAN_MAX_PHOTO_BYTES" default:"5242880" help:"单张检查照片大小上限（字节）"`

	Hotline     string `env:"RIGHTS_HOTLINE" default:"12315" help:"维权热线号码"`
	Website     string `env:"RIGHTS_WEBSITE" default:"https://www.12315.cn" help:"全国12315平台网站"`
	WeChatOAURL string `env:"RIGHTS_WECHAT_OA_URL" default:"https://www.12315.cn" help:"12315 微信公众号链接"`
	WeChatOAQR  string `env:"RIGHTS_WECHAT_OA_QR" default:"" help:"12315 微信公众号二维码图片地址（为空时由本系统按链接生成二维码）"`
	WeChatMPURL string `env:"RIGHTS_WECHAT_MP_URL" default:"https://www.12315.cn" help:"12315 微信小程序链接"`
	WeChatMPQR  string `env:"RIGHTS_WECHAT_MP_QR" default:"" help:"12315 微信小程序码图片地址（为空时由本系统按链接生成二维码）"`
	AppURL      string `env:"RIGHTS_APP_URL" default:"https://www.12315.cn" help:"12315 App 下载地址"`
	AppQR       string `env:"RIGHTS_APP_QR" default:"" help:"12315 App 下载二维码图片地址（为空时由本系统按链接生成二维码）"`
	AlipayURL   string `env:"RIGHTS_ALIPAY_URL" default:"https://www.12315.cn" help:"12315 支付宝小程序链接"`
	AlipayQR    string `env:"RIGHTS_ALIPAY_QR" default:"" help:"12315 支付宝小程序码图片地址（为空时由本系统按链接生成二维码）"`
	BaiduURL    string `env:"RIGHTS_BAIDU_URL" default:"https://www.12315.cn" help:"12315 百度小程序链接"`
	BaiduQR     string `env:"RIGHTS_BAIDU_QR" default:"" help:"12315 百度小程序码图片地址（为空时由本系统按链接生成二维码）"`
}

// Validate refuses settings scan-resolve cannot work with, naming the
// variable.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, name, want string) {
		if !ok {
			errs = append(errs, fmt.Errorf("scan-resolve: %s must be %s", name, want))
		}
	}
	check(c.CacheTTL > 0, "SCAN_CACHE_TTL", "positive")
	check(c.NegativeTTL > 0, "SCAN_NEGATIVE_TTL", "positive")
	check(c.LRUSize >= 1, "SCAN_LRU_SIZE", "at least 1")
	check(c.LocalTTL >= 0, "SCAN_LOCAL_TTL", "0 (off) or positive")
	check(c.RedisPrefix != "", "SCAN_REDIS_PREFIX", "set")
	check(c.FillConcurrency >= 1, "SCAN_FILL_CONCURRENCY", "at least 1")
	check(c.FlushInterval > 0, "SCAN_FLUSH_INTERVAL", "positive")
	check(c.FlushRows >= 1, "SCAN_FLUSH_ROWS", "at least 1")
	check(c.MaxBuffered >= c.FlushRows, "SCAN_MAX_BUFFERED", "at least SCAN_FLUSH_ROWS")
	check(c.IPSalt != "", "SCAN_IP_SALT", "set")
	check(c.MaxPhotos >= 0, "SCAN_MAX_PHOTOS", "0 or more")
	check(c.MaxPhotoBytes >= 1, "SCAN_MAX_PHOTO_BYTES", "at least 1")
	check(c.Hotline != "", "RIGHTS_HOTLINE", "set")
	if _, err := c.Codec(); err != nil {
		errs = append(errs, fmt.Errorf("scan-resolve: QR_TOKEN_KEY: %w", err))
	}
	return errors.Join(errs...)
}

// Tokens checks a QR token's MAC without storage (*qrtoken.Codec, from
// Config.Codec).
type Tokens interface {
	Valid(token string) bool
}

// Verifier authenticates callers (*auth.Verifier): Middleware for the API,
// Verify for the public page, which treats a bad token as anonymous
// instead of refusing the page.
type Verifier interface {
	Middleware(next http.Handler) http.Handler
	Verify(ctx context.Context, raw string) (*auth.Principal, error)
}

// Blob stores inspection photos (blob.Store).
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// Deps is what scan-resolve needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Redis    *redis.Client // may be unreachable at times: pages then come from PostgreSQL
	Blob     Blob
	Tokens   Tokens
	Verifier Verifier
	Now      func() time.Time
}

// Function is scan-resolve.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	rdb      *redis.Client
	blob     Blob
	tokens   Tokens
	verifier Verifier
	now      func() time.Time
	cfg      Config

	cache    *pageCache
	rec      *recorder
	rights   []rightsChannel
	chrome   chrome // the page's constant parts
	pages    *batcher[string, *pageRow]
	notFound []byte // pre-rendered pages for a forged token and an outage
	busy     []byte

	stop     context.CancelFunc // nil until Start
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopErr  error
}

// New checks the dependencies and the settings and builds the function,
// rendering the page's constant parts; it does no I/O and starts nothing
// (Start does).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("scan-resolve: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("scan-resolve: Pool is required")
	case d.Redis == nil:
		return nil, errors.New("scan-resolve: Redis is required")
	case d.Blob == nil:
		return nil, errors.New("scan-resolve: Blob is required")
	case d.Tokens == nil:
		return nil, errors.New("scan-resolve: Tokens is required")
	case d.Verifier == nil:
		return nil, errors.New("scan-resolve: Verifier is required")
	case d.Now == nil:
		return nil, errors.New("scan-resolve: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f := &Function{log: d.Logger, pool: d.Pool, rdb: d.Redis, blob: d.Blob, tokens: d.Tokens, verifier: d.Verifier,
		now: d.Now, cfg: c}
	var err error
	if f.rights, err = rightsChannels(c); err != nil {
		return nil, err
	}
	if f.chrome, err = newChrome(c.Hotline, f.rights); err != nil {
		return nil, err
	}
	f.pages = newBatcher(maxPageBatch, 5*time.Second, pageRows(d.Pool))
	f.cache = newPageCache(c, d.Redis, d.Logger, d.Now, f.load)
	f.rec = newRecorder(d.Pool, d.Redis, d.Logger, c)
	if f.notFound, err = f.renderMessage("missing", "该码不存在或无法识别，请核对后重新扫码"); err != nil {
		return nil, err
	}
	if f.busy, err = f.renderMessage("busy", "服务繁忙，请稍后重试"); err != nil {
		return nil, err
	}
	return f, nil
}

// Start runs the background work until Stop: the scan flusher (which first
// replays batches a previous process spilled to Redis), the workers of the
// batched database and Redis round trips, and the subscription to other
// replicas' invalidations. It does not end with ctx (the runtime's
// context ends at SIGTERM, before the drain that still needs the workers).
func (f *Function) Start(ctx context.Context) error {
	if f.stop != nil {
		return errors.New("scan-resolve: started twice")
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.stop = cancel
	f.wg.Go(func() { f.rec.run(bctx) })
	f.pages.start(bctx, &f.wg, f.cfg.FillConcurrency)
	f.cache.start(bctx, &f.wg)
	return nil
}

// Stop ends the background work and writes what is buffered (to
// PostgreSQL, else to the Redis spill). Call it after the HTTP server has
// drained; calling it again does nothing.
func (f *Function) Stop(ctx context.Context) error {
	f.stopOnce.Do(func() {
		if f.stop != nil {
			f.stop()
			f.wg.Wait()
		}
		f.stopErr = f.rec.final(ctx)
	})
	return f.stopErr
}

// Ready answers when PostgreSQL does. Redis is not required: pages are
// then served from the database.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// Flush writes every buffered scan to PostgreSQL now, including batches
// spilled to Redis while the database was away. Benchmarks call it before
// counting rows.
func (f *Function) Flush(ctx context.Context) error { return f.rec.flush(ctx) }

// ScanCounts reports what the recorder has done since New.
func (f *Function) ScanCounts() ScanCounts { return f.rec.counts() }

// RecordedScans counts the rows of scan.scans, for the "no scan is lost"
// benchmark (compare before and after a run, after Flush).
func (f *Function) RecordedScans(ctx context.Context) (int64, error) { return countScans(ctx, f.pool) }
