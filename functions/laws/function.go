// Package laws is the law library (法律法规库, FP-65–75): the shipped
// corpus of laws, regulations, rules, judicial interpretations and cases
// imported into PostgreSQL with each document's type, issuing body, dates
// and status, its text parsed into 编/章/节/条/款; the versions of one law
// linked to the current one; local regulations entered by hand; faceted
// search of documents and a full-text article search (Bleve, BM25, CJK
// analysis) that ranks the in-force version first and explains its
// ranking; a public mobile search page.
package laws

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "laws"

// Source is the CloudEvents source of everything laws emits.
const Source = "/functions/laws"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the laws schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	IndexDir  string        `env:"LAWS_INDEX_DIR" default:".data/laws/index" help:"法规全文检索索引目录（本地磁盘；丢失后从数据库重建）"`
	IndexPoll time.Duration `env:"LAWS_INDEX_POLL" default:"5s" help:"检索索引同步其他副本修改的间隔"`
	MaxUpload int64         `env:"LAWS_MAX_UPLOAD" default:"104857600" help:"导入法规库 ZIP 文件的最大字节数"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case c.IndexDir == "":
		return errors.New("laws: LAWS_INDEX_DIR is required")
	case c.IndexPoll < 100*time.Millisecond:
		return errors.New("laws: LAWS_INDEX_POLL must be at least 100ms")
	case c.MaxUpload < 1<<20:
		return errors.New("laws: LAWS_MAX_UPLOAD must be at least 1 MiB")
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

// Function is the law library.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	cfg      Config
	index    *searchIndex

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (the index opens in Start).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("laws: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("laws: Pool is required")
	case d.Now == nil:
		return nil, errors.New("laws: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("laws: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, cfg: c,
		index: newSearchIndex(d.Logger, d.Pool, c.IndexDir)}, nil
}

// Start opens the search index from disk (building it in the background
// when there is none) and follows the changes other replicas make.
func (f *Function) Start(ctx context.Context) error {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.stop = cancel
	if err := f.index.open(bg, true); err != nil {
		cancel()
		return err
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(f.cfg.IndexPoll)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				if err := f.index.catchUp(bg); err != nil && bg.Err() == nil {
					f.log.Warn("laws: index catch-up failed", "err", err)
				}
			}
		}
	}()
	return nil
}

// Stop ends the follower and closes the index.
func (f *Function) Stop(ctx context.Context) error {
	if f.stop != nil {
		f.stop()
	}
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return f.index.close()
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// WaitIndexed blocks until the search index answers (tests, benchmarks
// and the seed use it after Start).
func (f *Function) WaitIndexed(ctx context.Context) error {
	for !f.index.ready.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return f.index.catchUp(ctx)
}

// Search is the full-text article search (for composition roots:
// benchmarks call it in-process).
func (f *Function) Search(ctx context.Context, req SearchRequest) (SearchResult, error) {
	return f.index.Search(ctx, req)
}
