// Command crawler-shard is the crawler-shard function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	crawlershard "github.com/sjzamr/smartreg/functions/crawler-shard"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	crawlershard.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(crawlershard.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(crawlershard.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, crawlershard.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := crawlershard.New(crawlershard.Deps{Logger: log, Pool: deps.Pool, Redis: deps.Redis, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, crawlershard.Name, fn, cfg.Server, deps, log)
}
