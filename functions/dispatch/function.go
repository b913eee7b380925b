// Package dispatch is the dispatch function (指挥调度): the command
// centre's alarms, events, live feed, GPS tracks, selection and tasks.
//
// The path of an alarm to the screen: alarm-intake's alarm.raised arrives
// at Receive, which writes the alarm and a feed row once (outbox.Once) and
// NOTIFYs dispatch_feed in the same transaction; every replica's listener
// (Start) wakes its SSE streams (feed.go), which read the feed rows after
// the last one each sent. The feed table, not the notification, carries
// the alarm: a stream that reconnects with Last-Event-ID gets what it
// missed, so a crash between the phone's acknowledgement and the display
// loses nothing.
package dispatch

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
const Name = "dispatch"

// Source is the CloudEvents source of everything dispatch emits.
const Source = "/functions/dispatch"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the dispatch schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	TrackRetentionDays int           `env:"DISPATCH_TRACK_RETENTION_DAYS" default:"180" help:"轨迹保留天数（按天分区，过期整区删除）"`
	MaxBatch           int           `env:"DISPATCH_MAX_POSITIONS" default:"5000" help:"一次上报的最多定位点数"`
	KeepAlive          time.Duration `env:"DISPATCH_SSE_KEEPALIVE" default:"20s" help:"指挥中心实时推送的保活间隔"`
	MaxNearest         int           `env:"DISPATCH_MAX_NEAREST" default:"50" help:"就近查询最多返回的人数"`
	DueReminder        time.Duration `env:"DISPATCH_DUE_REMINDER" default:"2h" help:"任务到期前多久提醒承办人和派发人（每个任务提醒一次）"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case c.TrackRetentionDays < 1:
		return errors.New("dispatch: DISPATCH_TRACK_RETENTION_DAYS must be at least 1")
	case c.MaxBatch < 1:
		return errors.New("dispatch: DISPATCH_MAX_POSITIONS must be at least 1")
	case c.KeepAlive < time.Second:
		return errors.New("dispatch: DISPATCH_SSE_KEEPALIVE must be at least 1s")
	case c.MaxNearest < 1:
		return errors.New("dispatch: DISPATCH_MAX_NEAREST must be at least 1")
	case c.DueReminder < 0:
		return errors.New("dispatch: DISPATCH_DUE_REMINDER must not be negative")
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

// Function is dispatch.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	cfg      Config
	hub      *hub

	mu    sync.Mutex
	parts map[string]bool // day partitions known to exist
	stop  context.CancelFunc
	done  chan struct{}
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (background work goes in Start, its end in Stop).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("dispatch: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("dispatch: Pool is required")
	case d.Now == nil:
		return nil, errors.New("dispatch: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("dispatch: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, cfg: c, hub: newHub(),
		parts: map[string]bool{}}, nil
}

// Start listens for feed notifications from every replica, makes today's
// and tomorrow's track partitions and drops those past retention.
func (f *Function) Start(ctx context.Context) error {
	if err := f.maintainTracks(ctx); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.stop, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		f.listen(lctx)
	}()
	return nil
}

// Stop ends the listener and the open streams.
func (f *Function) Stop(ctx context.Context) error {
	f.hub.close()
	if f.stop == nil {
		return nil
	}
	f.stop()
	select {
	case <-f.done:
	case <-ctx.Done():
	}
	return nil
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }
