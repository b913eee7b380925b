package comms

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/sms"
	"github.com/sjzamr/smartreg/shared/store"
)

// Node is one chosen node of an event (FP-152): a consult member or one
// of the event's contacts, with the numbers the console read from dispatch.
type Node struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Fax   string `json:"fax"`
}

// Notice is one one-key call, SMS or fax to an event's nodes, with every
// attempt's delivery state.
type Notice struct {
	ID         string     `json:"id"`
	EventID    string     `json:"event_id"`
	District   string     `json:"district"`
	Township   string     `json:"township"`
	Channel    string     `json:"channel"`
	Title      string     `json:"title"`
	Body       string     `json:"body"`
	Note       string     `json:"note,omitempty"`
	SentBy     string     `json:"sent_by"`
	CreatedAt  time.Time  `json:"created_at"`
	Deliveries []Delivery `json:"deliveries"`
}

// Delivery is one attempt to reach one node on one channel. State is sent
// (the gateway took it), failed, or fallback (it failed and the row whose
// fallback_of points here took over).
type Delivery struct {
	ID         int64     `json:"id"`
	NodeKind   string    `json:"node_kind"`
	NodeID     string    `json:"node_id"`
	NodeName   string    `json:"node_name"`
	Address    string    `json:"address"`
	Channel    string    `json:"channel"`
	State      string    `json:"state"`
	FallbackOf *int64    `json:"fallback_of"`
	ProviderID string    `json:"provider_id"`
	Error      string    `json:"error"`
	CreatedAt  time.Time `json:"created_at"`
}

var (
	mobileRE   = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	landlineRE = regexp.MustCompile(`^0[0-9]{2,3}-?[0-9]{7,8}$`)
)

// maskNumber keeps a number's first three and last four digits, as every
// list and log shows personal numbers.
func maskNumber(s string) string {
	r := []rune(s)
	if len(r) <= 7 {
		return "****"
	}
	return string(r[:3]) + "****" + string(r[len(r)-4:])
}

// SMS templates registered with the gateway.
const (
	tplNotice  = "SMS_COMMS_NOTICE"   // 【签名】${title}：${text}
	tplFaxLink = "SMS_COMMS_FAX_LINK" // 【签名】您有一份传真《${title}》未能送达，请点击查看：${link}
)

// SendNotice sends one notice to every node on its channel, falling back
// to SMS where the channel's gateway is down (call → SMS with the text,
// fax → SMS with a link to the notice), and logs each attempt.
func (f *Function) SendNotice(ctx context.Context, p *auth.Principal, ip string, ev eventBrief, channel, title, body string, nodes []Node) (Notice, error) {
	n := Notice{ID: uuid.NewString(), EventID: ev.ID, District: ev.District, Township: ev.Township, Channel: channel,
		Title: title, Body: body, SentBy: p.UserID, CreatedAt: f.now()}
	if n.Title == "" {
		n.Title = ev.Title
	}
	if channel == "call" {
		n.Note = f.recordCallPrompt(ctx, p, n)
	}
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO comms.notices (id, event_id, district, township, channel, title, body, note, sent_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, n.ID, n.EventID, n.District, n.Township, n.Channel, n.Title, n.Body, n.Note, n.SentBy, n.CreatedAt); err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Name, auditlog.Operation{UserID: p.UserID, Username: p.Username, IP: ip,
			Action: "comms.notice." + channel, ObjectType: "comms.notice", ObjectID: n.ID, DistrictCode: n.District,
			TownshipCode: n.Township, After: map[string]any{"event_id": n.EventID, "nodes": len(nodes)}})
	})
	if err != nil {
		return n, store.Classify(err)
	}
	for _, node := range nodes {
		f.deliver(ctx, n, node)
	}
	return f.Notice(ctx, p.Scope, n.ID)
}

// recordCallPrompt renders the call's text with TTS and keeps it as the
// call's recording (WAV, what the callee hears). A TTS failure does not
// stop the call, since the gateway speaks the text itself; the notice notes it.
func (f *Function) recordCallPrompt(ctx context.Context, p *auth.Principal, n Notice) string {
	wav, err := f.tts.Synthesize(ctx, n.Title+"。"+n.Body)
	if err != nil {
		f.log.Warn("comms: TTS failed, the call goes with the gateway's own speech", "notice", n.ID, "err", err)
		return "语音合成服务不可用，未留存呼叫录音；呼叫由网关直接播报文字"
	}
	rec := Recording{ID: uuid.NewString(), Kind: "call", NoticeID: &n.ID, EventID: n.EventID, District: n.District,
		Township: n.Township, Participant: "tts", Status: "recording", ContentType: "audio/wav", StartedBy: p.UserID, StartedAt: f.now()}
	rec.key = recordingKey(rec, ".wav")
	if len(wav) > 44 {
		rec.DurationMS = int64(len(wav)-44) * 1000 / 16000 // 8 kHz, 16-bit mono
	}
	if err := f.newRecording(ctx, f.pool, &rec); err != nil {
		f.log.Error("comms: call recording row", "notice", n.ID, "err", err)
		return "呼叫录音登记失败"
	}
	if err := f.StoreRecording(ctx, rec, bytes.NewReader(wav)); err != nil {
		f.log.Error("comms: call recording not stored", "notice", n.ID, "err", err)
		return "呼叫录音保存失败"
	}
	return ""
}

