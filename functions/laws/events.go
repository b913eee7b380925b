package laws

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// PingTask is the daily PingSource's task (infra/knative/pingsources/laws-daily.yaml).
const PingTask = "laws-status"

// Receive handles the daily tick: statuses follow the calendar (a
// 尚未生效 version becomes 现行有效 on its date, the one before it 已修改).
// Recomputing is idempotent, so a redelivery changes nothing.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.Ping {
		return nil, nil
	}
	data, err := events.Decode[events.PingData](e)
	if err != nil || data["task"] != PingTask {
		return nil, err
	}
	n, err := f.RefreshStatuses(ctx)
	if err == nil && n > 0 {
		f.log.InfoContext(ctx, "laws: statuses refreshed", "changed", n)
	}
	return nil, err
}
