// Command certificate-print is the certificate-print function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	certificateprint "github.com/sjzamr/smartreg/functions/certificate-print"
	"github.com/sjzamr/smartreg/functions/certificate-print/render"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob // the certificates' PDFs
	certificateprint.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(certificateprint.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(certificateprint.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, certificateprint.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := certificateprint.New(certificateprint.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs,
		Render: render.New(), Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, certificateprint.Name, fn, cfg.Server, deps, log)
}
