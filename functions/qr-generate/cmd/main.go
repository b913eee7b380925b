// Command qr-generate is the qr-generate function's Knative entry point:
// the same constructor the one-process platform calls, served on $PORT,
// with an outbox relay posting its events to the Broker (K_SINK) and the
// batch issuance runner (Start/Stop).
package main

import (
	"context"
	"time"

	qrgenerate "github.com/sjzamr/smartreg/functions/qr-generate"
	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Blob // QR images, cached posters
	entry.Auth
	qrgenerate.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(qrgenerate.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(qrgenerate.Name, &cfg)
	if err != nil {
		return err
	}
	if cfg.DevKeyInUse() {
		log.Warn("QR_TOKEN_KEY is the documented development key: set a secret key in production")
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, qrgenerate.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := qrgenerate.New(qrgenerate.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs, Render: render.New(render.LevelM),
		Verifier: deps.Verifier, Now: time.Now}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, qrgenerate.Name, fn, cfg.Server, deps, log)
}
