package dispatch

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// Receive takes alarm.raised (FP-146): the alarm and its feed row are
// written once per event, and the streams are woken after the commit; and
// the PingSource's due-date sweep (FP-150).
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() == events.Ping {
		return nil, f.receiveTick(ctx, e)
	}
	if e.Type() != events.AlarmRaised {
		return nil, nil
	}
	d, err := events.Decode[events.AlarmRaisedData](e)
	if err != nil {
		return nil, err
	}
	if _, err := outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error { return recordAlarm(ctx, tx, d, f.now()) }); err != nil {
		return nil, err
	}
	f.hub.wake()
	return nil, nil
}

// receiveTick runs the due-date sweep once per tick: a redelivered tick
// reminds nobody twice (and reminded_at holds across ticks).
func (f *Function) receiveTick(ctx context.Context, e event.Event) error {
	data, err := events.Decode[events.PingData](e)
	if err != nil || data["task"] != DueTask {
		return err
	}
	_, err = outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
		n, err := f.RemindDue(ctx, tx)
		if err == nil && n > 0 {
			f.log.InfoContext(ctx, "due reminders", "tasks", n)
		}
		return err
	})
	return err
}
