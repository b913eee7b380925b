// Command registry is the registry function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK or BROKER_URL).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sjzamr/smartreg/functions/registry"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/cache"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
)

type Config struct {
	DatabaseURL  string        `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/smartreg?sslmode=disable" secret:"true"`
	RedisURL     string        `env:"REDIS_URL" default:"redis://127.0.0.1:6379/0" secret:"true" help:"Redis 连接串（令牌吊销通知）"`
	JWKSURL      string        `env:"AUTH_JWKS_URL" default:"http://localhost:8080/identity/oidc/keys" help:"identity 的公钥集（JWKS）地址"`
	Issuer       string        `env:"IDENTITY_ISSUER" default:"http://localhost:8080/identity/oidc" help:"访问令牌签发者（iss）"`
	Audience     string        `env:"AUTH_AUDIENCE" default:"smartreg" help:"访问令牌受众（aud）"`
	Port         int           `env:"PORT" default:"8080"`
	BrokerURL    string        `env:"K_SINK" default:"" help:"Broker ingress, injected by a SinkBinding"`
	LogLevel     string        `env:"LOG_LEVEL" default:"info"`
	DrainTimeout time.Duration `env:"DRAIN_TIMEOUT" default:"20s"`
	DBMaxConns   int           `env:"DB_MAX_CONNS" default:"50"` // = containerConcurrency in the Knative Service
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Load(&cfg, nil); err != nil {
		return err
	}
	log := httpx.NewLogger(os.Stderr, cfg.LogLevel).With("function", registry.Name)
	log.Info("starting", "config", config.Masked(&cfg))
	pool, err := store.Connect(ctx, cfg.DatabaseURL, int32(cfg.DBMaxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, store.Platform(), registry.Migration()); err != nil {
		return err
	}
	rdb, err := cache.Connect(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	verifier, err := auth.NewVerifier(auth.VerifierConfig{JWKSURL: cfg.JWKSURL, Issuer: cfg.Issuer, Audience: cfg.Audience,
		Redis: rdb, Logger: log})
	if err != nil {
		return err
	}
	defer verifier.Close()
	fn, err := registry.New(registry.Deps{Logger: log, Pool: pool, Now: time.Now, Auth: verifier})
	if err != nil {
		return err
	}
	if cfg.BrokerURL == "" {
		return errors.New("K_SINK is not set: bind the registry to the Broker with a SinkBinding")
	}
	stopRelay, err := outbox.StartHTTPRelay(ctx, pool, cfg.BrokerURL, log)
	if err != nil {
		return err
	}
	defer stopRelay()
	h := runtime.Handler(registry.Name, fn, log, runtime.NewMetrics())
	return runtime.Serve(ctx, fmt.Sprintf(":%d", cfg.Port), h, cfg.DrainTimeout, log)
}
