// Command console is the admin console's Knative entry point: the embedded
// single-page application served under /console/ on $PORT.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sjzamr/smartreg/functions/console"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime"
)

type Config struct {
	Port         int           `env:"PORT" default:"8080" help:"HTTP 端口"`
	LogLevel     string        `env:"LOG_LEVEL" default:"info" help:"日志级别 debug/info/warn/error"`
	DrainTimeout time.Duration `env:"DRAIN_TIMEOUT" default:"20s" help:"收到 SIGTERM 后等待在途请求完成的时间"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Load(&cfg, nil); err != nil {
		return err
	}
	log := httpx.NewLogger(os.Stderr, cfg.LogLevel).With("function", console.Name)
	log.Info("starting", "config", config.Masked(&cfg))
	fn, err := console.New(console.Deps{Logger: log})
	if err != nil {
		return err
	}
	h := runtime.Handler(console.Name, fn, log, runtime.NewMetrics())
	return runtime.Serve(ctx, fmt.Sprintf(":%d", cfg.Port), h, cfg.DrainTimeout, log)
}
