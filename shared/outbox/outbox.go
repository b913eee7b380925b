// Package outbox makes "change data and emit an event" one transaction:
// Record writes the CloudEvent into platform.outbox inside the caller's
// transaction, and a Relay publishes committed rows to the broker. Delivery
// is at least once; consumers dedupe with Once.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// notifyChannel wakes relays as soon as a transaction with events commits.
const notifyChannel = "smartreg_outbox"

// NewEvent builds a structured CloudEvent 1.0 with a fresh id.
func NewEvent(source, typ, subject string, data any, now time.Time) (event.Event, error) {
	e := event.New()
	e.SetID(uuid.NewString())
	e.SetSource(source)
	e.SetType(typ)
	e.SetTime(now)
	if subject != "" {
		e.SetSubject(subject)
	}
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		return e, fmt.Errorf("encode %s data: %w", typ, err)
	}
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("invalid event %s: %w", typ, err)
	}
	return e, nil
}

// Record stores events in tx; they are published only if tx commits.
func Record(ctx context.Context, tx pgx.Tx, evs ...event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, e := range evs {
		raw, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event %s: %w", e.ID(), err)
		}
		b.Queue(`INSERT INTO platform.outbox (event_id, event_type, source, subject, event) VALUES ($1, $2, $3, $4, $5)`,
			e.ID(), e.Type(), e.Source(), e.Subject(), raw)
	}
	b.Queue(`SELECT pg_notify($1, '')`, notifyChannel)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}
