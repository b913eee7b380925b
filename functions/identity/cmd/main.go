// Command identity is the identity function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events (login and operation log rows) to the Broker.
package main

import (
	"context"
	"time"

	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type settings struct {
	entry.Server
	entry.Backend
	identity.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(identity.Name, run) }

func run(ctx context.Context) error {
	var cfg settings
	log, err := entry.Load(identity.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, identity.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := identity.New(identity.Deps{Logger: log, Pool: deps.Pool, Redis: deps.Redis, Now: time.Now}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, identity.Name, fn, cfg.Server, deps, log)
}
