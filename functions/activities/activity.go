package activities

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/sms"
	"github.com/sjzamr/smartreg/shared/store"
)

// Actor is who makes a change, for the operation log and notices.
type Actor struct {
	UserID, Username, IP string
}

// ActivityInput is an activity as the console writes it.
type ActivityInput struct {
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
	Version     int        `json:"version"`
}

// Validate names every bad field.
func (in *ActivityInput) Validate() error {
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	in.Theme, in.Place, in.Organiser = strings.TrimSpace(in.Theme), strings.TrimSpace(in.Place), strings.TrimSpace(in.Organiser)
	for field, c := range map[string]struct {
		v     string
		max   int
		label string
	}{"theme": {in.Theme, 200, "活动主题"}, "place": {in.Place, 200, "活动地点"}, "organiser": {in.Organiser, 100, "主办单位"}} {
		switch n := utf8.RuneCountInString(c.v); {
		case n == 0:
			add(field, "请填写"+c.label)
		case n > c.max:
			add(field, fmt.Sprintf("%s不能超过 %d 字", c.label, c.max))
		}
	}
	if utf8.RuneCountInString(in.Description) > 20000 {
		add("description", "活动介绍不能超过 20000 字")
	}
	if utf8.RuneCountInString(in.HowToJoin) > 2000 {
		add("how_to_join", "参与方式不能超过 2000 字")
	}
	switch {
	case in.StartsAt.IsZero():
		add("starts_at", "请填写开始时间")
	case in.EndsAt.IsZero():
		add("ends_at", "请填写结束时间")
	case in.EndsAt.Before(in.StartsAt):
		add("ends_at", "结束时间不能早于开始时间")
	}
	if in.Capacity < 0 || in.Capacity > 100000 {
		add("capacity", "报名名额应为 0（不设报名）至 100000")
	}
	if in.Waitlist < 0 || in.Waitlist > 100000 {
		add("waitlist", "候补名额应为 0 至 100000")
	}
	if in.SignupUntil != nil && !in.StartsAt.IsZero() && in.SignupUntil.After(in.StartsAt) {
		add("signup_until", "报名截止时间不能晚于开始时间")
	}
	if len(in.Materials) > 50 || len(in.Photos) > 100 {
		add("materials", "材料或照片过多")
	}
	for i, m := range in.Materials {
		if strings.TrimSpace(m.Name) == "" || (m.URL == "" && m.Key == "") || (m.URL != "" && !strings.HasPrefix(m.URL, "https://") && !strings.HasPrefix(m.URL, "/")) {
			add("materials["+strconv.Itoa(i)+"]", "材料需有名称和 https 链接或已上传的文件")
		}
	}
	for i, p := range in.Photos {
		if !strings.HasPrefix(p.Key, "activities/") {
			add("photos["+strconv.Itoa(i)+"]", "照片须先上传")
		}
	}
	return errs.Fields(fe)
}

// Create stores a draft activity.
func (f *Function) Create(ctx context.Context, who Actor, in ActivityInput) (Activity, error) {
	if err := in.Validate(); err != nil {
		return Activity{}, err
	}
	return f.createDraft(ctx, who, in, "")
}

func (f *Function) createDraft(ctx context.Context, who Actor, in ActivityInput, source string) (Activity, error) {
	var out Activity
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		id, err := insertActivity(ctx, tx, in, "draft", source, who.UserID, f.now())
		if err != nil {
			return err
		}
		if out, err = getActivity(ctx, tx, id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, who, "activities.activity.create", id, nil, out)
	})
	return out, err
}

func (f *Function) audit(ctx context.Context, tx pgx.Tx, who Actor, action string, id int64, before, after any) error {
	return auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: who.UserID, Username: who.Username, IP: who.IP,
		Action: action, ObjectType: "activity", ObjectID: strconv.FormatInt(id, 10), Before: before, After: after})
}

// Update replaces an activity's fields; the caller sends the version it
// read. Lowering the capacity below the confirmed count is refused.
func (f *Function) Update(ctx context.Context, who Actor, id int64, in ActivityInput) (Activity, error) {
	if err := in.Validate(); err != nil {
		return Activity{}, err
	}
	var out Activity
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getActivity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if old.Version != in.Version {
			return errs.New(errs.Conflict, "该活动已被他人修改，请刷新后重试")
		}
		if in.Capacity < old.Confirmed {
			return errs.Fields([]errs.FieldError{{Field: "capacity", Message: fmt.Sprintf("已有 %d 人报名成功，名额不能少于此数", old.Confirmed)}})
		}
		if err := updateActivity(ctx, tx, id, in, f.now()); err != nil {
			return err
		}
		// A larger capacity admits the waiting list in order.
		if _, err := f.promote(ctx, tx, id); err != nil {
			return err
		}
		if out, err = getActivity(ctx, tx, id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, who, "activities.activity.edit", id, old, out)
	})
	return out, err
}

