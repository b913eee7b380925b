// Package provincialsync keeps the provincial metrology platform and ours
// in step (省平台同步, FP-165, FP-166): every 10 minutes (a PingSource) it
// pulls the province's enterprises, instruments and verification records
// into the province schema, mapped to our field names, and pushes local
// changes (read through metrology's published functions) up with the
// fields the province requires; on certs.certificate.issued it uploads the
// certificate.
//
// The pull is incremental and exact at the boundary: a watermark with an
// overlap window re-reads the last minutes (a record the province commits
// late is not lost), and upserts keyed by the source id and a content hash
// (a record read twice is not written twice; an unchanged re-run writes
// nothing). Each page commits with its position, so a run killed mid-way
// resumes from the last committed page.
//
// Files: function.go (settings, dependencies), client.go (the province's
// API), mapping.go (field mapping, hashing, drift), pull.go, push.go,
// upload.go, events.go (Receive), http.go, store.go.
package provincialsync

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

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its Knative Service.
const Name = "provincial-sync"

// Source is the CloudEvents source of everything provincial-sync emits.
const Source = "/functions/provincial-sync"

// SyncTask is the PingSource data {"task": "province-sync"}.
const SyncTask = "province-sync"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the province schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is provincial-sync's own settings.
type Config struct {
	APIURL     string        `env:"PROVINCE_API_URL" default:"http://localhost:8080/sim/province" help:"省计量监督管理平台数据交换接口地址（…/api/v1/…）；本地默认指向模拟器"`
	AppKey     string        `env:"PROVINCE_APP_KEY" default:"smartreg-dev" help:"省平台分配的应用标识"`
	AppSecret  string        `env:"PROVINCE_APP_SECRET" default:"dev-province-secret" secret:"true" help:"省平台分配的应用密钥"`
	PageSize   int           `env:"PROVINCE_PAGE_SIZE" default:"500" help:"拉取省平台数据时每页条数（1–1000）"`
	Overlap    time.Duration `env:"PROVINCE_OVERLAP" default:"10m" help:"增量拉取的水位回退窗口：每次从上次最新变更时间前推该时长开始拉取，覆盖省平台延迟提交的记录"`
	Timeout    time.Duration `env:"PROVINCE_TIMEOUT" default:"30s" help:"调用省平台单个请求的超时时间"`
	MaxRetries int           `env:"PROVINCE_MAX_RETRIES" default:"6" help:"省平台请求失败（超时、限流、5xx）时的最大重试次数"`
	Backoff    time.Duration `env:"PROVINCE_BACKOFF" default:"500ms" help:"重试的初始退避时间（每次翻倍，最长 10 秒）"`
	PushBatch  int           `env:"PROVINCE_PUSH_BATCH" default:"200" help:"向省平台上报本地变更时每批条数（1–1000）"`
	SourceName string        `env:"PROVINCE_SOURCE_NAME" default:"石家庄市市场监督管理局" help:"上报省平台时填写的数据来源（sjly）"`
}

// Validate refuses settings provincial-sync cannot work with.
func (c Config) Validate() error {
	var bad []string
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad = append(bad, "PROVINCE_API_URL must be an absolute http(s) URL")
	}
	if c.AppKey == "" || c.AppSecret == "" {
		bad = append(bad, "PROVINCE_APP_KEY and PROVINCE_APP_SECRET must be set")
	}
	if c.PageSize < 1 || c.PageSize > 1000 {
		bad = append(bad, "PROVINCE_PAGE_SIZE must be 1–1000")
	}
	if c.PushBatch < 1 || c.PushBatch > 1000 {
		bad = append(bad, "PROVINCE_PUSH_BATCH must be 1–1000")
	}
	if c.Overlap < 0 {
		bad = append(bad, "PROVINCE_OVERLAP must not be negative")
	}
	if c.Timeout <= 0 || c.Backoff <= 0 || c.MaxRetries < 0 {
		bad = append(bad, "PROVINCE_TIMEOUT and PROVINCE_BACKOFF must be positive, PROVINCE_MAX_RETRIES not negative")
	}
	if strings.TrimSpace(c.SourceName) == "" {
		bad = append(bad, "PROVINCE_SOURCE_NAME must not be empty")
	}
	if len(bad) > 0 {
		return errors.New("provincial-sync: " + strings.Join(bad, "; "))
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob reads the certificates' PDFs certificate-print stored.
type Blob interface {
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// Deps is what provincial-sync needs. HTTP is the client its calls to the
// province go through (the platform's, or a test's).
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Blob     Blob
	HTTP     *http.Client
	Verifier Verifier
	Now      func() time.Time
}

// Function is provincial-sync.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	verifier Verifier
	now      func() time.Time
	cfg      Config
	client   *Client

	bg sync.WaitGroup // runs started from the API
}

// New checks the dependencies and the settings; it does no I/O.
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("provincial-sync: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("provincial-sync: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("provincial-sync: Blob is required")
	case d.HTTP == nil:
		return nil, errors.New("provincial-sync: HTTP is required")
	case d.Verifier == nil:
		return nil, errors.New("provincial-sync: Verifier is required")
	case d.Now == nil:
		return nil, errors.New("provincial-sync: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, verifier: d.Verifier, now: d.Now, cfg: c,
		client: newClient(c, d.HTTP)}, nil
}

// Ready answers when the database does (the province being down delays
// the sync, it does not make the function unready).
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// Stop waits for a run started from the API to finish its page.
func (f *Function) Stop(ctx context.Context) error {
	done := make(chan struct{})
	go func() { f.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
