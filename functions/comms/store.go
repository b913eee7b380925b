package comms

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Consult is one consult room opened for a dispatch event.
type Consult struct {
	ID        string     `json:"id"`
	EventID   string     `json:"event_id"`
	Title     string     `json:"title"`
	Room      string     `json:"room"`
	District  string     `json:"district"`
	Township  string     `json:"township"`
	Status    string     `json:"status"`
	HostID    string     `json:"host_id"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at"`
	Members   []Member   `json:"members,omitempty"`
}

// Member is one invited participant of a consult.
type Member struct {
	UserID    string     `json:"user_id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	InvitedBy string     `json:"invited_by"`
	InvitedAt time.Time  `json:"invited_at"`
	RemovedAt *time.Time `json:"removed_at"`
}

// Message is one chat line or phone report, kept with its event: the
// event's comms timeline, read by its retrospection.
type Message struct {
	ID            int64     `json:"id"`
	ConsultID     *string   `json:"consult_id"`
	EventID       string    `json:"event_id"`
	SenderID      string    `json:"sender_id"`
	SenderName    string    `json:"sender_name"`
	Kind          string    `json:"kind"`
	Body          string    `json:"body"`
	HasAttachment bool      `json:"has_attachment"`
	ContentType   string    `json:"content_type,omitempty"`
	Size          int64     `json:"size,omitempty"`
	Lat           *float64  `json:"lat,omitempty"`
	Lng           *float64  `json:"lng,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	key           string
}

const consultCols = `id::text, event_id::text, title, room, district, township, status, host_id, created_at, closed_at`

func scanConsult(r pgx.Row) (Consult, error) {
	var c Consult
	err := r.Scan(&c.ID, &c.EventID, &c.Title, &c.Room, &c.District, &c.Township, &c.Status, &c.HostID, &c.CreatedAt, &c.ClosedAt)
	return c, err
}

// eventBrief is what dispatch publishes about an event (dispatch.event_brief).
type eventBrief struct {
	ID, Title, District, Township, Status string
}

func readEvent(ctx context.Context, q store.Querier, s auth.Scope, id string) (eventBrief, error) {
	if _, err := uuid.Parse(id); err != nil {
		return eventBrief{}, errs.Fields([]errs.FieldError{{Field: "event_id", Message: "事件编号格式不正确"}})
	}
	args := []any{id}
	var e eventBrief
	err := q.QueryRow(ctx, `SELECT id::text, title, district, township, status FROM dispatch.event_brief($1::uuid) WHERE `+
		s.Filter("district", "township", &args), args...).Scan(&e.ID, &e.Title, &e.District, &e.Township, &e.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, errs.New(errs.NotFound, "事件不存在或不在本辖区")
	}
	return e, store.Classify(err)
}

// Invitee is one member to add, with the role that decides their grants.
type Invitee struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Role   string `json:"role"`
}

func audit(ctx context.Context, tx pgx.Tx, p *auth.Principal, ip, action string, c Consult, after any) error {
	return auditlog.Record(ctx, tx, Name, auditlog.Operation{UserID: p.UserID, Username: p.Username, IP: ip,
		Action: action, ObjectType: "comms.consult", ObjectID: c.ID, DistrictCode: c.District, TownshipCode: c.Township, After: after})
}

