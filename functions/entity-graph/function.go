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
	// FP-125: the national enterprise-data gateway, for entities beyond
	// Shijiazhuang in the portrait.
	NationalURL     string        `env:"ENTITY_GRAPH_NATIONAL_URL" default:"http://localhost:8080/sim/nationaldata" help:"国家企业数据接口地址（GET {base}/openapi/v1/enterprises/{code}）；本地默认指向模拟器（须 SMARTREG_SIMULATORS=true）"`
	NationalKey     string        `env:"ENTITY_GRAPH_NATIONAL_KEY" default:"smartreg-dev" help:"国家企业数据接口分配的 AppKey"`
	NationalSecret  string        `env:"ENTITY_GRAPH_NATIONAL_SECRET" default:"dev-only-nationaldata-secret" secret:"true" help:"国家企业数据接口请求签名密钥（HMAC-SHA256）；本地默认值仅供开发"`
	NationalTimeout time.Duration `env:"ENTITY_GRAPH_NATIONAL_TIMEOUT" default:"5s" help:"每次国家企业数据查询的超时时间"`
	NationalMax     int           `env:"ENTITY_GRAPH_NATIONAL_MAX" default:"8" help:"一份企业画像中最多向国家企业数据接口查询的外地关联主体数"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	if c.Threshold <= 0 || c.Threshold > 100 {
		return errors.New("entity-graph: ENTITY_GRAPH_THRESHOLD must be above 0 and at most 100")
	}
	if c.NationalTimeout <= 0 || c.NationalMax < 0 {
		return errors.New("entity-graph: ENTITY_GRAPH_NATIONAL_TIMEOUT must be positive and ENTITY_GRAPH_NATIONAL_MAX not negative")
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
	// National is the national enterprise-data gateway; nil: its HTTP
	// client from Config.
	National National
}

// Function is entity-graph.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	national National
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
	nat := d.National
	if nat == nil {
		nat = newNationalClient(c, d.Now)
	}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, national: nat, cfg: c}, nil
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }
