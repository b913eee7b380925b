package activities

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Activity is one activity of the library.
type Activity struct {
	ID          int64      `json:"id"`
	Theme       string     `json:"theme"`
	Description string     `json:"description"`
	StartsAt    time.Time  `json:"starts_at"`
	EndsAt      time.Time  `json:"ends_at"`
	Place       string     `json:"place"`
	Organiser   string     `json:"organiser"`
	HowToJoin   string     `json:"how_to_join"`
	Capacity    int        `json:"capacity"`
	Waitlist    int        `json:"waitlist"`
	SignupUntil *time.Time `json:"signup_until"`
	Materials   []Material `json:"materials"`
	Photos      []Photo    `json:"photos"`
	Summary     string     `json:"summary"`
	Status      string     `json:"status"` // draft | published | cancelled
	SourceURL   string     `json:"source_url"`
	CreatedBy   string     `json:"created_by"`
	ReviewedBy  string     `json:"reviewed_by"`
	Version     int        `json:"version"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Confirmed   int        `json:"confirmed"`
	Waiting     int        `json:"waiting"`
}

// Material is a file or link participants need.
type Material struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
	Key  string `json:"key,omitempty"` // in object storage
}

// Photo is an image in object storage.
type Photo struct {
	Key     string `json:"key"`
	Caption string `json:"caption"`
}

const activityColumns = `a.id, a.theme, a.description, a.starts_at, a.ends_at, a.place, a.organiser, a.how_to_join, a.capacity,
	a.waitlist, a.signup_until, a.materials, a.photos, a.summary, a.status, a.source_url, a.created_by, a.reviewed_by, a.version,
	a.created_at, a.updated_at,
	(SELECT count(*) FROM activities.signups s WHERE s.activity_id = a.id AND s.status = 'confirmed'),
	(SELECT count(*) FROM activities.signups s WHERE s.activity_id = a.id AND s.status = 'waitlisted')`

func scanActivity(row pgx.Row) (Activity, error) {
	var a Activity
	var mats, photos []byte
	err := row.Scan(&a.ID, &a.Theme, &a.Description, &a.StartsAt, &a.EndsAt, &a.Place, &a.Organiser, &a.HowToJoin, &a.Capacity,
		&a.Waitlist, &a.SignupUntil, &mats, &photos, &a.Summary, &a.Status, &a.SourceURL, &a.CreatedBy, &a.ReviewedBy, &a.Version,
		&a.CreatedAt, &a.UpdatedAt, &a.Confirmed, &a.Waiting)
	if err != nil {
		return a, store.Classify(err)
	}
	a.Materials, a.Photos = []Material{}, []Photo{}
	_ = json.Unmarshal(mats, &a.Materials)
	_ = json.Unmarshal(photos, &a.Photos)
	return a, nil
}

// getActivity reads an activity with its counts. With lock, the row is
// locked first and read by a second statement: in READ COMMITTED that
// statement's snapshot sees the sign-ups committed by whoever held the
// lock before (one statement would count with its pre-wait snapshot).
func getActivity(ctx context.Context, q store.Querier, id int64, lock bool) (Activity, error) {
	if lock {
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM activities.activities WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			return Activity{}, store.Classify(err)
		}
	}
	return scanActivity(q.QueryRow(ctx, `SELECT `+activityColumns+` FROM activities.activities a WHERE a.id = $1`, id))
}

func jsonArg(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func insertActivity(ctx context.Context, tx pgx.Tx, in ActivityInput, status, source, by string, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO activities.activities (theme, description, starts_at, ends_at, place, organiser, how_to_join,
		capacity, waitlist, signup_until, materials, photos, status, source_url, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id`,
		in.Theme, in.Description, in.StartsAt, in.EndsAt, in.Place, in.Organiser, in.HowToJoin, in.Capacity, in.Waitlist,
		in.SignupUntil, jsonArg(nonNil(in.Materials)), jsonArg(nonNil(in.Photos)), status, source, by, now).Scan(&id)
	return id, store.Classify(err)
}

func updateActivity(ctx context.Context, tx pgx.Tx, id int64, in ActivityInput, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE activities.activities SET theme = $2, description = $3, starts_at = $4, ends_at = $5, place = $6,
		organiser = $7, how_to_join = $8, capacity = $9, waitlist = $10, signup_until = $11, materials = $12, photos = $13,
		version = version + 1, updated_at = $14 WHERE id = $1`,
		id, in.Theme, in.Description, in.StartsAt, in.EndsAt, in.Place, in.Organiser, in.HowToJoin, in.Capacity, in.Waitlist,
		in.SignupUntil, jsonArg(nonNil(in.Materials)), jsonArg(nonNil(in.Photos)), now)
	return store.Classify(err)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ListFilter selects activities.
type ListFilter struct {
	Q         string
	Status    string
	Upcoming  bool // not yet ended
	PublicNow *time.Time
}

func listActivities(ctx context.Context, q store.Querier, flt ListFilter, p httpx.Page) ([]Activity, int, error) {
	var w store.Where
	if flt.Q != "" {
		c := store.Contains(flt.Q)
		w.Add("(a.theme ILIKE ? OR a.place ILIKE ? OR a.organiser ILIKE ?)", c, c, c)
	}
	if flt.Status != "" {
		w.Add("a.status = ?", flt.Status)
	}
	if flt.Upcoming && flt.PublicNow != nil {
		w.Add("a.ends_at >= ?", *flt.PublicNow)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM activities.activities a`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	order := ` ORDER BY a.starts_at DESC, a.id DESC`
	if flt.Upcoming {
		order = ` ORDER BY a.starts_at, a.id`
	}
	rows, err := q.Query(ctx, `SELECT `+activityColumns+` FROM activities.activities a`+w.SQL()+order+
		` LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Activity, error) { return scanActivity(r) })
	return out, total, store.Classify(err)
}

// Signup is one person's sign-up; the phone only ever leaves masked.
type Signup struct {
	ID          int64     `json:"id"`
	ActivityID  int64     `json:"activity_id"`
	Name        string    `json:"name"`
	Org         string    `json:"org"`
	PhoneMasked string    `json:"phone"`
	Status      string    `json:"status"`   // confirmed | waitlisted | cancelled
	Position    int       `json:"position"` // place on the waiting list, 0 when not waiting
	Token       string    `json:"token,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

const signupColumns = `s.id, s.activity_id, s.name, s.org, s.phone_masked, s.status, s.token, s.created_at,
	CASE WHEN s.status = 'waitlisted' THEN (SELECT count(*) FROM activities.signups w
		WHERE w.activity_id = s.activity_id AND w.status = 'waitlisted' AND w.id <= s.id) ELSE 0 END`

func scanSignup(row pgx.Row) (Signup, error) {
	var s Signup
	err := row.Scan(&s.ID, &s.ActivityID, &s.Name, &s.Org, &s.PhoneMasked, &s.Status, &s.Token, &s.CreatedAt, &s.Position)
	return s, store.Classify(err)
}

func listSignups(ctx context.Context, q store.Querier, activity int64, p httpx.Page) ([]Signup, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM activities.signups WHERE activity_id = $1`, activity).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+signupColumns+` FROM activities.signups s WHERE s.activity_id = $1
		ORDER BY CASE s.status WHEN 'confirmed' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END, s.id LIMIT $2 OFFSET $3`,
		activity, p.Size, p.Offset())
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Signup, error) {
		s, err := scanSignup(r)
		s.Token = "" // the participant's handle, not the staff's
		return s, err
	})
	return out, total, store.Classify(err)
}
