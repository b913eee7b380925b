package notify

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
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

// env is a test's database, token issuer and Redis channel; replicas built
// on one env share fan-out, as replicas of one deployment do.
type env struct {
	t       *testing.T
	pool    *pgxpool.Pool
	iss     *authtest.Issuer
	channel string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{t: t, pool: storetest.New(t, append(Migrations(), auditlogtest.Migration())...), iss: authtest.NewIssuer(t), channel: "test:notify:" + uniq()}
}

// replica builds one notify Function on the env.
func (e *env) replica(mod func(*Config)) *Function {
	e.t.Helper()
	c := config.Defaults[Config]()
	c.Channel, c.KeepAlive = e.channel, time.Second
	if mod != nil {
		mod(&c)
	}
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: e.pool, Redis: newRedis(e.t), Verifier: e.iss.Verifier(), Now: time.Now}, c)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = f.Stop(ctx) })
	return f
}

// serve runs f's handler on a test server.
func (e *env) serve(f *Function) *httptest.Server {
	srv := httptest.NewServer(f.Handler())
	e.t.Cleanup(srv.Close)
	return srv
}

func noticeEvent(t *testing.T, typ string, n sharednotify.Notice) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(uniq())
	e.SetSource("/functions/test")
	e.SetType(typ)
	if err := e.SetData(event.ApplicationJSON, n.Data("/functions/test")); err != nil {
		t.Fatal(err)
	}
	return e
}

func receive(t *testing.T, f *Function, n sharednotify.Notice) {
	t.Helper()
	if _, err := f.Receive(ctx, noticeEvent(t, events.NotifyNoticeRequested, n)); err != nil {
		t.Fatal(err)
	}
}

var (
	secadmin = &auth.Principal{UserID: "u-sec", Username: "sec", DeptID: "d-city", Roles: []string{"secadmin"}}
	clerk    = &auth.Principal{UserID: "u-clerk", Username: "clerk", DeptID: "d-changan", Roles: []string{"inspector"}}
	other    = &auth.Principal{UserID: "u-other", Username: "other", DeptID: "d-qiaoxi", Roles: []string{"inspector"}}
)

type sseEvent struct{ name, data string }

// openStream opens an SSE stream the way EventSource does (with the
// cookie) and reads its events into a channel.
func openStream(t *testing.T, url, token string) <-chan sseEvent {
	t.Helper()
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, url+"/notify/v1/notices/stream", nil)
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: token})
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

// nextNamed skips to the next event with that name ("" = any).
func nextNamed(t *testing.T, ch <-chan sseEvent, name string) sseEvent {
	t.Helper()
	for {
		if ev := next(t, ch); name == "" || ev.name == name {
			return ev
		}
	}
}

// closed waits for the stream to end.
func closed(t *testing.T, ch <-chan sseEvent, why string) {
	t.Helper()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-time.After(testwait.Timeout):
			t.Fatalf("stream still open: %s", why)
		}
	}
}
