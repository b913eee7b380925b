package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Publisher hands one event to the broker (Knative's, or the local one).
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// TxPublisher is a broker whose intake lives in the same database (the
// local broker's durable queue): handing over and marking the outbox row
// published then happen in one transaction, so nothing is sent twice.
type TxPublisher interface {
	PublishTx(ctx context.Context, tx pgx.Tx, evs []event.Event) error
}

// Relay moves committed outbox rows to a Publisher.
type Relay struct {
	Pool      *pgxpool.Pool
	Publisher Publisher // or a TxPublisher
	Logger    *slog.Logger
	Batch     int           // rows per transaction; default 100
	Interval  time.Duration // poll interval when no notification arrives; default 1s
}

// Run relays until ctx ends, waking on commit notifications and on a timer
// (the timer covers missed notifications and retries after failures).
func (r *Relay) Run(ctx context.Context) error {
	interval := r.Interval
	if interval <= 0 {
		interval = time.Second
	}
	wake := make(chan struct{}, 1)
	go r.listen(ctx, wake)
	failures := 0
	for {
		n, err := r.Flush(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			r.Logger.Warn("outbox relay failed", "err", err, "consecutive_failures", failures)
		} else {
			failures = 0
		}
		if n > 0 && err == nil {
			continue // more may be waiting
		}
		wait := interval << min(failures, 5)
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(wait):
		}
	}
}

func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		conn, err := r.Pool.Acquire(ctx)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		_, err = conn.Exec(ctx, "LISTEN "+notifyChannel)
		for err == nil {
			_, err = conn.Conn().WaitForNotification(ctx)
			if err == nil {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
		// Hijack closes the connection rather than returning one still
		// subscribed to the channel to the pool.
		_ = conn.Hijack().Close(context.Background())
		if ctx.Err() == nil {
			time.Sleep(time.Second)
		}
	}
}

type pending struct {
	seq int64
	e   event.Event
}

// Flush publishes one batch of pending rows and reports how many went out.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	batch := r.Batch
	if batch <= 0 {
		batch = 100
	}
	sent := 0
	err := pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT seq, event FROM platform.outbox
			WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`, batch)
		if err != nil {
			return err
		}
		items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
			var p pending
			var raw []byte
			if err := row.Scan(&p.seq, &raw); err != nil {
				return p, err
			}
			return p, json.Unmarshal(raw, &p.e)
		})
		if err != nil || len(items) == 0 {
			return err
		}
		if txp, ok := r.Publisher.(TxPublisher); ok {
			evs := make([]event.Event, len(items))
			for i, it := range items {
				evs[i] = it.e
			}
			if err := txp.PublishTx(ctx, tx, evs); err != nil {
				return fmt.Errorf("hand over to broker: %w", err)
			}
			sent = len(items)
			_, err := tx.Exec(ctx, `UPDATE platform.outbox SET published_at = now(), attempts = attempts + 1
				WHERE seq = ANY($1)`, seqs(items))
			return err
		}
		return r.publishEach(ctx, tx, items, &sent)
	})
	return sent, err
}

// publishEach sends rows one by one, keeping what succeeded even when a
// later one fails, and recording the failure on the row for operators.
func (r *Relay) publishEach(ctx context.Context, tx pgx.Tx, items []pending, sent *int) error {
	for _, it := range items {
		if err := r.Publisher.Publish(ctx, it.e); err != nil {
			_, uerr := tx.Exec(ctx, `UPDATE platform.outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1`,
				it.seq, err.Error())
			if uerr != nil {
				return uerr
			}
			r.Logger.Warn("publish event failed", "event_id", it.e.ID(), "event_type", it.e.Type(), "err", err)
			return nil // commit progress; the timer retries the rest
		}
		if _, err := tx.Exec(ctx, `UPDATE platform.outbox SET published_at = now(), attempts = attempts + 1 WHERE seq = $1`, it.seq); err != nil {
			return err
		}
		*sent++
	}
	return nil
}

func seqs(items []pending) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.seq
	}
	return out
}
