package console

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Receive ignores events: the console reacts to none.
func (f *Function) Receive(context.Context, event.Event) (*event.Event, error) { return nil, nil }
