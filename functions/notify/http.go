package notify

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is notify's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/notify/v1/openapi.yaml", openapi }

// PermNotice is notify's permission resource (view, create).
const PermNotice = "notify.notice"

// Handler serves the message centre behind token verification. Reading
// one's own notices needs only a login: every user has a message centre.
// Publishing an announcement needs notify.notice:create.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-128: the message centre (the warning board has routes of its
	// own: warningRoutes).
	m.Handle("GET /notify/v1/notices", httpx.Endpoint(f.list), auth.SignedIn(), httpx.NoEntity(),
		httpx.Params(append([]string{"unread", "popup", "level", "q"}, httpx.PageParams...)...))
	m.Handle("GET /notify/v1/notices/unread-count", httpx.Endpoint(f.unreadCount), auth.SignedIn(), httpx.NoEntity())
	m.Handle("POST /notify/v1/notices/{id}/read", httpx.Endpoint(f.markRead), auth.SignedIn(), httpx.NoEntity())
	m.Handle("POST /notify/v1/notices/read-all", httpx.Endpoint(f.markAllRead), auth.SignedIn(), httpx.NoEntity())
	m.HandleFunc("GET /notify/v1/notices/stream", f.stream, auth.SignedIn(), httpx.NoEntity())
	m.Handle("POST /notify/v1/notices", httpx.Body(f.create), auth.Requires(PermNotice, "create"), httpx.NoEntity())
	f.warningRoutes(m)
	return m
}

func principal(r *http.Request) *auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

func truthy(s string) bool { return s == "1" || s == "true" }

func checkLevel(level string) error {
	switch level {
	case "", sharednotify.LevelInfo, sharednotify.LevelWarning, sharednotify.LevelAlert:
		return nil
	}
	return errs.Fields([]errs.FieldError{{Field: "level", Message: "级别应为 info、warning 或 alert"}})
}

func (f *Function) list(r *http.Request) (any, error) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	flt := ListFilter{Unread: truthy(q.Get("unread")), Popup: truthy(q.Get("popup")), Level: q.Get("level"), Q: strings.TrimSpace(q.Get("q"))}
	if err := checkLevel(flt.Level); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(flt.Q) > 100 {
		return nil, errs.Fields([]errs.FieldError{{Field: "q", Message: "关键字不能超过 100 个字符"}})
	}
	return f.List(r.Context(), principal(r), flt, pg)
}

// UnreadCount is the badge of the console's bell.
type UnreadCount struct {
	Count int `json:"count"`
	Popup int `json:"popup"`
}

func (f *Function) unreadCount(r *http.Request) (any, error) {
	n, popup, err := f.Unread(r.Context(), principal(r))
	return UnreadCount{Count: n, Popup: popup}, err
}

func (f *Function) markRead(r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return nil, errs.New(errs.NotFound, "消息不存在")
	}
	if err := f.MarkRead(r.Context(), principal(r), id); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}

// Marked is how many notices read-all marked.
type Marked struct {
	Marked int64 `json:"marked"`
}

func (f *Function) markAllRead(r *http.Request) (any, error) {
	n, err := f.MarkAllRead(r.Context(), principal(r))
	return Marked{Marked: n}, err
}

// pushUnread tells the user's other open consoles the new unread count.
func (f *Function) pushUnread(ctx context.Context, p *auth.Principal) {
	n, _, err := f.Unread(ctx, p)
	if err != nil {
		f.log.WarnContext(ctx, "notify: unread count", "err", err)
		return
	}
	f.publish(ctx, message{Kind: "unread", UserID: p.UserID, Unread: n})
}

// PublishRequest is the console's "send a notice" form.
type PublishRequest struct {
	Title   string   `json:"title"`
	Body    string   `json:"body"`
	Level   string   `json:"level"`
	Link    string   `json:"link"`
	Popup   bool     `json:"popup"`
	All     bool     `json:"all"`
	UserIDs []string `json:"user_ids"`
	DeptIDs []string `json:"dept_ids"`
	Roles   []string `json:"roles"`
}

