package metrology

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// Receive handles the events metrology's Triggers route to it: the daily
// PingSource's overdue sweep (infra/knative/pingsources/metrology-overdue.yaml).
// Others are acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.Ping {
		return nil, nil
	}
	data, err := events.Decode[events.PingData](e)
	if err != nil || data["task"] != OverdueTask {
		return nil, err
	}
	// Once per tick: a redelivered tick raises nothing twice (and the
	// alarms' unique key holds across ticks too).
	_, err = outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
		n, err := f.RaiseOverdue(ctx, tx)
		if err == nil {
			f.log.InfoContext(ctx, "overdue sweep", "alarms", n)
		}
		return err
	})
	return nil, err
}
