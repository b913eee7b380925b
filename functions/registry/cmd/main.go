// Command registry is the registry function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	"github.com/sjzamr/smartreg/functions/registry"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	registry.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"50"` // = containerConcurrency in the Knative Service
}

func main() { entry.Main(registry.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(registry.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, registry.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := registry.New(registry.Deps{Logger: log, Pool: deps.Pool, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, registry.Name, fn, cfg.Server, deps, log)
}
