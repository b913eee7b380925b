package alarmintake

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Alarm is a stored alarm.
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
}

// Jurisdiction is where a caller's alarm belongs, for the scope of those
// who see it: the caller's own one township or district. A city-wide
// caller's alarm has none and is seen city-wide only.
func Jurisdiction(s auth.Scope) (district, township string) {
	if s.Kind == auth.ScopeAll {
		return "", ""
	}
	if len(s.Townships) > 0 {
		return s.Townships[0][:min(6, len(s.Townships[0]))], s.Townships[0]
	}
	if len(s.Districts) > 0 {
		return s.Districts[0], ""
	}
	return "", ""
}

const alarmCols = `id::text, level, text, lat, lng, accuracy, attachments, raised_by, raised_name, district, township, raised_at, received_at`

func scanAlarm(r pgx.Row) (Alarm, error) {
	var a Alarm
	err := r.Scan(&a.ID, &a.Level, &a.Text, &a.Lat, &a.Lng, &a.Accuracy, &a.Attachments, &a.RaisedBy, &a.RaisedName,
		&a.District, &a.Township, &a.RaisedAt, &a.ReceivedAt)
	return a, err
}

// Raise stores the alarm and its alarm.raised event in one transaction;
// created is false when the caller's key was seen before (the first alarm
// is returned and nothing is emitted again).
func (f *Function) Raise(ctx context.Context, p *auth.Principal, in AlarmInput) (a Alarm, created bool, err error) {
	now := f.now()
	district, township := Jurisdiction(p.Scope)
	attachments := in.Attachments
	if attachments == nil {
		attachments = []string{}
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if len(attachments) > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM alarmintake.uploads
				WHERE owner = $1 AND done_at IS NOT NULL AND 'alarm/' || id::text = ANY($2)`, p.UserID, attachments).Scan(&n); err != nil {
				return err
			}
			if n != len(attachments) {
				return errs.Fields([]errs.FieldError{{Field: "attachments", Message: "附件未上传完成或不属于本人"}})
			}
		}
		var err error
		a, err = scanAlarm(tx.QueryRow(ctx, `INSERT INTO alarmintake.alarms
			(id, idempotency_key, level, text, lat, lng, accuracy, attachments, raised_by, raised_name, dept_id, district, township, raised_at, received_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
			ON CONFLICT (raised_by, idempotency_key) DO NOTHING RETURNING `+alarmCols,
			uuid.New(), in.IdempotencyKey, in.Level, in.Text, *in.Lat, *in.Lng, *in.Accuracy, attachments,
			p.UserID, p.Name, p.DeptID, district, township, *in.At, now))
		if errors.Is(err, pgx.ErrNoRows) {
			a, err = scanAlarm(tx.QueryRow(ctx, `SELECT `+alarmCols+` FROM alarmintake.alarms
				WHERE raised_by = $1 AND idempotency_key = $2`, p.UserID, in.IdempotencyKey))
			return err
		}
		if err != nil {
			return err
		}
		created = true
		ev, err := outbox.NewEvent(Source, events.AlarmRaised, a.ID, events.AlarmRaisedData{
			AlarmID: a.ID, Level: a.Level, Text: a.Text, Lat: a.Lat, Lng: a.Lng, Accuracy: a.Accuracy,
			Attachments: a.Attachments, RaisedBy: a.RaisedBy, RaisedName: a.RaisedName, DeptID: p.DeptID,
			District: a.District, Township: a.Township, RaisedAt: a.RaisedAt, ReceivedAt: a.ReceivedAt}, now)
		if err != nil {
			return err
		}
		return outbox.Record(ctx, tx, ev)
	})
	return a, created, store.Classify(err)
}

func listAlarms(ctx context.Context, q store.Querier, s auth.Scope, level string, p httpx.Page) ([]Alarm, int, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return s.Filter("district", "township", args) })
	if level != "" {
		w.Add("level = ?", level)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM alarmintake.alarms`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+alarmCols+` FROM alarmintake.alarms`+w.SQL()+
		` ORDER BY received_at DESC, id LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Alarm, error) { return scanAlarm(r) })
	return items, total, store.Classify(err)
}

// Upload is a signed upload: PUT the bytes to URL before ExpiresAt.
type Upload struct {
	Key       string    `json:"key"`
	URL       string    `json:"url"`
	MaxSize   int64     `json:"max_size"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateUpload records a pending upload with an unguessable token.
func (f *Function) CreateUpload(ctx context.Context, p *auth.Principal, in UploadInput) (Upload, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return Upload{}, err
	}
	id, token, exp := uuid.New(), hex.EncodeToString(b), f.now().Add(f.cfg.UploadTTL)
	district, township := Jurisdiction(p.Scope)
	_, err := f.pool.Exec(ctx, `INSERT INTO alarmintake.uploads (id, token, owner, kind, content_type, max_size, expires_at, district, township)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, id, token, p.UserID, in.Kind, in.ContentType, in.Size, exp, district, township)
	if err != nil {
		return Upload{}, store.Classify(err)
	}
	return Upload{Key: "alarm/" + id.String(), URL: "/alarm/v1/uploads/" + id.String() + "?token=" + token,
		MaxSize: in.Size, ExpiresAt: exp}, nil
}

// errTooLarge ends a body that runs past the declared size.
var errTooLarge = errs.Fields([]errs.FieldError{{Field: "file", Message: "文件大小超过申请上传时声明的大小"}})

type limited struct {
	r    io.Reader
	left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

// PutUpload checks the token and streams the bytes to object storage,
// refusing more than the declared size.
func (f *Function) PutUpload(ctx context.Context, owner, id, token, contentType string, body io.Reader) (string, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return "", errs.New(errs.NotFound, "上传地址无效")
	}
	var want, ct, own string
	var max int64
	var exp time.Time
	var done *time.Time
	err = f.pool.QueryRow(ctx, `SELECT token, content_type, owner, max_size, expires_at, done_at FROM alarmintake.uploads WHERE id = $1`,
		uid).Scan(&want, &ct, &own, &max, &exp, &done)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", errs.New(errs.NotFound, "上传地址无效")
	case err != nil:
		return "", store.Classify(err)
	case subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 || own != owner:
		return "", errs.New(errs.Forbidden, "上传签名无效")
	case f.now().After(exp):
		return "", errs.New(errs.Invalid, "上传地址已过期，请重新申请")
	case done != nil:
		return "", errs.New(errs.Conflict, "该附件已上传")
	case contentType != "" && !strings.HasPrefix(contentType, ct):
		return "", errs.New(errs.Invalid, "文件格式与申请时不一致")
	}
	key := "alarm/" + uid.String()
	info, err := f.blob.Put(ctx, key, &limited{r: body, left: max}, ct)
	if err != nil {
		if errors.Is(err, errTooLarge) || errs.CodeOf(err) == errs.Invalid && strings.Contains(err.Error(), "文件大小") {
			_ = f.blob.Delete(context.WithoutCancel(ctx), key)
			return "", errTooLarge
		}
		return "", err
	}
	if _, err := f.pool.Exec(ctx, `UPDATE alarmintake.uploads SET size = $2, done_at = $3 WHERE id = $1`, uid, info.Size, f.now()); err != nil {
		return "", store.Classify(err)
	}
	return key, nil
}

// OpenUpload opens an uploaded attachment for its uploader or for a
// viewer whose scope covers the uploader's jurisdiction; anything else,
// and an upload never completed, is not found.
func (f *Function) OpenUpload(ctx context.Context, p *auth.Principal, id string) (io.ReadCloser, blob.Info, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, blob.Info{}, errs.New(errs.NotFound, "附件不存在")
	}
	args := []any{uid, p.UserID}
	var ok bool
	err = f.pool.QueryRow(ctx, `SELECT true FROM alarmintake.uploads WHERE id = $1 AND done_at IS NOT NULL
		AND (owner = $2 OR `+p.Scope.Filter("district", "township", &args)+`)`, args...).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, blob.Info{}, errs.New(errs.NotFound, "附件不存在或不在本辖区")
	} else if err != nil {
		return nil, blob.Info{}, store.Classify(err)
	}
	return f.blob.Get(ctx, "alarm/"+uid.String())
}
