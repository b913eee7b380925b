// Package entitygraph is the enterprise graph (企业图谱, FP-134) and equity
// penetration (股权穿透, FP-135): shareholders (entities and natural
// persons), holdings with percentages, relations and change records; the
// holders of an entity along every chain, with its ultimate controllers
// and beneficial owners, all within the caller's data scope.
package entitygraph

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "entity-graph"

// Source is the CloudEvents source of everything entity-graph emits.
const Source = "/functions/entity-graph"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the graph schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	Threshold int `env:"ENTITY_GRAPH_THRESHOLD" default:"25" help:"实际控制人与受益所有人的默认持股比例阈值（%）"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	if c.Threshold <= 0 || c.Threshold > 100 {
		return errors.New("entity-graph: ENTITY_GRAPH_THRESHOLD must be above 0 and at most 100")
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Now      func() time.Time
	Verifier Verifier
}

// Function is entity-graph.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	cfg      Config
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (background work goes in Start, its end in Stop).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("entity-graph: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("entity-graph: Pool is required")
	case d.Now == nil:
		return nil, errors.New("entity-graph: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("entity-graph: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, cfg: c}, nil
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }
