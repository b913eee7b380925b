// Package scanresolve answers the scan of a market entity's code (一码三用):
// the public mobile page /q/{token} (FP-26–35) with the consumer-rights
// block (FP-78–84), its JSON twin for the mini-program and app, the
// inspector's on-the-spot inspection form (FP-30, FP-32), and the scan
// statistics (FP-48–50). The page is served from Redis as pre-rendered
// bytes; a miss costs one database round trip (registry.public_profile,
// contract C). Every scan is recorded in batches without slowing the answer.
package scanresolve

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store"
)

// maxProfileBatch bounds the tokens of one cache-miss query.
const maxProfileBatch = 32

// Name is the function's name: its probe prefix and Knative Service.
const Name = "scan-resolve"

// Source is the CloudEvents source of everything scan-resolve emits.
const Source = "/functions/scan-resolve"

//go:embed migrations/*.sql
var migrations embed.FS

// Migration is the scan schema. It reads qr.codes and calls
// registry.public_profile, so apply it after the registry's and qr's.
func Migration() store.Migration {
	return store.Migration{Component: Name, FS: migrations, Dir: "migrations"}
}

// Tokens checks a QR token's MAC without storage (shared/qrtoken.Codec).
type Tokens interface {
	Valid(token string) bool
}

// Verifier authenticates access tokens (shared/auth.Verifier).
type Verifier interface {
	Verify(ctx context.Context, raw string) (*auth.Principal, error)
	Middleware(next http.Handler) http.Handler
}

// Blobs stores inspection photos (shared/blob.Store).
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// Config is scan-resolve's configuration; load it with config.Load.
type Config struct {
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
	WeChatOAURL string `env:"RIGHTS_WECHAT_OA_URL" default:"" help:"12315 微信公众号链接"`
	WeChatOAQR  string `env:"RIGHTS_WECHAT_OA_QR" default:"" help:"12315 微信公众号二维码图片地址"`
	WeChatMPURL string `env:"RIGHTS_WECHAT_MP_URL" default:"" help:"12315 微信小程序链接"`
	WeChatMPQR  string `env:"RIGHTS_WECHAT_MP_QR" default:"" help:"12315 微信小程序码图片地址"`
	AppURL      string `env:"RIGHTS_APP_URL" default:"https://www.12315.cn" help:"12315 App 下载地址"`
	AppQR       string `env:"RIGHTS_APP_QR" default:"" help:"12315 App 下载二维码图片地址"`
	AlipayURL   string `env:"RIGHTS_ALIPAY_URL" default:"" help:"12315 支付宝小程序链接"`
	AlipayQR    string `env:"RIGHTS_ALIPAY_QR" default:"" help:"12315 支付宝小程序码图片地址"`
	BaiduURL    string `env:"RIGHTS_BAIDU_URL" default:"" help:"12315 百度小程序链接"`
	BaiduQR     string `env:"RIGHTS_BAIDU_QR" default:"" help:"12315 百度小程序码图片地址"`
}

// DefaultConfig is the configuration with every default applied.
func DefaultConfig() Config {
	var c Config
	_ = config.Load(&c, func(string) string { return "" })
	return c
}

// Deps is what scan-resolve needs.
type Deps struct {
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	Redis  *redis.Client // may be unreachable at times: pages then come from PostgreSQL
	Blobs  Blobs
	Tokens Tokens
	Auth   Verifier
	Now    func() time.Time
	Config Config
}

