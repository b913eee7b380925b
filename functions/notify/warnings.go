package notify

// FP-129 预警信息: warnings from every function arrive through the notice
// event with warning_level set, go to a board of their own (not the
// message centre), reach only their addressees — the users, departments
// or roles named, matched against the reader's token as notices are —
// and are acknowledged and handled once for all of them, each step with
// who did it and their opinion, in the operation log.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Warning states.
const (
	StatePending    = "pending"    // 待处理
	StateProcessing = "processing" // 处理中
	StateDone       = "done"       // 已处理
)

// Warning is a warning as an addressee sees it.
type Warning struct {
	ID               int64               `json:"id"`
	Title            string              `json:"title"`
	Body             string              `json:"body"`
	Level            string              `json:"level"` // red | orange | yellow | blue
	Kind             string              `json:"kind"`
	Link             string              `json:"link"`
	Producer         string              `json:"producer"` // the function that raised it
	Target           events.NoticeTarget `json:"target"`
	CreatedAt        time.Time           `json:"created_at"`
	State            string              `json:"state"`
	AcknowledgedAt   *time.Time          `json:"acknowledged_at,omitempty"`
	AcknowledgedName string              `json:"acknowledged_name,omitempty"`
	HandledAt        *time.Time          `json:"handled_at,omitempty"`
	HandledName      string              `json:"handled_name,omitempty"`
	Opinion          string              `json:"opinion,omitempty"`
	Actions          []WarningAction     `json:"actions,omitempty"`
}

// WarningAction is one step of a warning's handling.
type WarningAction struct {
	Action   string    `json:"action"` // acknowledge | processing | done
	UserID   string    `json:"user_id"`
	UserName string    `json:"user_name"`
	Opinion  string    `json:"opinion"`
	At       time.Time `json:"at"`
}

const warningCols = `w.id, w.title, w.body, w.level, w.kind, w.link, w.producer, w.target_all, w.target_users, w.target_depts,
	w.target_roles, w.created_at, w.state, w.acknowledged_at, w.acknowledged_name, w.handled_at, w.handled_name, w.opinion`

func scanWarning(r pgx.Row) (Warning, error) {
	var w Warning
	err := r.Scan(&w.ID, &w.Title, &w.Body, &w.Level, &w.Kind, &w.Link, &w.Producer, &w.Target.All, &w.Target.UserIDs,
		&w.Target.DeptIDs, &w.Target.Roles, &w.CreatedAt, &w.State, &w.AcknowledgedAt, &w.AcknowledgedName, &w.HandledAt,
		&w.HandledName, &w.Opinion)
	return w, err
}

// insertWarning stores a warning once per event.
func insertWarning(ctx context.Context, tx pgx.Tx, eventID string, at time.Time, d events.NoticeRequestedData) (Warning, bool, error) {
	w, err := scanWarning(tx.QueryRow(ctx, `INSERT INTO notify.warnings AS w (event_id, created_at, title, body, level, kind, link,
			producer, target_all, target_users, target_depts, target_roles)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (event_id) DO NOTHING
		RETURNING `+warningCols,
		eventID, at, d.Title, d.Body, d.WarningLevel, d.WarningKind, d.Link, d.Producer,
		d.Target.All, nonNil(d.Target.UserIDs), nonNil(d.Target.DeptIDs), nonNil(d.Target.Roles)))
	if err == pgx.ErrNoRows {
		return w, false, nil
	}
	if err != nil {
		return w, false, fmt.Errorf("insert warning: %w", err)
	}
	return w, true, nil
}

// addressed is the predicate for warnings aimed at the principal.
func addressed(p *auth.Principal, w *store.Where) {
	depts := []string{}
	if p.DeptID != "" {
		depts = []string{p.DeptID}
	}
	w.Add("(w.target_all OR w.target_users && ? OR w.target_depts && ? OR w.target_roles && ?)", []string{p.UserID}, depts, nonNil(p.Roles))
}

// WarningFilter narrows the board.
type WarningFilter struct {
	Level, Producer, State, Q string
	Unacknowledged            bool
	From, To                  time.Time // created at, [From, To)
}

