package platform

import (
	"log/slog"
	"time"

	"github.com/sjzamr/smartreg/functions/console"
	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/functions/identity/notify"
	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	policymatch "github.com/sjzamr/smartreg/functions/policy-match"
	qrgenerate "github.com/sjzamr/smartreg/functions/qr-generate"
	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/functions/registry"
	scanresolve "github.com/sjzamr/smartreg/functions/scan-resolve"
	// scaffold:imports (go tool task new-function adds new functions' imports above)
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
	"github.com/sjzamr/smartreg/shared/store"
)

// Config is the platform's configuration, read from the environment: the
// shared groups once, and each function's own Config as a group of its
// own (documented in docs/operations.md, generated from the structs).
type Config struct {
	entry.HTTP
	entry.Data
	entry.Blob
	config.Public
	DBMaxConns int `env:"DB_MAX_CONNS" default:"40" help:"数据库连接池上限"`
	// ListenHost is where `smartreg serve` listens: loopback unless an
	// operator opens it deliberately.
	ListenHost string `env:"LISTEN_HOST" default:"127.0.0.1" help:"监听地址（默认仅本机；0.0.0.0 对外开放）"`
	// Simulators mounts the simulators of systems we cannot reach (the SMS
	// gateway shows every code it "sent"): a development aid, never for a
	// reachable server.
	Simulators bool `env:"SMARTREG_SIMULATORS" default:"false" help:"开发模式：挂载外部系统模拟器（短信模拟器会显示验证码，切勿对外开放）"`
	// Add-on Triggers (e.g. a subscriber given by URI, such as another
	// department's webhook) join the production wiring without a rebuild.
	ExtraManifestsDir string `env:"EXTRA_MANIFESTS_DIR" default:"" help:"额外的 Knative 清单目录（附加触发器，如外部订阅地址）"`

	// Each function's own settings, documented in docs/operations.md.
	Registry    registry.Config     `group:"registry"`
	QR          qrgenerate.Config   `group:"qr-generate"`
	Console     console.Config      `group:"console"`
	Identity    identity.Config     `group:"identity"`
	OIDC        oidcprovider.Config `group:"identity (OIDC, WeChat)"`
	Audit       audit.Config        `group:"identity (audit)"`
	Notify      notify.Config       `group:"identity (notices)"`
	Online      online.Config       `group:"identity (online)"`
	Scan        scanresolve.Config  `group:"scan-resolve"`
	PolicyMatch policymatch.Config  `group:"policy-match"`
	// scaffold:config
}

// Typed holds each function by its own type, set by its builder.
type Typed struct {
	Registry    *registry.Function
	Identity    *identity.Function
	QR          *qrgenerate.Function
	Scan        *scanresolve.Function
	Console     *console.Function
	PolicyMatch *policymatch.Function
	// scaffold:typed
}

// builder makes one function from the platform's shared connections and
// its own Config; builders lists them in start order. Identity comes
// first: the others verify tokens against its keys.
type builder struct {
	name       string
	prefixes   []string // public prefixes besides /<name>/
	migrations func() []store.Migration
	build      func(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error)
}

var builders = []builder{
	{name: identity.Name, migrations: identity.Migrations, build: buildIdentity},
	{name: registry.Name, migrations: registry.Migrations, build: buildRegistry},
	{name: qrgenerate.Name, prefixes: []string{"/qr/"}, migrations: qrgenerate.Migrations, build: buildQR},
	{name: scanresolve.Name, prefixes: []string{"/q/", "/scan/"}, migrations: scanresolve.Migrations, build: buildScan},
	{name: console.Name, migrations: none, build: buildConsole},
	{name: policymatch.Name, prefixes: []string{"/policy/"}, migrations: policymatch.Migrations, build: buildPolicyMatch},
	// scaffold:builders
}

func one(m func() store.Migration) func() []store.Migration {
	return func() []store.Migration { return []store.Migration{m()} }
}

func none() []store.Migration { return nil }

func buildIdentity(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := identity.New(identity.Deps{Logger: log, Pool: p.Pool, Redis: p.Redis,
		Now: time.Now, Config: cfg.Identity, Blob: p.Blob, Audit: cfg.Audit, Notify: cfg.Notify, Online: cfg.Online,
		OIDC: identity.OIDCConfig{PublicBaseURL: cfg.Public.URL(), Upstream: cfg.OIDC.Upstream(), WeChat: cfg.OIDC.WeChat()}})
	if err != nil {
		return nil, err
	}
	p.Identity = fn
	p.closers = append(p.closers, fn.Close)
	// One verifier (one revocation subscription) serves every function here.
	p.Verifier = fn.Verifier()
	return fn, nil
}

func buildRegistry(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := registry.New(registry.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier}, cfg.Registry)
	p.Registry = fn
	return fn, err
}

func buildQR(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	// The platform's public address is the one every function builds
	// links on: the group is read once, here (a test may set it).
	qc := cfg.QR
	qc.Public = cfg.Public
	fn, err := qrgenerate.New(qrgenerate.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob,
		Render: render.New(render.LevelM), Verifier: p.Verifier, Now: time.Now}, qc)
	p.QR = fn
	return fn, err
}

func buildScan(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	codec, err := cfg.Scan.Codec()
	if err != nil {
		return nil, err
	}
	fn, err := scanresolve.New(scanresolve.Deps{Logger: log, Pool: p.Pool, Redis: p.Redis, Blob: p.Blob, Tokens: codec,
		Verifier: p.Verifier, Now: time.Now}, cfg.Scan)
	p.Scan = fn
	return fn, err
}

func buildConsole(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := console.New(console.Deps{Logger: log}, cfg.Console)
	p.Console = fn
	return fn, err
}

func buildPolicyMatch(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := policymatch.New(policymatch.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier,
		Fetcher: policymatch.NewHTTPFetcher()}, cfg.PolicyMatch)
	p.PolicyMatch = fn
	return fn, err
}

// scaffold:build-funcs
