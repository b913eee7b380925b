// Package entry is what every function's cmd/main.go (its Knative entry
// point) shares: the settings all functions read, signal handling and the
// exit code, opening the platform's backing services, the outbox relay and
// serving with a drain. A main still wires its own function by hand, in
// the order it needs; entry only removes the lines that were the same.
//
//	type Config struct {
//	    entry.Server
//	    entry.Backend
//	    entry.Auth
//	    DBMaxConns int `env:"DB_MAX_CONNS" default:"50"`
//	}
//
// DB_MAX_CONNS stays in each function's own Config: its default is sized
// per function (Pods × connections must fit the shared database), and a
// struct tag cannot take a per-function default.
package entry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/cache"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
)

// HTTP is the settings of every server, Knative or one-process.
type HTTP struct {
	Port           int           `env:"PORT" default:"8080" help:"HTTP 端口"`
	LogLevel       string        `env:"LOG_LEVEL" default:"info" help:"日志级别 debug/info/warn/error"`
	DrainTimeout   time.Duration `env:"DRAIN_TIMEOUT" default:"20s" help:"收到 SIGTERM 后等待在途请求完成的时间"`
	TrustedProxies string        `env:"TRUSTED_PROXIES" default:"" help:"可信反向代理（CIDR，逗号分隔）：仅信任其转发的 X-Forwarded-For；为空时以连接地址为客户端地址"`
}

