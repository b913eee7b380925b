package notify

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/identity/audit"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/httpx"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
)

var ctx = context.Background()

func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 9})
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func uniq() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newService builds a replica; replicas given the same channel share fan-out.
func newService(t *testing.T, pool *pgxpool.Pool, channel string) *Service {
	t.Helper()
	s, err := New(Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: newRedis(t), Now: time.Now,
		Config: Config{Channel: channel, KeepAlive: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func noticeEvent(t *testing.T, n sharednotify.Notice) event.Event {
	t.Helper()
	e, err := outboxEvent(n)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func outboxEvent(n sharednotify.Notice) (event.Event, error) {
	e := event.New()
	e.SetID(uniq())
	e.SetSource("/functions/test")
	e.SetType(events.IdentityNoticeRequested)
	return e, e.SetData(event.ApplicationJSON, n.Data("/functions/test"))
}

var (
	secadmin = &auth.Principal{UserID: "u-sec", Username: "sec", DeptID: "d-city", Roles: []string{"secadmin"}}
	clerk    = &auth.Principal{UserID: "u-clerk", Username: "clerk", DeptID: "d-changan", Roles: []string{"inspector"}}
	other    = &auth.Principal{UserID: "u-other", Username: "other", DeptID: "d-qiaoxi", Roles: []string{"inspector"}}
)

func TestNewChecksDeps(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, audit.Migration(), Migration())
	full := Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: newRedis(t), Now: time.Now}
	for name, mod := range map[string]func(*Deps){
		"logger": func(d *Deps) { d.Logger = nil }, "pool": func(d *Deps) { d.Pool = nil },
		"redis": func(d *Deps) { d.Redis = nil }, "now": func(d *Deps) { d.Now = nil },
	} {
		d := full
		mod(&d)
		if _, err := New(d); err == nil {
			t.Errorf("%s: New accepted a missing dependency", name)
		}
	}
	s, err := New(full)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cfg.Channel != DefaultChannel || s.cfg.MaxStreamAge != 4*time.Minute {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
	if err := s.Ready(ctx); err != nil {
		t.Error(err)
	}
}

func TestReceiveTargetsAndDedupes(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, audit.Migration(), Migration())
	s := newService(t, pool, "test:"+uniq())
	toRole := noticeEvent(t, sharednotify.Notice{Title: "安全告警", Level: "alert", Popup: true, Roles: []string{"secadmin"}})
	for range 2 { // redelivery
		if handled, err := s.Receive(ctx, toRole); !handled || err != nil {
			t.Fatalf("Receive = %v, %v", handled, err)
		}
	}
	for _, n := range []sharednotify.Notice{
		{Title: "部门通知", DeptIDs: []string{"d-changan"}},
		{Title: "个人通知", UserIDs: []string{"u-other"}},
		{Title: "全员通知", All: true},
	} {
		if _, err := s.Receive(ctx, noticeEvent(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	titles := func(p *auth.Principal) []string {
		page, err := s.List(ctx, p, ListFilter{}, httpPage(1, 20))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range page.Items {
			out = append(out, n.Title)
		}
		return out
	}
	for p, want := range map[*auth.Principal]string{
		secadmin: "全员通知,安全告警",
		clerk:    "全员通知,部门通知",
		other:    "全员通知,个人通知",
	} {
		if got := strings.Join(titles(p), ","); got != want {
			t.Errorf("%s sees %q, want %q", p.Username, got, want)
		}
	}
	// Not a notice event: not handled.
	e := event.New()
	e.SetID("x")
	e.SetSource("/t")
	e.SetType(events.Ping)
	if handled, _ := s.Receive(ctx, e); handled {
		t.Error("Receive handled a ping")
	}
	// A notice with no target is refused, not stored.
	bad := noticeEvent(t, sharednotify.Notice{Title: "无人", All: true})
	_ = bad.SetData(event.ApplicationJSON, events.IdentityNoticeRequestedData{Title: "无人", Level: "info"})
	if _, err := s.Receive(ctx, bad); err == nil {
		t.Error("Receive accepted a notice without a target")
	}
}

func httpPage(p, size int) httpx.Page { return httpx.Page{Page: p, Size: size} }

func TestUnreadAndMarkRead(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, audit.Migration(), Migration())
	s := newService(t, pool, "test:"+uniq())
	for i, n := range []sharednotify.Notice{
		{Title: "一", Roles: []string{"secadmin"}, Popup: true},
		{Title: "二", Roles: []string{"secadmin"}},
		{Title: "三", UserIDs: []string{"u-clerk"}},
	} {
		_ = i
		if _, err := s.Receive(ctx, noticeEvent(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	n, popup, err := s.Unread(ctx, secadmin)
	if err != nil || n != 2 || popup != 1 {
		t.Fatalf("unread = %d/%d, %v", n, popup, err)
	}
	page, _ := s.List(ctx, secadmin, ListFilter{Popup: true}, httpPage(1, 20))
	if page.Total != 1 || page.Items[0].Title != "一" {
		t.Fatalf("popup list = %+v", page)
	}
	first := page.Items[0].ID
	if err := s.MarkRead(ctx, secadmin, first); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRead(ctx, secadmin, first); err != nil { // idempotent
		t.Fatal(err)
	}
	// Someone else's notice is "not found", and marks nothing.
	mine, _ := s.List(ctx, clerk, ListFilter{}, httpPage(1, 20))
	if err := s.MarkRead(ctx, secadmin, mine.Items[0].ID); err == nil {
		t.Error("marked another user's notice read")
	}
	if n, popup, _ = s.Unread(ctx, secadmin); n != 1 || popup != 0 {
		t.Errorf("unread after one read = %d/%d", n, popup)
	}
	unread, _ := s.List(ctx, secadmin, ListFilter{Unread: true}, httpPage(1, 20))
	if unread.Total != 1 || unread.Items[0].Title != "二" || unread.Items[0].Read {
		t.Errorf("unread list = %+v", unread)
	}
	if marked, err := s.MarkAllRead(ctx, secadmin); err != nil || marked != 1 {
		t.Errorf("read-all marked %d, %v", marked, err)
	}
	if n, _, _ = s.Unread(ctx, secadmin); n != 0 {
		t.Errorf("unread after read-all = %d", n)
	}
	if n, _, _ = s.Unread(ctx, clerk); n != 1 {
		t.Errorf("clerk's unread changed: %d", n)
	}
}

// sseClient reads one SSE stream's events into a channel.
type sseEvent struct{ name, data string }

func openStream(t *testing.T, url, token string) <-chan sseEvent {
	t.Helper()
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, url+"/identity/v1/notices/stream", nil)
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: token}) // EventSource sends the cookie
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 16)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.name != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out
}

func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream closed")
		}
		return ev
	case <-time.After(testwait.Timeout):
		t.Fatal("no SSE event")
	}
	return sseEvent{}
}

