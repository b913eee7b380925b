package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Alarm is an alarm as the centre sees it.
type Alarm struct {
	ID          string    `json:"id"`
	Level       string    `json:"level"`
	Text        string    `json:"text"`
	Lat         float64   `json:"lat"`
	Lng         float64   `json:"lng"`
	Accuracy    float64   `json:"accuracy"`
	Attachments []string  `json:"attachments"`
	RaisedBy    string    `json:"raised_by"`
	RaisedName  string    `json:"raised_name"`
	District    string    `json:"district"`
	Township    string    `json:"township"`
	RaisedAt    time.Time `json:"raised_at"`
	ReceivedAt  time.Time `json:"received_at"`
	Status      string    `json:"status"`
	EventID     *string   `json:"event_id"`
	// The handling: who accepted or dismissed it and when, and why it
	// was dismissed or closed.
	HandledBy   string     `json:"handled_by"`
	HandledAt   *time.Time `json:"handled_at"`
	CloseReason string     `json:"close_reason"`
}

// addFeed appends a feed row and signals the listeners; NOTIFY is sent at
// commit, so a woken stream always finds the row. No lock: the row's xid
// (the column's default) is what streams order by visibility (feed.go),
// so writers commit concurrently and share their WAL flushes.
func addFeed(ctx context.Context, tx pgx.Tx, kind, district, township string, payload any, at time.Time) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO dispatch.feed (kind, district, township, payload, at) VALUES ($1,$2,$3,$4,$5)`,
		kind, district, township, raw, at); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `SELECT pg_notify('`+feedChannel+`', '')`)
	return err
}

func recordAlarm(ctx context.Context, tx pgx.Tx, d events.AlarmRaisedData, now time.Time) error {
	att := d.Attachments
	if att == nil {
		att = []string{}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO dispatch.alarms (id, level, text, lat, lng, accuracy, attachments, raised_by, raised_name,
		district, township, raised_at, received_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT (id) DO NOTHING`,
		d.AlarmID, d.Level, d.Text, d.Lat, d.Lng, d.Accuracy, att, d.RaisedBy, d.RaisedName, d.District, d.Township, d.RaisedAt, d.ReceivedAt)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	a := Alarm{ID: d.AlarmID, Level: d.Level, Text: d.Text, Lat: d.Lat, Lng: d.Lng, Accuracy: d.Accuracy, Attachments: att,
		RaisedBy: d.RaisedBy, RaisedName: d.RaisedName, District: d.District, Township: d.Township, RaisedAt: d.RaisedAt,
		ReceivedAt: d.ReceivedAt, Status: "new"}
	return addFeed(ctx, tx, "alarm", d.District, d.Township, a, now)
}

const alarmCols = `id::text, level, text, lat, lng, accuracy, attachments, raised_by, raised_name, district, township,
	raised_at, received_at, status, event_id::text, handled_by, handled_at, close_reason`

func scanAlarm(r pgx.Row) (Alarm, error) {
	var a Alarm
	err := r.Scan(&a.ID, &a.Level, &a.Text, &a.Lat, &a.Lng, &a.Accuracy, &a.Attachments, &a.RaisedBy, &a.RaisedName,
		&a.District, &a.Township, &a.RaisedAt, &a.ReceivedAt, &a.Status, &a.EventID, &a.HandledBy, &a.HandledAt, &a.CloseReason)
	return a, err
}

// AlarmQuery filters the alarm history (FP-149).
type AlarmQuery struct {
	Status, Level, Q string
	From, To         *time.Time // received
}

