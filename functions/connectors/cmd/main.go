// Command connectors is the connectors function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"net/http"
	"time"

	connectors "github.com/sjzamr/smartreg/functions/connectors"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	connectors.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(connectors.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(connectors.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, connectors.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := connectors.New(connectors.Deps{Logger: log, Pool: deps.Pool, HTTP: &http.Client{}, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, connectors.Name, fn, cfg.Server, deps, log)
}
