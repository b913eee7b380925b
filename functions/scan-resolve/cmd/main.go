// Command scan-resolve is the scan-resolve function's Knative entry point:
// the same constructor the one-process platform calls, served on $PORT,
// with an outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	scanresolve "github.com/sjzamr/smartreg/functions/scan-resolve"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/cache"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/qrtoken"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
)

type Config struct {
	DatabaseURL  string        `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/smartreg?sslmode=disable" secret:"true"`
	RedisURL     string        `env:"REDIS_URL" default:"redis://127.0.0.1:6379/0" secret:"true"`
	BlobURL      string        `env:"BLOB_URL" default:"file:.data/blob" secret:"true"`
	QRTokenKey   string        `env:"QR_TOKEN_KEY" default:"smartreg-dev-qr-token-key-not-for-production" secret:"true" help:"二维码令牌 MAC 密钥，与 qr-generate 相同"`
	JWKSURL      string        `env:"AUTH_JWKS_URL" default:"http://localhost:8080/identity/oidc/keys" help:"identity 的公钥集（JWKS）地址"`
	Issuer       string        `env:"IDENTITY_ISSUER" default:"http://localhost:8080/identity/oidc" help:"访问令牌签发者（iss）"`
	Audience     string        `env:"AUTH_AUDIENCE" default:"smartreg" help:"访问令牌受众（aud）"`
	Port         int           `env:"PORT" default:"8080"`
	BrokerURL    string        `env:"K_SINK" default:"" help:"Broker ingress, injected by a SinkBinding"`
	LogLevel     string        `env:"LOG_LEVEL" default:"info"`
	DrainTimeout time.Duration `env:"DRAIN_TIMEOUT" default:"20s"`
	DBMaxConns   int           `env:"DB_MAX_CONNS" default:"40"` // cache misses only: the hot path needs no connection
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scan-resolve:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Load(&cfg, nil); err != nil {
		return err
	}
	var fcfg scanresolve.Config
	if err := config.Load(&fcfg, nil); err != nil {
		return err
	}
	log := httpx.NewLogger(os.Stderr, cfg.LogLevel).With("function", scanresolve.Name)
	log.Info("starting", "config", config.Masked(&cfg), "function_config", config.Masked(&fcfg))
	if cfg.BrokerURL == "" {
		return errors.New("K_SINK is not set: bind scan-resolve to the Broker with a SinkBinding")
	}
	pool, err := store.Connect(ctx, cfg.DatabaseURL, int32(cfg.DBMaxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	// registry and qr apply their own migrations; scan's reads theirs.
	if err := store.Migrate(ctx, pool, store.Platform(), scanresolve.Migration()); err != nil {
		return err
	}
	rdb, err := cache.Connect(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	blobs, err := blob.Open(ctx, cfg.BlobURL)
	if err != nil {
		return err
	}
	codec, err := qrtoken.New([]byte(cfg.QRTokenKey))
	if err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(auth.VerifierConfig{JWKSURL: cfg.JWKSURL, Issuer: cfg.Issuer, Audience: cfg.Audience,
		Redis: rdb, Logger: log})
	if err != nil {
		return err
	}
	defer verifier.Close()
	fn, err := scanresolve.New(scanresolve.Deps{Logger: log, Pool: pool, Redis: rdb, Blobs: blobs, Tokens: codec,
		Auth: verifier, Now: time.Now, Config: fcfg})
	if err != nil {
		return err
	}
	stopRelay, err := outbox.StartHTTPRelay(ctx, pool, cfg.BrokerURL, log)
	if err != nil {
		return err
	}
	defer stopRelay()
	h := runtime.Handler(scanresolve.Name, fn, log, runtime.NewMetrics())
	serveErr := runtime.Serve(ctx, fmt.Sprintf(":%d", cfg.Port), h, cfg.DrainTimeout, log)
	// After the drain: write the buffered scans (or park them in Redis).
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(serveErr, fn.Close(cctx))
}
