package broker

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/infra/knative/manifest"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
)

const testManifests = `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: smartreg}
spec:
  delivery: {retry: 2, backoffPolicy: exponential, backoffDelay: PT0.05S}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: flaky-on-registered, namespace: smartreg}
spec:
  broker: default
  filter: {attributes: {type: cn.gov.sjz.amr.entity.registered.v1}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: flaky}}
  delivery: {retry: 4, backoffPolicy: exponential, backoffDelay: PT0.02S}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: broken-on-updated, namespace: smartreg}
spec:
  broker: default
  filter: {attributes: {type: cn.gov.sjz.amr.entity.updated.v1, source: /functions/registry}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: broken}}
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: nightly, namespace: smartreg}
spec:
  schedule: "30 2 * * *"
  timezone: Asia/Shanghai
  contentType: application/json
  data: '{"task":"refresh"}'
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: nightly-to-flaky, namespace: smartreg}
spec:
  broker: default
  filter: {attributes: {type: dev.knative.sources.ping, source: /apis/v1/namespaces/smartreg/pingsources/nightly}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: flaky}}
`

// subscriber fails its first failures calls with status, then accepts.
type subscriber struct {
	mu       sync.Mutex
	failures int
	status   int
	calls    int
	got      []string // event ids accepted
	types    []string
}

func (s *subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls <= s.failures {
		w.WriteHeader(s.status)
		return
	}
	s.got = append(s.got, e.ID())
	s.types = append(s.types, e.Type())
	w.WriteHeader(http.StatusAccepted)
}

func (s *subscriber) snapshot() (calls int, got []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([]string(nil), s.got...)
}

func setup(t *testing.T, subs map[string]http.Handler) (*Broker, *pgxpool.Pool) {
	t.Helper()
	pool := storetest.New(t, Migration())
	ctx := context.Background()
	if err := MigrateRiver(ctx, pool); err != nil {
		t.Fatal(err)
	}
	set, err := manifest.Load(fstest.MapFS{"all.yaml": {Data: []byte(testManifests)}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Pool: pool, Manifests: set, Subscribers: subs, Logger: httpx.NewLogger(io.Discard, "error"),
		PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop(context.Background()) })
	return b, pool
}

func newEvent(t *testing.T, typ string) event.Event {
	e := event.New()
	e.SetID(typ + "-" + time.Now().Format("150405.000000000"))
	e.SetType(typ)
	e.SetSource("/functions/registry")
	if err := e.SetData(event.ApplicationJSON, map[string]string{"credit_code": "91350100M000100Y43"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRetriesThenDelivers(t *testing.T) {
	flaky := &subscriber{failures: 3, status: http.StatusInternalServerError}
	b, _ := setup(t, map[string]http.Handler{"flaky": flaky, "broken": &subscriber{}})
	e := newEvent(t, events.EntityRegistered)
	if err := b.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "delivery after three failures", func() bool { _, got := flaky.snapshot(); return len(got) == 1 })
	calls, got := flaky.snapshot()
	if calls != 4 || got[0] != e.ID() {
		t.Fatalf("calls=%d got=%v; want 4 calls and event %s", calls, got, e.ID())
	}
	if _, retried, dead := b.Stats(); retried != 3 || dead != 0 {
		t.Fatalf("retried=%d dead=%d, want 3 and 0", retried, dead)
	}
}

func TestAlwaysFailingEndsInDeadLettersAndReplays(t *testing.T) {
	broken := &subscriber{failures: 1 << 30, status: http.StatusServiceUnavailable}
	b, pool := setup(t, map[string]http.Handler{"flaky": &subscriber{}, "broken": broken})
	ctx := context.Background()
	e := newEvent(t, events.EntityUpdated)
	if err := b.Publish(ctx, e); err != nil {
		t.Fatal(err)
	}
	var dl []DeadLetter
	testwait.For(t, "dead letter", func() bool {
		dl, _ = DeadLetters(ctx, pool, true, 10)
		return len(dl) == 1
	})
	// broker default: retry 2 → three attempts in all
	if calls, _ := broken.snapshot(); calls != 3 || dl[0].Attempts != 3 || dl[0].EventID != e.ID() || dl[0].LastStatus != 503 {
		t.Fatalf("calls=%d dead letter=%+v", calls, dl[0])
	}
	broken.mu.Lock()
	broken.failures = 0
	broken.mu.Unlock()
	if err := b.Replay(ctx, dl[0].ID); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "replayed delivery", func() bool { _, got := broken.snapshot(); return len(got) == 1 })
	if pending, _ := DeadLetters(ctx, pool, true, 10); len(pending) != 0 {
		t.Fatalf("replayed dead letter still pending: %+v", pending)
	}
}

func TestPermanentRefusalIsNotRetried(t *testing.T) {
	broken := &subscriber{failures: 1 << 30, status: http.StatusBadRequest}
	b, pool := setup(t, map[string]http.Handler{"flaky": &subscriber{}, "broken": broken})
	if err := b.Publish(context.Background(), newEvent(t, events.EntityUpdated)); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "dead letter", func() bool {
		dl, _ := DeadLetters(context.Background(), pool, true, 10)
		return len(dl) == 1
	})
	if calls, _ := broken.snapshot(); calls != 1 {
		t.Fatalf("a 400 was retried: %d calls", calls)
	}
}

func TestFiltersAreExact(t *testing.T) {
	flaky, broken := &subscriber{}, &subscriber{}
	b, pool := setup(t, map[string]http.Handler{"flaky": flaky, "broken": broken})
	ctx := context.Background()
	other := newEvent(t, events.EntityUpdated)
	other.SetSource("/functions/elsewhere") // broken-on-updated also filters on source
	for _, e := range []event.Event{newEvent(t, events.EntityRegistered), other, newEvent(t, events.EntityDeregistered)} {
		if err := b.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Routing is decided when an event is published: one delivery job per
	// matching Trigger, in the publishing transaction. So the proof that
	// the source-filtered Trigger gets nothing is that no job was queued
	// for it, not a wait that might end too soon.
	var queued int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE args->>'trigger' = 'broken-on-updated'`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 0 {
		t.Fatalf("an event from another source was queued for a source-filtered trigger (%d jobs)", queued)
	}
	testwait.For(t, "registered delivery", func() bool { _, got := flaky.snapshot(); return len(got) == 1 })
	if calls, _ := broken.snapshot(); calls != 0 {
		t.Fatalf("an event from another source reached a source-filtered trigger (%d calls)", calls)
	}
	if calls, _ := flaky.snapshot(); calls != 1 {
		t.Fatalf("flaky called %d times, want 1", calls)
	}
}

func TestPingSourceFiresThroughBroker(t *testing.T) {
	flaky := &subscriber{}
	b, _ := setup(t, map[string]http.Handler{"flaky": flaky, "broken": &subscriber{}})
	if err := b.FireNow(context.Background(), "nightly", "ping-test-1"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "ping delivery", func() bool { _, got := flaky.snapshot(); return len(got) == 1 })
	if _, got := flaky.snapshot(); got[0] != "ping-test-1" {
		t.Fatalf("got %v", got)
	}
}

func TestUnknownSubscriberIsAStartupError(t *testing.T) {
	pool := storetest.New(t, Migration())
	set, _ := manifest.Load(fstest.MapFS{"all.yaml": {Data: []byte(testManifests)}})
	_, err := New(Config{Pool: pool, Manifests: set, Subscribers: map[string]http.Handler{"flaky": &subscriber{}},
		Logger: httpx.NewLogger(io.Discard, "error")})
	if err == nil {
		t.Fatal("a trigger naming a missing function was accepted")
	}
}
