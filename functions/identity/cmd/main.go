// Command identity is the identity function's Knative entry point: the same
// constructor the one-process platform calls, served on $PORT, with an
// outbox relay posting its events (login and operation log rows) to the Broker.
package main

import (
	"context"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/functions/identity"
	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type Config struct {
	entry.Server
	entry.Backend

	PublicBaseURL string `env:"PUBLIC_BASE_URL" default:"http://localhost:8080"`
	DBMaxConns    int    `env:"DB_MAX_CONNS" default:"20"`

	// The function's and its sub-packages' settings: groups without an env
	// tag, which shared/config loads field by field.
	Identity identity.Config
	OIDC     oidcprovider.Config
	Online   online.Config
}

func main() { entry.Main(identity.Name, run) }

func run(ctx context.Context) error {
	var cfg Config
	log, err := entry.Load(identity.Name, &cfg)
	if err != nil {
		return err
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, identity.Migrations()...)
	if err != nil {
		return err
	}
	defer deps.Close()
	fn, err := identity.New(identity.Deps{Logger: log, Pool: deps.Pool, Redis: deps.Redis, Now: time.Now, Config: cfg.Identity,
		Online: cfg.Online,
		OIDC:   identity.OIDCConfig{PublicBaseURL: strings.TrimRight(cfg.PublicBaseURL, "/"), Upstream: cfg.OIDC.Upstream(), WeChat: cfg.OIDC.WeChat()}})
	if err != nil {
		return err
	}
	defer fn.Close()
	return entry.Run(ctx, identity.Name, fn, cfg.Server, deps, log)
}
