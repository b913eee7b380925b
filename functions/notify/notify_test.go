package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

func TestNewRequiresEachDependency(t *testing.T) {
	t.Parallel()
	full := Deps{Logger: slog.New(slog.DiscardHandler), Pool: &pgxpool.Pool{}, Redis: redis.NewClient(&redis.Options{}),
		Verifier: authtest.NewIssuer(t).Verifier(), Now: time.Now}
	for name, mod := range map[string]func(*Deps){
		"Logger": func(d *Deps) { d.Logger = nil }, "Pool": func(d *Deps) { d.Pool = nil }, "Redis": func(d *Deps) { d.Redis = nil },
		"Verifier": func(d *Deps) { d.Verifier = nil }, "Now": func(d *Deps) { d.Now = nil },
	} {
		d := full
		mod(&d)
		if _, err := New(d, config.Defaults[Config]()); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: New = %v", name, err)
		}
	}
	if _, err := New(full, config.Defaults[Config]()); err != nil {
		t.Fatal(err)
	}
}

// The stream timings must stay under the Knative request timeout (300 s).
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := config.Defaults[Config]().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"max-age-over-timeout": func(c *Config) { c.MaxStreamAge = 5 * time.Minute },
		"max-age-under-ping":   func(c *Config) { c.MaxStreamAge = 10 * time.Second },
		"keepalive-0":          func(c *Config) { c.KeepAlive = 0 },
		"no-channel":           func(c *Config) { c.Channel = " " },
		"allow-http":           func(c *Config) { c.LinkAllow = "http://amr.sjz.gov.cn" },
		"allow-path":           func(c *Config) { c.LinkAllow = "https://amr.sjz.gov.cn/x" },
	} {
		c := config.Defaults[Config]()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// FP-128: targeting by user, department, role or everyone, matched
// against the reader's token; redelivery stores once; the old event type
// is still taken.
func TestReceiveTargetsAndDedupes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.replica(nil)
	toRole := noticeEvent(t, events.NotifyNoticeRequested, sharednotify.Notice{Title: "安全告警", Level: "alert", Popup: true, Roles: []string{"secadmin"}})
	for range 2 { // redelivery
		if _, err := f.Receive(ctx, toRole); err != nil {
			t.Fatal(err)
		}
	}
	receive(t, f, sharednotify.Notice{Title: "部门通知", DeptIDs: []string{"d-changan"}})
	receive(t, f, sharednotify.Notice{Title: "个人通知", UserIDs: []string{"u-other"}})
	// Recorded before the split, delivered after it.
	if _, err := f.Receive(ctx, noticeEvent(t, events.IdentityNoticeRequested, sharednotify.Notice{Title: "全员通知", All: true})); err != nil {
		t.Fatal(err)
	}
	titles := func(p *auth.Principal) string {
		page, err := f.List(ctx, p, ListFilter{}, httpx.Page{Page: 1, Size: 20})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range page.Items {
			out = append(out, n.Title)
		}
		return strings.Join(out, ",")
	}
	for p, want := range map[*auth.Principal]string{secadmin: "全员通知,安全告警", clerk: "全员通知,部门通知", other: "全员通知,个人通知"} {
		if got := titles(p); got != want {
			t.Errorf("%s sees %q, want %q", p.Username, got, want)
		}
	}
	// Not a notice event: ignored.
	ping := event.New()
	ping.SetID("x")
	ping.SetSource("/t")
	ping.SetType(events.Ping)
	if _, err := f.Receive(ctx, ping); err != nil {
		t.Errorf("Receive of a ping: %v", err)
	}
	// A notice with no target is refused as invalid, not stored.
	bad := noticeEvent(t, events.NotifyNoticeRequested, sharednotify.Notice{Title: "无人", All: true})
	_ = bad.SetData(event.ApplicationJSON, events.NoticeRequestedData{Title: "无人", Level: "info"})
	if _, err := f.Receive(ctx, bad); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("Receive of a notice without a target: %v", err)
	}
}

// Issue 10: notice links accept only paths of this site and the
// configured allow-list. A producer's javascript: link is dropped (the
// notice still arrives); the console's form refuses it.
func TestNoticeLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.replica(func(c *Config) { c.LinkAllow = "https://amr.sjz.gov.cn" })
	for _, c := range []struct{ link, stored string }{
		{"javascript:alert(document.cookie)", ""},
		{"//evil.example/phish", ""},
		{"https://evil.example/login", ""},
		{"/console/#/security/alerts", "/console/#/security/alerts"},
		{"https://amr.sjz.gov.cn/notice/7", "https://amr.sjz.gov.cn/notice/7"},
	} {
		ev := noticeEvent(t, events.NotifyNoticeRequested, sharednotify.Notice{Title: "链接 " + c.link, UserIDs: []string{"u-clerk"}})
		d := sharednotify.Notice{Title: "链接 " + c.link, UserIDs: []string{"u-clerk"}}.Data("/functions/test")
		d.Link = c.link // as a producer that skipped shared/notify would send it
		_ = ev.SetData(event.ApplicationJSON, d)
		if _, err := f.Receive(ctx, ev); err != nil {
			t.Fatalf("%s: %v", c.link, err)
		}
		var link string
		if err := e.pool.QueryRow(ctx, `SELECT link FROM notify.notices WHERE title = $1`, "链接 "+c.link).Scan(&link); err != nil {
			t.Fatalf("%s: notice not stored: %v", c.link, err)
		}
		if link != c.stored {
			t.Errorf("link %q stored as %q, want %q", c.link, link, c.stored)
		}
	}
	srv := e.serve(f)
	publisher := *secadmin
	publisher.Perms = []string{"notify.notice:create"}
	for link, status := range map[string]int{"javascript:alert(1)": 400, "data:text/html,x": 400, "//evil.example": 400,
		"https://evil.example/": 400, "/console/#/messages": 202, "https://amr.sjz.gov.cn/a": 202} {
		body, _ := json.Marshal(PublishRequest{Title: "公告", All: true, Link: link})
		code, out := call(t, srv.URL, "POST", "/notify/v1/notices", e.iss.Token(publisher), string(body))
		if code != status || (status == 400 && !strings.Contains(out, "链接")) {
			t.Errorf("publish with link %q: %d %s", link, code, out)
		}
	}
}

func TestUnreadAndMarkRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.replica(nil)
	receive(t, f, sharednotify.Notice{Title: "一", Roles: []string{"secadmin"}, Popup: true})
	receive(t, f, sharednotify.Notice{Title: "二", Roles: []string{"secadmin"}})
	receive(t, f, sharednotify.Notice{Title: "三", UserIDs: []string{"u-clerk"}})
	n, popup, err := f.Unread(ctx, secadmin)
	if err != nil || n != 2 || popup != 1 {
		t.Fatalf("unread = %d/%d, %v", n, popup, err)
	}
	page, _ := f.List(ctx, secadmin, ListFilter{Popup: true}, httpx.Page{Page: 1, Size: 20})
	if page.Total != 1 || page.Items[0].Title != "一" {
		t.Fatalf("popup list = %+v", page)
	}
	first := page.Items[0].ID
	for range 2 { // idempotent
		if err := f.MarkRead(ctx, secadmin, first); err != nil {
			t.Fatal(err)
		}
	}
	// Someone else's notice is "not found", and marks nothing.
	mine, _ := f.List(ctx, clerk, ListFilter{}, httpx.Page{Page: 1, Size: 20})
	if err := f.MarkRead(ctx, secadmin, mine.Items[0].ID); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("marking another user's notice: %v", err)
	}
	if n, popup, _ = f.Unread(ctx, secadmin); n != 1 || popup != 0 {
		t.Errorf("unread after one read = %d/%d", n, popup)
	}
	unread, _ := f.List(ctx, secadmin, ListFilter{Unread: true}, httpx.Page{Page: 1, Size: 20})
	if unread.Total != 1 || unread.Items[0].Title != "二" || unread.Items[0].Read {
		t.Errorf("unread list = %+v", unread)
	}
	if marked, err := f.MarkAllRead(ctx, secadmin); err != nil || marked != 1 {
		t.Errorf("read-all marked %d, %v", marked, err)
	}
	if n, _, _ = f.Unread(ctx, secadmin); n != 0 {
		t.Errorf("unread after read-all = %d", n)
	}
	if n, _, _ = f.Unread(ctx, clerk); n != 1 {
		t.Errorf("clerk's unread changed: %d", n)
	}
}

// Done when (issue 23): a notice reaches a user's open stream on another
// replica. Two notify instances share Redis and the database; the notice
// is received by A, and B's open streams carry it to the users it targets
// only; a read on A updates the unread count on B's stream.
func TestStreamDeliversAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.replica(nil), e.replica(nil)
	srvB := e.serve(b)
	receive(t, a, sharednotify.Notice{Title: "旧消息", Roles: []string{"secadmin"}, Popup: true})
	secStream := openStream(t, srvB.URL, e.iss.Token(*secadmin))
	clerkStream := openStream(t, srvB.URL, e.iss.Token(*clerk))
	if ready := next(t, secStream); ready.name != "ready" || ready.data != `{"popup":1,"unread":1,"warnings":0}` {
		t.Fatalf("ready = %+v", ready)
	}
	if ev := next(t, clerkStream); ev.name != "ready" || ev.data != `{"popup":0,"unread":0,"warnings":0}` {
		t.Fatalf("clerk ready = %+v", ev)
	}
	receive(t, a, sharednotify.Notice{Title: "账号 zhang 连续登录失败", Level: "alert", Roles: []string{"secadmin"}})
	ev := nextNamed(t, secStream, "notice")
	var n Notice
	if err := json.Unmarshal([]byte(ev.data), &n); err != nil || n.Title != "账号 zhang 连续登录失败" || n.Level != "alert" || n.ID == 0 {
		t.Fatalf("notice = %+v (%v)", ev, err)
	}
	// The clerk is no secadmin: the first notice the clerk's stream
	// carries is the next one aimed at everyone.
	receive(t, a, sharednotify.Notice{Title: "全员通知", All: true})
	if ev := nextNamed(t, clerkStream, "notice"); !strings.Contains(ev.data, "全员通知") {
		t.Errorf("clerk got %+v first", ev)
	}
	if _, err := a.MarkAllRead(ctx, secadmin); err != nil {
		t.Fatal(err)
	}
	if ev := nextNamed(t, secStream, "unread"); ev.data != `{"unread":0}` {
		t.Errorf("unread event = %s", ev.data)
	}
}

// Streams end by themselves before the request timeout (so the browser
// reconnects and the token is checked again), and at once when the
// replica shuts down (Start's context ends), so draining is not held up.
func TestStreamEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	short := e.replica(nil)
	short.cfg.MaxStreamAge = 200 * time.Millisecond
	ch := openStream(t, e.serve(short).URL, e.iss.Token(*clerk))
	if ev := next(t, ch); ev.name != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	closed(t, ch, "after MaxStreamAge")

	long := e.replica(nil)
	life, stop := context.WithCancel(ctx)
	if err := long.Start(life); err != nil {
		t.Fatal(err)
	}
	srv := e.serve(long)
	ch = openStream(t, srv.URL, e.iss.Token(*clerk))
	if ev := next(t, ch); ev.name != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	stop()
	closed(t, ch, "after shutdown began")
	if code, _ := call(t, srv.URL, "GET", "/notify/v1/notices/stream", e.iss.Token(*clerk), ""); code != http.StatusServiceUnavailable {
		t.Errorf("a new stream on a stopping replica: %d, want 503", code)
	}
}

func TestStreamWithoutRedisIsUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: e.pool, Redis: dead, Verifier: e.iss.Verifier(), Now: time.Now},
		config.Defaults[Config]())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop(ctx) //nolint:errcheck
	if code, body := call(t, e.serve(f).URL, "GET", "/notify/v1/notices/stream", e.iss.Token(*clerk), ""); code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503: %s", code, body)
	}
	if err := f.Ready(ctx); err == nil {
		t.Error("Ready with Redis down")
	}
}

