// Command ocr-idcard is the ocr-idcard function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	ocridcard "github.com/sjzamr/smartreg/functions/ocr-idcard"
	"github.com/sjzamr/smartreg/functions/ocr-idcard/recognize"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob // encrypted ID-card photos
	ocridcard.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() {
	// Tesseract's OpenMP threads must be limited before libgomp loads.
	if err := recognize.SingleThreaded(); err != nil {
		panic(err)
	}
	entry.Main(ocridcard.Name, run)
}

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(ocridcard.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, ocridcard.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := ocridcard.New(ocridcard.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs, Now: time.Now, Verifier: deps.Verifier}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, ocridcard.Name, fn, cfg.Server, deps, log)
}