// OpenConsult opens a consult for an event: the room on the LiveKit server
// first (creating it again is harmless), then the rows, with the caller as
// host.
func (f *Function) OpenConsult(ctx context.Context, p *auth.Principal, ip, eventID, title string, inv []Invitee) (Consult, error) {
	ev, err := readEvent(ctx, f.pool, p.Scope, eventID)
	if err != nil {
		return Consult{}, err
	}
	if ev.Status != "open" {
		return Consult{}, errs.New(errs.Conflict, "事件已办结，不能再发起会商")
	}
	if title == "" {
		title = "会商：" + ev.Title
	}
	id := uuid.New()
	c := Consult{ID: id.String(), EventID: ev.ID, Title: title, Room: "consult-" + id.String(), District: ev.District,
		Township: ev.Township, Status: "open", HostID: p.UserID, CreatedAt: f.now()}
	meta, _ := json.Marshal(map[string]string{"consult_id": c.ID, "event_id": c.EventID})
	if err := f.lk.createRoom(ctx, c.Room, string(meta), f.cfg.MaxMembers); err != nil {
		return Consult{}, err
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO comms.consults (id, event_id, title, room, district, township, host_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.ID, c.EventID, c.Title, c.Room, c.District, c.Township, c.HostID, c.CreatedAt); err != nil {
			return err
		}
		all := append([]Invitee{{UserID: p.UserID, Name: p.Name, Role: RoleHost}}, inv...)
		if err := addMembers(ctx, tx, c.ID, p.UserID, c.CreatedAt, all); err != nil {
			return err
		}
		return audit(ctx, tx, p, ip, "comms.consult.open", c, map[string]any{"event_id": c.EventID, "members": len(all)})
	})
	if err != nil {
		return Consult{}, store.Classify(err)
	}
	return f.Consult(ctx, p.Scope, c.ID)
}

func addMembers(ctx context.Context, tx pgx.Tx, consult, by string, at time.Time, inv []Invitee) error {
	for _, m := range inv {
		// Inviting again restores a kicked member, with the new role.
		if _, err := tx.Exec(ctx, `INSERT INTO comms.members (consult_id, user_id, name, role, invited_by, invited_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (consult_id, user_id) DO UPDATE SET role = EXCLUDED.role, name = EXCLUDED.name,
				invited_by = EXCLUDED.invited_by, invited_at = EXCLUDED.invited_at, removed_at = NULL
			WHERE comms.members.role <> 'host'`, consult, m.UserID, m.Name, m.Role, by, at); err != nil {
			return err
		}
	}
	return nil
}

// Consult loads a consult in the caller's scope, with its members.
func (f *Function) Consult(ctx context.Context, s auth.Scope, id string) (Consult, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Consult{}, errs.New(errs.NotFound, "会商不存在或不在本辖区")
	}
	args := []any{id}
	c, err := scanConsult(f.pool.QueryRow(ctx, `SELECT `+consultCols+` FROM comms.consults WHERE id = $1::uuid AND `+
		s.Filter("district", "township", &args), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.New(errs.NotFound, "会商不存在或不在本辖区")
	}
	if err != nil {
		return c, store.Classify(err)
	}
	rows, err := f.pool.Query(ctx, `SELECT user_id, name, role, invited_by, invited_at, removed_at FROM comms.members
		WHERE consult_id = $1 ORDER BY invited_at, user_id`, c.ID)
	if err != nil {
		return c, store.Classify(err)
	}
	c.Members, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var m Member
		return m, r.Scan(&m.UserID, &m.Name, &m.Role, &m.InvitedBy, &m.InvitedAt, &m.RemovedAt)
	})
	return c, store.Classify(err)
}

// member is the caller's current membership, or an error saying why not.
func (c Consult) member(user string) (Member, error) {
	for _, m := range c.Members {
		if m.UserID == user && m.RemovedAt == nil {
			return m, nil
		}
	}
	return Member{}, errs.New(errs.Forbidden, "您不是该会商的成员，或已被移出会商")
}

func listConsults(ctx context.Context, q store.Querier, s auth.Scope, eventID, member string) ([]Consult, error) {
	args := []any{}
	where := s.Filter("district", "township", &args)
	if eventID != "" {
		if _, err := uuid.Parse(eventID); err != nil {
			return nil, errs.Fields([]errs.FieldError{{Field: "event_id", Message: "事件编号格式不正确"}})
		}
		args = append(args, eventID)
		where += ` AND event_id = $` + strconv.Itoa(len(args)) + `::uuid`
	}
	if member != "" {
		args = append(args, member)
		where += ` AND EXISTS (SELECT 1 FROM comms.members m WHERE m.consult_id = comms.consults.id AND m.user_id = $` +
			strconv.Itoa(len(args)) + ` AND m.removed_at IS NULL)`
	}
	rows, err := q.Query(ctx, `SELECT `+consultCols+` FROM comms.consults WHERE `+where+` ORDER BY created_at DESC LIMIT 200`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Consult, error) { return scanConsult(r) })
	return out, store.Classify(err)
}

