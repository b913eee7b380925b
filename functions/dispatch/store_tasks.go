package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Task is a task dispatched to an inspector (FP-150, FP-162).
type Task struct {
	ID                string     `json:"id"`
	EventID           *string    `json:"event_id"`
	Title             string     `json:"title"`
	Body              string     `json:"body"`
	Attachments       []string   `json:"attachments"`
	CreatedBy         string     `json:"created_by"`
	Assignee          string     `json:"assignee"`
	Status            string     `json:"status"`
	NeedsApproval     bool       `json:"needs_approval"`
	Result            string     `json:"result"`
	ResultAttachments []string   `json:"result_attachments"`
	District          string     `json:"district"`
	Township          string     `json:"township"`
	DueAt             *time.Time `json:"due_at"`
	CreatedAt         time.Time  `json:"created_at"`
	HandledAt         *time.Time `json:"handled_at"`
	DoneAt            *time.Time `json:"done_at"`
	Overdue           bool       `json:"overdue"`
}

const taskCols = `id::text, event_id::text, title, body, attachments, created_by, assignee, status, needs_approval, result,
	result_attachments, district, township, due_at, created_at, handled_at, done_at`

func scanTask(r pgx.Row) (Task, error) {
	var t Task
	err := r.Scan(&t.ID, &t.EventID, &t.Title, &t.Body, &t.Attachments, &t.CreatedBy, &t.Assignee, &t.Status, &t.NeedsApproval,
		&t.Result, &t.ResultAttachments, &t.District, &t.Township, &t.DueAt, &t.CreatedAt, &t.HandledAt, &t.DoneAt)
	return t, err
}

// CreateTask dispatches a task; linked to an event, the step is kept.
func (f *Function) CreateTask(ctx context.Context, p *auth.Principal, in TaskInput) (Task, error) {
	var t Task
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		district, township := jurisdiction(p.Scope, "", "")
		var eventID *string
		if in.EventID != "" {
			e, err := scopedEvent(ctx, tx, p.Scope, in.EventID)
			if err != nil {
				return err
			}
			district, township, eventID = e.District, e.Township, &e.ID
		}
		att := in.Attachments
		if att == nil {
			att = []string{}
		}
		var err error
		t, err = scanTask(tx.QueryRow(ctx, `INSERT INTO dispatch.tasks (id, event_id, title, body, attachments, created_by, assignee,
			needs_approval, district, township, due_at, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING `+taskCols,
			uuid.New(), eventID, in.Title, in.Body, att, p.UserID, in.Assignee, in.NeedsApproval, district, township, in.DueAt, now))
		if err != nil {
			return err
		}
		if eventID != nil {
			if err := step(ctx, tx, *eventID, p.UserID, "task_dispatched", map[string]any{"task_id": t.ID, "title": t.Title,
				"assignee": t.Assignee}, now); err != nil {
				return err
			}
		}
		if err := noticeAssignee(ctx, tx, t, "新任务：", now); err != nil {
			return err
		}
		return addFeed(ctx, tx, "task", district, township, t, now)
	})
	return t, store.Classify(err)
}

