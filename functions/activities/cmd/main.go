// Command activities is the activities function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	activities "github.com/sjzamr/smartreg/functions/activities"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
	"github.com/sjzamr/smartreg/shared/sms"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob // photos and imported images
	activities.Config
	SMS        sms.Config // reminders
	DBMaxConns int        `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(activities.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(activities.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, activities.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	text, err := cfg.SMS.Client()
	if err != nil {
		return err
	}
	fn, err := activities.New(activities.Deps{Logger: log, Pool: deps.Pool, Now: time.Now, Verifier: deps.Verifier,
		Blob: deps.Blobs, SMS: text}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, activities.Name, fn, cfg.Server, deps, log)
}
