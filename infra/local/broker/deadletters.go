package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/sjzamr/smartreg/shared/store"
)

// DeadLetter is one row of broker.dead_letters.
type DeadLetter struct {
	ID          int64      `json:"id"`
	Trigger     string     `json:"trigger"`
	Subscriber  string     `json:"subscriber"`
	EventID     string     `json:"event_id"`
	EventType   string     `json:"event_type"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status"`
	LastError   string     `json:"last_error"`
	FailedAt    time.Time  `json:"failed_at"`
	ReplayedAt  *time.Time `json:"replayed_at,omitempty"`
	ReplayCount int        `json:"replay_count"`
}

type deadLetterRow struct {
	trigger, subscriber, eventID, eventType string
	event                                   []byte
	attempts, status                        int
	lastError                               string
}

// insertDeadLetter is the one writer of broker.dead_letters, for the local
// delivery worker and the Knative dead-letter sink alike.
func insertDeadLetter(ctx context.Context, tx pgx.Tx, r deadLetterRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO broker.dead_letters
		(trigger_name, subscriber, event_id, event_type, event, attempts, last_status, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.trigger, r.subscriber, r.eventID, r.eventType, r.event, r.attempts, r.status, r.lastError)
	if err != nil {
		return fmt.Errorf("store dead letter %s: %w", r.eventID, err)
	}
	return nil
}

// DeadLetters lists dead letters, newest first; pendingOnly hides replayed ones.
func DeadLetters(ctx context.Context, q store.Querier, pendingOnly bool, limit int) ([]DeadLetter, error) {
	rows, err := q.Query(ctx, `SELECT id, trigger_name, subscriber, event_id, event_type, attempts, last_status,
		last_error, failed_at, replayed_at, replay_count FROM broker.dead_letters
		WHERE NOT $1 OR replayed_at IS NULL ORDER BY id DESC LIMIT $2`, pendingOnly, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeadLetter, error) {
		var d DeadLetter
		err := r.Scan(&d.ID, &d.Trigger, &d.Subscriber, &d.EventID, &d.EventType, &d.Attempts, &d.LastStatus,
			&d.LastError, &d.FailedAt, &d.ReplayedAt, &d.ReplayCount)
		return d, err
	})
}

// Replay re-enqueues dead letter id for its Trigger with a fresh retry
// budget. Subscribers dedupe on event id, so replaying an event that
// meanwhile got through does no harm.
func (b *Broker) Replay(ctx context.Context, id int64) error {
	return store.InTx(ctx, b.cfg.Pool, func(tx pgx.Tx) error {
		var trig string
		var raw []byte
		var attempts int
		err := tx.QueryRow(ctx, `SELECT trigger_name, event, attempts FROM broker.dead_letters WHERE id = $1 FOR UPDATE`, id).
			Scan(&trig, &raw, &attempts)
		if err != nil {
			return store.Classify(err)
		}
		// The operator's command may run with fewer manifests than the
		// platform (a test or an add-on Trigger): the delivering process
		// resolves the Trigger; here only the retry budget is needed.
		if t, ok := b.trigger(trig); ok {
			attempts = t.Delivery.Retry + 1
		}
		if _, err := b.river.InsertTx(ctx, tx, DeliverArgs{Trigger: trig, Event: json.RawMessage(raw)},
			&river.InsertOpts{Queue: queueEvents, MaxAttempts: max(attempts, 1)}); err != nil {
			return fmt.Errorf("enqueue replay: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE broker.dead_letters SET replayed_at = now(), replay_count = replay_count + 1 WHERE id = $1`, id)
		return err
	})
}

// ReplayAll replays every dead letter not yet replayed and reports how many.
func (b *Broker) ReplayAll(ctx context.Context) (int, error) {
	pending, err := DeadLetters(ctx, b.cfg.Pool, true, 100000)
	if err != nil {
		return 0, err
	}
	for i, d := range pending {
		if err := b.Replay(ctx, d.ID); err != nil {
			return i, fmt.Errorf("replay %d: %w", d.ID, err)
		}
	}
	return len(pending), nil
}
