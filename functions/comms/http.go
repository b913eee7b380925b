package comms

import (
	_ "embed"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/comms/v1/openapi.yaml", openapi }

// PermConsult is the permission resource of consults (actions view, create,
// join, host), listed in shared/auth's catalogue. Recordings go with it:
// view plays and downloads, host records and deletes.
const PermConsult = "comms.consult"

// PermNotice is the resource of one-key notices (actions view, send).
const PermNotice = "comms.notice"

// PermCamera is the resource of the camera catalogue (actions view,
// manage, capture).
const PermCamera = "comms.camera"

// Handler serves the API behind token verification. Every route declares
// who may call it and what entity data it touches (the conformance tests
// read these declarations).
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-151: consults opened for a dispatch event, their members and room state.
	m.Handle("POST /comms/v1/consults", httpx.Body(f.openConsult), auth.Requires(PermConsult, "create"), httpx.NoEntity())
	m.Handle("GET /comms/v1/consults", httpx.Endpoint(f.listConsults), auth.Requires(PermConsult, "view"), httpx.NoEntity(),
		httpx.Params("event_id", "mine"))
	m.Handle("GET /comms/v1/consults/{id}", httpx.Endpoint(f.getConsult), auth.Requires(PermConsult, "view"), httpx.NoEntity())
	m.Handle("POST /comms/v1/consults/{id}/members", httpx.Body(f.invite), auth.Requires(PermConsult, "host"), httpx.NoEntity())
	// FP-151, FP-156: the token an invited member (on the console or the phone) joins the room with.
	m.Handle("POST /comms/v1/consults/{id}/token", httpx.Endpoint(f.token), auth.Requires(PermConsult, "join"), httpx.NoEntity())
	// FP-151: the host kicks, mutes and unmutes through LiveKit's room service.
	m.Handle("POST /comms/v1/consults/{id}/kick", httpx.Body(f.kick), auth.Requires(PermConsult, "host"), httpx.NoEntity())
	m.Handle("POST /comms/v1/consults/{id}/mute", httpx.Body(f.mute), auth.Requires(PermConsult, "host"), httpx.NoEntity())
	// FP-151, FP-156: text chat, kept with the event.
	m.Handle("POST /comms/v1/consults/{id}/messages", httpx.Body(f.say), auth.Requires(PermConsult, "join"), httpx.NoEntity())
	m.Handle("GET /comms/v1/consults/{id}/messages", httpx.Endpoint(f.consultMessages), auth.Requires(PermConsult, "view"), httpx.NoEntity())
	m.Handle("GET /comms/v1/events/{id}/messages", httpx.Endpoint(f.eventMessages), auth.Requires(PermConsult, "view"), httpx.NoEntity())
	// FP-153: recordings of consults (the recorder bot) and of dispatch calls;
	// play back with Range, download, delete; every read and delete audited.
	m.Handle("POST /comms/v1/consults/{id}/recording", httpx.Body(f.recordingSwitch), auth.Requires(PermConsult, "host"), httpx.NoEntity())
	m.Handle("GET /comms/v1/consults/{id}/recordings", httpx.Endpoint(f.consultRecordings), auth.Requires(PermConsult, "view"), httpx.NoEntity())
	m.Handle("GET /comms/v1/events/{id}/recordings", httpx.Endpoint(f.eventRecordings), auth.Requires(PermConsult, "view"), httpx.NoEntity())
	m.HandleFunc("GET /comms/v1/recordings/{id}/audio", f.playRecording, auth.Requires(PermConsult, "view"), httpx.NoEntity(),
		httpx.Params("download"))
	m.Handle("DELETE /comms/v1/recordings/{id}", httpx.Endpoint(f.deleteRecording), auth.Requires(PermConsult, "host"), httpx.NoEntity())
	// FP-152: one-key call, SMS and fax to an event's nodes, with the delivery log.
	m.Handle("POST /comms/v1/notices", httpx.Body(f.sendNotice), auth.Requires(PermNotice, "send"), httpx.NoEntity())
	m.Handle("GET /comms/v1/notices", httpx.Endpoint(f.listNotices), auth.Requires(PermNotice, "view"), httpx.NoEntity(),
		httpx.Params("event_id"))
	m.Handle("GET /comms/v1/notices/{id}", httpx.Endpoint(f.getNotice), auth.Requires(PermNotice, "view"), httpx.NoEntity())
	// FP-160: the phone's text, voice, images and location into the event's timeline.
	m.Handle("POST /comms/v1/events/{id}/reports", httpx.Endpoint(f.report), auth.Requires(PermConsult, "join"), httpx.NoEntity())
	m.HandleFunc("GET /comms/v1/messages/{id}/attachment", f.attachment, auth.Requires(PermConsult, "view"), httpx.NoEntity())
	// FP-158: the camera catalogue, live view by HLS through ffmpeg, snapshots and clips.
	m.Handle("GET /comms/v1/cameras", httpx.Endpoint(f.listCameras), auth.Requires(PermCamera, "view"), httpx.NoEntity())
	m.Handle("POST /comms/v1/cameras", httpx.Body(f.addCamera), auth.Requires(PermCamera, "manage"), httpx.NoEntity())
	m.Handle("GET /comms/v1/cameras/{id}", httpx.Endpoint(f.getCamera), auth.Requires(PermCamera, "view"), httpx.NoEntity())
	m.HandleFunc("GET /comms/v1/cameras/{id}/hls/{file}", f.cameraHLS, auth.Requires(PermCamera, "view"), httpx.NoEntity())
	m.Handle("POST /comms/v1/cameras/{id}/snapshot", httpx.Endpoint(f.snapshot), auth.Requires(PermCamera, "capture"), httpx.NoEntity())
	m.Handle("POST /comms/v1/cameras/{id}/clips", httpx.Body(f.clip), auth.Requires(PermCamera, "capture"), httpx.NoEntity())
	m.Handle("GET /comms/v1/cameras/{id}/media", httpx.Endpoint(f.listCameraMedia), auth.Requires(PermCamera, "view"), httpx.NoEntity())
	m.HandleFunc("GET /comms/v1/camera-media/{id}", f.cameraMediaFile, auth.Requires(PermCamera, "view"), httpx.NoEntity())
	return m
}