// Kick removes a member: out of the room now, and no new token later.
func (f *Function) Kick(ctx context.Context, p *auth.Principal, ip string, c Consult, user string) error {
	m, err := c.member(user)
	if err != nil {
		return errs.New(errs.NotFound, "该用户不是会商的成员")
	}
	if m.Role == RoleHost {
		return errs.New(errs.Conflict, "不能将主持人移出会商")
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE comms.members SET removed_at = $3 WHERE consult_id = $1 AND user_id = $2`,
			c.ID, user, f.now()); err != nil {
			return err
		}
		return audit(ctx, tx, p, ip, "comms.consult.kick", c, map[string]string{"user_id": user})
	})
	if err != nil {
		return store.Classify(err)
	}
	// After the commit: a failure here leaves the member marked removed, and
	// kicking again retries the room service.
	return f.lk.kick(ctx, c.Room, user)
}

// Mute mutes or unmutes a member's microphone through the room service.
func (f *Function) Mute(ctx context.Context, p *auth.Principal, ip string, c Consult, user string, muted bool) (int, error) {
	if _, err := c.member(user); err != nil {
		return 0, errs.New(errs.NotFound, "该用户不是会商的成员")
	}
	n, err := f.lk.mute(ctx, c.Room, user, muted)
	if err != nil {
		return 0, err
	}
	action := "comms.consult.mute"
	if !muted {
		action = "comms.consult.unmute"
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return audit(ctx, tx, p, ip, action, c, map[string]any{"user_id": user, "tracks": n})
	})
	return n, store.Classify(err)
}

// Say stores a chat line with the consult's event, then shows it in the room.
func (f *Function) Say(ctx context.Context, p *auth.Principal, c Consult, body string) (Message, error) {
	m := Message{ConsultID: &c.ID, EventID: c.EventID, SenderID: p.UserID, SenderName: p.Name, Kind: "text", Body: body, CreatedAt: f.now()}
	err := f.pool.QueryRow(ctx, `INSERT INTO comms.messages (consult_id, event_id, sender_id, sender_name, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, m.ConsultID, m.EventID, m.SenderID, m.SenderName, m.Body, m.CreatedAt).Scan(&m.ID)
	if err != nil {
		return m, store.Classify(err)
	}
	payload, _ := json.Marshal(m)
	if err := f.lk.say(ctx, c.Room, payload); err != nil {
		// The row is the record; the room shows it on its next load.
		f.log.Warn("comms: chat not relayed to the room", "consult", c.ID, "err", err)
	}
	return m, nil
}

// Messages lists the chat of one consult, or of every consult of an event
// (the event's retrospection), oldest first.
func messages(ctx context.Context, q store.Querier, col, id string) ([]Message, error) {
	return messagesWhere(ctx, q, col+" = $1::uuid", id)
}

func messagesWhere(ctx context.Context, q store.Querier, where string, arg any) ([]Message, error) {
	rows, err := q.Query(ctx, `SELECT id, consult_id::text, event_id::text, sender_id, sender_name, kind, body, attachment_key,
		content_type, size, lat, lng, created_at FROM comms.messages WHERE `+where+` ORDER BY id LIMIT 5000`, arg)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.ID, &m.ConsultID, &m.EventID, &m.SenderID, &m.SenderName, &m.Kind, &m.Body, &m.key,
			&m.ContentType, &m.Size, &m.Lat, &m.Lng, &m.CreatedAt)
		m.HasAttachment = m.key != ""
		return m, err
	})
	return out, store.Classify(err)
}

// Invite adds members to a consult (or restores kicked ones).
func (f *Function) Invite(ctx context.Context, p *auth.Principal, ip string, c Consult, inv []Invitee) error {
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := addMembers(ctx, tx, c.ID, p.UserID, f.now(), inv); err != nil {
			return err
		}
		ids := make([]string, len(inv))
		for i, m := range inv {
			ids[i] = m.UserID
		}
		return audit(ctx, tx, p, ip, "comms.consult.invite", c, map[string]any{"members": ids})
	})
	return store.Classify(err)
}