func listAlarms(ctx context.Context, q store.Querier, s auth.Scope, aq AlarmQuery, p httpx.Page) ([]Alarm, int, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return s.Filter("district", "township", args) })
	if aq.Status != "" {
		w.Add("status = ?", aq.Status)
	}
	if aq.Level != "" {
		w.Add("level = ?", aq.Level)
	}
	if aq.Q != "" {
		w.Add("(text ILIKE ? OR raised_name ILIKE ? OR close_reason ILIKE ?)", store.Contains(aq.Q), store.Contains(aq.Q), store.Contains(aq.Q))
	}
	if aq.From != nil {
		w.Add("received_at >= ?", *aq.From)
	}
	if aq.To != nil {
		w.Add("received_at < ?", *aq.To)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM dispatch.alarms`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+alarmCols+` FROM dispatch.alarms`+w.SQL()+
		` ORDER BY received_at DESC, id LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Alarm, error) { return scanAlarm(r) })
	return items, total, store.Classify(err)
}

// Event is an event handled by the centre.
type Event struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Color       string     `json:"color"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Source      string     `json:"source"`
	Address     string     `json:"address"`
	Lat         float64    `json:"lat"`
	Lng         float64    `json:"lng"`
	District    string     `json:"district"`
	Township    string     `json:"township"`
	Status      string     `json:"status"`
	CloseReason string     `json:"close_reason"`
	GroupID     *string    `json:"group_id"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	ClosedAt    *time.Time `json:"closed_at"`
	Attachments []string   `json:"attachments"`
}

const eventCols = `id::text, type, title, description, source, address, lat, lng, district, township, status, close_reason,
	group_id::text, created_by, created_at, closed_at, attachments`

func scanEvent(r pgx.Row) (Event, error) {
	var e Event
	err := r.Scan(&e.ID, &e.Type, &e.Title, &e.Description, &e.Source, &e.Address, &e.Lat, &e.Lng, &e.District, &e.Township,
		&e.Status, &e.CloseReason, &e.GroupID, &e.CreatedBy, &e.CreatedAt, &e.ClosedAt, &e.Attachments)
	e.Color = TypeColors[e.Type]
	return e, err
}

func step(ctx context.Context, tx pgx.Tx, event, actor, action string, detail any, at time.Time) error {
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO dispatch.event_steps (event_id, at, actor, action, detail) VALUES ($1,$2,$3,$4,$5)`,
		event, at, actor, action, raw)
	return err
}

func insertEvent(ctx context.Context, tx pgx.Tx, in EventInput, district, township, actor string, now time.Time) (Event, error) {
	att := in.Attachments
	if att == nil {
		att = []string{}
	}
	e, err := scanEvent(tx.QueryRow(ctx, `INSERT INTO dispatch.events (id, type, title, description, source, address, lat, lng,
		district, township, created_by, created_at, attachments) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING `+eventCols,
		uuid.New(), in.Type, in.Title, in.Description, in.Source, in.Address, *in.Lat, *in.Lng, district, township, actor, now, att))
	if err != nil {
		return e, err
	}
	if err := step(ctx, tx, e.ID, actor, "created", map[string]string{"source": e.Source, "title": e.Title}, now); err != nil {
		return e, err
	}
	return e, addFeed(ctx, tx, "event", district, township, e, now)
}

// CreateEvent records an event entered at the centre (a call) or reported.
func (f *Function) CreateEvent(ctx context.Context, p *auth.Principal, in EventInput) (Event, error) {
	district, township := jurisdiction(p.Scope, in.District, in.Township)
	var e Event
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		e, err = insertEvent(ctx, tx, in, district, township, p.UserID, f.now())
		return err
	})
	return e, store.Classify(err)
}

// AcceptAlarm turns an alarm into an event (FP-146): the alarm is linked,
// both keep the step.
func (f *Function) AcceptAlarm(ctx context.Context, p *auth.Principal, id, typ string) (Event, error) {
	var e Event
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		args := []any{id}
		a, err := scanAlarm(tx.QueryRow(ctx, `SELECT `+alarmCols+` FROM dispatch.alarms WHERE id::text = $1 AND `+
			p.Scope.Filter("district", "township", &args)+` FOR UPDATE`, args...))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.New(errs.NotFound, "报警不存在或不在本辖区")
		} else if err != nil {
			return err
		}
		if a.EventID != nil {
			e, err = scanEvent(tx.QueryRow(ctx, `SELECT `+eventCols+` FROM dispatch.events WHERE id = $1`, *a.EventID))
			return err
		}
		if a.Status == "dismissed" {
			return errs.New(errs.Conflict, "该报警已消除（"+a.CloseReason+"），不能再受理")
		}
		title := "一键报警（" + a.Level + "）：" + a.RaisedName
		e, err = insertEvent(ctx, tx, EventInput{Type: typ, Title: title, Description: a.Text, Source: "alarm", Lat: &a.Lat, Lng: &a.Lng},
			a.District, a.Township, p.UserID, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE dispatch.alarms SET status = 'accepted', event_id = $2, handled_by = $3, handled_at = $4 WHERE id = $1`,
			a.ID, e.ID, p.UserID, now); err != nil {
			return err
		}
		return step(ctx, tx, e.ID, p.UserID, "alarm_linked", map[string]any{"alarm_id": a.ID, "level": a.Level,
			"raised_by": a.RaisedName, "raised_at": a.RaisedAt, "text": a.Text, "attachments": a.Attachments}, now)
	})
	return e, store.Classify(err)
}