// attempt is one try on one channel; its error decides the fallback.
func (f *Function) attempt(ctx context.Context, n Notice, node Node, channel string) (addr, id string, err error) {
	switch channel {
	case "call":
		addr = node.Phone
		if addr == "" {
			return "", "", errs.New(errs.Unavailable, "未登记电话号码")
		}
		id, err = f.tel.Call(ctx, Call{To: addr, CallerID: f.cfg.CallerID, Text: n.Title + "。" + n.Body, Repeat: 2})
	case "fax":
		addr = node.Fax
		if addr == "" {
			return "", "", errs.New(errs.Unavailable, "未登记传真号码")
		}
		id, err = f.fax.Send(ctx, FaxDoc{To: addr, Subject: n.Title, Text: n.Body})
	case "sms", "sms-link":
		addr = node.Phone
		if !mobileRE.MatchString(addr) {
			return addr, "", errs.New(errs.Invalid, "未登记手机号码，无法发送短信")
		}
		m := sms.Message{Phone: addr, SignName: f.cfg.SMSSign, Template: tplNotice, Params: map[string]string{"title": n.Title, "text": n.Body}}
		if channel == "sms-link" {
			m.Template, m.Params = tplFaxLink, map[string]string{"title": n.Title, "link": f.noticeLink(n.ID)}
		}
		err = f.sms.Send(ctx, m)
	}
	return addr, id, err
}

// noticeLink is where a fax's recipient reads it when the fax could not go.
func (f *Function) noticeLink(id string) string {
	return f.cfg.PublicURL + "/console/#/comms/notify?notice=" + id
}

// deliver tries the notice's channel for one node and, where that channel
// is down, SMS; each try is a row of the log.
func (f *Function) deliver(ctx context.Context, n Notice, node Node) {
	addr, pid, err := f.attempt(ctx, n, node, n.Channel)
	id := f.logDelivery(ctx, n, node, n.Channel, addr, pid, err, nil)
	if err == nil || n.Channel == "sms" || errs.As(err).Code != errs.Unavailable {
		return
	}
	fb := "sms"
	if n.Channel == "fax" {
		fb = "sms-link"
	}
	f.setState(ctx, id, "fallback")
	addr, pid, err = f.attempt(ctx, n, node, fb)
	f.logDelivery(ctx, n, node, "sms", addr, pid, err, &id)
}

func (f *Function) logDelivery(ctx context.Context, n Notice, node Node, channel, addr, pid string, cause error, of *int64) int64 {
	state, msg := "sent", ""
	if cause != nil {
		state, msg = "failed", errs.As(cause).Message
	}
	at := f.now()
	var id int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO comms.deliveries (notice_id, node_kind, node_id, node_name, address, channel, state,
		fallback_of, provider_id, error, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11) RETURNING id`,
		n.ID, node.Kind, node.ID, node.Name, maskNumber(addr), channel, state, of, pid, msg, at).Scan(&id); err != nil {
		f.log.Error("comms: delivery not logged", "notice", n.ID, "node", node.ID, "channel", channel, "state", state, "err", err)
	}
	if cause != nil {
		f.log.Warn("comms: delivery failed", "notice", n.ID, "node", node.ID, "channel", channel, "err", cause)
	}
	return id
}

func (f *Function) setState(ctx context.Context, id int64, state string) {
	if _, err := f.pool.Exec(ctx, `UPDATE comms.deliveries SET state = $2, updated_at = $3 WHERE id = $1`, id, state, f.now()); err != nil {
		f.log.Error("comms: delivery state", "delivery", id, "err", err)
	}
}

const noticeCols = `id::text, event_id::text, district, township, channel, title, body, note, sent_by, created_at`

func scanNotice(r pgx.Row) (Notice, error) {
	var n Notice
	err := r.Scan(&n.ID, &n.EventID, &n.District, &n.Township, &n.Channel, &n.Title, &n.Body, &n.Note, &n.SentBy, &n.CreatedAt)
	return n, err
}

// Notice loads one notice in the caller's scope, with its delivery log.
func (f *Function) Notice(ctx context.Context, s auth.Scope, id string) (Notice, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Notice{}, errs.New(errs.NotFound, "通知不存在或不在本辖区")
	}
	args := []any{id}
	n, err := scanNotice(f.pool.QueryRow(ctx, `SELECT `+noticeCols+` FROM comms.notices WHERE id = $1::uuid AND `+
		s.Filter("district", "township", &args), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return n, errs.New(errs.NotFound, "通知不存在或不在本辖区")
	}
	if err != nil {
		return n, store.Classify(err)
	}
	n.Deliveries, err = f.deliveries(ctx, n.ID)
	return n, err
}

func (f *Function) deliveries(ctx context.Context, notice string) ([]Delivery, error) {
	rows, err := f.pool.Query(ctx, `SELECT id, node_kind, node_id, node_name, address, channel, state, fallback_of, provider_id, error, created_at
		FROM comms.deliveries WHERE notice_id = $1 ORDER BY id`, notice)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		return d, r.Scan(&d.ID, &d.NodeKind, &d.NodeID, &d.NodeName, &d.Address, &d.Channel, &d.State, &d.FallbackOf, &d.ProviderID, &d.Error, &d.CreatedAt)
	})
	return out, store.Classify(err)
}

// Notices lists an event's notices (or the scope's latest), newest first,
// each with its log.
func (f *Function) Notices(ctx context.Context, s auth.Scope, eventID string) ([]Notice, error) {
	args := []any{}
	where := s.Filter("district", "township", &args)
	if eventID != "" {
		args = append(args, eventID)
		where += ` AND event_id = $` + itoa(len(args)) + `::uuid`
	}
	rows, err := f.pool.Query(ctx, `SELECT `+noticeCols+` FROM comms.notices WHERE `+where+` ORDER BY created_at DESC LIMIT 100`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) { return scanNotice(r) })
	if err != nil {
		return nil, store.Classify(err)
	}
	for i := range out {
		if out[i].Deliveries, err = f.deliveries(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
