package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/outbox"
)

// DeadLetterSink is the production dead-letter Service: Knative's Broker
// sends it every event whose retries ran out, with the knativeerror*
// extensions, and it keeps them in the same broker.dead_letters table the
// local broker writes, so operators read one place however events flow.
type DeadLetterSink struct {
	pool *pgxpool.Pool
}

// NewDeadLetterSink builds the sink.
func NewDeadLetterSink(pool *pgxpool.Pool) (*DeadLetterSink, error) {
	if pool == nil {
		return nil, errors.New("dead-letter sink: Pool is required")
	}
	return &DeadLetterSink{pool: pool}, nil
}

// Handler has no routes of its own: the sink only receives events.
func (s *DeadLetterSink) Handler() http.Handler { return http.NotFoundHandler() }

// Ready answers when the database does.
func (s *DeadLetterSink) Ready(ctx context.Context) error { return s.pool.Ping(ctx) }

// Receive stores the event once, whatever Knative redelivers.
func (s *DeadLetterSink) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode dead letter %s: %w", e.ID(), err)
	}
	ext := e.Extensions()
	str := func(k string) string { v, _ := ext[k].(string); return v }
	status, _ := strconv.Atoi(fmt.Sprint(ext["knativeerrorcode"]))
	_, err = outbox.Once(ctx, s.pool, "dead-letter", e, func(tx pgx.Tx) error {
		return insertDeadLetter(ctx, tx, deadLetterRow{trigger: "knative", subscriber: str("knativeerrordest"),
			eventID: e.ID(), eventType: e.Type(), event: raw, status: status, lastError: str("knativeerrordata")})
	})
	return nil, err
}