func call(t *testing.T, base, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.replica(nil)
	srv := e.serve(f)
	receive(t, f, sharednotify.Notice{Title: "一", UserIDs: []string{"u-clerk"}})
	clerkTok := e.iss.Token(*clerk)
	publisher := *secadmin
	publisher.Perms = []string{"notify.notice:create"}
	pubTok := e.iss.Token(publisher)
	for _, c := range []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"list-401", "GET", "/notify/v1/notices", "", "", 401, "请先登录"},
		{"stream-401", "GET", "/notify/v1/notices/stream", "", "", 401, ""},
		{"list-200", "GET", "/notify/v1/notices?unread=1", clerkTok, "", 200, `"title":"一"`},
		{"list-bad-level-400", "GET", "/notify/v1/notices?level=urgent", clerkTok, "", 400, "级别"},
		{"list-unknown-param-400", "GET", "/notify/v1/notices?sort=id", clerkTok, "", 400, "不支持的查询参数"},
		{"count-200", "GET", "/notify/v1/notices/unread-count", clerkTok, "", 200, `"count":1`},
		{"read-404", "POST", "/notify/v1/notices/999999/read", clerkTok, "", 404, "消息不存在"},
		{"read-bad-id-404", "POST", "/notify/v1/notices/abc/read", clerkTok, "", 404, ""},
		{"read-all-200", "POST", "/notify/v1/notices/read-all", clerkTok, "", 200, `"marked":1`},
		{"count-after-200", "GET", "/notify/v1/notices/unread-count", clerkTok, "", 200, `"count":0`},
		{"create-403", "POST", "/notify/v1/notices", clerkTok, `{"title":"x","all":true}`, 403, ""},
		{"create-400", "POST", "/notify/v1/notices", pubTok, `{"title":""}`, 400, "请填写标题"},
		{"create-no-target-400", "POST", "/notify/v1/notices", pubTok, `{"title":"x"}`, 400, "接收人"},
		{"create-202", "POST", "/notify/v1/notices", pubTok, `{"title":"系统将于今晚升级","all":true,"popup":true}`, 202, "accepted"},
	} {
		status, body := call(t, srv.URL, c.method, c.path, c.token, c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
	// The announcement went out as an event, its operation log row with
	// it in the same transaction; delivered, it reaches the clerk.
	var raw []byte
	if err := e.pool.QueryRow(ctx, `SELECT event FROM platform.outbox WHERE event_type = $1`, events.NotifyNoticeRequested).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Receive(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if n, popup, _ := f.Unread(ctx, clerk); n != 1 || popup != 1 {
		t.Errorf("clerk unread after announcement = %d/%d", n, popup)
	}
	var op events.AuditOperationRecordedData
	if err := e.pool.QueryRow(ctx, `SELECT event->'data' FROM platform.outbox WHERE event_type = $1`, events.AuditOperationRecorded).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &op); err != nil || op.Action != "notify.notice.create" || op.Username != "sec" || op.ObjectID != ev.ID() {
		t.Errorf("operation log event = %+v, %v", op, err)
	}
}

// shared/notify.Post in a producer's transaction, the outbox row relayed,
// notify stores it.
func TestPostRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.replica(nil)
	if err := store.InTx(ctx, e.pool, func(tx pgx.Tx) error {
		return sharednotify.Post(ctx, tx, "/functions/registry", sharednotify.Notice{Title: "导入完成", Body: "共 100 条", UserIDs: []string{"u-clerk"}})
	}); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := e.pool.QueryRow(ctx, `SELECT event FROM platform.outbox`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Receive(ctx, ev); err != nil {
		t.Fatal(err)
	}
	page, _ := f.List(ctx, clerk, ListFilter{}, httpx.Page{Page: 1, Size: 10})
	if page.Total != 1 || page.Items[0].Producer != "registry" || page.Items[0].Body != "共 100 条" {
		t.Errorf("stored = %+v", page)
	}
}
