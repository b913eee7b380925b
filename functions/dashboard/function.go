// Package dashboard is the dashboard function (看板): the big screen
// (FP-101) and custom topic reports with subscriptions (FP-121, 138),
// and the KPI board
// (指标看板, FP-110–114, 130) — indicators in a two-level category tree,
// maintained from the back office, counted in the caller's data scope over
// the registry's published read functions (registry migration 0140), with
// advanced indicators' rosters, county rankings and exports — and the
// pre-aggregated rollup of entity counts that answers the basic
// indicators, refreshed by registry.entity.* events and a PingSource.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/dashboard/geocode"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "dashboard"

// Source is the CloudEvents source of everything dashboard emits.
const Source = "/functions/dashboard"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the dashboard schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	MaxExportRows int `env:"DASHBOARD_MAX_EXPORT_ROWS" default:"100000" help:"指标名单单次导出的最大行数（不受 2 000 行之限）"`
	// AMap's Web Service (FP-139); the one-process platform points it at
	// its simulator (/sim/amap) when simulators are on.
	AMapURL          string `env:"DASHBOARD_AMAP_URL" default:"https://restapi.amap.com" help:"高德地图 Web 服务地址（地理编码；开发模式指向模拟器）"`
	AMapKey          string `env:"DASHBOARD_AMAP_KEY" default:"dev-amap-key" help:"高德地图 Web 服务 Key"`
	AMapSecret       string `env:"DASHBOARD_AMAP_SECRET" default:"dev-amap-secret" secret:"true" help:"高德地图数字签名私钥（sig）"`
	GeocodeCacheDays int    `env:"DASHBOARD_GEOCODE_CACHE_DAYS" default:"30" help:"地理编码结果缓存天数（同一规范化地址在此期间不重复调用高德）"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	if c.MaxExportRows < 1 {
		return errors.New("dashboard: DASHBOARD_MAX_EXPORT_ROWS must be at least 1")
	}
	if u, err := url.Parse(c.AMapURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("dashboard: DASHBOARD_AMAP_URL must be an http(s) URL")
	}
	if c.GeocodeCacheDays < 1 {
		return errors.New("dashboard: DASHBOARD_GEOCODE_CACHE_DAYS must be at least 1")
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is what reports need from object storage (their PDFs).
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// Geocoder places an address (*geocode.AMap; tests point it at the simulator).
type Geocoder interface {
	Geocode(ctx context.Context, address string) (geocode.Point, bool, error)
}

// Lineage answers where a source record came from upstream (FP-108): the
// hook for datahub's lineage, being built. Optional; without it an
// anomaly's trace holds the platform's own steps.
type Lineage interface {
	Lineage(ctx context.Context, source, ref string) ([]TraceStep, error)
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Now      func() time.Time
	Verifier Verifier
	Blob     Blob    // delivered reports
	Lineage  Lineage // optional: datahub lineage for anomaly traces
}

// Function is dashboard.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	blob     Blob
	cfg      Config
	norm     *geocode.Normalizer
	geocoder Geocoder
	lineage  Lineage
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (background work goes in Start, its end in Stop).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("dashboard: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("dashboard: Pool is required")
	case d.Now == nil:
		return nil, errors.New("dashboard: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("dashboard: Verifier is required")
	case d.Blob == nil:
		return nil, errors.New("dashboard: Blob is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, blob: d.Blob, cfg: c, lineage: d.Lineage,
		norm: geocode.NewNormalizer(), geocoder: &geocode.AMap{BaseURL: c.AMapURL, Key: c.AMapKey, Secret: c.AMapSecret,
			HTTP: &http.Client{Timeout: 10 * time.Second}}}, nil
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }
