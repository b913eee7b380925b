// Package qrgenerate issues one QR code per market entity (一企一码,
// FP-22–25, FP-46–50): codes from entity.registered events and from batch
// and bulk issuance, review (赋码审核) for public institutions and private
// non-enterprise units, invalidation (manual, on entity.deregistered, and by
// the nightly sweep) and re-activation, downloads (PNG, SVG, PDF poster,
// ZIP) rendered on demand and cached in object storage, the operation log,
// and the issuance and download statistics. Batch issuance runs as durable
// jobs (qr.batch_jobs), worked off in every replica by the runner that
// Start begins.
//
// Files: function.go (settings, dependencies, lifecycle), http.go (routes),
// events.go (Receive), code.go (commands on one code), query.go (lists,
// log, statistics), download.go, jobs.go and bulk.go (batch issuance),
// store.go, store_jobs.go and store_bulk.go (all SQL).
package qrgenerate

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"

	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/qrtoken"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its probe prefix and Knative Service.
const Name = "qr-generate"

// Source is the CloudEvents source of everything qr-generate emits.
const Source = "/functions/qr-generate"

// SweepTask is the PingSource data {"task": "qr-sweep"} of the nightly sweep.
const SweepTask = "qr-sweep"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the qr schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is qr-generate's own settings, with the shared groups it reads:
// the public address its codes point to and the token key it shares with
// scan-resolve.
type Config struct {
	config.Public
	qrtoken.Config
	Authority   string        `env:"QR_POSTER_AUTHORITY" default:"石家庄市市场监督管理局" help:"二维码海报上的发码机关"`
	MaxZipItems int           `env:"QR_MAX_ZIP_ITEMS" default:"2000" help:"单次批量下载（ZIP）最多包含的二维码数"`
	BatchLease  time.Duration `env:"QR_BATCH_LEASE" default:"1m" help:"批量赋码任务的租约：执行副本超过该时长无心跳，任务由其他副本接手（每 1/3 租约续约一次）"`
	BatchPoll   time.Duration `env:"QR_BATCH_POLL" default:"5s" help:"批量赋码执行器查找其他副本排队或中断的任务的间隔"`
}

// Validate refuses settings qr-generate cannot work with.
func (c Config) Validate() error {
	var bad []string
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad = append(bad, "PUBLIC_BASE_URL must be an absolute http(s) URL (codes point to PUBLIC_BASE_URL/q/{token})")
	}
	if err := c.Config.Validate(); err != nil {
		bad = append(bad, err.Error())
	}
	if strings.TrimSpace(c.Authority) == "" {
		bad = append(bad, "QR_POSTER_AUTHORITY must not be empty (posters print it)")
	}
	if c.MaxZipItems < 1 {
		bad = append(bad, "QR_MAX_ZIP_ITEMS must be at least 1")
	}
	if c.BatchLease < time.Second {
		bad = append(bad, "QR_BATCH_LEASE must be at least 1s")
	}
	if c.BatchPoll <= 0 {
		bad = append(bad, "QR_BATCH_POLL must be positive")
	}
	if len(bad) > 0 {
		return errors.New("qr-generate: " + strings.Join(bad, "; "))
	}
	return nil
}

// Verifier puts the caller's principal into each request
// (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is the part of object storage the download cache needs.
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// Renderer draws a code's downloads; *render.Renderer is the real one.
type Renderer interface {
	PNG(content string, sizePx int) ([]byte, error)
	SVG(content string) ([]byte, error)
	Poster(p render.PosterInput) ([]byte, error)
}

// Deps is what qr-generate needs.
type Deps struct {
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	Blob   Blob
	Render Renderer
	// Verifier authenticates callers; every API needs a principal with
	// the right permission, confined to the principal's data scope.
	Verifier Verifier
	Now      func() time.Time
}

// Function is qr-generate.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	render   Renderer
	verifier Verifier
	now      func() time.Time
	cfg      Config
	tokens   *qrtoken.Codec
	baseURL  string
	renders  singleflight.Group
	wake     chan struct{} // a queued job: the runner looks now rather than at the next poll

	mu       sync.Mutex
	stopJobs context.CancelFunc // set by Start
	jobsDone chan struct{}
}

// New checks the dependencies and the settings and builds the function;
// it does no I/O and starts nothing (Start does).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("qr-generate: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("qr-generate: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("qr-generate: Blob is required")
	case d.Render == nil:
		return nil, errors.New("qr-generate: Render is required")
	case d.Verifier == nil:
		return nil, errors.New("qr-generate: Verifier is required")
	case d.Now == nil:
		return nil, errors.New("qr-generate: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tokens, err := c.Codec()
	if err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, render: d.Render, verifier: d.Verifier, now: d.Now,
		cfg: c, tokens: tokens, baseURL: c.URL(), wake: make(chan struct{}, 1)}, nil
}

// Start runs the batch-job runner in the background until Stop: batch
// issuance is worked off in every replica beside the server.
func (f *Function) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopJobs != nil {
		return errors.New("qr-generate: already started")
	}
	// The runner outlives ctx (the start-up context) until Stop, which
	// comes after the server has drained.
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.runBatchJobs(jctx)
	}()
	f.stopJobs, f.jobsDone = cancel, done
	return nil
}

// Stop ends the runner; the job it was running goes back to the queue for
// another replica.
func (f *Function) Stop(ctx context.Context) error {
	f.mu.Lock()
	cancel, done := f.stopJobs, f.jobsDone
	f.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// URL is the content of the code with token.
func (f *Function) URL(token string) string { return f.baseURL + "/q/" + token }

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }
