// Command datahub is the datahub function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	datahub "github.com/sjzamr/smartreg/functions/datahub"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	datahub.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(datahub.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(datahub.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, datahub.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := datahub.New(datahub.Deps{Logger: log, Pool: deps.Pool, Redis: deps.Redis, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, datahub.Name, fn, cfg.Server, deps, log)
}