func principal(r *http.Request) *auth.Principal { p, _ := auth.FromContext(r.Context()); return p }

func fieldErr(field, msg string) error {
	return errs.Fields([]errs.FieldError{{Field: field, Message: msg}})
}

// OpenInput opens a consult for a dispatch event.
type OpenInput struct {
	EventID string    `json:"event_id"`
	Title   string    `json:"title"`
	Members []Invitee `json:"members"`
}

func (f *Function) checkInvitees(inv []Invitee, host string) ([]Invitee, error) {
	if len(inv)+1 > f.cfg.MaxMembers {
		return nil, fieldErr("members", "邀请人数超过会商房间上限")
	}
	seen := map[string]bool{host: true}
	out := make([]Invitee, 0, len(inv))
	for _, m := range inv {
		m.UserID, m.Name = strings.TrimSpace(m.UserID), strings.TrimSpace(m.Name)
		if m.Role == "" {
			m.Role = RoleMember
		}
		switch {
		case m.UserID == "":
			return nil, fieldErr("members", "请选择要邀请的成员")
		case m.Role != RoleMember && m.Role != RoleObserver:
			return nil, fieldErr("members", "成员角色只能是 member（参会）或 observer（旁听）")
		case seen[m.UserID]:
			continue
		}
		seen[m.UserID] = true
		out = append(out, m)
	}
	return out, nil
}

func (f *Function) openConsult(r *http.Request, in OpenInput) (any, error) {
	title := strings.TrimSpace(in.Title)
	if utf8.RuneCountInString(title) > 100 {
		return nil, fieldErr("title", "会商标题不能超过 100 字")
	}
	if strings.TrimSpace(in.EventID) == "" {
		return nil, fieldErr("event_id", "请选择要会商的事件")
	}
	p := principal(r)
	inv, err := f.checkInvitees(in.Members, p.UserID)
	if err != nil {
		return nil, err
	}
	c, err := f.OpenConsult(r.Context(), p, httpx.ClientIP(r), strings.TrimSpace(in.EventID), title, inv)
	if err != nil {
		return nil, err
	}
	return httpx.Created(c, "/comms/v1/consults/"+c.ID), nil
}

func (f *Function) listConsults(r *http.Request) (any, error) {
	// mine=1 is the phone's list: only the consults the caller is a current member of.
	mine := ""
	if r.URL.Query().Get("mine") == "1" {
		mine = principal(r).UserID
	}
	items, err := listConsults(r.Context(), f.pool, principal(r).Scope, strings.TrimSpace(r.URL.Query().Get("event_id")), mine)
	if err != nil {
		return nil, err
	}
	return map[string]any{"items": items}, nil
}

