// Command comms is the comms function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events to the Broker (K_SINK).
package main

import (
	"context"
	"time"

	comms "github.com/sjzamr/smartreg/functions/comms"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
	"github.com/sjzamr/smartreg/shared/sms"
)

type config struct {
	entry.Server
	entry.Backend
	entry.Auth
	entry.Blob // recordings and the phones' voice and images
	SMS        sms.Config
	comms.Config
	DBMaxConns int `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(comms.Name, run) }

func run(ctx context.Context) error {
	var cfg config
	log, err := entry.Load(comms.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, comms.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	text, err := cfg.SMS.Client()
	if err != nil {
		return err
	}
	tel, fax, tts, err := cfg.Config.Gateways()
	if err != nil {
		return err
	}
	fn, err := comms.New(comms.Deps{Logger: log, Pool: deps.Pool, Now: time.Now, Verifier: deps.Verifier, Blob: deps.Blobs,
		SMS: text, Telephony: tel, Fax: fax, TTS: tts}, cfg.Config)
	if err != nil {
		return err
	}
	return entry.Run(ctx, comms.Name, fn, cfg.Server, deps, log)
}
