// Command dashboard is the dashboard function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	dashboard "github.com/sjzamr/smartreg/functions/dashboard"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob
	dashboard.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(dashboard.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(dashboard.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, dashboard.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := dashboard.New(dashboard.Deps{Logger: log, Pool: deps.Pool, Now: time.Now, Verifier: deps.Verifier, Blob: deps.Blobs}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, dashboard.Name, fn, cfg.Server, deps, log)
}