// ConsultView is a consult with who the LiveKit server has in its room.
type ConsultView struct {
	Consult
	Participants []Participant `json:"participants"`
	LiveError    string        `json:"live_error,omitempty"`
	Recording    bool          `json:"recording"`
}

func (f *Function) getConsult(r *http.Request) (any, error) {
	c, err := f.Consult(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := ConsultView{Consult: c, Participants: []Participant{}, Recording: f.Recording(c.ID)}
	// The consult's record is shown even while LiveKit is down.
	if ps, err := f.lk.participants(r.Context(), c.Room); err != nil {
		v.LiveError = "音视频服务暂不可用，无法显示在线成员"
	} else {
		v.Participants = ps
	}
	return v, nil
}

// InviteInput adds members to an open consult.
type InviteInput struct {
	Members []Invitee `json:"members"`
}

func (f *Function) openConsultOf(r *http.Request) (Consult, error) {
	c, err := f.Consult(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err == nil && c.Status != "open" {
		err = errs.New(errs.Conflict, "会商已结束")
	}
	return c, err
}

func (f *Function) invite(r *http.Request, in InviteInput) (any, error) {
	c, err := f.openConsultOf(r)
	if err != nil {
		return nil, err
	}
	if len(in.Members) == 0 {
		return nil, fieldErr("members", "请选择要邀请的成员")
	}
	inv, err := f.checkInvitees(in.Members, c.HostID)
	if err != nil {
		return nil, err
	}
	if err := f.Invite(r.Context(), principal(r), httpx.ClientIP(r), c, inv); err != nil {
		return nil, err
	}
	return f.Consult(r.Context(), principal(r).Scope, c.ID)
}

// TokenReply is what a member joins the room with.
type TokenReply struct {
	URL      string `json:"url"`
	Token    string `json:"token"`
	Room     string `json:"room"`
	Identity string `json:"identity"`
	Role     string `json:"role"`
	Grants   Grants `json:"grants"`
}

func (f *Function) token(r *http.Request) (any, error) {
	c, err := f.openConsultOf(r)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	m, err := c.member(p.UserID)
	if err != nil {
		return nil, err
	}
	name := p.Name
	if name == "" {
		name = m.Name
	}
	tok, err := f.lk.token(c.Room, p.UserID, name, m.Role)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "入会令牌签发失败", err)
	}
	return TokenReply{URL: f.cfg.LiveKitURL, Token: tok, Room: c.Room, Identity: p.UserID, Role: m.Role, Grants: RoleGrants[m.Role]}, nil
}

// TargetInput names the member a host action is for.
type TargetInput struct {
	UserID string `json:"user_id"`
	Muted  *bool  `json:"muted"`
}

func (f *Function) kick(r *http.Request, in TargetInput) (any, error) {
	if strings.TrimSpace(in.UserID) == "" {
		return nil, fieldErr("user_id", "请选择要移出的成员")
	}
	c, err := f.openConsultOf(r)
	if err != nil {
		return nil, err
	}
	if err := f.Kick(r.Context(), principal(r), httpx.ClientIP(r), c, strings.TrimSpace(in.UserID)); err != nil {
		return nil, err
	}
	return map[string]any{"kicked": in.UserID}, nil
}

func (f *Function) mute(r *http.Request, in TargetInput) (any, error) {
	if strings.TrimSpace(in.UserID) == "" {
		return nil, fieldErr("user_id", "请选择要静音的成员")
	}
	muted := true
	if in.Muted != nil {
		muted = *in.Muted
	}
	c, err := f.openConsultOf(r)
	if err != nil {
		return nil, err
	}
	n, err := f.Mute(r.Context(), principal(r), httpx.ClientIP(r), c, strings.TrimSpace(in.UserID), muted)
	if err != nil {
		return nil, err
	}
	return map[string]any{"user_id": in.UserID, "muted": muted, "tracks": n}, nil
}

// SayInput is one chat line.
type SayInput struct {
	Body string `json:"body"`
}

func (f *Function) say(r *http.Request, in SayInput) (any, error) {
	body := strings.TrimSpace(in.Body)
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return nil, fieldErr("body", "请输入消息内容")
	case n > f.cfg.MaxMessage:
		return nil, fieldErr("body", "消息过长")
	}
	c, err := f.openConsultOf(r)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	if _, err := c.member(p.UserID); err != nil {
		return nil, err
	}
	m, err := f.Say(r.Context(), p, c, body)
	if err != nil {
		return nil, err
	}
	return httpx.Created(m, ""), nil
}