// Validate names the bad fields in Chinese; allowed is the link allow-list.
func (p PublishRequest) validate(allowed []string) error {
	var fe []errs.FieldError
	if strings.TrimSpace(p.Title) == "" {
		fe = append(fe, errs.FieldError{Field: "title", Message: "请填写标题"})
	} else if utf8.RuneCountInString(p.Title) > 200 {
		fe = append(fe, errs.FieldError{Field: "title", Message: "标题不能超过 200 个字符"})
	}
	if utf8.RuneCountInString(p.Body) > 4000 {
		fe = append(fe, errs.FieldError{Field: "body", Message: "正文不能超过 4000 个字符"})
	}
	if checkLevel(p.Level) != nil {
		fe = append(fe, errs.FieldError{Field: "level", Message: "级别应为 info、warning 或 alert"})
	}
	if sharednotify.CheckLink(p.Link, allowed) != nil {
		fe = append(fe, errs.FieldError{Field: "link", Message: "链接只能是本站的相对路径（以 / 开头）或白名单中的 https 地址"})
	}
	if !p.All && len(p.UserIDs) == 0 && len(p.DeptIDs) == 0 && len(p.Roles) == 0 {
		fe = append(fe, errs.FieldError{Field: "roles", Message: "请选择接收人：全体、用户、部门或角色"})
	}
	if len(p.UserIDs)+len(p.DeptIDs)+len(p.Roles) > 1000 {
		fe = append(fe, errs.FieldError{Field: "user_ids", Message: "接收人不能超过 1000 个，请按部门或角色发送"})
	}
	return errs.Fields(fe)
}

// Accepted is the answer to a published notice: it is on its way.
type Accepted struct {
	Status string `json:"status"`
}

// create publishes an announcement from the console. It goes through the
// same event as every other producer's, so delivery has one path, and the
// operation log row is recorded in the same transaction.
func (f *Function) create(r *http.Request, in PublishRequest) (any, error) {
	if err := in.validate(f.allow); err != nil {
		return nil, err
	}
	p := principal(r)
	ctx := r.Context()
	n := sharednotify.Notice{Title: in.Title, Body: in.Body, Level: in.Level, Kind: "announcement", Link: in.Link, Popup: in.Popup,
		All: in.All, UserIDs: in.UserIDs, DeptIDs: in.DeptIDs, Roles: in.Roles, At: f.now()}
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d := n.Data(Source)
		e, err := outbox.NewEvent(Source, events.NotifyNoticeRequested, "", d, d.RequestedAt)
		if err != nil {
			return err
		}
		if err := outbox.Record(ctx, tx, e); err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Source, auditlog.Operation{At: f.now(), UserID: p.UserID, Username: p.Username,
			IP: httpx.ClientIP(r), Action: "notify.notice.create", ObjectType: "notice", ObjectID: e.ID(), After: in})
	})
	if err != nil {
		return nil, err
	}
	return httpx.Accepted(Accepted{Status: "accepted"}), nil
}

// stream is the SSE endpoint. Events: "ready" {unread, popup} on connect,
// "notice" {notice} for each new notice aimed at the caller, "unread"
// {unread} when another tab read something, and ": ping" comments. The
// stream ends after MaxStreamAge (less up to a tenth, so reconnects
// spread out); EventSource reconnects by itself and the token is checked
// again.
func (f *Function) stream(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	rc := http.NewResponseController(w)
	ctx := r.Context()
	c, err := f.hub.add(ctx, p)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	defer f.hub.remove(c)
	// Count after subscribing: a notice arriving in between is both counted
	// and pushed, never lost.
	n, popup, err := f.Unread(ctx, p)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	_ = rc.SetWriteDeadline(time.Time{}) // a server write timeout must not cut a stream
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) error {
		raw, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, raw); err != nil {
			return err
		}
		return rc.Flush()
	}
	if _, err := fmt.Fprint(w, "retry: 5000\n"); err != nil {
		return
	}
	warnings, err := f.UnacknowledgedWarnings(ctx, p)
	if err != nil {
		f.log.WarnContext(ctx, "notify: unacknowledged warnings", "err", err)
	}
	if err := send("ready", map[string]int{"unread": n, "popup": popup, "warnings": warnings}); err != nil {
		return
	}
	keep := time.NewTicker(f.cfg.KeepAlive)
	defer keep.Stop()
	age := f.cfg.MaxStreamAge - time.Duration(rand.Int64N(int64(f.cfg.MaxStreamAge/10)+1))
	maxAge := time.NewTimer(age)
	defer maxAge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-maxAge.C:
			return
		case <-f.hub.done:
			return
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case m := <-c.ch:
			var err error
			switch m.Kind {
			case "notice":
				err = send("notice", m.Notice)
			case "warning", "warning_state": // FP-129: the warning board's realtime delivery
				err = send(m.Kind, m.Warning)
			default:
				err = send("unread", map[string]int{"unread": m.Unread})
			}
			if err != nil {
				return
			}
		}
	}
}