// scoped loads an event inside the caller's scope, for update.
func scopedEvent(ctx context.Context, tx pgx.Tx, s auth.Scope, id string) (Event, error) {
	args := []any{id}
	e, err := scanEvent(tx.QueryRow(ctx, `SELECT `+eventCols+` FROM dispatch.events WHERE id::text = $1 AND `+
		s.Filter("district", "township", &args)+` FOR UPDATE`, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, errs.New(errs.NotFound, "事件不存在或不在本辖区")
	}
	return e, err
}

// CloseEvent closes an open event with a reason.
func (f *Function) CloseEvent(ctx context.Context, p *auth.Principal, id, reason string) (Event, error) {
	var e Event
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		if e, err = scopedEvent(ctx, tx, p.Scope, id); err != nil {
			return err
		}
		if e.Status == "closed" {
			return errs.New(errs.Conflict, "事件已关闭")
		}
		e, err = scanEvent(tx.QueryRow(ctx, `UPDATE dispatch.events SET status = 'closed', close_reason = $2, closed_at = $3
			WHERE id = $1 RETURNING `+eventCols, e.ID, reason, now))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE dispatch.alarms SET status = 'closed', close_reason = $2 WHERE event_id = $1`, e.ID, reason); err != nil {
			return err
		}
		return step(ctx, tx, e.ID, p.UserID, "closed", map[string]string{"reason": reason}, now)
	})
	return e, store.Classify(err)
}

// GroupEvents puts events into one group (the first's id names it).
func (f *Function) GroupEvents(ctx context.Context, p *auth.Principal, ids []string) error {
	now := f.now()
	return store.Classify(store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		for _, id := range ids {
			e, err := scopedEvent(ctx, tx, p.Scope, id)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE dispatch.events SET group_id = $2 WHERE id = $1`, e.ID, ids[0]); err != nil {
				return err
			}
			if err := step(ctx, tx, e.ID, p.UserID, "grouped", map[string]string{"group_id": ids[0]}, now); err != nil {
				return err
			}
		}
		return nil
	}))
}

func listEvents(ctx context.Context, q store.Querier, s auth.Scope, search, status, typ string, p httpx.Page) ([]Event, int, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return s.Filter("district", "township", args) })
	if search != "" {
		// Fuzzy: a substring (trigram index) or trigram similarity, so a
		// mistyped word still finds the event.
		w.Add("((title || ' ' || description || ' ' || address) ILIKE ? OR similarity(title || ' ' || description || ' ' || address, ?) > 0.2)",
			store.Contains(search), search)
	}
	if status != "" {
		w.Add("status = ?", status)
	}
	if typ != "" {
		w.Add("type = ?", typ)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM dispatch.events`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+eventCols+` FROM dispatch.events`+w.SQL()+
		` ORDER BY created_at DESC, id LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) { return scanEvent(r) })
	return items, total, store.Classify(err)
}

