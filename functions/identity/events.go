package identity

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// RepublishTask is the PingSource data task that writes the stored
// revocations to Redis again.
const RepublishTask = "republish-revocations"

// Receive handles the "republish-revocations" ping; identity receives no
// other event (the notices it once received are notify's).
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() == events.Ping {
		if data, err := events.Decode[events.PingData](e); err == nil && data["task"] == RepublishTask {
			return nil, f.republish(ctx)
		}
	}
	return nil, nil
}
