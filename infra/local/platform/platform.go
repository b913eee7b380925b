// Package platform is the embedded default: every SmartReg function in one
// process, mounted under /<function>/ on one port, with the local broker
// routing events by the Knative manifests and the outbox relay feeding it.
// The functions are built by the same constructors their Knative entry
// points call.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/functions/console"
	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/functions/identity/notify"
	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	qrgenerate "github.com/sjzamr/smartreg/functions/qr-generate"
	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/functions/registry"
	scanresolve "github.com/sjzamr/smartreg/functions/scan-resolve"
	"github.com/sjzamr/smartreg/infra/knative"
	"github.com/sjzamr/smartreg/infra/knative/manifest"
	"github.com/sjzamr/smartreg/infra/local/broker"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/cache"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/qrtoken"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
	smssim "github.com/sjzamr/smartreg/tests/sim/sms"
)

// Config is the platform's configuration, read from the environment.
type Config struct {
	DatabaseURL   string        `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/smartreg?sslmode=disable" secret:"true" help:"PostgreSQL（需 PostGIS）连接串"`
	RedisURL      string        `env:"REDIS_URL" default:"redis://127.0.0.1:6379/0" secret:"true" help:"Redis 连接串"`
	BlobURL       string        `env:"BLOB_URL" default:"file:.data/blob" secret:"true" help:"对象存储：file:相对目录、file:///绝对目录 或 s3://KEY:SECRET@bucket?endpoint=…"`
	Port          int           `env:"PORT" default:"8080" help:"HTTP 端口"`
	PublicBaseURL string        `env:"PUBLIC_BASE_URL" default:"http://localhost:8080" help:"对外访问地址（二维码内容等）"`
	LogLevel      string        `env:"LOG_LEVEL" default:"info" help:"日志级别 debug/info/warn/error"`
	DrainTimeout  time.Duration `env:"DRAIN_TIMEOUT" default:"20s" help:"收到 SIGTERM 后等待在途请求完成的时间"`
	DBMaxConns    int           `env:"DB_MAX_CONNS" default:"40" help:"数据库连接池上限"`
	// Add-on Triggers (e.g. a subscriber given by URI, such as another
	// department's webhook) join the production wiring without a rebuild.
	ExtraManifestsDir string `env:"EXTRA_MANIFESTS_DIR" default:"" help:"额外的 Knative 清单目录（附加触发器，如外部订阅地址）"`

	QRTokenKey        string `env:"QR_TOKEN_KEY" default:"smartreg-dev-qr-token-key-not-for-production" secret:"true" help:"二维码令牌 MAC 密钥（qr-generate 与 scan-resolve 相同）；生产环境必须更换且不可再改"`
	QRPosterAuthority string `env:"QR_POSTER_AUTHORITY" default:"石家庄市市场监督管理局" help:"二维码海报上的发码机关"`
	QRMaxZipItems     int    `env:"QR_MAX_ZIP_ITEMS" default:"2000" help:"单次批量下载（ZIP）最多包含的二维码数"`

	// Each function's own settings, documented in docs/operations.md.
	Identity identity.Config
	OIDC     oidcprovider.Config
	Audit    audit.Config
	Notify   notify.Config
	Online   online.Config
	Scan     scanresolve.Config
}

// Options adjust a platform for tests: extra functions as Trigger
// subscribers, and extra manifests (a test Trigger) beside the embedded ones.
type Options struct {
	ExtraSubscribers map[string]http.Handler
	ExtraManifests   *manifest.Set
	DisableRelay     bool // to stage "committed but not yet delivered"
	PollInterval     time.Duration
}

// Platform is a running set of functions.
type Platform struct {
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Blob     blob.Store
	Broker   *broker.Broker
	Registry *registry.Function
	Identity *identity.Function
	QR       *qrgenerate.Function
	Scan     *scanresolve.Function
	Console  *console.Function
	// Verifier checks access tokens for every function, against identity's
	// keys in-process (no JWKS fetch) and its revocations through Redis.
	Verifier  *auth.Verifier
	Handler   http.Handler
	Manifests *manifest.Set
	log       *slog.Logger
	opts      Options
	closers   []func()
}

