// Command console is the admin console's Knative entry point: the embedded
// single-page application served under /console/ on $PORT.
package main

import (
	"context"

	"github.com/sjzamr/smartreg/functions/console"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

func main() { entry.Main(console.Name, run) }

func run(ctx context.Context) error {
	var cfg entry.Server
	log, err := entry.Load(console.Name, &cfg)
	if err != nil {
		return err
	}
	fn, err := console.New(console.Deps{Logger: log}, console.Config{})
	if err != nil {
		return err
	}
	return entry.Run(ctx, console.Name, fn, cfg, nil, log)
}
