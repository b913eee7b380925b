// Command notify is the message centre's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK). Its Service is
// tuned for long-lived streams (infra/knative/functions/notify.yaml).
package main

import (
	"context"
	"time"

	"github.com/sjzamr/smartreg/functions/notify"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	notify.Config
	// Streams hold no connection; only their first count and the reads do.
	DBMaxConns int `env:"DB_MAX_CONNS" default:"10"`
}

func main() { entry.Main(notify.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(notify.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, notify.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := notify.New(notify.Deps{Logger: log, Pool: deps.Pool, Redis: deps.Redis, Verifier: deps.Verifier, Now: time.Now}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, notify.Name, fn, cfg.Server, deps, log)
}
