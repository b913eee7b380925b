// Command policy-match is the policy-match function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	policymatch "github.com/sjzamr/smartreg/functions/policy-match"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	policymatch.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(policymatch.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(policymatch.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, policymatch.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := policymatch.New(policymatch.Deps{Logger: log, Pool: deps.Pool, Now: time.Now, Verifier: deps.Verifier,
		Fetcher: policymatch.NewHTTPFetcher()}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, policymatch.Name, fn, cfg.Server, deps, log)
}