func (flt WarningFilter) where(p *auth.Principal) *store.Where {
	w := &store.Where{}
	addressed(p, w)
	if flt.Level != "" {
		w.Add("w.level = ?", flt.Level)
	}
	if flt.Producer != "" {
		w.Add("w.producer = ?", flt.Producer)
	}
	if flt.State != "" {
		w.Add("w.state = ?", flt.State)
	}
	if flt.Unacknowledged {
		w.Add("w.acknowledged_at IS NULL")
	}
	if flt.Q != "" {
		pattern := store.Contains(flt.Q)
		w.Add("(w.title ILIKE ? OR w.body ILIKE ? OR w.kind ILIKE ?)", pattern, pattern, pattern)
	}
	if !flt.From.IsZero() {
		w.Add("w.created_at >= ?", flt.From)
	}
	if !flt.To.IsZero() {
		w.Add("w.created_at < ?", flt.To)
	}
	return w
}

// Warnings lists the principal's warnings, most severe and newest first
// among the unhandled, then the handled newest first.
func (f *Function) Warnings(ctx context.Context, p *auth.Principal, flt WarningFilter, pg httpx.Page) (httpx.PageOf[Warning], error) {
	w := flt.where(p)
	var total int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM notify.warnings w`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return httpx.PageOf[Warning]{}, store.Classify(fmt.Errorf("count warnings: %w", err))
	}
	limit, offset := w.Next(pg.Size), w.Next(pg.Offset())
	rows, err := f.pool.Query(ctx, `SELECT `+warningCols+` FROM notify.warnings w`+w.SQL()+`
		ORDER BY (w.state = 'done'), w.created_at DESC, w.id DESC LIMIT `+limit+` OFFSET `+offset, w.Args()...)
	if err != nil {
		return httpx.PageOf[Warning]{}, store.Classify(fmt.Errorf("list warnings: %w", err))
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Warning, error) { return scanWarning(r) })
	if err != nil {
		return httpx.PageOf[Warning]{}, store.Classify(fmt.Errorf("list warnings: %w", err))
	}
	return httpx.NewPage(items, total, pg), nil
}

// WarningSources are the functions that raised the principal's warnings.
func (f *Function) WarningSources(ctx context.Context, p *auth.Principal) ([]string, error) {
	w := &store.Where{}
	addressed(p, w)
	rows, err := f.pool.Query(ctx, `SELECT DISTINCT w.producer FROM notify.warnings w`+w.SQL()+` ORDER BY 1`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if out == nil {
		out = []string{}
	}
	return out, store.Classify(err)
}

// UnacknowledgedWarnings counts the principal's warnings nobody has
// acknowledged yet (the badge and the pop-up at login).
func (f *Function) UnacknowledgedWarnings(ctx context.Context, p *auth.Principal) (int, error) {
	w := WarningFilter{Unacknowledged: true}.where(p)
	var n int
	err := f.pool.QueryRow(ctx, `SELECT count(*) FROM notify.warnings w`+w.SQL(), w.Args()...).Scan(&n)
	return n, store.Classify(err)
}

// loadWarning reads one warning aimed at p (for update within tx when
// lock); one aimed elsewhere is not found, its existence not revealed.
func loadWarning(ctx context.Context, q store.Querier, p *auth.Principal, id int64, lock bool) (Warning, error) {
	w := &store.Where{}
	w.Add("w.id = ?", id)
	addressed(p, w)
	sql := `SELECT ` + warningCols + ` FROM notify.warnings w` + w.SQL()
	if lock {
		sql += ` FOR UPDATE`
	}
	out, err := scanWarning(q.QueryRow(ctx, sql, w.Args()...))
	if err == pgx.ErrNoRows {
		return out, errs.Wrap(errs.NotFound, "预警信息不存在", errs.ErrNotFound)
	}
	return out, store.Classify(err)
}

// WarningDetail is one warning with its handling steps.
func (f *Function) WarningDetail(ctx context.Context, p *auth.Principal, id int64) (Warning, error) {
	w, err := loadWarning(ctx, f.pool, p, id, false)
	if err != nil {
		return w, err
	}
	rows, err := f.pool.Query(ctx, `SELECT action, user_id, user_name, opinion, at FROM notify.warning_actions
		WHERE warning_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return w, store.Classify(err)
	}
	w.Actions, err = pgx.CollectRows(rows, pgx.RowToStructByPos[WarningAction])
	if w.Actions == nil {
		w.Actions = []WarningAction{}
	}
	return w, store.Classify(err)
}