func server(t *testing.T, s *Service, iss *authtest.Issuer) *httptest.Server {
	mux := http.NewServeMux()
	s.Routes(mux, auth.Require)
	srv := httptest.NewServer(iss.Verifier().Middleware(mux))
	t.Cleanup(srv.Close)
	return srv
}

func TestStreamDeliversAcrossReplicas(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, audit.Migration(), Migration())
	channel := "test:" + uniq()
	a, b := newService(t, pool, channel), newService(t, pool, channel)
	iss := authtest.NewIssuer(t)
	srvB := server(t, b, iss)

	if _, err := a.Receive(ctx, noticeEvent(t, sharednotify.Notice{Title: "旧消息", Roles: []string{"secadmin"}, Popup: true})); err != nil {
		t.Fatal(err)
	}
	secStream := openStream(t, srvB.URL, iss.Token(*secadmin))
	clerkStream := openStream(t, srvB.URL, iss.Token(*clerk))
	ready := next(t, secStream)
	if ready.name != "ready" || ready.data != `{"popup":1,"unread":1}` {
		t.Fatalf("ready = %+v", ready)
	}
	if ev := next(t, clerkStream); ev.name != "ready" || ev.data != `{"popup":0,"unread":0}` {
		t.Fatalf("clerk ready = %+v", ev)
	}
	// Published on replica A, delivered by replica B's stream.
	if _, err := a.Receive(ctx, noticeEvent(t, sharednotify.Notice{Title: "账号 zhang 连续登录失败", Level: "alert", Roles: []string{"secadmin"}})); err != nil {
		t.Fatal(err)
	}
	ev := nextNamed(t, secStream, "notice")
	var n Notice
	if err := json.Unmarshal([]byte(ev.data), &n); err != nil || n.Title != "账号 zhang 连续登录失败" || n.Level != "alert" || n.ID == 0 {
		t.Fatalf("notice = %+v (%v)", ev, err)
	}
	// The clerk is not a secadmin: the first notice the clerk's stream
	// carries is the next one aimed at everyone.
	if _, err := a.Receive(ctx, noticeEvent(t, sharednotify.Notice{Title: "全员通知", All: true})); err != nil {
		t.Fatal(err)
	}
	if ev := nextNamed(t, clerkStream, "notice"); !strings.Contains(ev.data, "全员通知") {
		t.Errorf("clerk got %+v first", ev)
	}
	// Reading on replica A updates the unread count on B's stream.
	if _, err := a.MarkAllRead(ctx, secadmin); err != nil {
		t.Fatal(err)
	}
	for {
		ev := nextNamed(t, secStream, "")
		if ev.name == "unread" {
			if ev.data != `{"unread":0}` {
				t.Errorf("unread event = %s", ev.data)
			}
			break
		}
	}
}

// nextNamed skips to the next event with that name ("" = any but ping).
func nextNamed(t *testing.T, ch <-chan sseEvent, name string) sseEvent {
	t.Helper()
	for {
		ev := next(t, ch)
		if name == "" || ev.name == name {
			return ev
		}
	}
}

