// Command identity is the identity function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events (notices, security alerts) to the Broker.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/functions/identity/notify"
	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/cache"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
)

type Config struct {
	DatabaseURL   string        `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/smartreg?sslmode=disable" secret:"true"`
	RedisURL      string        `env:"REDIS_URL" default:"redis://127.0.0.1:6379/0" secret:"true"`
	BlobURL       string        `env:"BLOB_URL" default:"file:.data/blob" secret:"true" help:"audit-log archives"`
	PublicBaseURL string        `env:"PUBLIC_BASE_URL" default:"http://localhost:8080"`
	Port          int           `env:"PORT" default:"8080"`
	BrokerURL     string        `env:"K_SINK" default:"" help:"Broker ingress, injected by a SinkBinding"`
	LogLevel      string        `env:"LOG_LEVEL" default:"info"`
	DrainTimeout  time.Duration `env:"DRAIN_TIMEOUT" default:"20s"`
	DBMaxConns    int           `env:"DB_MAX_CONNS" default:"20"`

	// The function's and its sub-packages' settings: groups without an env
	// tag, which shared/config loads field by field.
	Identity identity.Config
	OIDC     oidcprovider.Config
	Audit    audit.Config
	Notify   notify.Config
	Online   online.Config
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "identity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Load(&cfg, nil); err != nil {
		return err
	}
	log := httpx.NewLogger(os.Stderr, cfg.LogLevel).With("function", identity.Name)
	log.Info("starting", "config", config.Masked(&cfg))
	pool, err := store.Connect(ctx, cfg.DatabaseURL, int32(cfg.DBMaxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, identity.Migrations()...)...); err != nil {
		return err
	}
	rdb, err := cache.Connect(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	bl, err := blob.Open(ctx, cfg.BlobURL)
	if err != nil {
		return err
	}
	fn, err := identity.New(identity.Deps{Logger: log, Pool: pool, Redis: rdb, Now: time.Now, Config: cfg.Identity, Blob: bl,
		Audit: cfg.Audit, Notify: cfg.Notify, Online: cfg.Online,
		OIDC: identity.OIDCConfig{PublicBaseURL: strings.TrimRight(cfg.PublicBaseURL, "/"), Upstream: cfg.OIDC.Upstream(), WeChat: cfg.OIDC.WeChat()}})
	if err != nil {
		return err
	}
	defer fn.Close()
	if cfg.BrokerURL == "" {
		return errors.New("K_SINK is not set: bind identity to the Broker with a SinkBinding")
	}
	stopRelay, err := outbox.StartHTTPRelay(ctx, pool, cfg.BrokerURL, log)
	if err != nil {
		return err
	}
	defer stopRelay()
	h := runtime.Handler(identity.Name, fn, log, runtime.NewMetrics())
	return runtime.Serve(ctx, fmt.Sprintf(":%d", cfg.Port), h, cfg.DrainTimeout, log)
}
