// Package platform is the embedded default: every SmartReg function in one
// process, mounted under /<function>/ on one port, with the local broker
// routing events by the Knative manifests and the outbox relay feeding it.
// The functions are built by the same constructors their Knative entry
// points call, and started and stopped the same way (runtime.Start and
// runtime.Stop): no function is special-cased here.
//
// Event receivers are not on the public listener at all. The broker calls
// each function's runtime.Events handler in-process, with a key made at
// start that no request from outside can know.
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/infra/knative"
	"github.com/sjzamr/smartreg/infra/knative/manifest"
	"github.com/sjzamr/smartreg/infra/local/broker"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/cache"
	"github.com/sjzamr/smartreg/shared/favicon"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/sim/bureau"
	connectsim "github.com/sjzamr/smartreg/tests/sim/connect"
	"github.com/sjzamr/smartreg/tests/sim/govsite"
	idverifysim "github.com/sjzamr/smartreg/tests/sim/idverify"
	nationaldatasim "github.com/sjzamr/smartreg/tests/sim/nationaldata"
	provincesim "github.com/sjzamr/smartreg/tests/sim/province"
	smssim "github.com/sjzamr/smartreg/tests/sim/sms"
	"github.com/sjzamr/smartreg/tests/sim/telecom"
)

// Options adjust a platform for tests: extra functions as Trigger
// subscribers, and extra manifests (a test Trigger) beside the embedded ones.
type Options struct {
	ExtraSubscribers map[string]http.Handler
	ExtraManifests   *manifest.Set
	DisableRelay     bool // to stage "committed but not yet delivered"
	PollInterval     time.Duration
	// Wrap, when set, wraps each function as it is mounted (the anatomy
	// test records the lifecycle calls the platform makes).
	Wrap func(Mounted) Mounted
}

// Platform is a running set of functions.
type Platform struct {
	Pool   *pgxpool.Pool
	Redis  *redis.Client
	Blob   blob.Store
	Broker *broker.Broker
	// The functions by type, for the composition roots that call them
	// directly (the CLI's seed, benchmarks, tests).
	Typed
	// Verifier checks access tokens for every function, against identity's
	// keys in-process (no JWKS fetch) and its revocations through Redis.
	Verifier  *auth.Verifier
	Handler   http.Handler
	Manifests *manifest.Set
	// Functions are the platform's functions in start order.
	Functions []Mounted

	cfg     Config
	log     *slog.Logger
	opts    Options
	secret  *runtime.Secret
	closers []func()
}

// Mounted is one function as the platform serves it.
type Mounted struct {
	Name string
	Fn   runtime.Function
	// Prefixes are the public path prefixes besides /<Name>/.
	Prefixes []string
}

// Migrate creates the database if needed and applies every migration.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms := []store.Migration{store.Platform(), broker.Migration()}
	for _, b := range builders {
		ms = append(ms, b.migrations()...)
	}
	if err := store.Migrate(ctx, pool, ms...); err != nil {
		return err
	}
	return broker.MigrateRiver(ctx, pool)
}

