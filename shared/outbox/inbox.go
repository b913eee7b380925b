package outbox

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var errDuplicate = errors.New("duplicate event")

// Once runs fn in a transaction unless consumer has already handled an event
// with this id; the dedupe mark commits with fn's changes, so a redelivered
// event is a no-op and a failed handling is retried. It reports whether fn ran.
func Once(ctx context.Context, pool *pgxpool.Pool, consumer string, e event.Event, fn func(pgx.Tx) error) (bool, error) {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO platform.inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, consumer, e.ID(), e.Type())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errDuplicate
		}
		return fn(tx)
	})
	if errors.Is(err, errDuplicate) {
		return false, nil
	}
	return err == nil, err
}
