// Command deadletter is the Knative dead-letter sink of the Broker and the
// Triggers (infra/knative/dead-letter.yaml): it stores failed events in
// broker.dead_letters, where `smartreg dlq list` shows them. Like every
// receiver it accepts only deliveries carrying the Broker's OIDC token.
package main

import (
	"context"
	"os"

	"github.com/sjzamr/smartreg/infra/local/broker"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the dead-letter Service's name and event audience suffix.
const Name = "dead-letter"

type Config struct {
	entry.Server
	DatabaseURL string `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/smartreg?sslmode=disable" secret:"true"`
}

func main() { entry.Main(Name, run) }

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Load(&cfg, nil); err != nil {
		return err
	}
	log := httpx.NewLogger(os.Stderr, cfg.LogLevel).With("function", Name)
	log.Info("starting", "config", config.Masked(&cfg))
	pool, err := store.Connect(ctx, cfg.DatabaseURL, 10)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, store.Platform(), broker.Migration()); err != nil {
		return err
	}
	sink, err := broker.NewDeadLetterSink(pool)
	if err != nil {
		return err
	}
	return entry.Run(ctx, Name, sink, cfg.Server, nil, log)
}
