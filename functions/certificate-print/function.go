// Package certificateprint issues the verification certificates of
// mandatory verification (检定证书, FP-167, 173, 175): on
// metrology.verification.completed it renders the certificate, or the
// notice of failure (检定结果通知书), as a PDF with the content of JJF
// 1069-2012 and a QR code to a public authenticity page, stores it in
// object storage and announces certs.certificate.issued (provincial-sync
// uploads it to the province). When an institution's printed data changes
// (metrology.institution.updated) its certificates are issued again as new
// versions and the old ones marked superseded.
//
// Files: function.go (settings, dependencies), certificate.go (issuing and
// regenerating), events.go (Receive), http.go (lists, downloads, the
// public page), store.go (SQL), render/ (the PDF).
package certificateprint

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/certificate-print/render"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its Knative Service.
const Name = "certificate-print"

// Source is the CloudEvents source of everything certificate-print emits.
const Source = "/functions/certificate-print"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the certs schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is certificate-print's own settings, with the public address the
// certificates' QR codes point to.
type Config struct {
	config.Public
	RegenerateBatch int `env:"CERTS_REGENERATE_BATCH" default:"50" help:"机构信息变更后证书换版时每个事务重新生成的证书数"`
}

// Validate refuses settings certificate-print cannot work with.
func (c Config) Validate() error {
	var bad []string
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad = append(bad, "PUBLIC_BASE_URL must be an absolute http(s) URL (certificates' QR codes point to PUBLIC_BASE_URL/certs/v1/verify/{token})")
	}
	if c.RegenerateBatch < 1 || c.RegenerateBatch > 1000 {
		bad = append(bad, "CERTS_REGENERATE_BATCH must be 1–1000")
	}
	if len(bad) > 0 {
		return errors.New("certificate-print: " + strings.Join(bad, "; "))
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is the part of object storage the PDFs need.
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// Renderer draws a certificate; *render.Renderer is the real one.
type Renderer interface {
	Render(d render.Doc) ([]byte, int, error)
}

// Deps is what certificate-print needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Blob     Blob
	Render   Renderer
	Verifier Verifier
	Now      func() time.Time
}

// Function is certificate-print.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	render   Renderer
	verifier Verifier
	now      func() time.Time
	cfg      Config
}

// New checks the dependencies and the settings; it does no I/O.
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("certificate-print: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("certificate-print: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("certificate-print: Blob is required")
	case d.Render == nil:
		return nil, errors.New("certificate-print: Render is required")
	case d.Verifier == nil:
		return nil, errors.New("certificate-print: Verifier is required")
	case d.Now == nil:
		return nil, errors.New("certificate-print: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, render: d.Render, verifier: d.Verifier, now: d.Now, cfg: c}, nil
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// verifyURL is the public authenticity page of a certificate.
func (f *Function) verifyURL(token string) string { return f.cfg.URL() + "/certs/v1/verify/" + token }

// cst is China Standard Time, for the dates the public page shows.
var cst = time.FixedZone("CST", 8*3600)
