package provincialsync

import (
	"context"
	"strconv"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// Receive handles the events provincial-sync's Triggers route to it: the
// 10-minute PingSource runs a sync, and an issued certificate is uploaded.
// Others are acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.Ping:
		data, err := events.Decode[events.PingData](e)
		if err != nil || data["task"] != SyncTask {
			return nil, err
		}
		// A tick is naturally idempotent: a second delivery finds nothing
		// new, or the first still running (and is skipped).
		run, err := f.Sync(ctx, "schedule")
		if err == nil {
			f.log.InfoContext(ctx, "province sync", "run", run.ID, "status", run.Status, "fetched", run.Fetched,
				"inserted", run.Inserted, "updated", run.Updated, "pushed", run.Pushed)
		}
		return nil, err
	case events.CertificateIssued:
		d, err := events.Decode[events.CertificateIssuedData](e)
		if err != nil {
			return nil, err
		}
		return nil, f.Upload(ctx, d)
	}
	return nil, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