// Migrate creates the database if needed and applies every migration.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	// Order matters: scan-resolve reads qr.codes and registry.public_profile.
	ms := append([]store.Migration{store.Platform(), broker.Migration(), registry.Migration()}, identity.Migrations()...)
	ms = append(ms, qrgenerate.Migration(), scanresolve.Migration())
	if err := store.Migrate(ctx, pool, ms...); err != nil {
		return err
	}
	return broker.MigrateRiver(ctx, pool)
}

// Build connects to everything, migrates, and constructs the functions
// and the broker. Nothing runs until Run.
func Build(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (_ *Platform, err error) {
	p := &Platform{log: log, opts: opts}
	defer func() {
		if err != nil { // release what was opened before the failure
			p.Close()
		}
	}()
	if err := store.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	if p.Pool, err = store.Connect(ctx, cfg.DatabaseURL, int32(cfg.DBMaxConns)); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.Pool.Close)
	if err := Migrate(ctx, p.Pool); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if p.Redis, err = cache.Connect(ctx, cfg.RedisURL); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func() { _ = p.Redis.Close() })
	if p.Blob, err = blob.Open(ctx, cfg.BlobURL); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	if err := p.buildFunctions(cfg, log); err != nil {
		return nil, err
	}
	metrics := runtime.NewMetrics()
	// Each function answers under /<name>/ (probes, CloudEvents) and under
	// the public prefixes of its API.
	functions := []struct {
		name     string
		fn       runtime.Function
		prefixes []string
	}{
		{registry.Name, p.Registry, nil},
		{identity.Name, p.Identity, nil},
		{qrgenerate.Name, p.QR, []string{"/qr/"}},
		{scanresolve.Name, p.Scan, []string{"/q/", "/scan/"}},
		{console.Name, p.Console, nil},
	}
	subscribers := map[string]http.Handler{}
	mux := http.NewServeMux()
	for _, f := range functions {
		h := runtime.Handler(f.name, f.fn, log.With("function", f.name), metrics)
		for _, prefix := range append([]string{"/" + f.name + "/"}, f.prefixes...) {
			mux.Handle(prefix, h)
		}
		subscribers[f.name] = h
	}
	// Systems we cannot reach from here answer through their simulators.
	mux.Handle("/sim/sms/", http.StripPrefix("/sim/sms", smssim.New(cfg.Identity.SMSAppKey, cfg.Identity.SMSAppSecret)))
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	for name, h := range opts.ExtraSubscribers {
		subscribers[name] = h
	}
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]any{"status": "ok", "functions": len(functions)})
	})
	mux.HandleFunc("GET /readyz", p.readyz)
	mux.HandleFunc("GET /{$}", p.index)
	p.Handler = mux

	if p.Manifests, err = knative.Load(); err != nil {
		return nil, fmt.Errorf("load knative manifests: %w", err)
	}
	extra := []*manifest.Set{opts.ExtraManifests}
	if cfg.ExtraManifestsDir != "" {
		set, err := manifest.LoadDir(cfg.ExtraManifestsDir)
		if err != nil {
			return nil, fmt.Errorf("EXTRA_MANIFESTS_DIR: %w", err)
		}
		extra = append(extra, set)
	}
	for _, set := range extra {
		if set != nil {
			p.Manifests.Triggers = append(p.Manifests.Triggers, set.Triggers...)
			p.Manifests.PingSources = append(p.Manifests.PingSources, set.PingSources...)
		}
	}
	p.Broker, err = broker.New(broker.Config{Pool: p.Pool, Manifests: p.Manifests, Subscribers: subscribers,
		Logger: log, PollInterval: opts.PollInterval})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// buildFunctions constructs every function with the constructors their
