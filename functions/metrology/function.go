// Package metrology is the mandatory-verification measuring instruments
// function (强检计量器具, FP-165–180 with certificate-print and
// provincial-sync): the SAMR 2020 No. 42 catalogue, instrument users
// (enterprises) and their instruments and usage locations, verification
// institutions and their measurement standards, applications for
// verification with acceptance and returns, results (per nozzle for fuel
// and gas dispensers), inspections with field records, overdue alarms,
// penalty records, and the county, city, institution and enterprise views.
//
// Files: function.go (settings, dependencies), catalogue.go, viewer.go
// (who is calling and what they see), enterprise.go, instrument.go,
// institution.go (institutions and standards), application.go,
// verification.go, inspection.go, alarm.go, stats.go, http*.go (routes),
// events.go (Receive: the daily overdue sweep), store.go, store_*.go (SQL), seed.go.
package metrology

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "metrology"

// Source is the CloudEvents source of everything metrology emits.
const Source = "/functions/metrology"

// OverdueTask is the PingSource data {"task": "metrology-overdue"} of the
// daily overdue sweep.
const OverdueTask = "metrology-overdue"

// Role codes of the parties metrology knows (identity's built-in roles):
// an enterprise user acts for its enterprise, an institution's staff for
// the institution; anyone else is a regulator confined to their data scope.
const (
	RoleEnterprise  = "metrology_enterprise"
	RoleInstitution = "metrology_institution"
	RoleSupervisor  = "metrology_supervisor"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the metrology schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is metrology's own settings.
type Config struct {
	MaxPhotoBytes int    `env:"METROLOGY_MAX_PHOTO_BYTES" default:"8388608" help:"现场检查照片单张最大字节数"`
	MaxPhotos     int    `env:"METROLOGY_MAX_PHOTOS" default:"9" help:"一条现场检查记录最多附带的照片数"`
	NoticeRole    string `env:"METROLOGY_NOTICE_ROLE" default:"metrology_supervisor" help:"超期告警、退回复核等消息发送到的角色编码"`
}

// Validate refuses settings metrology cannot work with.
func (c Config) Validate() error {
	var bad []string
	if c.MaxPhotoBytes < 1024 {
		bad = append(bad, "METROLOGY_MAX_PHOTO_BYTES must be at least 1024")
	}
	if c.MaxPhotos < 1 {
		bad = append(bad, "METROLOGY_MAX_PHOTOS must be at least 1")
	}
	if strings.TrimSpace(c.NoticeRole) == "" {
		bad = append(bad, "METROLOGY_NOTICE_ROLE must not be empty")
	}
	if len(bad) > 0 {
		return errors.New("metrology: " + strings.Join(bad, "; "))
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is the part of object storage the field records' photos need.
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
	Stat(ctx context.Context, key string) (blob.Info, error)
}

// Deps is what metrology needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Blob     Blob
	Verifier Verifier
	Now      func() time.Time
}

// Function is metrology.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	verifier Verifier
	now      func() time.Time
	cfg      Config
	cat      *Catalogue
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (the catalogue is loaded into the database in Start).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("metrology: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("metrology: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("metrology: Blob is required")
	case d.Verifier == nil:
		return nil, errors.New("metrology: Verifier is required")
	case d.Now == nil:
		return nil, errors.New("metrology: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cat, err := LoadCatalogue()
	if err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, verifier: d.Verifier, now: d.Now, cfg: c, cat: cat}, nil
}

// Start writes the shipped catalogue into the database (idempotent), so
// instruments can reference its categories.
func (f *Function) Start(ctx context.Context) error { return f.cat.sync(ctx, f.pool) }

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// Catalogue is the shipped SAMR 2020 No. 42 catalogue.
func (f *Function) Catalogue() *Catalogue { return f.cat }

func (f *Function) newEvent(typ, subject string, data any) (event.Event, error) {
	return outbox.NewEvent(Source, typ, subject, data, f.now())
}

// cst is China Standard Time: dates (valid-until, overdue, the alarm
// year) are Beijing dates, and China keeps no daylight saving time.
var cst = time.FixedZone("CST", 8*3600)

// today is the Beijing date of now, at midnight UTC (how pgx hands dates).
func (f *Function) today() time.Time { return dateOf(f.now()) }

// dateOf is t's Beijing date at midnight UTC.
func dateOf(t time.Time) time.Time {
	t = t.In(cst)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