func displayName(p *auth.Principal) string {
	if p.Name != "" {
		return p.Name
	}
	return p.Username
}

// Acknowledge signs for a warning (签收) on behalf of its addressees.
// Acknowledging twice changes nothing; the first signer stays.
func (f *Function) Acknowledge(ctx context.Context, a auditlog.Actor, p *auth.Principal, id int64) (Warning, error) {
	return f.changeWarning(ctx, a, p, id, "acknowledge", "")
}

// Handle moves a warning to processing or done with the handler's
// opinion, acknowledging it first when nobody has. A done warning is
// final.
func (f *Function) Handle(ctx context.Context, a auditlog.Actor, p *auth.Principal, id int64, state, opinion string) (Warning, error) {
	return f.changeWarning(ctx, a, p, id, state, opinion)
}

func (f *Function) changeWarning(ctx context.Context, a auditlog.Actor, p *auth.Principal, id int64, action, opinion string) (Warning, error) {
	var out Warning
	changed := false
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		before, err := loadWarning(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		now := f.now()
		if action != "acknowledge" && before.State == StateDone {
			return errs.New(errs.Conflict, "该预警已处理完毕，不能再更改处理状态")
		}
		steps := []string{}
		if before.AcknowledgedAt == nil {
			steps = append(steps, "acknowledge")
		}
		if action != "acknowledge" {
			steps = append(steps, action)
		}
		if len(steps) == 0 {
			out = before
			return nil
		}
		for _, s := range steps {
			op := ""
			if s != "acknowledge" {
				op = opinion
			}
			if _, err := tx.Exec(ctx, `INSERT INTO notify.warning_actions (warning_id, action, user_id, user_name, opinion, at)
				VALUES ($1, $2, $3, $4, $5, $6)`, id, s, p.UserID, displayName(p), op, now); err != nil {
				return store.Classify(err)
			}
		}
		// Acknowledging moves a pending warning to processing; handling
		// sets the state named.
		state := StateProcessing
		if action != "acknowledge" {
			state = action
		}
		sql := `UPDATE notify.warnings w SET acknowledged_at = COALESCE(acknowledged_at, $2),
				acknowledged_by = CASE WHEN acknowledged_at IS NULL THEN $3 ELSE acknowledged_by END,
				acknowledged_name = CASE WHEN acknowledged_at IS NULL THEN $4 ELSE acknowledged_name END,
				state = CASE WHEN $7 OR state = 'pending' THEN $5 ELSE state END,
				handled_at = CASE WHEN $7 THEN $2 ELSE handled_at END,
				handled_by = CASE WHEN $7 THEN $3 ELSE handled_by END,
				handled_name = CASE WHEN $7 THEN $4 ELSE handled_name END,
				opinion = CASE WHEN $7 THEN $6 ELSE opinion END`
		args := []any{id, now, p.UserID, displayName(p), state, opinion, action != "acknowledge"}
		after, err := scanWarning(tx.QueryRow(ctx, sql+` WHERE id = $1 RETURNING `+warningCols, args...))
		if err != nil {
			return store.Classify(err)
		}
		out, changed = after, true
		return auditlog.RecordBy(ctx, tx, Source, a, auditlog.Operation{At: now, Action: "notify.warning." + action,
			ObjectType: "warning", ObjectID: fmt.Sprint(id),
			Before: map[string]any{"state": before.State, "acknowledged": before.AcknowledgedAt != nil},
			After:  map[string]any{"state": after.State, "acknowledged": true, "opinion": opinion}})
	})
	if err != nil {
		return Warning{}, err
	}
	if changed {
		t := out.Target
		f.publish(ctx, message{Kind: "warning_state", Warning: &out, Target: &t})
	}
	return out, nil
}
