// Command provincial-sync is the provincial-sync function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"net/http"
	"time"

	provincialsync "github.com/sjzamr/smartreg/functions/provincial-sync"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob // the certificates' PDFs, to upload
	provincialsync.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(provincialsync.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(provincialsync.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, provincialsync.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := provincialsync.New(provincialsync.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs,
		HTTP: &http.Client{}, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, provincialsync.Name, fn, cfg.Server, deps, log)
}