// SetStatus publishes a reviewed draft or cancels an activity. Publishing
// records the reviewer: an imported page is public only once a person
// has checked it (FP-76).
func (f *Function) SetStatus(ctx context.Context, who Actor, id int64, status string) (Activity, error) {
	var out Activity
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getActivity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		switch {
		case status == "published" && old.Status != "draft":
			return errs.New(errs.Conflict, "只有草稿可以发布")
		case status == "cancelled" && old.Status == "cancelled":
			return errs.New(errs.Conflict, "活动已取消")
		}
		reviewer := old.ReviewedBy
		if status == "published" {
			reviewer = who.Username
		}
		if _, err := tx.Exec(ctx, `UPDATE activities.activities SET status = $2, reviewed_by = $3, version = version + 1, updated_at = $4
			WHERE id = $1`, id, status, reviewer, f.now()); err != nil {
			return store.Classify(err)
		}
		if out, err = getActivity(ctx, tx, id, false); err != nil {
			return err
		}
		action := map[string]string{"published": "activities.activity.publish", "cancelled": "activities.activity.cancel"}[status]
		return f.audit(ctx, tx, who, action, id, map[string]string{"status": old.Status}, map[string]string{"status": status})
	})
	return out, err
}

// SetSummary records what happened, after the activity.
func (f *Function) SetSummary(ctx context.Context, who Actor, id int64, summary string, photos []Photo) (Activity, error) {
	if utf8.RuneCountInString(summary) > 20000 {
		return Activity{}, errs.Fields([]errs.FieldError{{Field: "summary", Message: "活动总结不能超过 20000 字"}})
	}
	for i, p := range photos {
		if !strings.HasPrefix(p.Key, "activities/") {
			return Activity{}, errs.Fields([]errs.FieldError{{Field: "photos[" + strconv.Itoa(i) + "]", Message: "照片须先上传"}})
		}
	}
	var out Activity
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getActivity(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if f.now().Before(old.StartsAt) {
			return errs.New(errs.Conflict, "活动尚未开始，不能填写总结")
		}
		all := append(old.Photos, photos...)
		if _, err := tx.Exec(ctx, `UPDATE activities.activities SET summary = $2, photos = $3, version = version + 1, updated_at = $4
			WHERE id = $1`, id, summary, jsonArg(nonNil(all)), f.now()); err != nil {
			return store.Classify(err)
		}
		if out, err = getActivity(ctx, tx, id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, who, "activities.activity.summary", id, map[string]any{"summary": old.Summary, "photos": len(old.Photos)},
			map[string]any{"summary": summary, "photos": len(all)})
	})
	return out, err
}

// SignupInput is a sign-up from the H5 page or the mini-program.
type SignupInput struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Org   string `json:"org"`
}

var rePhone = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// Validate checks a sign-up.
func (in *SignupInput) Validate() error {
	var fe []errs.FieldError
	in.Name, in.Phone, in.Org = strings.TrimSpace(in.Name), strings.TrimSpace(in.Phone), strings.TrimSpace(in.Org)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 50 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写姓名（50 字以内）"})
	}
	if !rePhone.MatchString(in.Phone) {
		fe = append(fe, errs.FieldError{Field: "phone", Message: "请填写 11 位手机号码"})
	}
	if utf8.RuneCountInString(in.Org) > 100 {
		fe = append(fe, errs.FieldError{Field: "org", Message: "单位名称不能超过 100 字"})
	}
	return errs.Fields(fe)
}

// ErrFull is a sign-up when the places and the waiting list are taken.
var ErrFull = errs.New(errs.Conflict, "报名人数已满，候补名单也已满")

// Sign signs a person up (FP-76): confirmed while places are left, then on
// the waiting list in order. The activity row is locked, so two people
// cannot take the last place.
func (f *Function) Sign(ctx context.Context, activity int64, userID string, in SignupInput) (Signup, error) {
	if err := in.Validate(); err != nil {
		return Signup{}, err
	}
	var out Signup
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		a, err := getActivity(ctx, tx, activity, true)
		if err != nil {
			return err
		}
		now := f.now()
		switch {
		case a.Status != "published":
			return errs.ErrNotFound
		case a.Capacity == 0:
			return errs.New(errs.Conflict, "本活动无需报名")
		case !now.Before(a.StartsAt), a.SignupUntil != nil && now.After(*a.SignupUntil):
			return errs.New(errs.Conflict, "报名已截止")
		}
		status := "confirmed"
		if a.Confirmed >= a.Capacity {
			if a.Waiting >= a.Waitlist {
				return ErrFull
			}
			status = "waitlisted"
		}
		sealed, err := f.seal(in.Phone)
		if err != nil {
			return err
		}
		token := randomToken()
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO activities.signups (activity_id, name, org, phone_sealed, phone_hash, phone_masked, user_id,
			token, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
			activity, in.Name, in.Org, sealed, f.phoneHash(in.Phone), maskPhone(in.Phone), userID, token, status, now).Scan(&id)
		if errors.Is(store.Classify(err), errs.ErrConflict) {
			return &errs.Error{Code: errs.Conflict, Message: "该手机号已报名本活动", Fields: []errs.FieldError{{Field: "phone", Message: "该手机号已报名本活动"}}}
		}
		if err != nil {
			return store.Classify(err)
		}
		out, err = scanSignup(tx.QueryRow(ctx, `SELECT `+signupColumns+` FROM activities.signups s WHERE s.id = $1`, id))
		return err
	})
	return out, err
}