// Step is one step of an event's timeline.
type Step struct {
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Detail json.RawMessage `json:"detail"`
}

// Timeline is an event's retrospection (FP-154).
type Timeline struct {
	Event  Event   `json:"event"`
	Steps  []Step  `json:"steps"`
	Tasks  []Task  `json:"tasks"`
	Alarms []Alarm `json:"alarms"`
}

// EventTimeline gathers an event's base data, steps, tasks and alarms.
func (f *Function) EventTimeline(ctx context.Context, p *auth.Principal, id string) (Timeline, error) {
	var t Timeline
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		if t.Event, err = scopedEvent(ctx, tx, p.Scope, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT at, actor, action, detail FROM dispatch.event_steps WHERE event_id = $1 ORDER BY at, id`, t.Event.ID)
		if err != nil {
			return err
		}
		if t.Steps, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Step, error) {
			var s Step
			return s, r.Scan(&s.At, &s.Actor, &s.Action, &s.Detail)
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT `+taskCols+` FROM dispatch.tasks WHERE event_id = $1 ORDER BY created_at`, t.Event.ID)
		if err != nil {
			return err
		}
		if t.Tasks, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Task, error) { return scanTask(r) }); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT `+alarmCols+` FROM dispatch.alarms WHERE event_id = $1 ORDER BY received_at`, t.Event.ID)
		if err != nil {
			return err
		}
		t.Alarms, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Alarm, error) { return scanAlarm(r) })
		return err
	})
	return t, store.Classify(err)
}

// jurisdiction is where a record made by a caller belongs: the caller's
// own township or district, unless a city-wide caller names one.
func jurisdiction(s auth.Scope, district, township string) (string, string) {
	if s.Kind == auth.ScopeAll {
		return district, township
	}
	if township != "" && s.Allows(township[:min(6, len(township))], township) {
		return township[:min(6, len(township))], township
	}
	if district != "" && s.Allows(district, "") {
		return district, ""
	}
	if len(s.Townships) > 0 {
		return s.Townships[0][:min(6, len(s.Townships[0]))], s.Townships[0]
	}
	if len(s.Districts) > 0 {
		return s.Districts[0], ""
	}
	return "", ""
}

// EventCounts counts the caller's events per type (FP-144: counts beside
// the colours on the map and in lists), of one status or all.
func EventCounts(ctx context.Context, q store.Querier, s auth.Scope, status string) (map[string]int, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return s.Filter("district", "township", args) })
	if status != "" {
		w.Add("status = ?", status)
	}
	rows, err := q.Query(ctx, `SELECT type, count(*) FROM dispatch.events`+w.SQL()+` GROUP BY type`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			return nil, store.Classify(err)
		}
		out[typ] = n
	}
	return out, store.Classify(rows.Err())
}

// DismissAlarm clears a new alarm without an event (消除: a false or
// duplicate alarm), with its reason; the centre's screens drop its blink.
func (f *Function) DismissAlarm(ctx context.Context, p *auth.Principal, id, reason string) (Alarm, error) {
	var a Alarm
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		args := []any{id}
		var err error
		a, err = scanAlarm(tx.QueryRow(ctx, `SELECT `+alarmCols+` FROM dispatch.alarms WHERE id::text = $1 AND `+
			p.Scope.Filter("district", "township", &args)+` FOR UPDATE`, args...))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.New(errs.NotFound, "报警不存在或不在本辖区")
		} else if err != nil {
			return err
		}
		if a.Status != "new" {
			return errs.New(errs.Conflict, "只有待处置的报警可以消除")
		}
		if a, err = scanAlarm(tx.QueryRow(ctx, `UPDATE dispatch.alarms SET status = 'dismissed', close_reason = $2, handled_by = $3, handled_at = $4
			WHERE id = $1 RETURNING `+alarmCols, a.ID, reason, p.UserID, now)); err != nil {
			return err
		}
		return addFeed(ctx, tx, "alarm_update", a.District, a.Township, a, now)
	})
	return a, store.Classify(err)
}
