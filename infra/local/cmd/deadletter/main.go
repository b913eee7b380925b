// Command deadletter is the Knative dead-letter sink of the Broker and the
// Triggers (infra/knative/dead-letter.yaml): it stores failed events in
// broker.dead_letters, where `smartreg dlq list` shows them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sjzamr/smartreg/infra/local/broker"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
)

type Config struct {
	DatabaseURL  string        `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/smartreg?sslmode=disable" secret:"true"`
	Port         int           `env:"PORT" default:"8080"`
	LogLevel     string        `env:"LOG_LEVEL" default:"info"`
	DrainTimeout time.Duration `env:"DRAIN_TIMEOUT" default:"20s"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "deadletter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Load(&cfg, nil); err != nil {
		return err
	}
	log := httpx.NewLogger(os.Stderr, cfg.LogLevel).With("function", "dead-letter")
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
	h := runtime.Handler("dead-letter", sink, log, runtime.NewMetrics())
	return runtime.Serve(ctx, fmt.Sprintf(":%d", cfg.Port), h, cfg.DrainTimeout, log)
}
