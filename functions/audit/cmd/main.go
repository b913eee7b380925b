// Command audit is the audit function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events (the notices of security alerts) to the
// Broker (K_SINK).
package main

import (
	"context"
	"time"

	"github.com/sjzamr/smartreg/functions/audit"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Blob
	entry.Auth
	audit.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"` // containerConcurrency 20 in the Knative Service
}

func main() { entry.Main(audit.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(audit.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, audit.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := audit.New(audit.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs, Verifier: deps.Verifier, Now: time.Now}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, audit.Name, fn, cfg.Server, deps, log)
}
