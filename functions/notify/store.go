package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Notice is a notice as a reader sees it.
type Notice struct {
	ID        int64      `json:"id"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	Level     string     `json:"level"`
	Kind      string     `json:"kind"`
	Link      string     `json:"link"`
	Popup     bool       `json:"popup"`
	Producer  string     `json:"producer"`
	CreatedAt time.Time  `json:"created_at"`
	Read      bool       `json:"read"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

const noticeCols = `n.id, n.title, n.body, n.level, n.kind, n.link, n.popup, n.producer, n.created_at`

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// insertNotice stores a requested notice; a notice already stored for the
// event (asked for before the move from identity, redelivered after it)
// is not stored again, and ok is false.
func insertNotice(ctx context.Context, tx pgx.Tx, eventID string, at time.Time, d events.NoticeRequestedData) (n Notice, ok bool, err error) {
	err = tx.QueryRow(ctx, `INSERT INTO notify.notices (event_id, created_at, title, body, level, kind, link, popup, producer,
			target_all, target_users, target_depts, target_roles)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (event_id) DO NOTHING
		RETURNING id, title, body, level, kind, link, popup, producer, created_at`,
		eventID, at, d.Title, d.Body, d.Level, d.Kind, d.Link, d.Popup, d.Producer,
		d.Target.All, nonNil(d.Target.UserIDs), nonNil(d.Target.DeptIDs), nonNil(d.Target.Roles)).
		Scan(&n.ID, &n.Title, &n.Body, &n.Level, &n.Kind, &n.Link, &n.Popup, &n.Producer, &n.CreatedAt)
	if err == pgx.ErrNoRows {
		return n, false, nil
	}
	if err != nil {
		return n, false, fmt.Errorf("insert notice: %w", err)
	}
	return n, true, nil
}

// visible is the predicate for notices reaching the principal.
func visible(p *auth.Principal, w *store.Where) {
	depts := []string{}
	if p.DeptID != "" {
		depts = []string{p.DeptID}
	}
	w.Add("(n.target_all OR n.target_users && ? OR n.target_depts && ? OR n.target_roles && ?)", []string{p.UserID}, depts, nonNil(p.Roles))
}

// ListFilter narrows a user's notice list.
type ListFilter struct {
	Unread, Popup bool
	Level, Q      string
}

// List returns the principal's notices, newest first.
func (f *Function) List(ctx context.Context, p *auth.Principal, flt ListFilter, pg httpx.Page) (httpx.PageOf[Notice], error) {
	w := &store.Where{}
	reader := w.Next(p.UserID) // for the join of the reader's marks
	visible(p, w)
	if flt.Unread {
		w.Add("r.notice_id IS NULL")
	}
	if flt.Popup {
		w.Add("n.popup")
	}
	if flt.Level != "" {
		w.Add("n.level = ?", flt.Level)
	}
	if flt.Q != "" {
		pattern := store.Contains(flt.Q)
		w.Add("(n.title ILIKE ? OR n.body ILIKE ?)", pattern, pattern)
	}
	from := `notify.notices n LEFT JOIN notify.notice_reads r ON r.notice_id = n.id AND r.user_id = ` + reader + w.SQL()
	var total int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM `+from, w.Args()...).Scan(&total); err != nil {
		return httpx.PageOf[Notice]{}, store.Classify(fmt.Errorf("count notices: %w", err))
	}
	limit, offset := w.Next(pg.Size), w.Next(pg.Offset())
	rows, err := f.pool.Query(ctx, `SELECT `+noticeCols+`, r.read_at FROM `+from+
		` ORDER BY n.created_at DESC, n.id DESC LIMIT `+limit+` OFFSET `+offset, w.Args()...)
	if err != nil {
		return httpx.PageOf[Notice]{}, store.Classify(fmt.Errorf("list notices: %w", err))
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var n Notice
		err := r.Scan(&n.ID, &n.Title, &n.Body, &n.Level, &n.Kind, &n.Link, &n.Popup, &n.Producer, &n.CreatedAt, &n.ReadAt)
		n.Read = n.ReadAt != nil
		return n, err
	})
	if err != nil {
		return httpx.PageOf[Notice]{}, store.Classify(fmt.Errorf("list notices: %w", err))
	}
	return httpx.NewPage(items, total, pg), nil
}

// Unread counts the principal's unread notices, and how many of them pop up.
func (f *Function) Unread(ctx context.Context, p *auth.Principal) (count, popup int, err error) {
	w := &store.Where{}
	reader := w.Next(p.UserID)
	visible(p, w)
	w.Add("NOT EXISTS (SELECT 1 FROM notify.notice_reads r WHERE r.notice_id = n.id AND r.user_id = " + reader + ")")
	err = f.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE n.popup) FROM notify.notices n`+w.SQL(), w.Args()...).Scan(&count, &popup)
	if err != nil {
		err = store.Classify(fmt.Errorf("count unread: %w", err))
	}
	return count, popup, err
}

// MarkRead marks one notice read; a notice not aimed at the principal is
// not found (its existence is not revealed). Marking twice is harmless.
func (f *Function) MarkRead(ctx context.Context, p *auth.Principal, id int64) error {
	w := &store.Where{}
	reader, when := w.Next(p.UserID), w.Next(f.now())
	w.Add("n.id = ?", id)
	visible(p, w)
	tag, err := f.pool.Exec(ctx, `INSERT INTO notify.notice_reads (user_id, notice_id, read_at)
		SELECT `+reader+`, n.id, `+when+` FROM notify.notices n`+w.SQL()+` ON CONFLICT DO NOTHING`, w.Args()...)
	if err != nil {
		return store.Classify(fmt.Errorf("mark read: %w", err))
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notify.notice_reads WHERE user_id = $1 AND notice_id = $2)`,
			p.UserID, id).Scan(&exists); err != nil {
			return store.Classify(fmt.Errorf("mark read: %w", err))
		}
		if !exists {
			return errs.Wrap(errs.NotFound, "消息不存在", errs.ErrNotFound)
		}
		return nil // already read
	}
	f.pushUnread(ctx, p)
	return nil
}

// MarkAllRead marks every notice of the principal read.
func (f *Function) MarkAllRead(ctx context.Context, p *auth.Principal) (int64, error) {
	w := &store.Where{}
	reader, when := w.Next(p.UserID), w.Next(f.now())
	visible(p, w)
	tag, err := f.pool.Exec(ctx, `INSERT INTO notify.notice_reads (user_id, notice_id, read_at)
		SELECT `+reader+`, n.id, `+when+` FROM notify.notices n`+w.SQL()+` ON CONFLICT DO NOTHING`, w.Args()...)
	if err != nil {
		return 0, store.Classify(fmt.Errorf("mark all read: %w", err))
	}
	if tag.RowsAffected() > 0 {
		f.pushUnread(ctx, p)
	}
	return tag.RowsAffected(), nil
}
