package activities

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// PingTask is the reminders PingSource's task
// (infra/knative/pingsources/activities-reminders.yaml).
const PingTask = "activities-remind"

// Receive handles the reminder tick: each reminder is recorded once per
// sign-up and kind, so a redelivered tick sends nothing twice.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.Ping {
		return nil, nil
	}
	data, err := events.Decode[events.PingData](e)
	if err != nil || data["task"] != PingTask {
		return nil, err
	}
	n, err := f.SendReminders(ctx)
	if n > 0 {
		f.log.InfoContext(ctx, "activities: reminders sent", "count", n)
	}
	return nil, err
}
