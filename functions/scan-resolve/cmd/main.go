// Command scan-resolve is the scan-resolve function's Knative entry point:
// the same constructor the one-process platform calls, served on $PORT,
// with an outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	scanresolve "github.com/sjzamr/smartreg/functions/scan-resolve"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Blob
	entry.Auth
	scanresolve.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"40"` // cache misses only: the hot path needs no connection
}

func main() { entry.Main(scanresolve.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(scanresolve.Name, &cfg)
	if err != nil {
		return err
	}
	// The registry and qr-generate apply their own migrations (scan's
	// functions call their published read functions).
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, scanresolve.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	codec, err := cfg.Codec()
	if err != nil {
		return err
	}
	fn, err := scanresolve.New(scanresolve.Deps{Logger: log, Pool: deps.Pool, Redis: deps.Redis, Blob: deps.Blobs,
		Tokens: codec, Verifier: deps.Verifier, Now: time.Now}, cfg.Config)
	if err != nil {
		return err
	}
	// Run starts the flusher (Start) and, after the drain, writes the
	// buffered scans or parks them in Redis (Stop).
	return entry.Run(ctx, scanresolve.Name, fn, cfg.Server, deps, log)
}
