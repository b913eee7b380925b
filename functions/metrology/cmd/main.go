// Command metrology is the metrology function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	metrology "github.com/sjzamr/smartreg/functions/metrology"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob // field records' photos
	metrology.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(metrology.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(metrology.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, metrology.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := metrology.New(metrology.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, metrology.Name, fn, cfg.Server, deps, log)
}
