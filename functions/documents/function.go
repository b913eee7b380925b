// Package documents is the documents function (文书管理, FP-36–45):
// templates with typed fields (自律承诺书, 信用修复申请书 …), documents filled
// from them and prefilled from the registry, every save a version
// (major.minor.patch) with history, diff and restore, PDF and DOCX output
// with every CJK character a name can hold, access by owner and grants
// within the caller's data scope, the draft → submitted → reviewed →
// published workflow with a public verification page behind a QR code,
// corrections, search, forward links that expire, and scheduled backups
// with a restore command.
package documents

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "documents"

// Source is the CloudEvents source of everything documents emits.
const Source = "/functions/documents"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the docs schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	config.Public
	Authority        string `env:"DOCS_AUTHORITY" default:"石家庄市市场监督管理局" help:"发布文书上署名的市场监管机关"`
	LinkDefaultHours int    `env:"DOCS_LINK_DEFAULT_HOURS" default:"72" help:"转发链接默认有效期（小时）"`
	LinkMaxHours     int    `env:"DOCS_LINK_MAX_HOURS" default:"720" help:"转发链接最长有效期（小时）"`
	BackupPrefix     string `env:"DOCS_BACKUP_PREFIX" default:"backups/docs/" help:"备份在对象存储中的前缀（与文书文件的 docs/ 前缀分开）"`
	KeepDaily        int    `env:"DOCS_BACKUP_KEEP_DAILY" default:"7" help:"保留最近几份每日备份（更早的删除文件）"`
	KeepWeekly       int    `env:"DOCS_BACKUP_KEEP_WEEKLY" default:"5" help:"保留最近几份每周备份"`
	KeepMonthly      int    `env:"DOCS_BACKUP_KEEP_MONTHLY" default:"12" help:"保留最近几份每月备份"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case strings.TrimSpace(c.Authority) == "":
		return errors.New("documents: DOCS_AUTHORITY must not be empty")
	case c.LinkDefaultHours < 1 || c.LinkMaxHours < c.LinkDefaultHours:
		return errors.New("documents: need 1 <= DOCS_LINK_DEFAULT_HOURS <= DOCS_LINK_MAX_HOURS")
	case !strings.HasSuffix(c.BackupPrefix, "/") || strings.HasPrefix(c.BackupPrefix, "/") || strings.HasPrefix(c.BackupPrefix, objectPrefix):
		return errors.New("documents: DOCS_BACKUP_PREFIX must be a relative prefix ending in / outside " + objectPrefix)
	case c.KeepDaily < 1 || c.KeepWeekly < 1 || c.KeepMonthly < 1:
		return errors.New("documents: DOCS_BACKUP_KEEP_DAILY, _WEEKLY and _MONTHLY must each keep at least 1 backup")
	case !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://"):
		return errors.New("documents: PUBLIC_BASE_URL must be an http(s) address")
	}
	return nil
}

// objectPrefix is where the documents' PDF and DOCX files are stored.
const objectPrefix = "docs/"

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is the object storage the published files and the backups go to
// (*blob.S3 or *blob.Dir).
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
	List(ctx context.Context, prefix string, limit int) ([]blob.Info, error)
	Delete(ctx context.Context, key string) error
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

// Function is documents.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	now      func() time.Time
	verifier Verifier
	cfg      Config
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (the built-in templates are written by Start).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("documents: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("documents: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("documents: Blob is required")
	case d.Now == nil:
		return nil, errors.New("documents: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("documents: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, now: d.Now, verifier: d.Verifier, cfg: c}, nil
}

// Start writes the built-in templates that are missing (FP-37); templates
// an author has edited are left as they are.
func (f *Function) Start(ctx context.Context) error { return f.ensureBuiltins(ctx) }

// Ready answers when the database and the object store do.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	return f.blob.Ping(ctx)
}
