package monitor

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// Receive takes the PingSource tick (due saved searches, FP-86, and due
// stream checks, FP-89) and the stream check requests; other events are
// acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.Ping:
		return nil, f.receiveTick(ctx, e)
	case events.MonitorStreamCheckRequested:
		return nil, f.receiveCheck(ctx, e)
	}
	return nil, nil
}
