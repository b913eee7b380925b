package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/notify"
)

// DueTask is the PingSource data {"task": "dispatch-task-due"} of the
// due-date sweep (infra/knative/pingsources/dispatch-task-due.yaml).
const DueTask = "dispatch-task-due"

const taskLink = "/console/#/mobile/inspector"

// noticeAssignee tells a task's (new) assignee in the caller's
// transaction, so the phone's message centre pops it up.
func noticeAssignee(ctx context.Context, tx pgx.Tx, t Task, title string, at time.Time) error {
	body := t.Body
	if t.DueAt != nil {
		body += fmt.Sprintf("\n办理期限：%s", t.DueAt.In(beijing).Format("2006-01-02 15:04"))
	}
	return notify.Post(ctx, tx, Source, notify.Notice{Title: title + t.Title, Body: body, Level: notify.LevelWarning,
		Kind: "dispatch_task", Link: taskLink, Popup: true, UserIDs: []string{t.Assignee}, Subject: t.ID, At: at})
}

var beijing = time.FixedZone("CST", 8*3600)

// RemindDue tells the assignee and the creator of each pending task due
// within the reminder window (or overdue) and not yet reminded, once; it
// returns how many tasks it reminded of.
func (f *Function) RemindDue(ctx context.Context, tx pgx.Tx) (int, error) {
	now := f.now()
	rows, err := tx.Query(ctx, `UPDATE dispatch.tasks SET reminded_at = $1
		WHERE status = 'pending' AND reminded_at IS NULL AND due_at IS NOT NULL AND due_at <= $2
		RETURNING `+taskCols, now, now.Add(f.cfg.DueReminder))
	if err != nil {
		return 0, err
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Task, error) { return scanTask(r) })
	if err != nil {
		return 0, err
	}
	for _, t := range due {
		title, level := "任务即将到期：", notify.LevelWarning
		if now.After(*t.DueAt) {
			title, level = "任务已超期：", notify.LevelAlert
		}
		to := dedupe([]string{t.Assignee, t.CreatedBy})
		if err := notify.Post(ctx, tx, Source, notify.Notice{Title: title + t.Title, Level: level, Kind: "dispatch_task_due", Link: taskLink,
			Body: "办理期限：" + t.DueAt.In(beijing).Format("2006-01-02 15:04"), Popup: true, UserIDs: to, Subject: t.ID, At: now}); err != nil {
			return 0, err
		}
		if t.EventID != nil {
			if err := step(ctx, tx, *t.EventID, "system:"+Name, "task_reminded", map[string]any{"task_id": t.ID, "title": t.Title,
				"due_at": t.DueAt, "overdue": now.After(*t.DueAt)}, now); err != nil {
				return 0, err
			}
		}
	}
	return len(due), nil
}
