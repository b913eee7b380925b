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
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// Template is what every event of a set recorded by RecordSelect shares.
type Template struct {
	Source string    // "/functions/qr-generate"
	Type   string    // events.QRBatchIssued
	Time   time.Time // when it happened: the commanding transaction's clock
}

// RecordSelect records one event per row of query in tx, set-based, for
// sets too large to build one by one in Go (bulk issuance announces 1.5 M
// codes). Each row of query yields, in this order, the event's subject
// (text; empty or NULL for none) and its data (jsonb: the JSON encoding of
// the type's struct in events/). Every event gets what NewEvent gives
// one: a fresh id, specversion 1.0, t's source, type and time, and
// datacontenttype application/json; it is published only if tx commits.
// It returns how many events it recorded.
//
// The data is built in SQL, away from the Go struct it must match, so a
// caller's tests decode the rows it writes into that struct.
func RecordSelect(ctx context.Context, tx pgx.Tx, t Template, query string, args ...any) (int64, error) {
	if t.Source == "" || t.Type == "" || t.Time.IsZero() {
		return 0, fmt.Errorf("record events: template %+v needs a source, a type and a time", t)
	}
	n := len(args)
	src, typ, at := n+1, n+2, n+3
	sql := fmt.Sprintf(`INSERT INTO platform.outbox (event_id, event_type, source, subject, event)
		SELECT e.id, $%[2]d::text, $%[1]d::text, e.subject, jsonb_build_object('specversion', '1.0', 'id', e.id::text,
				'source', $%[1]d::text, 'type', $%[2]d::text, 'time', $%[3]d::text, 'datacontenttype', 'application/json', 'data', e.data)
			|| CASE WHEN e.subject = '' THEN '{}'::jsonb ELSE jsonb_build_object('subject', e.subject) END
		FROM (SELECT gen_random_uuid() AS id, COALESCE(q.subject::text, '') AS subject, q.data::jsonb AS data
			FROM (%[4]s) AS q (subject, data)) e`, src, typ, at, query)
	b := &pgx.Batch{}
	var recorded int64
	b.Queue(sql, append(args[:n:n], t.Source, t.Type, types.FormatTime(t.Time))...).Exec(func(tag pgconn.CommandTag) error {
		recorded = tag.RowsAffected()
		return nil
	})
	b.Queue(`SELECT pg_notify($1, '')`, notifyChannel)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("record %s events: %w", t.Type, err)
	}
	return recorded, nil
}
