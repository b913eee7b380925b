// Package policymatch is the policy-match function (政策匹配, FP-54–64): the
// policy library with its imports, the labels every policy gets with their
// reasons (type, level, timeliness, category, issuing department) and a
// person's overrides, the structured applicability condition, the
// enterprise side (industry, type, size, ownership of an entity), matching
// both ways with every condition explained, and the fan-out of a published
// policy to its matching entities with a notice to each enterprise.
//
// The path of a match: http.go (routes) → match.go (entity → policies:
// loadSubject through registry.policy_subject/policy_figure, then
// Condition.Evaluate in condition.go per published policy; policy →
// entities: Condition.where compiled into one scan of policy.subjects,
// the copy of registry.policy_subjects the entity events keep current, in
// store.go). Classification is classify.go
// (with segment.go, gse), the enterprise side enterprise.go, imports
// importer.go, events events.go.
package policymatch

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
const Name = "policy-match"

// Source is the CloudEvents source of everything policy-match emits.
const Source = "/functions/policy-match"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the policy schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	SoonEffectiveDays int           `env:"POLICY_SOON_EFFECTIVE_DAYS" default:"30" help:"政策时效：生效日前多少天内为“即将生效”的临近提示（天）"`
	SoonExpiringDays  int           `env:"POLICY_SOON_EXPIRING_DAYS" default:"30" help:"政策时效：截止日前多少天内标为“即将过期”（天）"`
	FanoutBatch       int           `env:"POLICY_FANOUT_BATCH" default:"500" help:"政策发布后推送匹配主体的每批数量（每批一个 policy.matched 事件）"`
	MaxExportRows     int           `env:"POLICY_MAX_EXPORT_ROWS" default:"100000" help:"政策匹配主体清单单次导出的最大行数"`
	PDFToText         string        `env:"POLICY_PDFTOTEXT" default:"pdftotext" help:"PDF 文字层提取程序（poppler-utils 的 pdftotext）"`
	FetchTimeout      time.Duration `env:"POLICY_FETCH_TIMEOUT" default:"15s" help:"按网址导入政策时单个页面的抓取超时"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case c.SoonEffectiveDays < 0 || c.SoonEffectiveDays > 365:
		return errors.New("policy-match: POLICY_SOON_EFFECTIVE_DAYS must be between 0 and 365")
	case c.SoonExpiringDays < 0 || c.SoonExpiringDays > 365:
		return errors.New("policy-match: POLICY_SOON_EXPIRING_DAYS must be between 0 and 365")
	case c.FanoutBatch < 1 || c.FanoutBatch > 1000:
		return errors.New("policy-match: POLICY_FANOUT_BATCH must be between 1 and 1000")
	case c.MaxExportRows < 1:
		return errors.New("policy-match: POLICY_MAX_EXPORT_ROWS must be at least 1")
	case c.PDFToText == "":
		return errors.New("policy-match: POLICY_PDFTOTEXT must name a program")
	case c.FetchTimeout <= 0:
		return errors.New("policy-match: POLICY_FETCH_TIMEOUT must be positive")
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Fetcher gets a page for the import by address (FP-57: government sites
// publish policies as HTML pages and attached PDFs). The platform passes
// an HTTP client; tests pass one pointed at the simulator (tests/sim/govsite).
type Fetcher interface {
	Fetch(ctx context.Context, url string) (body []byte, contentType string, err error)
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Now      func() time.Time
	Verifier Verifier
	Fetcher  Fetcher
}

// Function is policy-match.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	fetcher  Fetcher
	cfg      Config
	seg      *Segmenter
	industry *IndustryModel
	policies policyCache
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (the dictionary loads on first use).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("policy-match: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("policy-match: Pool is required")
	case d.Now == nil:
		return nil, errors.New("policy-match: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("policy-match: Verifier is required")
	case d.Fetcher == nil:
		return nil, errors.New("policy-match: Fetcher is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	seg := &Segmenter{}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, fetcher: d.Fetcher, cfg: c,
		seg: seg, industry: &IndustryModel{seg: seg, lexicon: true}}, nil
}

// Start loads the dictionary before the first request needs it.
func (f *Function) Start(context.Context) error {
	f.seg.load()
	return f.seg.err
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

func (f *Function) thresholds() Thresholds {
	return Thresholds{SoonEffectiveDays: f.cfg.SoonEffectiveDays, SoonExpiringDays: f.cfg.SoonExpiringDays}
}

// today is the calendar day in Shijiazhuang.
func (f *Function) today() time.Time {
	t := f.now().In(beijing)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

var beijing = time.FixedZone("CST", 8*3600)
