package connectors

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// Receive handles the events connectors' Triggers route to it: the
// PingSource's tick runs every connector in turn (FP-13–16, 19–21) and
// checks the external databases' connections. A tick is naturally
// idempotent: a redelivery finds nothing new past the cursors, or a run
// still going (and skips it). Others are acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.Ping {
		return nil, nil
	}
	data, err := events.Decode[events.PingData](e)
	if err != nil || data["task"] != SyncTask {
		return nil, err
	}
	return nil, f.SyncAll(ctx, "schedule")
}

// SyncAll runs every enabled connector once. One connector failing does
// not stop the others; its run records why.
func (f *Function) SyncAll(ctx context.Context, trigger string) error {
	names := make([]string, 0, len(f.builtin))
	for _, c := range f.builtin {
		names = append(names, c.Name)
	}
	dbs, err := f.Databases(ctx)
	if err != nil {
		return err
	}
	for _, d := range dbs {
		if d.Enabled {
			if _, err := f.CheckDatabase(ctx, d.ID); err != nil {
				return err
			}
			names = append(names, d.Connector)
		}
	}
	for _, n := range names {
		run, err := f.RunConnector(ctx, n, trigger)
		switch {
		case errors.Is(err, errRunning):
			continue
		case err != nil:
			return err
		}
		f.log.InfoContext(ctx, "connector run", "connector", n, "status", run.Status, "read", run.RowsRead, "written", run.RowsWritten, "error", run.Error)
	}
	return nil
}