// Function is scan-resolve.
type Function struct {
	log    *slog.Logger
	pool   *pgxpool.Pool
	rdb    *redis.Client
	blobs  Blobs
	tokens Tokens
	auth   Verifier
	now    func() time.Time
	cfg    Config

	cache    *pageCache
	rec      *recorder
	rights   []rightsChannel
	chrome   chrome // the page's constant parts
	profiles *batcher[string, *profileRow]
	notFound []byte // pre-rendered pages for a forged token and an outage
	busy     []byte

	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New checks the dependencies, builds the function and starts its scan
// flusher; call Close to flush and stop it.
func New(d Deps) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("scan-resolve: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("scan-resolve: Pool is required")
	case d.Redis == nil:
		return nil, errors.New("scan-resolve: Redis is required")
	case d.Blobs == nil:
		return nil, errors.New("scan-resolve: Blobs is required")
	case d.Tokens == nil:
		return nil, errors.New("scan-resolve: Tokens is required")
	case d.Auth == nil:
		return nil, errors.New("scan-resolve: Auth is required")
	case d.Now == nil:
		return nil, errors.New("scan-resolve: Now is required")
	}
	cfg := d.Config
	def := DefaultConfig()
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = def.CacheTTL
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = def.NegativeTTL
	}
	if cfg.LRUSize <= 0 {
		cfg.LRUSize = def.LRUSize
	}
	if cfg.RedisPrefix == "" {
		cfg.RedisPrefix = def.RedisPrefix
	}
	if cfg.FillConcurrency <= 0 {
		cfg.FillConcurrency = def.FillConcurrency
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = def.FlushInterval
	}
	if cfg.FlushRows <= 0 {
		cfg.FlushRows = def.FlushRows
	}
	if cfg.MaxBuffered <= 0 {
		cfg.MaxBuffered = def.MaxBuffered
	}
	if cfg.MaxPhotos <= 0 {
		cfg.MaxPhotos = def.MaxPhotos
	}
	if cfg.MaxPhotoBytes <= 0 {
		cfg.MaxPhotoBytes = def.MaxPhotoBytes
	}
	if cfg.IPSalt == "" {
		cfg.IPSalt = def.IPSalt
	}
	// A zero Config (a platform that did not load it) still shows the
	// real 12315 hotline and website.
	if cfg.Hotline == "" {
		cfg.Hotline = def.Hotline
	}
	if cfg.Website == "" {
		cfg.Website = def.Website
	}
	if cfg.AppURL == "" {
		cfg.AppURL = def.AppURL
	}
	f := &Function{log: d.Logger, pool: d.Pool, rdb: d.Redis, blobs: d.Blobs, tokens: d.Tokens, auth: d.Auth,
		now: d.Now, cfg: cfg}
	f.rights = rightsChannels(cfg)
	var err error
	if f.chrome, err = newChrome(cfg.Hotline, f.rights); err != nil {
		return nil, err
	}
	f.profiles = newBatcher(maxProfileBatch, 5*time.Second, f.queryProfiles)
	f.cache = newPageCache(f)
	f.rec = newRecorder(d.Pool, d.Redis, d.Logger, d.Now, cfg)
	nf, err := f.renderMessage("missing", "该码不存在或无法识别，请核对后重新扫码")
	if err != nil {
		return nil, err
	}
	busy, err := f.renderMessage("busy", "服务繁忙，请稍后重试")
	if err != nil {
		return nil, err
	}
	f.notFound, f.busy = nf, busy
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	f.wg.Go(func() { f.rec.run(ctx) })
	f.profiles.start(ctx, &f.wg, cfg.FillConcurrency)
	f.cache.lookups.start(ctx, &f.wg, 1)
	f.cache.storer.start(ctx, &f.wg, 1)
	if f.cfg.LocalTTL > 0 {
		f.wg.Go(func() { f.cache.listen(ctx) })
	}
	return f, nil
}

// Ready answers when PostgreSQL does. Redis is not required: pages are
// then served from the database.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// Flush writes every buffered scan to PostgreSQL now, including batches
// spilled to Redis while the database was away. Benchmarks call it before
// counting rows.
func (f *Function) Flush(ctx context.Context) error { return f.rec.flush(ctx) }

// Close stops the flusher after writing what is buffered (to PostgreSQL,
// else to the Redis spill). Call it after the HTTP server has drained.
func (f *Function) Close(ctx context.Context) error {
	var err error
	f.closeOnce.Do(func() {
		f.stop()
		f.wg.Wait()
		err = f.rec.final(ctx)
	})
	return err
}

// Stop is Close, as the runtime calls it after the drain.
func (f *Function) Stop(ctx context.Context) error { return f.Close(ctx) }

// ScanCounts reports what the recorder has done since New.
func (f *Function) ScanCounts() ScanCounts { return f.rec.counts() }

// RecordedScans counts the rows of scan.scans, for the "no scan is lost"
// benchmark (compare before and after a run, after Flush).
func (f *Function) RecordedScans(ctx context.Context) (int64, error) {
	var n int64
	err := f.pool.QueryRow(ctx, `SELECT count(*) FROM scan.scans`).Scan(&n)
	return n, err
}

// Receive invalidates cached pages on entity and code changes.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	return nil, f.receive(ctx, e)
}

// Handler serves /q/ and /scan/v1/.
func (f *Function) Handler() http.Handler { return f.routes() }