// Build connects to everything, migrates, and constructs the functions
// and the broker. Nothing runs until Run.
func Build(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (_ *Platform, err error) {
	p := &Platform{cfg: cfg, log: log, opts: opts, secret: runtime.NewSecret()}
	defer func() {
		if err != nil { // release what was opened before the failure
			p.Close()
		}
	}()
	proxies, err := cfg.Proxies()
	if err != nil {
		return nil, err
	}
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
	for _, b := range builders {
		fn, err := b.build(p, cfg, log.With("function", b.name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		m := Mounted{Name: b.name, Fn: fn, Prefixes: b.prefixes}
		if opts.Wrap != nil {
			m = opts.Wrap(m)
		}
		p.Functions = append(p.Functions, m)
	}
	metrics := runtime.NewMetrics()
	subscribers := map[string]http.Handler{}
	mux := http.NewServeMux()
	for _, f := range p.Functions {
		o := runtime.Options{Logger: log.With("function", f.Name), Metrics: metrics, Proxies: proxies}
		h := runtime.Handler(f.Name, f.Fn, o)
		for _, prefix := range append([]string{"/" + f.Name + "/"}, f.Prefixes...) {
			mux.Handle(prefix, h)
		}
		subscribers[f.Name] = runtime.Events(f.Name, f.Fn, p.secret, o)
	}
	// Systems we cannot reach from here answer through their simulators,
	// only when asked for: the SMS simulator shows every code it "sent".
	if cfg.Simulators {
		mux.Handle("/sim/sms/", http.StripPrefix("/sim/sms", smssim.New(cfg.Identity.SMSAppKey, cfg.Identity.SMSAppSecret)))
		// The provincial metrology platform, with demo data (provincial-sync pulls it).
		mux.Handle("/sim/province/", http.StripPrefix("/sim/province", provincesim.Demo(cfg.ProvincialSync.AppKey, cfg.ProvincialSync.AppSecret)))
		// The connectors' outside systems (FP-14–16, 19–21), with records for
		// the first demo entities, filled at the first request.
		cc := cfg.Connectors
		connect := connectsim.Demo(connectsim.Credentials{LegalPersonID: cc.LegalPersonID, LegalPersonSecret: cc.LegalPersonSecret,
			PublicityAppID: cc.PublicityAppID, PublicitySecret: cc.PublicitySecret, SpotCheckKey: cc.SpotCheckKey,
			ShiAppID: cc.ShiAppID, ShiSecret: cc.ShiSecret, HubKey: cc.HubKey}, func() []string { return demoCodes(p.Pool) })
		for _, sim := range []string{"legalperson", "publicity", "spotcheck", "shi", "hub"} {
			mux.Handle("/sim/"+sim+"/", http.StripPrefix("/sim", connect))
		}
		// Pages of the bureau's site and official account, to import activities from.
		mux.Handle("/sim/bureau/", http.StripPrefix("/sim/bureau", bureau.New()))
		mux.Handle("/sim/telecom/", http.StripPrefix("/sim/telecom", telecom.New(cfg.Comms.GatewayKey, cfg.Comms.GatewaySecret).Handler()))
		// Government sites serving policies for the address import (policy-match).
		mux.Handle("/sim/govsite/", http.StripPrefix("/sim/govsite", govsite.New().Handler()))
		// The identity-verification provider (ocr-idcard, FP-12): lenient,
		// so any well-formed number of a demo card verifies.
		idv := idverifysim.New(cfg.OcrIdcard.VerifyAppID, cfg.OcrIdcard.VerifySecret)
		idv.Lenient = true
		mux.Handle("/sim/idverify/", http.StripPrefix("/sim/idverify", idv))
		// The national enterprise-data gateway (entity-graph, for
		// the enterprise portrait): lenient, so any entity beyond Shijiazhuang has an answer.
		nat := nationaldatasim.New(cfg.EntityGraph.NationalKey, cfg.EntityGraph.NationalSecret)
		nat.Lenient = true
		mux.Handle("/sim/nationaldata/", http.StripPrefix("/sim/nationaldata", nat))
		// Simulators that live in a function's own sim package (functions.go lists them).
		for prefix, h := range functionSimulators(cfg) {
			mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
		}
	}
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	mux.Handle("GET /favicon.ico", favicon.Handler())
	for name, h := range opts.ExtraSubscribers {
		subscribers[name] = h
	}
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]any{"status": "ok", "functions": len(p.Functions)})
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
		Authorize: p.secret.Authorize, Logger: log, PollInterval: opts.PollInterval})
	if err != nil {
		return nil, err
	}
	return p, nil
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
	names := make([]string, len(p.Functions))
	for i, f := range p.Functions {
		names[i] = f.Name
	}
	links := map[string]string{
		"console": "/console/", "registry": "/registry/v1/openapi.yaml", "identity": "/identity/v1/openapi.yaml",
		"qr": "/qr/v1/openapi.yaml", "scan": "/scan/v1/openapi.yaml", "audit": "/audit/v1/openapi.yaml", "notify": "/notify/v1/openapi.yaml", "oidc": "/identity/oidc/.well-known/openid-configuration",
		"metrics": "/metrics",
	}
	notice := "本地一体化运行模式：事件由本地代理按 Knative 触发器路由。"
	if p.cfg.Simulators {
		links["sms-simulator"] = "/sim/sms/sms/messages"
		links["telecom-simulator"] = "/sim/telecom/voice/calls"
		links["province-simulator"] = "/sim/province/api/v1/"
		notice += "短信、微信、省统一身份认证等外部系统使用模拟器（SMARTREG_SIMULATORS=true）。"
	}
	httpx.JSON(w, http.StatusOK, map[string]any{
		"name": "石家庄市市场智慧监管平台（II 期）", "functions": names, "links": links, "notice": notice,
	})
}

// Run starts every function (runtime.Start, in build order), the broker
// and the outbox relay, and serves HTTP on ln until ctx ends; then it
// drains requests, stops the functions (runtime.Stop, in reverse order,
// so buffered work is written while the relay still runs), the relay and
// the broker.
func (p *Platform) Run(ctx context.Context, ln net.Listener, drain time.Duration) error {
	started := 0
	var err error
	for _, f := range p.Functions {
		if err = runtime.Start(ctx, f.Fn); err != nil {
			err = fmt.Errorf("start %s: %w", f.Name, err)
			break
		}
		started++
	}
	var wg sync.WaitGroup
	rctx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	brokerUp := false
	if err == nil {
		if err = p.Broker.Start(ctx); err != nil {
			err = fmt.Errorf("start broker: %w", err)
		} else {
			brokerUp = true
			if !p.opts.DisableRelay {
				relay := &outbox.Relay{Pool: p.Pool, Publisher: p.Broker, Logger: p.log.With("component", "outbox")}
				wg.Go(func() { _ = relay.Run(rctx) })
			}
			err = runtime.ServeListener(ctx, ln, p.Handler, drain, p.log)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	for i := started - 1; i >= 0; i-- {
		if serr := runtime.Stop(sctx, p.Functions[i].Fn); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop %s: %w", p.Functions[i].Name, serr))
		}
	}
	stopRelay()
	wg.Wait()
	if brokerUp {
		if serr := p.Broker.Stop(sctx); serr != nil && !errors.Is(serr, context.Canceled) {
			err = errors.Join(err, serr)
		}
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

// demoCodes are the first demo entities, for the connectors' simulators.
func demoCodes(pool *pgxpool.Pool) []string {
	rows, err := pool.Query(context.Background(), `SELECT credit_code FROM registry.entities ORDER BY credit_code LIMIT 12`)
	if err != nil {
		return nil
	}
	codes, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	return codes
}