func (f *Function) consultMessages(r *http.Request) (any, error) {
	c, err := f.Consult(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	items, err := messages(r.Context(), f.pool, "consult_id", c.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"items": items}, nil
}

// eventMessages is the chat of all of an event's consults, for its
// retrospection (FP-154 reads it beside dispatch's timeline).
func (f *Function) eventMessages(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.New(errs.NotFound, "事件不存在或不在本辖区")
	}
	if _, err := readEvent(r.Context(), f.pool, principal(r).Scope, id); err != nil {
		return nil, err
	}
	items, err := messages(r.Context(), f.pool, "event_id", id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"items": items}, nil
}

// SwitchInput starts or stops a consult's recording.
type SwitchInput struct {
	Action string `json:"action"`
}

func (f *Function) recordingSwitch(r *http.Request, in SwitchInput) (any, error) {
	c, err := f.openConsultOf(r)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	switch in.Action {
	case "start":
		if err := f.StartRecording(r.Context(), p, httpx.ClientIP(r), c); err != nil {
			return nil, err
		}
		return map[string]any{"recording": true}, nil
	case "stop":
		n, err := f.StopRecording(r.Context(), p, httpx.ClientIP(r), c)
		if err != nil {
			return nil, err
		}
		return map[string]any{"recording": false, "tracks": n}, nil
	}
	return nil, fieldErr("action", "操作只能是 start（开始录音）或 stop（停止录音）")
}

func (f *Function) consultRecordings(r *http.Request) (any, error) {
	c, err := f.Consult(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	items, err := f.Recordings(r.Context(), principal(r).Scope, "consult_id", c.ID)
	return map[string]any{"items": items, "recording": f.Recording(c.ID)}, err
}

func (f *Function) eventRecordings(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.New(errs.NotFound, "事件不存在或不在本辖区")
	}
	items, err := f.Recordings(r.Context(), principal(r).Scope, "event_id", id)
	return map[string]any{"items": items}, err
}

// playRecording streams a recording with Range support (the browser's
// audio element seeks with it); ?download=1 makes it an attachment.
func (f *Function) playRecording(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	rec, err := f.RecordingByID(r.Context(), p.Scope, r.PathValue("id"))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	download := r.URL.Query().Get("download") == "1"
	action := "comms.recording.play"
	if download {
		action = "comms.recording.download"
	}
	// A ranged re-request of the same playback is not a new read to audit.
	if rg := r.Header.Get("Range"); rg != "" && !strings.HasPrefix(rg, "bytes=0-") {
		action = ""
	}
	body, err := f.openForServe(r, p, rec, action)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", rec.ContentType)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if download {
		name := "录音-" + rec.StartedAt.In(beijing).Format("20060102-150405") + "-" + rec.Participant + path.Ext(rec.key)
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	http.ServeContent(w, r, "", rec.StartedAt, body)
}

func (f *Function) openForServe(r *http.Request, p *auth.Principal, rec Recording, action string) (*blobSeeker, error) {
	if action == "" {
		if rec.Status != "stored" {
			return nil, errs.New(errs.Conflict, "录音尚未保存完成")
		}
		return &blobSeeker{ctx: r.Context(), b: f.blob, key: rec.key, size: rec.Size}, nil
	}
	return f.OpenRecording(r.Context(), p, httpx.ClientIP(r), rec, action)
}

