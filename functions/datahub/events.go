package datahub

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// Receive handles the events its Triggers route here; others are
// acknowledged and ignored. Decode payloads with events.Decode[T](e) and
// wrap effects in outbox.Once, so a redelivery changes nothing.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() == events.Ping {
		return nil, f.receivePing(ctx, e) // FP-116: due third-party configurations
	}
	return nil, nil
}
