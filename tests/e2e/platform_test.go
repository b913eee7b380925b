// Package e2e drives the one-process platform as a whole: real PostgreSQL,
// Redis and the local broker routing by Trigger manifests.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/infra/knative/manifest"
	"github.com/sjzamr/smartreg/infra/local/broker"
	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// testTrigger routes entity.registered to the test subscriber, as a
// consumer function's Trigger would.
const testTrigger = `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: test-on-registered, namespace: smartreg}
spec:
  broker: default
  filter: {attributes: {type: cn.gov.sjz.amr.entity.registered.v1, source: /functions/registry}}
  subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: test-subscriber}}
  delivery: {retry: 3, backoffPolicy: exponential, backoffDelay: PT0.05S}
`

// subscriber behaves like a consumer function: it dedupes on event id
// through platform.inbox and counts the effects it applied.
type subscriber struct {
	pool     *pgxpool.Pool
	mu       sync.Mutex
	failNext int  // answer 500 this many more times
	failAll  bool // answer 500 always
	calls    int
	effects  map[string]int // credit code → times the effect was applied
}

func newSubscriber() *subscriber { return &subscriber{effects: map[string]int{}} }

func (s *subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.mu.Lock()
	s.calls++
	fail := s.failAll || s.failNext > 0
	if s.failNext > 0 {
		s.failNext--
	}
	s.mu.Unlock()
	if fail {
		http.Error(w, "temporarily broken", 500)
		return
	}
	var data events.EntityRegisteredData
	if err := e.DataAs(&data); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	_, err = outbox.Once(r.Context(), s.pool, "test-subscriber", *e, func(pgx.Tx) error {
		s.mu.Lock()
		s.effects[data.Entity.CreditCode]++
		s.mu.Unlock()
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *subscriber) state() (calls int, effects map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.effects {
		out[k] = v
	}
	return s.calls, out
}

func (s *subscriber) set(fn func(*subscriber)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

type running struct {
	p    *platform.Platform
	url  string
	db   string
	stop func()
}

// token is the administrator's access token on this platform.
func (r *running) token(t *testing.T) string { return adminToken(t, r.url, dataDirFor(r.db)) }

// start builds and runs a platform on a random port against database db.
func start(t *testing.T, db string, sub *subscriber, opts platform.Options) *running {
	t.Helper()
	return startWith(t, db, sub, opts, setup{})
}

// setup adjusts a platform before it runs: its configuration before
// Build, the built platform before Run (a test's shorter backoff).
type setup struct {
	config func(*platform.Config)
	built  func(*platform.Platform)
}

// startWith is start with a setup.
func startWith(t *testing.T, db string, sub *subscriber, opts platform.Options, s setup) *running {
	t.Helper()
	set, err := manifest.Load(fstest.MapFS{"t.yaml": {Data: []byte(testTrigger)}})
	if err != nil {
		t.Fatal(err)
	}
	opts.ExtraManifests = set
	if opts.ExtraSubscribers == nil {
		opts.ExtraSubscribers = map[string]http.Handler{}
	}
	opts.ExtraSubscribers["test-subscriber"] = sub
	opts.PollInterval = 20 * time.Millisecond
	var cfg platform.Config
	if err := config.Load(&cfg, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.RedisURL, cfg.BlobURL = storetest.URLFor(db), redisURL(), "file://"+t.TempDir()
	cfg.DBMaxConns, cfg.DrainTimeout = 10, 5*time.Second
	cfg.Identity.DataDir = dataDirFor(db)
	if s.config != nil {
		s.config(&cfg)
	}
	log := httpx.NewLogger(io.Discard, "error")
	ctx, cancel := context.WithCancel(context.Background())
	p, err := platform.Build(ctx, cfg, log, opts)
	if err != nil {
		cancel()
		t.Fatalf("build platform: %v", err)
	}
	if s.built != nil {
		s.built(p)
	}
	if sub.pool == nil {
		sub.pool = p.Pool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, ln, 5*time.Second) }()
	var once sync.Once
	r := &running{p: p, url: "http://" + ln.Addr().String(), db: db, stop: func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("platform run: %v", err)
			}
			p.Close()
		})
	}}
	t.Cleanup(r.stop)
	waitServing(t, r.url)
	return r
}