// taskFor loads a task the caller may act on: as its assignee, or as a
// creator or leader within whose scope it is.
func taskFor(ctx context.Context, tx pgx.Tx, p *auth.Principal, id string) (Task, error) {
	args := []any{id, p.UserID}
	t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM dispatch.tasks WHERE id::text = $1 AND (assignee = $2 OR `+
		p.Scope.Filter("district", "township", &args)+`) FOR UPDATE`, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, errs.New(errs.NotFound, "任务不存在或无权处理")
	}
	return t, err
}

// TaskAction is handle (the assignee's result), approve (a leader accepts
// a handled task), or reassign.
func (f *Function) TaskAction(ctx context.Context, p *auth.Principal, id, action string, in TaskActionInput) (Task, error) {
	var t Task
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		if t, err = taskFor(ctx, tx, p, id); err != nil {
			return err
		}
		switch action {
		case "handle":
			if t.Assignee != p.UserID {
				return errs.New(errs.Forbidden, "只有任务的接收人可以办理")
			}
			if t.Status != "pending" {
				return errs.New(errs.Conflict, "任务已办理")
			}
			att := in.Attachments
			if att == nil {
				att = []string{}
			}
			status := "done"
			if t.NeedsApproval {
				status = "handled"
			}
			t, err = scanTask(tx.QueryRow(ctx, `UPDATE dispatch.tasks SET status = $2, result = $3, result_attachments = $4,
				handled_at = $5, done_at = CASE WHEN $2 = 'done' THEN $5::timestamptz END WHERE id = $1 RETURNING `+taskCols,
				t.ID, status, in.Result, att, now))
		case "approve":
			if t.Status != "handled" {
				return errs.New(errs.Conflict, "只有待审批的任务可以审批")
			}
			t, err = scanTask(tx.QueryRow(ctx, `UPDATE dispatch.tasks SET status = 'done', done_at = $2 WHERE id = $1 RETURNING `+taskCols, t.ID, now))
		case "reassign":
			if t.Status != "pending" {
				return errs.New(errs.Conflict, "已办理的任务不能转派")
			}
			if in.Assignee == "" {
				return errs.Fields([]errs.FieldError{{Field: "assignee", Message: "请选择新的接收人"}})
			}
			if t, err = scanTask(tx.QueryRow(ctx, `UPDATE dispatch.tasks SET assignee = $2, reminded_at = NULL WHERE id = $1 RETURNING `+taskCols,
				t.ID, in.Assignee)); err == nil {
				err = noticeAssignee(ctx, tx, t, "转派给您的任务：", now)
			}
		}
		if err != nil {
			return err
		}
		if t.EventID != nil {
			if err := step(ctx, tx, *t.EventID, p.UserID, "task_"+action, map[string]any{"task_id": t.ID, "result": t.Result,
				"attachments": t.ResultAttachments, "assignee": t.Assignee, "status": t.Status}, now); err != nil {
				return err
			}
		}
		return addFeed(ctx, tx, "task", t.District, t.Township, t, now)
	})
	return t, store.Classify(err)
}

// TaskQuery filters the task views.
type TaskQuery struct {
	Box              string // created | handled (assigned to me) | "" (scope)
	Status           string
	Sender, Receiver string
	From, To         *time.Time // created
	DueBefore        *time.Time
}

func (f *Function) listTasks(ctx context.Context, p *auth.Principal, q TaskQuery, pg httpx.Page) ([]Task, int, error) {
	var w store.Where
	switch q.Box {
	case "created":
		w.Add("created_by = ?", p.UserID)
	case "handled":
		w.Add("assignee = ?", p.UserID)
	default:
		w.AddWith(func(args *[]any) string { return p.Scope.Filter("district", "township", args) })
	}
	if q.Status != "" {
		w.Add("status = ?", q.Status)
	}
	if q.Sender != "" {
		w.Add("created_by = ?", q.Sender)
	}
	if q.Receiver != "" {
		w.Add("assignee = ?", q.Receiver)
	}
	if q.From != nil {
		w.Add("created_at >= ?", *q.From)
	}
	if q.To != nil {
		w.Add("created_at < ?", *q.To)
	}
	if q.DueBefore != nil {
		w.Add("due_at < ?", *q.DueBefore)
	}
	var total int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM dispatch.tasks`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := f.pool.Query(ctx, `SELECT `+taskCols+` FROM dispatch.tasks`+w.SQL()+
		` ORDER BY created_at DESC, id LIMIT `+w.Next(pg.Size)+` OFFSET `+w.Next(pg.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	now := f.now()
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Task, error) {
		t, err := scanTask(r)
		t.Overdue = t.DueAt != nil && t.Status == "pending" && now.After(*t.DueAt) // the due reminder's mark
		return t, err
	})
	return items, total, store.Classify(err)
}
