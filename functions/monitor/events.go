package monitor

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// Receive takes the PingSource tick that runs the saved searches falling
// due (FP-86); other events are acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() == events.Ping {
		return nil, f.receiveTick(ctx, e)
	}
	return nil, nil
}
