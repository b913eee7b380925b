package comms

import (
	_ "embed"
	"net/http"
	"strings"
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
// join, host), listed in shared/auth's catalogue.
const PermConsult = "comms.consult"

// Handler serves the API behind token verification. Every route declares
// who may call it and what entity data it touches (the conformance tests
// read these declarations).
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-151: consults opened for a dispatch event, their members and room state.
	m.Handle("POST /comms/v1/consults", httpx.Body(f.openConsult), auth.Requires(PermConsult, "create"), httpx.NoEntity())
	m.Handle("GET /comms/v1/consults", httpx.Endpoint(f.listConsults), auth.Requires(PermConsult, "view"), httpx.NoEntity(),
		httpx.Params("event_id"))
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
	items, err := listConsults(r.Context(), f.pool, principal(r).Scope, strings.TrimSpace(r.URL.Query().Get("event_id")))
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
}

func (f *Function) getConsult(r *http.Request) (any, error) {
	c, err := f.Consult(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := ConsultView{Consult: c, Participants: []Participant{}}
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
