package notify

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

// Source is the CloudEvent source of notices published from the console.
const Source = "/functions/identity"

// Routes mounts the message centre under /identity/v1. Reading one's own
// notices needs only a login: every user has a message centre. Publishing
// a notice needs identity.notice:create.
func (s *Service) Routes(mux *http.ServeMux, guard func(resource, action string) func(http.Handler) http.Handler) {
	mux.Handle("GET /identity/v1/notices", loggedIn(s.list))
	mux.Handle("GET /identity/v1/notices/unread-count", loggedIn(s.unreadCount))
	mux.Handle("POST /identity/v1/notices/{id}/read", loggedIn(s.markRead))
	mux.Handle("POST /identity/v1/notices/read-all", loggedIn(s.markAllRead))
	mux.Handle("GET /identity/v1/notices/stream", loggedIn(s.stream))
	mux.Handle("POST /identity/v1/notices", guard("identity.notice", "create")(http.HandlerFunc(s.create)))
}

var discard = slog.New(slog.DiscardHandler)

func loggedIn(h func(http.ResponseWriter, *http.Request, *auth.Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok || p.UserID == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			httpx.Error(w, r, discard, errs.New(errs.Unauthorized, auth.MsgLoginRequired))
			return
		}
		h(w, r, p)
	})
}

func truthy(s string) bool { return s == "1" || s == "true" }

func (s *Service) list(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	q := r.URL.Query()
	f := ListFilter{Unread: truthy(q.Get("unread")), Popup: truthy(q.Get("popup")), Level: q.Get("level"), Q: strings.TrimSpace(q.Get("q"))}
	switch f.Level {
	case "", sharednotify.LevelInfo, sharednotify.LevelWarning, sharednotify.LevelAlert:
	default:
		httpx.Error(w, r, s.log, errs.Fields([]errs.FieldError{{Field: "level", Message: "级别应为 info、warning 或 alert"}}))
		return
	}
	out, err := s.List(r.Context(), p, f, pg)
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (s *Service) unreadCount(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	n, popup, err := s.Unread(r.Context(), p)
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]int{"count": n, "popup": popup})
}

func (s *Service) markRead(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		httpx.Error(w, r, s.log, errs.New(errs.NotFound, "消息不存在"))
		return
	}
	if err := s.MarkRead(r.Context(), p, id); err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) markAllRead(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	n, err := s.MarkAllRead(r.Context(), p)
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]int64{"marked": n})
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

// Validate names the bad fields in Chinese.
func (p PublishRequest) Validate() error {
	var fe []errs.FieldError
	if strings.TrimSpace(p.Title) == "" {
		fe = append(fe, errs.FieldError{Field: "title", Message: "请填写标题"})
	} else if len([]rune(p.Title)) > 200 {
		fe = append(fe, errs.FieldError{Field: "title", Message: "标题不能超过 200 个字符"})
	}
	if len([]rune(p.Body)) > 4000 {
		fe = append(fe, errs.FieldError{Field: "body", Message: "正文不能超过 4000 个字符"})
	}
	switch p.Level {
	case "", sharednotify.LevelInfo, sharednotify.LevelWarning, sharednotify.LevelAlert:
	default:
		fe = append(fe, errs.FieldError{Field: "level", Message: "级别应为 info、warning 或 alert"})
	}
	if !p.All && len(p.UserIDs) == 0 && len(p.DeptIDs) == 0 && len(p.Roles) == 0 {
		fe = append(fe, errs.FieldError{Field: "roles", Message: "请选择接收人：全体、用户、部门或角色"})
	}
	return errs.Fields(fe)
}

// create publishes a notice from the console. It goes through the same
// event as every other producer's, so delivery has one path.
func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	var in PublishRequest
	if err := httpx.Decode(r, &in); err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	n := sharednotify.Notice{Title: in.Title, Body: in.Body, Level: in.Level, Kind: "announcement", Link: in.Link, Popup: in.Popup,
		All: in.All, UserIDs: in.UserIDs, DeptIDs: in.DeptIDs, Roles: in.Roles, At: s.now()}
	err := store.InTx(r.Context(), s.pool, func(tx pgx.Tx) error {
		if err := sharednotify.Post(r.Context(), tx, Source, n); err != nil {
			return errs.Wrap(errs.Invalid, "通知内容不完整", err)
		}
		return audit.RecordOp(r.Context(), tx, audit.OpEntry{At: s.now(), UserID: p.UserID, Username: p.Username, IP: audit.ClientIP(r),
			Action: "identity.notice.create", ObjectType: "notice", After: in, Result: audit.ResultSuccess})
	})
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	httpx.JSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
}

// stream is the SSE endpoint. Events: "ready" {unread, popup} on connect,
// "notice" {notice} for each new notice aimed at the caller, "unread"
// {unread} when another tab read something, and ": ping" comments. The
// stream ends after MaxStreamAge; EventSource reconnects by itself and the
// token is checked again.
func (s *Service) stream(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	rc := http.NewResponseController(w)
	ctx := r.Context()
	c, err := s.hub.add(ctx, p)
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	defer s.hub.remove(c)
	// Count after subscribing: a notice arriving in between is both counted
	// and pushed, never lost.
	n, popup, err := s.Unread(ctx, p)
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	_ = rc.SetWriteDeadline(time.Time{}) // the platform's server write timeout must not cut a stream
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
	if err := send("ready", map[string]int{"unread": n, "popup": popup}); err != nil {
		return
	}
	keep := time.NewTicker(s.cfg.KeepAlive)
	defer keep.Stop()
	maxAge := time.NewTimer(s.cfg.MaxStreamAge)
	defer maxAge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-maxAge.C:
			return
		case <-s.hub.done:
			return
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case m := <-c.ch:
			var err error
			if m.Kind == "notice" {
				err = send("notice", m.Notice)
			} else {
				err = send("unread", map[string]int{"unread": m.Unread})
			}
			if err != nil {
				return
			}
		}
	}
}