// SignupByToken is the participant's view of a sign-up.
func (f *Function) SignupByToken(ctx context.Context, token string) (Signup, Activity, error) {
	s, err := scanSignup(f.pool.QueryRow(ctx, `SELECT `+signupColumns+` FROM activities.signups s WHERE s.token = $1`, token))
	if err != nil {
		return Signup{}, Activity{}, err
	}
	a, err := getActivity(ctx, f.pool, s.ActivityID, false)
	return s, a, err
}

// CancelSignup withdraws a sign-up; a freed place goes to the first on
// the waiting list, who is told by SMS.
func (f *Function) CancelSignup(ctx context.Context, token string) (Signup, error) {
	var out Signup
	var promoted []int64
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var activity int64
		if err := tx.QueryRow(ctx, `SELECT activity_id FROM activities.signups WHERE token = $1`, token).Scan(&activity); err != nil {
			return store.Classify(err)
		}
		if _, err := getActivity(ctx, tx, activity, true); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE activities.signups SET status = 'cancelled', updated_at = $2 WHERE token = $1 AND status <> 'cancelled'`,
			token, f.now())
		if err != nil {
			return store.Classify(err)
		}
		if tag.RowsAffected() == 0 {
			return errs.New(errs.Conflict, "该报名已取消")
		}
		if promoted, err = f.promote(ctx, tx, activity); err != nil {
			return err
		}
		out, err = scanSignup(tx.QueryRow(ctx, `SELECT `+signupColumns+` FROM activities.signups s WHERE s.token = $1`, token))
		return err
	})
	if err == nil {
		for _, id := range promoted {
			f.sendOne(ctx, id, "promoted")
		}
	}
	return out, err
}

// promote confirms waitlisted sign-ups, in order, while places are free
// (the caller holds the activity's row lock).
func (f *Function) promote(ctx context.Context, tx pgx.Tx, activity int64) ([]int64, error) {
	var free int
	if err := tx.QueryRow(ctx, `SELECT a.capacity - (SELECT count(*) FROM activities.signups c WHERE c.activity_id = a.id AND c.status = 'confirmed')
		FROM activities.activities a WHERE a.id = $1`, activity).Scan(&free); err != nil {
		return nil, store.Classify(err)
	}
	if free <= 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `UPDATE activities.signups SET status = 'confirmed', updated_at = $2 WHERE id IN (
		SELECT id FROM activities.signups WHERE activity_id = $1 AND status = 'waitlisted' ORDER BY id LIMIT $3) RETURNING id`,
		activity, f.now(), free)
	if err != nil {
		return nil, store.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, store.Classify(err)
}

// Reminder windows: a day and an hour before the start.
var reminderKinds = []struct {
	kind   string
	before time.Duration
	label  string
}{{"day", 24 * time.Hour, "明天"}, {"hour", time.Hour, "1 小时后"}}

// SendReminders sends the reminders that are due (the PingSource calls it
// every five minutes): each confirmed participant gets an SMS a day and an
// hour before the start, once each; the organiser's staff get a notice.
// Failed sends are retried on the next tick, three times at most.
func (f *Function) SendReminders(ctx context.Context) (int, error) {
	now := f.now()
	sent := 0
	for _, k := range reminderKinds {
		rows, err := f.pool.Query(ctx, `SELECT s.id FROM activities.signups s JOIN activities.activities a ON a.id = s.activity_id
			LEFT JOIN activities.reminders r ON r.signup_id = s.id AND r.kind = $1
			WHERE a.status = 'published' AND s.status = 'confirmed' AND a.starts_at > $2 AND a.starts_at <= $3
			AND (r.signup_id IS NULL OR (r.state = 'failed' AND r.attempts < 3)) ORDER BY s.id LIMIT 500`,
			k.kind, now, now.Add(k.before))
		if err != nil {
			return sent, store.Classify(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return sent, store.Classify(err)
		}
		for _, id := range ids {
			if f.sendOne(ctx, id, k.kind) {
				sent++
			}
		}
		if err := f.noticeOrganisers(ctx, k.kind, k.label, now, now.Add(k.before)); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// sendOne texts one participant and records the outcome.
func (f *Function) sendOne(ctx context.Context, signup int64, kind string) bool {
	var sealed []byte
	var theme, place, user string
	var starts time.Time
	err := f.pool.QueryRow(ctx, `SELECT s.phone_sealed, s.user_id, a.theme, a.place, a.starts_at FROM activities.signups s
		JOIN activities.activities a ON a.id = s.activity_id WHERE s.id = $1`, signup).Scan(&sealed, &user, &theme, &place, &starts)
	if err != nil {
		f.log.Warn("activities: reminder lookup", "signup", signup, "err", err)
		return false
	}
	phone, err := f.open(sealed)
	if err != nil {
		f.log.Error("activities: a sealed phone does not open", "signup", signup, "err", err)
		return false
	}
	tmpl := f.cfg.SMSTemplate
	if kind == "promoted" {
		tmpl = f.cfg.SMSPromoted
	}
	when := starts.In(beijing).Format("1月2日 15:04")
	sendErr := f.sms.Send(ctx, smsMessage(phone, f.cfg.SMSSignName, tmpl, clip(theme, 20), when, clip(place, 20)))
	state, msg := "sent", ""
	if sendErr != nil {
		state, msg = "failed", clip(sendErr.Error(), 500)
		f.log.Warn("activities: reminder SMS failed", "signup", signup, "kind", kind, "err", sendErr)
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO activities.reminders (signup_id, kind, state, error, at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (signup_id, kind) DO UPDATE SET state = excluded.state, error = excluded.error, at = excluded.at,
			attempts = activities.reminders.attempts + 1`, signup, kind, state, msg, f.now()); err != nil {
			return err
		}
		// A participant signed in (mini-program) also gets a notice.
		if user != "" && state == "sent" {
			title := "活动提醒：" + clip(theme, 60)
			if kind == "promoted" {
				title = "候补成功：" + clip(theme, 60)
			}
			return notify.Post(ctx, tx, Source, notify.Notice{Title: title, Body: when + " 在 " + place, Kind: "activity_reminder",
				UserIDs: []string{user}, Subject: strconv.FormatInt(signup, 10), At: f.now()})
		}
		return nil
	})
	if err != nil {
		f.log.Warn("activities: recording a reminder", "signup", signup, "err", err)
	}
	return sendErr == nil
}

