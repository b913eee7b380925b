// Package broker is the local stand-in for a Knative Broker: it routes
// events to subscribers with the Trigger manifests of infra/knative, with
// the same exact-attribute filters, retries, exponential backoff and
// dead-lettering, and runs PingSources on a schedule. Deliveries are River
// jobs in PostgreSQL, so a failing subscriber or a killed process loses
// nothing: what was handed over is delivered after restart.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/sjzamr/smartreg/infra/knative/manifest"
	"github.com/sjzamr/smartreg/shared/store"
)

// Migration creates the dead-letter table; River's own tables are migrated
// by Migrate.
func Migration() store.Migration {
	return store.Migration{Component: "broker", FS: migrationFiles, Dir: "migrations"}
}

// Name is the broker the manifests route through.
const Name = "default"

const (
	queueEvents   = "events"
	queueSchedule = "schedule"
)

// Config wires a Broker.
type Config struct {
	Pool        *pgxpool.Pool
	Manifests   *manifest.Set
	Subscribers map[string]http.Handler // Knative Service name → the function's event receiver, in process
	// Authorize adds the in-process delivery credential to each request to
	// a subscriber of this process (runtime.Secret.Authorize); receivers
	// refuse deliveries without it.
	Authorize  func(*http.Request)
	HTTPClient *http.Client // for subscribers given as URIs
	Logger     *slog.Logger
	// PollInterval bounds how late a retry or a new job is picked up when a
	// notification is missed; default 100ms.
	PollInterval time.Duration
	Workers      int // concurrent deliveries; default 20
	Now          func() time.Time
}

// Broker routes events; build it with New, then Start and Stop it.
type Broker struct {
	cfg    Config
	river  *river.Client[pgx.Tx]
	sinks  map[string]sink
	now    func() time.Time
	log    *slog.Logger
	counts counters
	owner  *pgxpool.Conn // holds the owner lock while the broker runs
}

// MigrateRiver applies River's schema (its job table and friends).
func MigrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return nil
}

// New validates the wiring — every Trigger's subscriber must be a function
// present in this process or a URI — and builds the delivery engine.
func New(cfg Config) (*Broker, error) {
	if cfg.Pool == nil || cfg.Manifests == nil || cfg.Logger == nil {
		return nil, errors.New("broker: Pool, Manifests and Logger are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &Broker{cfg: cfg, now: cfg.Now, log: cfg.Logger, sinks: map[string]sink{}}
	for _, t := range cfg.Manifests.Triggers {
		s, err := b.resolve(t.Subscriber)
		if err != nil {
			return nil, fmt.Errorf("trigger %s (%s): %w", t.Name, t.File, err)
		}
		b.sinks[t.Name] = s
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{b: b})
	river.AddWorker(workers, &pingWorker{b: b})
	periodic, err := b.pingSchedules()
	if err != nil {
		return nil, err
	}
	rc, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		Logger:            cfg.Logger.With("component", "broker"),
		Workers:           workers,
		Queues:            map[string]river.QueueConfig{queueEvents: {MaxWorkers: cfg.Workers}, queueSchedule: {MaxWorkers: 2}},
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, 20*time.Millisecond),
		PeriodicJobs:      periodic,
		JobTimeout:        time.Minute,
		// A delivery cut off by a crash is retried after this, not after River's default hour.
		RescueStuckJobsAfter: 2 * time.Minute,
		// Completed deliveries are history, not data: keep them a day for debugging.
		CompletedJobRetentionPeriod: 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	b.river = rc
	return b, nil
}

// Start begins delivering; Stop waits for running deliveries to finish.
func (b *Broker) Start(ctx context.Context) error {
	if err := b.recoverOrphans(ctx); err != nil {
		return err
	}
	return b.river.Start(ctx)
}

func (b *Broker) Stop(ctx context.Context) error {
	err := b.river.Stop(ctx)
	if b.owner != nil {
		// Closing the session releases the owner lock.
		_ = b.owner.Hijack().Close(context.WithoutCancel(ctx))
		b.owner = nil
	}
	return err
}

// ownerLockKey marks the one broker process that owns the queue.
const ownerLockKey = 7_210_000_003

// recoverOrphans requeues deliveries a killed process left "running".
// River would rescue them only after RescueStuckJobsAfter; the local
// platform is one process, so when this broker holds the owner lock no
// other broker can be working on them and they can go again at once
// (subscribers dedupe on event id). A second broker on the same database
// finds the lock taken and leaves them to River's rescuer.
func (b *Broker) recoverOrphans(ctx context.Context) error {
	conn, err := b.cfg.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire owner connection: %w", err)
	}
	var owner bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, ownerLockKey).Scan(&owner); err != nil {
		conn.Release()
		return fmt.Errorf("owner lock: %w", err)
	}
	if !owner {
		conn.Release()
		b.log.Warn("another broker owns this queue; orphaned deliveries are left to the stuck-job rescuer")
		return nil
	}
	b.owner = conn
	tag, err := conn.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
		WHERE state = 'running' AND queue = ANY($1)`, []string{queueEvents, queueSchedule})
	if err != nil {
		return fmt.Errorf("requeue orphaned deliveries: %w", err)
	}
	if n := tag.RowsAffected(); n > 0 {
		b.log.Warn("requeued deliveries interrupted by a previous stop", "count", n)
	}
	return nil
}

// Publish hands events to the broker in their own transaction.
func (b *Broker) Publish(ctx context.Context, e event.Event) error {
	return store.InTx(ctx, b.cfg.Pool, func(tx pgx.Tx) error { return b.PublishTx(ctx, tx, []event.Event{e}) })
}

// PublishTx enqueues one delivery per matching Trigger inside tx, so the
// outbox relay marks rows published in the same transaction (outbox.TxPublisher).
// An event no Trigger wants is accepted and dropped, as a Knative Broker does.
func (b *Broker) PublishTx(ctx context.Context, tx pgx.Tx, evs []event.Event) error {
	var params []river.InsertManyParams
	for _, e := range evs {
		raw, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event %s: %w", e.ID(), err)
		}
		for _, t := range b.cfg.Manifests.Matching(Name, attributes(e)) {
			params = append(params, river.InsertManyParams{
				Args:       DeliverArgs{Trigger: t.Name, Event: raw},
				InsertOpts: &river.InsertOpts{Queue: queueEvents, MaxAttempts: t.Delivery.Retry + 1},
			})
		}
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := b.river.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue deliveries: %w", err)
	}
	return nil
}

// attributes flattens the context attributes and extensions a Trigger
// filter may name, as strings.
func attributes(e event.Event) map[string]string {
	attrs := map[string]string{
		"specversion": e.SpecVersion(), "type": e.Type(), "source": e.Source(), "id": e.ID(),
	}
	if s := e.Subject(); s != "" {
		attrs["subject"] = s
	}
	if s := e.DataContentType(); s != "" {
		attrs["datacontenttype"] = s
	}
	if s := e.DataSchema(); s != "" {
		attrs["dataschema"] = s
	}
	for k, v := range e.Extensions() {
		attrs[k] = fmt.Sprint(v)
	}
	return attrs
}

func (b *Broker) trigger(name string) (manifest.Trigger, bool) {
	for _, t := range b.cfg.Manifests.Triggers {
		if t.Name == name {
			return t, true
		}
	}
	return manifest.Trigger{}, false
}