// Knative entry points call. Identity comes first: the others verify
// tokens against its keys.
func (p *Platform) buildFunctions(cfg Config, log *slog.Logger) (err error) {
	p.Identity, err = identity.New(identity.Deps{Logger: log.With("function", identity.Name), Pool: p.Pool, Redis: p.Redis,
		Now: time.Now, Config: cfg.Identity, Blob: p.Blob, Audit: cfg.Audit, Notify: cfg.Notify, Online: cfg.Online,
		OIDC: identity.OIDCConfig{PublicBaseURL: cfg.PublicBaseURL, Upstream: cfg.OIDC.Upstream(), WeChat: cfg.OIDC.WeChat()}})
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	p.closers = append(p.closers, p.Identity.Close)
	// One verifier (one revocation subscription) serves every function here.
	p.Verifier = p.Identity.Verifier()
	if p.Registry, err = registry.New(registry.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Auth: p.Verifier}); err != nil {
		return err
	}
	codec, err := qrtoken.New([]byte(cfg.QRTokenKey))
	if err != nil {
		return fmt.Errorf("QR_TOKEN_KEY: %w", err)
	}
	p.QR, err = qrgenerate.New(qrgenerate.Deps{Logger: log.With("function", qrgenerate.Name), Pool: p.Pool, Blob: p.Blob,
		Render: render.New(render.LevelM), Tokens: codec, Now: time.Now, Authenticate: p.Verifier.Middleware,
		PublicBaseURL: cfg.PublicBaseURL, Authority: cfg.QRPosterAuthority, MaxZipItems: cfg.QRMaxZipItems})
	if err != nil {
		return err
	}
	p.Scan, err = scanresolve.New(scanresolve.Deps{Logger: log.With("function", scanresolve.Name), Pool: p.Pool, Redis: p.Redis,
		Blobs: p.Blob, Tokens: codec, Auth: p.Verifier, Now: time.Now, Config: cfg.Scan})
	if err != nil {
		return err
	}
	p.Console, err = console.New(console.Deps{Logger: log.With("function", console.Name)})
	return err
}

func (p *Platform) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]error{"postgres": p.Pool.Ping(ctx), "redis": p.Redis.Ping(ctx).Err(), "blob": p.Blob.Ping(ctx)}
	status, out := http.StatusOK, map[string]string{}
	for k, err := range checks {
		out[k] = "ok"
		if err != nil {
			status, out[k] = http.StatusServiceUnavailable, err.Error()
		}
	}
	httpx.JSON(w, status, out)
}

func (p *Platform) index(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, map[string]any{
		"name":      "石家庄市市场智慧监管平台（II 期）",
		"functions": []string{registry.Name, identity.Name, qrgenerate.Name, scanresolve.Name, console.Name},
		"links": map[string]string{
			"console": "/console/", "registry": "/registry/v1/openapi.yaml", "identity": "/identity/v1/openapi.yaml",
			"qr": "/qr/v1/openapi.yaml", "scan": "/scan/v1/openapi.yaml", "oidc": "/identity/oidc/.well-known/openid-configuration",
			"metrics": "/metrics", "sms-simulator": "/sim/sms/sms/messages",
		},
		"notice": "本地一体化运行模式：事件由本地代理按 Knative 触发器路由；短信、微信、省统一身份认证等外部系统使用模拟器。",
	})
}

// Run starts the broker, the outbox relay and qr-generate's batch runner
// and serves HTTP on ln until ctx ends, then drains and stops them in
// reverse order.
func (p *Platform) Run(ctx context.Context, ln net.Listener, drain time.Duration) error {
	if err := p.Broker.Start(ctx); err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	var wg sync.WaitGroup
	rctx, stopRelay := context.WithCancel(ctx)
	if !p.opts.DisableRelay {
		relay := &outbox.Relay{Pool: p.Pool, Publisher: p.Broker, Logger: p.log.With("component", "outbox")}
		wg.Go(func() { _ = relay.Run(rctx) })
	}
	wg.Go(func() { _ = p.QR.RunBatchJobs(rctx) })
	err := runtime.ServeListener(ctx, ln, p.Handler, drain, p.log)
	// Scans buffered in memory are written once no request can add more.
	fctx, cancelFlush := context.WithTimeout(context.Background(), drain)
	if ferr := p.Scan.Close(fctx); ferr != nil {
		err = errors.Join(err, fmt.Errorf("scan-resolve: %w", ferr))
	}
	cancelFlush()
	stopRelay()
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if serr := p.Broker.Stop(sctx); serr != nil && !errors.Is(serr, context.Canceled) {
		err = errors.Join(err, serr)
	}
	return err
}

// Close releases connections.
func (p *Platform) Close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}