// noticeOrganisers tells the staff member who created each activity
// starting in the window how many are coming, once per activity and kind.
func (f *Function) noticeOrganisers(ctx context.Context, kind, label string, from, to time.Time) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO activities.organiser_notices (activity_id, kind, at)
			SELECT a.id, $3, $4 FROM activities.activities a WHERE a.status = 'published' AND a.starts_at > $1 AND a.starts_at <= $2
			AND a.created_by <> '' ON CONFLICT DO NOTHING RETURNING activity_id`, from, to, kind, f.now())
		if err != nil {
			return store.Classify(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return store.Classify(err)
		}
		for _, id := range ids {
			a, err := getActivity(ctx, tx, id, false)
			if err != nil {
				return err
			}
			if err := notify.Post(ctx, tx, Source, notify.Notice{Title: "活动" + label + "开始：" + clip(a.Theme, 60),
				Body: fmt.Sprintf("已报名 %d 人、候补 %d 人，提醒短信已发送。", a.Confirmed, a.Waiting), Kind: "activity_reminder",
				UserIDs: []string{a.CreatedBy}, Link: "/console/#/activities/" + strconv.FormatInt(id, 10),
				Subject: "activity-" + strconv.FormatInt(id, 10) + "-" + kind, At: f.now()}); err != nil {
				return err
			}
		}
		return nil
	})
}

func smsMessage(phone, sign, tmpl, theme, when, place string) sms.Message {
	return sms.Message{Phone: phone, SignName: sign, Template: tmpl, Params: map[string]string{"theme": theme, "time": when, "place": place}}
}

var beijing = time.FixedZone("CST", 8*3600)

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func randomToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func maskPhone(p string) string {
	if len(p) != 11 {
		return "***"
	}
	return p[:3] + "****" + p[7:]
}

func (f *Function) phoneHash(p string) []byte {
	m := hmac.New(sha256.New, f.key[:])
	m.Write([]byte("phone:" + p))
	return m.Sum(nil)
}

func (f *Function) seal(p string) ([]byte, error) {
	block, err := aes.NewCipher(f.key[:])
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(nonce)
	return g.Seal(nonce, nonce, []byte(p), nil), nil
}

func (f *Function) open(b []byte) (string, error) {
	block, err := aes.NewCipher(f.key[:])
	if err != nil {
		return "", err
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	if len(b) < g.NonceSize() {
		return "", errors.New("sealed value too short")
	}
	out, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], nil)
	return string(out), err
}
