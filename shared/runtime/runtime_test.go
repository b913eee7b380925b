package runtime

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

type fakeFn struct {
	ready    error
	received atomic.Int32
	fail     error
	reply    bool
	entered  chan struct{} // the slow handler has started
	release  chan struct{} // lets the slow handler finish
}

func (f *fakeFn) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo/v1/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "你好") })
	mux.HandleFunc("GET /demo/v1/slow", func(w http.ResponseWriter, r *http.Request) {
		close(f.entered)
		<-f.release
		io.WriteString(w, "done")
	})
	mux.HandleFunc("GET /demo/v1/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	return mux
}

func (f *fakeFn) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	f.received.Add(1)
	if httpx.EventID(ctx) != e.ID() {
		return nil, errors.New("event id missing from context")
	}
	if f.reply {
		r := event.New()
		r.SetID("reply-1")
		r.SetSource("/functions/demo")
		r.SetType("cn.gov.sjz.amr.demo.replied.v1")
		return &r, nil
	}
	return nil, f.fail
}

func (f *fakeFn) Ready(context.Context) error { return f.ready }

func postEvent(t *testing.T, h http.Handler, path string, structured bool) *httptest.ResponseRecorder {
	t.Helper()
	return postEventWith(t, h, path, structured, nil)
}

func postEventWith(t *testing.T, h http.Handler, path string, structured bool, authorize func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if structured {
		req = httptest.NewRequest("POST", path, strings.NewReader(
			`{"specversion":"1.0","id":"e-1","source":"/t","type":"cn.gov.sjz.amr.entity.registered.v1","data":{}}`))
		req.Header.Set("Content-Type", "application/cloudevents+json")
	} else {
		req = httptest.NewRequest("POST", path, strings.NewReader(`{}`))
		req.Header.Set("Ce-Specversion", "1.0")
		req.Header.Set("Ce-Id", "e-1")
		req.Header.Set("Ce-Source", "/t")
		req.Header.Set("Ce-Type", "cn.gov.sjz.amr.entity.registered.v1")
		req.Header.Set("Content-Type", "application/json")
	}
	if authorize != nil {
		authorize(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// waitRefused waits until nothing accepts connections at addr.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		if i > 5000 {
			t.Fatal("the listener still accepts 10 s after shutdown began")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestProbesRoutesAndMetrics(t *testing.T) {
	fn := &fakeFn{}
	m := NewMetrics()
	h := Handler("demo", fn, Options{Logger: httpx.NewLogger(io.Discard, "error"), Metrics: m})
	cases := []struct {
		path string
		want int
	}{
		{"/healthz", 200}, {"/demo/healthz", 200}, {"/readyz", 200}, {"/demo/v1/hello", 200}, {"/demo/v1/missing", 404},
		{"/demo/v1/panic", 500},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != c.want {
			t.Errorf("GET %s = %d, want %d", c.path, rec.Code, c.want)
		}
		if rec.Header().Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no request id", c.path)
		}
	}
	fn.ready = errors.New("db down")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/demo/readyz", nil))
	if rec.Code != 503 {
		t.Fatalf("readyz with failing dependency = %d, want 503", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if !strings.Contains(body, `smartreg_http_requests_total{function="demo",method="GET",status="500"} 1`) {
		t.Fatalf("metrics do not count the panic as a 500:\n%s", body)
	}
}

// The public handler never hands an event to Receive, on any path.
func TestPublicHandlerRefusesEvents(t *testing.T) {
	fn := &fakeFn{}
	h := Handler("demo", fn, Options{Logger: httpx.NewLogger(io.Discard, "error")})
	for _, structured := range []bool{false, true} {
		for _, path := range []string{"/", "/demo/", "/demo/v1/hello"} {
			if rec := postEvent(t, h, path, structured); rec.Code < 400 {
				t.Errorf("structured=%v POST %s: status %d, want a refusal", structured, path, rec.Code)
			}
		}
	}
	if n := fn.received.Load(); n != 0 {
		t.Fatalf("the public handler delivered %d events", n)
	}
}

func TestEventsNeedTheSecretAndFollowTheBrokerContract(t *testing.T) {
	fn := &fakeFn{}
	sec := NewSecret()
	h := Events("demo", fn, sec, Options{Logger: httpx.NewLogger(io.Discard, "error"), Metrics: NewMetrics()})
	authed := func(structured bool) *httptest.ResponseRecorder {
		return postEventWith(t, h, "/", structured, sec.Authorize)
	}
	if rec := postEvent(t, h, "/", false); rec.Code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", rec.Code)
	}
	if rec := postEventWith(t, h, "/", true, func(r *http.Request) { r.Header.Set("Authorization", "Bearer guess") }); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", rec.Code)
	}
	if n := fn.received.Load(); n != 0 {
		t.Fatalf("unauthenticated events delivered: %d", n)
	}
	for _, structured := range []bool{false, true} {
		if rec := authed(structured); rec.Code != http.StatusAccepted {
			t.Fatalf("structured=%v: status %d %s", structured, rec.Code, rec.Body)
		}
	}
	if fn.received.Load() != 2 {
		t.Fatalf("received %d events, want 2", fn.received.Load())
	}
	fn.fail = errs.New(errs.Invalid, "坏事件")
	if rec := authed(false); rec.Code != 400 {
		t.Fatalf("invalid event answered %d, want 400 (not retried)", rec.Code)
	}
	fn.fail = errors.New("transient")
	if rec := authed(false); rec.Code != 500 {
		t.Fatalf("failed handling answered %d, want 500 (retried)", rec.Code)
	}
	fn.fail, fn.reply = nil, true
	rec := authed(false)
	if rec.Code != 200 || rec.Header().Get("Ce-Id") != "reply-1" {
		t.Fatalf("reply event not written: %d %v", rec.Code, rec.Header())
	}
}

func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	fn := &fakeFn{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeListener(ctx, ln, Handler("demo", fn, Options{Logger: httpx.NewLogger(io.Discard, "error")}), 5*time.Second, httpx.NewLogger(io.Discard, "error"))
	}()
	fn.entered, fn.release = make(chan struct{}), make(chan struct{})
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/demo/v1/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-fn.entered // the request is in flight
	cancel()
	// The server stops accepting while the request still runs; only then
	// may the handler finish.
	waitRefused(t, ln.Addr().String())
	close(fn.release)
	cancel()
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request got %q, want it drained to completion", body)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("server still accepts after shutdown")
	}
}
