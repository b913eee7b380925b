package datahub

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// Receive runs the quality rules on the datahub-quality PingSource's tick
// (FP-98); other events are acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() == events.Ping {
		data, err := events.Decode[events.PingData](e)
		if err != nil {
			return nil, nil // not a tick of ours
		}
		// A run is locked against other replicas and recomputes from the
		// data, so a redelivered tick only adds one more point to the trend.
		if err := f.receivePing(ctx, data); err != nil {
			return nil, err
		}
		return nil, f.receivePlatformPing(ctx, data) // FP-116: due third-party configurations
	}
	return nil, nil
}
