// Command scan-resolve is the scan-resolve function's Knative entry point:
// the same constructor the one-process platform calls, served on $PORT,
// with an outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	scanresolve "github.com/sjzamr/smartreg/functions/scan-resolve"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/qrtoken"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type Config struct {
	entry.Server
	entry.Backend
	entry.Blob
	entry.Auth
	QRTokenKey string `env:"QR_TOKEN_KEY" default:"smartreg-dev-qr-token-key-not-for-production" secret:"true" help:"二维码令牌 MAC 密钥，与 qr-generate 相同"`
	DBMaxConns int    `env:"DB_MAX_CONNS" default:"40"` // cache misses only: the hot path needs no connection
}

func main() { entry.Main(scanresolve.Name, run) }

func run(ctx context.Context) error {
	// The function's own settings are logged apart, as function_config.
	var fcfg scanresolve.Config
	if err := config.Load(&fcfg, nil); err != nil {
		return err
	}
	var cfg Config
	log, err := entry.Load(scanresolve.Name, &cfg, "function_config", config.Masked(&fcfg))
	if err != nil {
		return err
	}
	// registry and qr apply their own migrations; scan's reads theirs.
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, scanresolve.Migration())
	if err != nil {
		return err
	}
	defer deps.Close()
	codec, err := qrtoken.New([]byte(cfg.QRTokenKey))
	if err != nil {
		return err
	}
	fn, err := scanresolve.New(scanresolve.Deps{Logger: log, Pool: deps.Pool, Redis: deps.Redis, Blobs: deps.Blobs, Tokens: codec,
		Auth: deps.Verifier, Now: time.Now, Config: fcfg})
	if err != nil {
		return err
	}
	// After the drain, Stop writes the buffered scans (or parks them in Redis).
	return entry.Run(ctx, scanresolve.Name, fn, cfg.Server, deps, log)
}