func TestStreamEndsAtMaxAge(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, audit.Migration(), Migration())
	s, err := New(Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: newRedis(t), Now: time.Now,
		Config: Config{Channel: "test:" + uniq(), KeepAlive: time.Hour, MaxStreamAge: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	iss := authtest.NewIssuer(t)
	srv := server(t, s, iss)
	ch := openStream(t, srv.URL, iss.Token(*clerk))
	if ev := next(t, ch); ev.name != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(testwait.Timeout):
		t.Fatal("stream not closed after MaxStreamAge")
	}
	// Close ends open streams at once (a shutting-down replica).
	long := newService(t, pool, "test:"+uniq())
	longSrv := server(t, long, iss)
	ch = openStream(t, longSrv.URL, iss.Token(*clerk))
	if ev := next(t, ch); ev.name != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	long.Close()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Errorf("event after Close: %+v", ev)
		}
	case <-time.After(testwait.Timeout):
		t.Fatal("stream still open after Close")
	}
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, audit.Migration(), Migration())
	s := newService(t, pool, "test:"+uniq())
	iss := authtest.NewIssuer(t)
	srv := server(t, s, iss)
	if _, err := s.Receive(ctx, noticeEvent(t, sharednotify.Notice{Title: "一", UserIDs: []string{"u-clerk"}})); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&sb)
		return resp.StatusCode, sb.String()
	}
	clerkTok := iss.Token(*clerk)
	publisher := *secadmin
	publisher.Perms = []string{"identity.notice:create"}
	pubTok := iss.Token(publisher)
	for _, c := range []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"list-401", "GET", "/identity/v1/notices", "", "", 401, "请先登录"},
		{"stream-401", "GET", "/identity/v1/notices/stream", "", "", 401, ""},
		{"list-200", "GET", "/identity/v1/notices?unread=1", clerkTok, "", 200, `"title":"一"`},
		{"list-bad-level-400", "GET", "/identity/v1/notices?level=urgent", clerkTok, "", 400, "级别"},
		{"count-200", "GET", "/identity/v1/notices/unread-count", clerkTok, "", 200, `"count":1`},
		{"read-404", "POST", "/identity/v1/notices/999999/read", clerkTok, "", 404, "消息不存在"},
		{"read-bad-id-404", "POST", "/identity/v1/notices/abc/read", clerkTok, "", 404, ""},
		{"read-all-200", "POST", "/identity/v1/notices/read-all", clerkTok, "", 200, `"marked":1`},
		{"count-after-200", "GET", "/identity/v1/notices/unread-count", clerkTok, "", 200, `"count":0`},
		{"create-403", "POST", "/identity/v1/notices", clerkTok, `{"title":"x","all":true}`, 403, ""},
		{"create-400", "POST", "/identity/v1/notices", pubTok, `{"title":""}`, 400, "请填写标题"},
		{"create-202", "POST", "/identity/v1/notices", pubTok, `{"title":"系统将于今晚升级","all":true,"popup":true}`, 202, "accepted"},
	} {
		status, body := call(c.method, c.path, c.token, c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
	// The console's notice went out as an event and into the operation log.
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT event FROM platform.outbox WHERE event_type = $1`, events.IdentityNoticeRequested).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var e event.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx, e); err != nil {
		t.Fatal(err)
	}
	if n, popup, _ := s.Unread(ctx, clerk); n != 1 || popup != 1 {
		t.Errorf("clerk unread after announcement = %d/%d", n, popup)
	}
	var ops int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM identity.op_log WHERE action = 'identity.notice.create' AND username = 'sec'`).Scan(&ops)
	if ops != 1 {
		t.Errorf("op log rows = %d", ops)
	}
}

// TestPostRoundTrip: shared/notify.Post in a producer's transaction, the
// outbox row relayed, identity stores it.
func TestPostRoundTrip(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, audit.Migration(), Migration())
	s := newService(t, pool, "test:"+uniq())
	err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		return sharednotify.Post(ctx, tx, "/functions/registry", sharednotify.Notice{Title: "导入完成", Body: "共 100 条", UserIDs: []string{"u-clerk"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT event FROM platform.outbox`)
	if err != nil {
		t.Fatal(err)
	}
	raws, _ := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if len(raws) != 1 {
		t.Fatalf("outbox rows = %d", len(raws))
	}
	var e event.Event
	if err := json.Unmarshal(raws[0], &e); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx, e); err != nil {
		t.Fatal(err)
	}
	page, _ := s.List(ctx, clerk, ListFilter{}, httpPage(1, 10))
	if page.Total != 1 || page.Items[0].Producer != "registry" || page.Items[0].Body != "共 100 条" {
		t.Errorf("stored = %+v", page)
	}
}

func TestStreamWithoutRedisIsUnavailable(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, audit.Migration(), Migration())
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	s, err := New(Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Redis: dead, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	iss := authtest.NewIssuer(t)
	srv := server(t, s, iss)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/identity/v1/notices/stream", nil)
	req.Header.Set("Authorization", "Bearer "+iss.Token(*clerk))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	if err := s.Ready(ctx); err == nil {
		t.Error("Ready with Redis down")
	}
}
