package scanresolve

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// Receive drops cached pages when what they show changes: an entity's
// update or deregistration (by credit code), a code's issue, invalidation
// or re-activation (by token). Redelivery is harmless: dropping a page and
// bumping its generation twice changes nothing more. Other events are
// acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.EntityUpdated:
		d, err := events.Decode[events.EntityUpdatedData](e)
		if err != nil {
			return nil, err
		}
		return nil, f.cache.invalidateEntity(ctx, d.Entity.CreditCode, d.Entity.Version)
	case events.EntityDeregistered:
		d, err := events.Decode[events.EntityDeregisteredData](e)
		if err != nil {
			return nil, err
		}
		return nil, f.cache.invalidateEntity(ctx, d.CreditCode, d.Version)
	case events.QRIssued, events.QRInvalidated, events.QRReactivated:
		// All three carry the token (and the credit code).
		d, err := events.Decode[events.QRReactivatedData](e)
		if err != nil {
			return nil, err
		}
		return nil, f.cache.invalidateTokens(ctx, d.Token)
	case events.QRBatchIssued:
		// A token scanned before it was issued may be cached as "missing".
		d, err := events.Decode[events.QRBatchIssuedData](e)
		if err != nil {
			return nil, err
		}
		tokens := make([]string, len(d.Codes))
		for i, c := range d.Codes {
			tokens[i] = c.Token
		}
		return nil, f.cache.invalidateTokens(ctx, tokens...)
	}
	return nil, nil
}
