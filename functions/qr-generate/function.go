// Package qrgenerate issues one QR code per market entity (一企一码,
// FP-22–25, FP-46–50): codes from entity.registered events and from batch
// and bulk issuance, review (赋码审核) for public institutions and private
// non-enterprise units, invalidation (manual, on entity.deregistered, and by
// the nightly sweep) and re-activation, downloads (PNG, SVG, PDF poster,
// ZIP) rendered on demand and cached in object storage, the operation log,
// and the issuance and download statistics. Batch issuance runs as durable
// jobs (qr.batch_jobs) that RunBatchJobs works off in every replica.
package qrgenerate

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"

	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/outbox"
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

// Migration is the qr schema.
func Migration() store.Migration {
	return store.Migration{Component: Name, FS: migrations, Dir: "migrations"}
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
	Tokens *qrtoken.Codec
	Now    func() time.Time
	// Authenticate puts the caller's principal into the request context:
	// (*auth.Verifier).Middleware in production.
	Authenticate func(http.Handler) http.Handler
	// PublicBaseURL is the platform's external address; a code's content
	// is PublicBaseURL + "/q/" + token.
	PublicBaseURL string
	// Authority is printed on posters; DefaultAuthority when empty.
	Authority string
	// MaxZipItems caps one batch download; DefaultMaxZipItems when 0.
	MaxZipItems int
	// BatchLease is how long a batch job's runner may go without a
	// heartbeat before another replica claims the job again;
	// DefaultBatchLease when 0.
	BatchLease time.Duration
	// BatchPoll is how often RunBatchJobs looks for jobs queued by other
	// replicas or left by crashed ones; DefaultBatchPoll when 0.
	BatchPoll time.Duration
}

// Defaults of the optional Deps fields.
const (
	DefaultAuthority   = "石家庄市市场监督管理局"
	DefaultMaxZipItems = 2000
)

// Function is qr-generate.
type Function struct {
	log       *slog.Logger
	pool      *pgxpool.Pool
	blob      Blob
	render    Renderer
	tokens    *qrtoken.Codec
	now       func() time.Time
	authn     func(http.Handler) http.Handler
	baseURL   string
	authority string
	maxZip    int
	renders   singleflight.Group
	jobs      jobRunner

	stopJobs context.CancelFunc // set by Start
	jobsDone chan struct{}
}

// New checks the dependencies and builds the function.
func New(d Deps) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("qr-generate: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("qr-generate: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("qr-generate: Blob is required")
	case d.Render == nil:
		return nil, errors.New("qr-generate: Render is required")
	case d.Tokens == nil:
		return nil, errors.New("qr-generate: Tokens is required")
	case d.Now == nil:
		return nil, errors.New("qr-generate: Now is required")
	case d.Authenticate == nil:
		return nil, errors.New("qr-generate: Authenticate is required")
	case d.PublicBaseURL == "":
		return nil, errors.New("qr-generate: PublicBaseURL is required")
	case d.MaxZipItems < 0:
		return nil, errors.New("qr-generate: MaxZipItems must not be negative")
	case d.BatchLease < 0:
		return nil, errors.New("qr-generate: BatchLease must not be negative")
	case d.BatchPoll < 0:
		return nil, errors.New("qr-generate: BatchPoll must not be negative")
	}
	f := &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, render: d.Render, tokens: d.Tokens, now: d.Now,
		authn: d.Authenticate, baseURL: trimSlash(d.PublicBaseURL), authority: d.Authority, maxZip: d.MaxZipItems}
	if f.authority == "" {
		f.authority = DefaultAuthority
	}
	if f.maxZip == 0 {
		f.maxZip = DefaultMaxZipItems
	}
	f.jobs = jobRunner{lease: d.BatchLease, poll: d.BatchPoll, wake: make(chan struct{}, 1)}
	if f.jobs.lease == 0 {
		f.jobs.lease = DefaultBatchLease
	}
	if f.jobs.poll == 0 {
		f.jobs.poll = DefaultBatchPoll
	}
	return f, nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// URL is the content of the code with token.
func (f *Function) URL(token string) string { return f.baseURL + "/q/" + token }

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// Handler serves the /qr/v1 API.
func (f *Function) Handler() http.Handler { return f.routes() }

func (f *Function) newEvent(typ, subject string, data any) (event.Event, error) {
	return outbox.NewEvent(Source, typ, subject, data, f.now())
}
