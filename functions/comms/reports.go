package comms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Report is what an inspector's phone sends into an event's timeline
// (FP-160): text, a voice clip, an image or a location. It is stored as a
// message of the event, beside the consults' chat.
type Report struct {
	Kind        string
	Body        string
	Lat, Lng    *float64
	ContentType string
	Data        []byte
}

// attachment types the phone may send, by kind, and the key's extension.
var attachmentTypes = map[string]map[string]string{
	"voice": {"audio/ogg": ".ogg", "audio/webm": ".webm", "audio/mp4": ".m4a", "audio/aac": ".aac", "audio/wav": ".wav", "audio/mpeg": ".mp3", "audio/amr": ".amr"},
	"image": {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic"},
}

// readReport decodes the phone's multipart form (kind, body, lat, lng,
// file) and checks it.
func (f *Function) readReport(r *http.Request) (Report, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, f.cfg.MaxUpload+64<<10)
	if err := r.ParseMultipartForm(4 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Report{}, fieldErr("file", "文件过大，最大 "+strconv.FormatInt(f.cfg.MaxUpload>>20, 10)+" MB")
		}
		return Report{}, errs.New(errs.Invalid, "请以 multipart/form-data 上报")
	}
	rep := Report{Kind: r.FormValue("kind"), Body: strings.TrimSpace(r.FormValue("body"))}
	if utf8.RuneCountInString(rep.Body) > f.cfg.MaxMessage {
		return rep, fieldErr("body", "消息过长")
	}
	for _, c := range []struct {
		name string
		dst  **float64
		max  float64
	}{{"lat", &rep.Lat, 90}, {"lng", &rep.Lng, 180}} {
		v := r.FormValue(c.name)
		if v == "" {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < -c.max || x > c.max {
			return rep, fieldErr(c.name, "经纬度无效")
		}
		*c.dst = &x
	}
	if (rep.Lat == nil) != (rep.Lng == nil) {
		return rep, fieldErr("lat", "经纬度须同时提供")
	}
	switch rep.Kind {
	case "text":
		if rep.Body == "" {
			return rep, fieldErr("body", "请输入消息内容")
		}
	case "location":
		if rep.Lat == nil {
			return rep, fieldErr("lat", "缺少位置")
		}
	case "voice", "image":
		file, hdr, err := r.FormFile("file")
		if err != nil {
			return rep, fieldErr("file", map[string]string{"voice": "请附上语音", "image": "请附上图片"}[rep.Kind])
		}
		defer file.Close()
		rep.ContentType = strings.ToLower(strings.TrimSpace(strings.Split(hdr.Header.Get("Content-Type"), ";")[0]))
		if _, ok := attachmentTypes[rep.Kind][rep.ContentType]; !ok {
			return rep, fieldErr("file", "不支持的文件格式："+rep.ContentType)
		}
		if hdr.Size > f.cfg.MaxUpload {
			return rep, fieldErr("file", "文件过大，最大 "+strconv.FormatInt(f.cfg.MaxUpload>>20, 10)+" MB")
		}
		if rep.Data, err = io.ReadAll(file); err != nil || len(rep.Data) == 0 {
			return rep, fieldErr("file", "文件为空或读取失败")
		}
		if rep.Kind == "image" && !strings.HasPrefix(http.DetectContentType(rep.Data), "image/") {
			return rep, fieldErr("file", "文件内容不是图片")
		}
	default:
		return rep, fieldErr("kind", "上报类型只能是 text、voice、image 或 location")
	}
	return rep, nil
}

// PostReport stores a phone's report with the event: the attachment in the
// blob store, then the message row; it is shown in the event's consult
// rooms at once.
func (f *Function) PostReport(ctx context.Context, p *auth.Principal, ev eventBrief, rep Report) (Message, error) {
	m := Message{EventID: ev.ID, SenderID: p.UserID, SenderName: p.Name, Body: rep.Body, Kind: rep.Kind,
		Lat: rep.Lat, Lng: rep.Lng, CreatedAt: f.now()}
	if rep.Data != nil {
		d := ev.District
		if d == "" {
			d = "none"
		}
		m.key = "comms/reports/" + d + "/" + ev.ID + "/" + uuid.NewString() + attachmentTypes[rep.Kind][rep.ContentType]
		info, err := f.blob.Put(ctx, m.key, bytes.NewReader(rep.Data), rep.ContentType)
		if err != nil {
			return m, err
		}
		m.ContentType, m.Size = rep.ContentType, info.Size
	}
	err := f.pool.QueryRow(ctx, `INSERT INTO comms.messages (event_id, sender_id, sender_name, body, kind, attachment_key, content_type,
		size, lat, lng, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`,
		m.EventID, m.SenderID, m.SenderName, m.Body, m.Kind, m.key, m.ContentType, m.Size, m.Lat, m.Lng, m.CreatedAt).Scan(&m.ID)
	if err != nil {
		if m.key != "" {
			_ = f.blob.Delete(ctx, m.key)
		}
		return m, store.Classify(err)
	}
	m.HasAttachment = m.key != ""
	payload, _ := json.Marshal(m)
	for _, c := range f.openRooms(ctx, ev.ID) {
		if err := f.lk.say(ctx, c, payload); err != nil {
			f.log.Warn("comms: report not relayed to the room", "event", ev.ID, "room", c, "err", err)
		}
	}
	return m, nil
}

func (f *Function) openRooms(ctx context.Context, event string) []string {
	rows, err := f.pool.Query(ctx, `SELECT room FROM comms.consults WHERE event_id = $1 AND status = 'open'`, event)
	if err != nil {
		return nil
	}
	out, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	return out
}

// MessageByID loads one message of an event in the caller's scope (through
// the event's jurisdiction).
func (f *Function) MessageByID(ctx context.Context, s auth.Scope, id string) (Message, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return Message{}, errs.New(errs.NotFound, "消息不存在")
	}
	ms, err := messagesWhere(ctx, f.pool, "id = $1", n)
	if err != nil {
		return Message{}, err
	}
	if len(ms) == 0 {
		return Message{}, errs.New(errs.NotFound, "消息不存在")
	}
	if _, err := readEvent(ctx, f.pool, s, ms[0].EventID); err != nil {
		return Message{}, err
	}
	return ms[0], nil
}
