// Command evidence-capture is the evidence-capture function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	evidencecapture "github.com/sjzamr/smartreg/functions/evidence-capture"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob
	evidencecapture.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(evidencecapture.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(evidencecapture.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, evidencecapture.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := evidencecapture.New(evidencecapture.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, evidencecapture.Name, fn, cfg.Server, deps, log)
}
