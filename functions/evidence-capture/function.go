// Package evidencecapture is the evidence-capture function (电子取证, FP-90):
// evidence bundles (files plus a manifest hashed with SHA-256 and SM3)
// sealed in a transparency log (RFC 6962 tree, C2SP signed checkpoints and
// static tiles, one c2sp.org/tlog-proof receipt per bundle) that anyone can
// verify offline with the log's public key (package seal).
package evidencecapture

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "evidence-capture"

// Source is the CloudEvents source of everything evidence-capture emits.
const Source = "/functions/evidence-capture"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the evidence schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// DevLogKey signs the log when no key is configured: a development key,
// published here, so production must set EVIDENCE_LOG_KEY.
const DevLogKey = "PRIVATE+KEY+dev.evidence.amr.sjz.local/log+4e8b6dbd+AbBmDgQ2XBlmiaYDFyqFwv46LDCOdpEyiyEb99LeUstT"

// Config is the function's own settings, read from the environment.
type Config struct {
	config.Public
	LogKey              string        `env:"EVIDENCE_LOG_KEY" default:"PRIVATE+KEY+dev.evidence.amr.sjz.local/log+4e8b6dbd+AbBmDgQ2XBlmiaYDFyqFwv46LDCOdpEyiyEb99LeUstT" secret:"true" help:"存证日志签名私钥（signed-note Ed25519 格式，密钥名即日志 origin；默认值为公开的开发密钥，生产必须替换）"`
	IntegrateEvery      time.Duration `env:"EVIDENCE_LOG_INTEGRATE_EVERY" default:"1s" help:"存证日志整合并签发检查点的间隔"`
	BatchMax            int           `env:"EVIDENCE_LOG_BATCH_MAX" default:"1024" help:"一次批量追加的最大条目数"`
	MaxUpload           int64         `env:"EVIDENCE_MAX_UPLOAD_BYTES" default:"104857600" help:"一个证据包上传的最大字节数"`
	ChromiumPath        string        `env:"EVIDENCE_CHROMIUM" default:"/usr/bin/chromium" help:"网页取证所用的 Chromium 可执行文件"`
	FFmpegPath          string        `env:"EVIDENCE_FFMPEG" default:"ffmpeg" help:"把取证会话的截屏帧编码为视频所用的 ffmpeg"`
	CaptureTimeout      time.Duration `env:"EVIDENCE_CAPTURE_TIMEOUT" default:"30s" help:"一次网页取证的最长时间（超时不取证）"`
	CaptureAllowPrivate bool          `env:"EVIDENCE_CAPTURE_ALLOW_PRIVATE" default:"false" help:"允许对本机与内网地址取证（仅测试用；生产必须为 false，防 SSRF）"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case c.IntegrateEvery < 10*time.Millisecond:
		return errors.New("evidence-capture: EVIDENCE_LOG_INTEGRATE_EVERY must be at least 10ms")
	case c.BatchMax < 1:
		return errors.New("evidence-capture: EVIDENCE_LOG_BATCH_MAX must be at least 1")
	case c.CaptureTimeout < time.Second:
		return errors.New("evidence-capture: EVIDENCE_CAPTURE_TIMEOUT must be at least 1s")
	case c.MaxUpload < 1:
		return errors.New("evidence-capture: EVIDENCE_MAX_UPLOAD_BYTES must be at least 1")
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is the object storage for bundles and the log's static files
// (*blob.S3 or *blob.Dir).
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
	Ping(ctx context.Context) error
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Blob     Blob
	Now      func() time.Time
	Verifier Verifier
}

// Function is evidence-capture.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	now      func() time.Time
	verifier Verifier
	cfg      Config
	tlog     *Log
	chrome   *chromium // started on the first capture, kept warm until Stop
	internal func(addr string) bool

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (the log's sequencer and integration loop start in Start).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("evidence-capture: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("evidence-capture: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("evidence-capture: Blob is required")
	case d.Now == nil:
		return nil, errors.New("evidence-capture: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("evidence-capture: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	l, err := newLog(d.Pool, d.Blob, c.LogKey, d.Now, d.Logger, c.BatchMax)
	if err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, now: d.Now, verifier: d.Verifier, cfg: c, tlog: l,
		chrome: &chromium{path: c.ChromiumPath}, internal: internalAddr}, nil
}

// Log is the function's transparency log (tests, benchmarks, the CLI).
func (f *Function) Log() *Log { return f.tlog }

// Start runs the log's sequencer and integration loop.
func (f *Function) Start(context.Context) error {
	bg, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.tlog.Run(bg, f.cfg.IntegrateEvery)
	}()
	return nil
}

// Stop ends the loops and the capture browser; appends already
// acknowledged are committed, and the next start integrates whatever is
// sequenced.
func (f *Function) Stop(ctx context.Context) error {
	f.chrome.close()
	if f.stop != nil {
		f.stop()
	}
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// Ready answers when the database and the object store do.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	return f.blob.Ping(ctx)
}
