package documents

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// BackupTask is the PingSource data of the backup schedules
// (infra/knative/pingsources/documents-backup-*.yaml):
// {"task":"docs-backup","schedule":"daily|weekly|monthly"}.
const BackupTask = "docs-backup"

// Receive runs a backup for a backup schedule's tick (FP-41); other events
// are acknowledged and ignored. A tick delivered twice backs up once: the
// event id is kept with the backup.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.Ping {
		return nil, nil
	}
	var data events.PingData
	if err := e.DataAs(&data); err != nil || data["task"] != BackupTask {
		return nil, nil
	}
	schedule, _ := data["schedule"].(string)
	if !schedules[schedule] || schedule == "manual" {
		f.log.WarnContext(ctx, "documents: backup tick with an unknown schedule, ignored", "schedule", schedule, "id", e.ID())
		return nil, nil
	}
	_, err := f.Backup(ctx, schedule, e.ID())
	return nil, err
}
