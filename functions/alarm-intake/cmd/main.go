// Command alarm-intake is the alarm-intake function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	alarmintake "github.com/sjzamr/smartreg/functions/alarm-intake"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob // alarm photos and voice notes
	alarmintake.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(alarmintake.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(alarmintake.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, alarmintake.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := alarmintake.New(alarmintake.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, alarmintake.Name, fn, cfg.Server, deps, log)
}