// waitServing waits until the platform answers: Run starts every function
// (identity bootstraps the first administrators then) before it serves.
func waitServing(t *testing.T, base string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	testwait.For(t, "the platform to serve", func() bool {
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func redisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

func createEntity(t *testing.T, base, token string, n int) string {
	t.Helper()
	code, err := codes.MakeCreditCode("91", "130102", fmt.Sprintf("MB%06d", n))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"credit_code": code, "name": fmt.Sprintf("石家庄市测试商贸第%d有限公司", n),
		"entity_type": "enterprise", "legal_rep": "李四", "established_on": "2020-01-02", "registered_capital": "100",
		"address": "石家庄市长安区中山东路1号", "district_code": "130102", "industry_code": "5191"})
	req, _ := http.NewRequest(http.MethodPost, base+"/registry/v1/entities", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 201 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("create entity: %d %s", resp.StatusCode, b)
	}
	return code
}

func TestRegisteredEventReachesTriggerSubscriberOnce(t *testing.T) {
	db := storetest.NewDatabase(t)
	sub := newSubscriber()
	r := start(t, db, sub, platform.Options{})
	code := createEntity(t, r.url, r.token(t), 1)
	testwait.For(t, "delivery", func() bool { _, eff := sub.state(); return eff[code] == 1 })
	// Redelivery (at-least-once) must not apply the effect twice: hand the
	// same outbox event to the broker again.
	var raw []byte
	if err := r.p.Pool.QueryRow(context.Background(), `SELECT event FROM platform.outbox WHERE subject = $1`, code).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var e event.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Broker.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "redelivery", func() bool { calls, _ := sub.state(); return calls == 2 })
	if _, eff := sub.state(); eff[code] != 1 {
		t.Fatalf("effect applied %d times, want exactly once", eff[code])
	}
	// The platform answers its documented probes.
	for _, path := range []string{"/registry/healthz", "/registry/readyz", "/readyz", "/registry/v1/entities?name=测试商贸",
		"/console/", "/qr-generate/readyz", "/scan-resolve/readyz", "/identity/readyz"} {
		req, _ := http.NewRequest(http.MethodGet, r.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+r.token(t))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
}

func TestFailsThreeTimesThenDelivers(t *testing.T) {
	db := storetest.NewDatabase(t)
	sub := newSubscriber()
	sub.failNext = 3
	r := start(t, db, sub, platform.Options{})
	code := createEntity(t, r.url, r.token(t), 2)
	testwait.For(t, "delivery after retries", func() bool { _, eff := sub.state(); return eff[code] == 1 })
	if calls, _ := sub.state(); calls != 4 {
		t.Fatalf("calls = %d, want 3 failures + 1 success", calls)
	}
}

func TestAlwaysFailingGoesToDeadLettersAndReplayCommandDelivers(t *testing.T) {
	db := storetest.NewDatabase(t)
	sub := newSubscriber()
	sub.failAll = true
	r := start(t, db, sub, platform.Options{})
	code := createEntity(t, r.url, r.token(t), 3)
	var dl []broker.DeadLetter
	testwait.For(t, "dead letter", func() bool {
		dl, _ = broker.DeadLetters(context.Background(), r.p.Pool, true, 10)
		return len(dl) == 1
	})
	if dl[0].Trigger != "test-on-registered" || dl[0].Attempts != 4 || dl[0].EventType != events.EntityRegistered {
		t.Fatalf("dead letter = %+v", dl[0])
	}
	sub.set(func(s *subscriber) { s.failAll = false })
	out, err := smartreg(t, db, "dlq", "replay", fmt.Sprint(dl[0].ID))
	if err != nil {
		t.Fatalf("replay command: %v\n%s", err, out)
	}
	testwait.For(t, "replayed delivery", func() bool { _, eff := sub.state(); return eff[code] == 1 })
	if out, _ := smartreg(t, db, "dlq", "list"); !strings.Contains(out, "没有待处理的死信") {
		t.Fatalf("dlq list after replay: %s", out)
	}
}

// smartreg runs the operator command against database db.
func smartreg(t *testing.T, db string, args ...string) (string, error) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"run", "./infra/local/cmd/smartreg"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DATABASE_URL="+storetest.URLFor(db), "REDIS_URL="+redisURL(),
		"BLOB_URL=file://"+t.TempDir(), "LOG_LEVEL=error")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCommittedButUndeliveredEventSurvivesRestart(t *testing.T) {
	db := storetest.NewDatabase(t)
	sub := newSubscriber()
	// First life: the entity commits with its outbox row, then the process
	// dies before the relay hands the event over.
	first := start(t, db, sub, platform.Options{DisableRelay: true})
	code := createEntity(t, first.url, first.token(t), 4)
	first.stop()
	if _, eff := sub.state(); eff[code] != 0 {
		t.Fatal("delivered before the restart; the test staged nothing")
	}
	sub.pool = nil
	second := start(t, db, sub, platform.Options{})
	testwait.For(t, "delivery after restart", func() bool { _, eff := sub.state(); return eff[code] == 1 })
	second.stop()
}

func TestKilledMidRetryDeliversAfterRestart(t *testing.T) {
	db := storetest.NewDatabase(t)
	sub := newSubscriber()
	sub.failAll = true
	first := start(t, db, sub, platform.Options{})
	code := createEntity(t, first.url, first.token(t), 5)
	testwait.For(t, "a failed attempt", func() bool { calls, _ := sub.state(); return calls >= 1 })
	first.stop() // the delivery is queued for retry when the process goes away
	sub.set(func(s *subscriber) { s.failAll = false; s.failNext = 0 })
	sub.pool = nil
	start(t, db, sub, platform.Options{})
	testwait.For(t, "delivery after restart", func() bool { _, eff := sub.state(); return eff[code] == 1 })
}