func (f *Function) deleteRecording(r *http.Request) (any, error) {
	p := principal(r)
	rec, err := f.RecordingByID(r.Context(), p.Scope, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if rec.Status == "recording" {
		return nil, errs.New(errs.Conflict, "录音进行中，停止后才能删除")
	}
	return httpx.NoContent(), f.DeleteRecording(r.Context(), p, httpx.ClientIP(r), rec)
}

// NoticeInput is a one-key call, SMS or fax to nodes of an event.
type NoticeInput struct {
	EventID string `json:"event_id"`
	Channel string `json:"channel"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	Nodes   []Node `json:"nodes"`
}

func (f *Function) checkNodes(channel string, nodes []Node) ([]Node, error) {
	if len(nodes) == 0 {
		return nil, fieldErr("nodes", "请选择接收的节点")
	}
	if len(nodes) > f.cfg.MaxMembers {
		return nil, fieldErr("nodes", "一次最多发送给 "+itoa(f.cfg.MaxMembers)+" 个节点")
	}
	out := make([]Node, 0, len(nodes))
	for i, n := range nodes {
		n.Name, n.Phone, n.Fax = strings.TrimSpace(n.Name), strings.ReplaceAll(strings.TrimSpace(n.Phone), " ", ""), strings.TrimSpace(n.Fax)
		field := "nodes[" + itoa(i) + "]"
		switch {
		case n.Kind != "member" && n.Kind != "contact":
			return nil, fieldErr(field, "节点类型只能是 member（会商成员）或 contact（事件联系人）")
		case n.Name == "":
			return nil, fieldErr(field, "节点缺少名称")
		case n.Phone != "" && !mobileRE.MatchString(n.Phone) && !landlineRE.MatchString(n.Phone):
			return nil, fieldErr(field, n.Name+" 的电话号码格式不正确")
		case n.Fax != "" && !landlineRE.MatchString(n.Fax):
			return nil, fieldErr(field, n.Name+" 的传真号码格式不正确")
		case channel == "sms" && !mobileRE.MatchString(n.Phone):
			return nil, fieldErr(field, n.Name+" 没有可接收短信的手机号码")
		case channel == "call" && n.Phone == "":
			return nil, fieldErr(field, n.Name+" 没有电话号码")
		case channel == "fax" && n.Fax == "" && n.Phone == "":
			return nil, fieldErr(field, n.Name+" 既无传真号码也无手机号码")
		}
		out = append(out, n)
	}
	return out, nil
}

func (f *Function) sendNotice(r *http.Request, in NoticeInput) (any, error) {
	in.Title, in.Body = strings.TrimSpace(in.Title), strings.TrimSpace(in.Body)
	switch {
	case in.Channel != "call" && in.Channel != "sms" && in.Channel != "fax":
		return nil, fieldErr("channel", "发送方式只能是 call（一键呼叫）、sms（一键短信）或 fax（一键传真）")
	case in.Body == "":
		return nil, fieldErr("body", "请输入通知内容")
	case utf8.RuneCountInString(in.Body) > 500:
		return nil, fieldErr("body", "通知内容不能超过 500 字")
	case utf8.RuneCountInString(in.Title) > 50:
		return nil, fieldErr("title", "标题不能超过 50 字")
	}
	nodes, err := f.checkNodes(in.Channel, in.Nodes)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	ev, err := readEvent(r.Context(), f.pool, p.Scope, strings.TrimSpace(in.EventID))
	if err != nil {
		return nil, err
	}
	n, err := f.SendNotice(r.Context(), p, httpx.ClientIP(r), ev, in.Channel, in.Title, in.Body, nodes)
	if err != nil {
		return nil, err
	}
	return httpx.Created(n, "/comms/v1/notices/"+n.ID), nil
}

func (f *Function) listNotices(r *http.Request) (any, error) {
	ev := strings.TrimSpace(r.URL.Query().Get("event_id"))
	if ev != "" {
		if _, err := uuid.Parse(ev); err != nil {
			return nil, fieldErr("event_id", "事件编号格式不正确")
		}
	}
	items, err := f.Notices(r.Context(), principal(r).Scope, ev)
	return map[string]any{"items": items}, err
}

func (f *Function) getNotice(r *http.Request) (any, error) {
	return f.Notice(r.Context(), principal(r).Scope, r.PathValue("id"))
}

func (f *Function) report(r *http.Request) (any, error) {
	p := principal(r)
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.New(errs.NotFound, "事件不存在或不在本辖区")
	}
	ev, err := readEvent(r.Context(), f.pool, p.Scope, id)
	if err != nil {
		return nil, err
	}
	if ev.Status != "open" {
		return nil, errs.New(errs.Conflict, "事件已办结，不能再上报")
	}
	rep, err := f.readReport(r)
	if err != nil {
		return nil, err
	}
	m, err := f.PostReport(r.Context(), p, ev, rep)
	if err != nil {
		return nil, err
	}
	return httpx.Created(m, ""), nil
}

func (f *Function) attachment(w http.ResponseWriter, r *http.Request) {
	m, err := f.MessageByID(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err == nil && m.key == "" {
		err = errs.New(errs.NotFound, "该消息没有附件")
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	f.serveObject(w, r, m.key, m.Size, m.ContentType, m.CreatedAt)
}

var beijing = time.FixedZone("CST", 8*3600)

func itoa(n int) string { return strconv.Itoa(n) }
