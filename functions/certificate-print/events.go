package certificateprint

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// Receive handles the events certificate-print's Triggers route to it:
// a recorded verification becomes its certificate, and an institution's
// changed data its certificates' new versions. Others are acknowledged
// and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.MetrologyVerificationCompleted:
		d, err := events.Decode[events.VerificationCompletedData](e)
		if err != nil {
			return nil, err
		}
		_, err = outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
			_, err := f.Issue(ctx, tx, d)
			return err
		})
		return nil, err
	case events.MetrologyInstitutionUpdated:
		d, err := events.Decode[events.InstitutionUpdatedData](e)
		if err != nil {
			return nil, err
		}
		if _, err := outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
			return saveInstitution(ctx, tx, d.Institution, d.UpdatedAt)
		}); err != nil {
			return nil, err
		}
		// Outside Once: a redelivery after a crash mid-way finishes the
		// certificates still printed with the old data.
		n, err := f.Regenerate(ctx, d.Institution.ID)
		if n > 0 {
			f.log.InfoContext(ctx, "certificates regenerated", "institution", d.Institution.ID, "count", n)
		}
		return nil, err
	}
	return nil, nil
}
