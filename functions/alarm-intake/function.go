// Package alarmintake is the alarm-intake function (一键报警, FP-146, FP-163).
//
// The path of an alarm: the phone asks for signed uploads for a photo or a
// voice note (POST /alarm/v1/uploads) and PUTs them; it then posts the
// alarm with an idempotency key (POST /alarm/v1/alarms). The alarm and its
// alarm.raised event are written in one transaction (outbox), and only
// after the commit is the phone answered: an acknowledged alarm survives a
// crash, and the relay delivers the event to dispatch, which shows it on
// the centre's map. A repeat of the same key returns the first alarm.
package alarmintake

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "alarm-intake"

// Source is the CloudEvents source of everything alarm-intake emits.
const Source = "/functions/alarm-intake"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the alarmintake schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	MaxPhotoBytes int64         `env:"ALARM_MAX_PHOTO_BYTES" default:"10485760" help:"报警照片的最大字节数"`
	MaxVoiceBytes int64         `env:"ALARM_MAX_VOICE_BYTES" default:"5242880" help:"报警语音的最大字节数"`
	MaxVideoBytes int64         `env:"ALARM_MAX_VIDEO_BYTES" default:"52428800" help:"隐患上报短视频的最大字节数"`
	UploadTTL     time.Duration `env:"ALARM_UPLOAD_TTL" default:"15m" help:"签名上传地址的有效期"`
	MaxQueueAge   time.Duration `env:"ALARM_MAX_QUEUE_AGE" default:"168h" help:"离线排队报警可接受的最长滞后（定位时间距今）"`
	ClockSkew     time.Duration `env:"ALARM_CLOCK_SKEW" default:"2m" help:"手机时钟超前服务器的容许值，超过即视为未来时间"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case c.MaxPhotoBytes < 1 || c.MaxVoiceBytes < 1 || c.MaxVideoBytes < 1:
		return errors.New("alarm-intake: ALARM_MAX_PHOTO_BYTES, ALARM_MAX_VOICE_BYTES and ALARM_MAX_VIDEO_BYTES must be positive")
	case c.UploadTTL < time.Minute:
		return errors.New("alarm-intake: ALARM_UPLOAD_TTL must be at least 1m")
	case c.MaxQueueAge < time.Hour:
		return errors.New("alarm-intake: ALARM_MAX_QUEUE_AGE must be at least 1h")
	case c.ClockSkew < 0:
		return errors.New("alarm-intake: ALARM_CLOCK_SKEW must not be negative")
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is the object storage the photos and voice notes go to (blob.Store).
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
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

// Function is alarm-intake.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	now      func() time.Time
	verifier Verifier
	cfg      Config
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (background work goes in Start, its end in Stop).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("alarm-intake: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("alarm-intake: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("alarm-intake: Blob is required")
	case d.Now == nil:
		return nil, errors.New("alarm-intake: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("alarm-intake: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, now: d.Now, verifier: d.Verifier, cfg: c}, nil
}

// Ready answers when the database and the object storage do.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	return f.blob.Ping(ctx)
}