// Proxies parses TRUSTED_PROXIES.
func (h HTTP) Proxies() (httpx.Proxies, error) {
	p, err := httpx.ParseProxies(h.TrustedProxies)
	if err != nil {
		return p, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	return p, nil
}

// Server is the settings every Knative function has. Embed it in the
// entry point's Config; shared/config loads embedded groups as if their
// fields were the function's own.
type Server struct {
	HTTP
	// Events is how deliveries from the Broker are authenticated.
	Events runtime.OIDCConfig
}

// Data is where the platform keeps data: PostgreSQL and Redis.
type Data struct {
	DatabaseURL string `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/smartreg?sslmode=disable" secret:"true" help:"PostgreSQL（需 PostGIS）连接串"`
	RedisURL    string `env:"REDIS_URL" default:"redis://127.0.0.1:6379/0" secret:"true" help:"Redis 连接串"`
}

// Backend is the settings of a Knative function that keeps data:
// PostgreSQL, Redis and the Broker its outbox relay posts to.
type Backend struct {
	Data
	BrokerURL string `env:"K_SINK" default:"" help:"Broker ingress, injected by a SinkBinding"`
	// SinkToken is the sender-identity token the SinkBinding mounts for
	// the Broker's audience (Eventing with authentication-oidc).
	SinkToken string `env:"K_SINK_TOKEN_FILE" default:"/oidc/token" help:"SinkBinding 挂载的事件发送身份令牌文件（Broker 开启 OIDC 认证时必需）"`
}

// Blob is the object store's setting; a Config embedding it makes Open
// open the store.
type Blob struct {
	BlobURL string `env:"BLOB_URL" default:"file:.data/blob" secret:"true" help:"对象存储：file:相对目录、file:///绝对目录 或 s3://KEY:SECRET@bucket?endpoint=…"`
}

// Auth is where access tokens are checked against; a Config embedding it
// makes Open build a verifier.
type Auth struct {
	JWKSURL  string `env:"AUTH_JWKS_URL" default:"http://localhost:8080/identity/oidc/keys" help:"identity 的公钥集（JWKS）地址"`
	Issuer   string `env:"IDENTITY_ISSUER" default:"http://localhost:8080/identity/oidc" help:"访问令牌签发者（iss）"`
	Audience string `env:"AUTH_AUDIENCE" default:"smartreg" help:"访问令牌受众（aud）"`
}

// The groups find themselves in a function's Config through these methods,
// promoted by embedding; being unexported, only the groups satisfy them.
func (s *Server) server() *Server    { return s }
func (b *Backend) backend() *Backend { return b }
func (b *Blob) blob() *Blob          { return b }
func (a *Auth) auth() *Auth          { return a }

// Config is a pointer to a function's settings struct embedding Server.
type Config interface{ server() *Server }

// BackendConfig is a pointer to a settings struct embedding Server and
// Backend, and Blob or Auth where the function uses them.
type BackendConfig interface {
	Config
	backend() *Backend
}

// Main runs run under a context that ends on SIGINT or SIGTERM (Knative's
// signal to drain), and exits 1 with the error, prefixed by name, if it
// fails.
func Main(name string, run func(context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Load fills cfg from the environment and returns the function's logger,
// having logged "starting" with the settings (secrets masked) and logArgs.
// A function with a Backend refuses to start without K_SINK: its events
// would pile up in the outbox with nowhere to go.
func Load(name string, cfg Config, logArgs ...any) (*slog.Logger, error) {
	return load(name, cfg, os.Getenv, os.Stderr, logArgs...)
}

func load(name string, cfg Config, getenv func(string) string, w io.Writer, logArgs ...any) (*slog.Logger, error) {
	if err := config.Load(cfg, getenv); err != nil {
		return nil, err
	}
	log := httpx.NewLogger(w, cfg.server().LogLevel).With("function", name)
	log.Info("starting", append([]any{"config", config.Masked(cfg)}, logArgs...)...)
	if b, ok := cfg.(BackendConfig); ok && b.backend().BrokerURL == "" {
		return nil, fmt.Errorf("K_SINK is not set: bind %s to the Broker with a SinkBinding", name)
	}
	return log, nil
}

// Deps is the backing services Open connected. Close releases them.
type Deps struct {
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Blobs    blob.Store     // nil unless the Config embeds Blob
	Verifier *auth.Verifier // nil unless the Config embeds Auth

	brokerURL string
	tokenFile string
	log       *slog.Logger
	closers   []func()
}

// Open connects, in this order: PostgreSQL (a pool of maxConns, then the
// platform migration and the function's migrations), Redis, the object
// store if cfg embeds Blob, and a token verifier if cfg embeds Auth. On
// error it closes what it opened.
func Open(ctx context.Context, cfg BackendConfig, maxConns int, log *slog.Logger, migrations ...store.Migration) (_ *Deps, err error) {
	b := cfg.backend()
	d := &Deps{brokerURL: b.BrokerURL, tokenFile: b.SinkToken, log: log}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.Pool, err = store.Connect(ctx, b.DatabaseURL, int32(maxConns)); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, d.Pool.Close)
	if err := store.Migrate(ctx, d.Pool, append([]store.Migration{store.Platform()}, migrations...)...); err != nil {
		return nil, err
	}
	if d.Redis, err = cache.Connect(ctx, b.RedisURL); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { _ = d.Redis.Close() })
	if c, ok := cfg.(interface{ blob() *Blob }); ok {
		if d.Blobs, err = blob.Open(ctx, c.blob().BlobURL); err != nil {
			return nil, err
		}
	}
	if c, ok := cfg.(interface{ auth() *Auth }); ok {
		a := c.auth()
		if d.Verifier, err = auth.NewVerifier(auth.VerifierConfig{JWKSURL: a.JWKSURL, Issuer: a.Issuer, Audience: a.Audience,
			Redis: d.Redis, Logger: log}); err != nil {
			return nil, err
		}
		d.closers = append(d.closers, d.Verifier.Close)
	}
	return d, nil
}

// Close releases in the reverse order of Open. It is safe on a nil Deps.
func (d *Deps) Close() {
	if d == nil {
		return
	}
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// StartRelay posts the outbox to the Broker (K_SINK) until stop is called.
func (d *Deps) StartRelay(ctx context.Context) (stop func(), err error) {
	return outbox.StartHTTPRelay(ctx, d.Pool, d.brokerURL, d.tokenFile, d.log)
}

// Run is the rest of a Knative entry point once fn is built: it starts
// fn's background work (runtime.Start) and, when d holds a database, the
// outbox relay to the Broker; serves fn on $PORT, deliveries from the
// Broker authenticated by their OIDC sender identity; and when ctx ends
// drains in-flight requests for DRAIN_TIMEOUT, then stops the relay and
// fn (runtime.Stop), in that order, so work accepted before SIGTERM is
// finished and its events relayed.
func Run(ctx context.Context, name string, fn runtime.Function, s Server, d *Deps, log *slog.Logger) (err error) {
	h, err := knativeHandler(name, fn, s, log)
	if err != nil {
		return err
	}
	if err := runtime.Start(ctx, fn); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), s.DrainTimeout)
		defer cancel()
		if serr := runtime.Stop(sctx, fn); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop %s: %w", name, serr))
		}
	}()
	if d != nil && d.Pool != nil {
		stopRelay, err := d.StartRelay(ctx)
		if err != nil {
			return err
		}
		defer stopRelay()
	}
	return runtime.Serve(ctx, fmt.Sprintf(":%d", s.Port), h, s.DrainTimeout, log)
}

func knativeHandler(name string, fn runtime.Function, s Server, log *slog.Logger) (http.Handler, error) {
	proxies, err := s.Proxies()
	if err != nil {
		return nil, err
	}
	oidc, err := runtime.NewOIDC(name, s.Events, nil, nil)
	if err != nil {
		return nil, err
	}
	log.Info("event deliveries need the Broker's OIDC token", "audience", oidc.Audience(), "issuer", s.Events.Issuer)
	return runtime.Knative(name, fn, oidc, runtime.Options{Logger: log, Metrics: runtime.NewMetrics(), Proxies: proxies}), nil
}
