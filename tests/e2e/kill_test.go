package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// uriSubscriber is a subscriber outside the platform process, reached by
// URI: it survives the platform being killed and counts what it accepted.
type uriSubscriber struct {
	mu       sync.Mutex
	failing  bool
	attempts int
	accepted map[string]int // event id → accepted deliveries
	subjects map[string]string
}

func (s *uriSubscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.failing {
		http.Error(w, "down for maintenance", 503)
		return
	}
	s.accepted[e.ID()]++
	s.subjects[e.Subject()] = e.ID()
	w.WriteHeader(http.StatusAccepted)
}

func (s *uriSubscriber) get() (attempts int, subjects map[string]string, accepted map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, acc := map[string]string{}, map[string]int{}
	for k, v := range s.subjects {
		sub[k] = v
	}
	for k, v := range s.accepted {
		acc[k] = v
	}
	return s.attempts, sub, acc
}

// binary builds the platform command once per test.
func binary(t *testing.T) string {
	t.Helper()
	root, _ := filepath.Abs("../..")
	bin := filepath.Join(t.TempDir(), "smartreg")
	cmd := exec.Command("go", "build", "-o", bin, "./infra/local/cmd/smartreg")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build smartreg: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serveProcess starts `smartreg serve` and waits until it answers.
func serveProcess(t *testing.T, bin, db, manifests string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+storetest.URLFor(db), "REDIS_URL="+redisURL(),
		"BLOB_URL=file:"+t.TempDir(), fmt.Sprintf("PORT=%d", port), "EXTRA_MANIFESTS_DIR="+manifests, "LOG_LEVEL=warn",
		"IDENTITY_DATA_DIR="+dataDirFor(db))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("smartreg output:\n%s", out.String())
		}
	})
	testwait.For(t, "the platform to answer", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/registry/readyz", port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return cmd
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestSIGKILLLosesNoEvent kills the real process twice: once right after
// the entity's transaction committed (before or during the hand-over to
// the broker), once while a delivery is waiting to be retried. After each
// restart every event reaches the subscriber.
func TestSIGKILLLosesNoEvent(t *testing.T) {
	sub := &uriSubscriber{failing: true, accepted: map[string]int{}, subjects: map[string]string{}}
	srv := httptest.NewServer(sub)
	defer srv.Close()
	dir := t.TempDir()
	trigger := fmt.Sprintf(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: webhook-on-registered, namespace: smartreg}
spec:
  broker: default
  filter: {attributes: {type: %s}}
  subscriber: {uri: %s}
  delivery: {retry: 50, backoffPolicy: linear, backoffDelay: PT0.1S}
`, events.EntityRegistered, srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "webhook.yaml"), []byte(trigger), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, db, port := binary(t), storetest.NewDatabase(t), freePort(t)
	idDir := dataDirFor(db)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	// Life 1: commit, then SIGKILL at once.
	p := serveProcess(t, bin, db, dir, port)
	first := createEntity(t, base, adminToken(t, base, idDir), 11)
	kill9(t, p)

	// Life 2: the first event must still be on its way; the subscriber
	// fails, and a second entity's delivery is waiting for a retry when the
	// process is killed again.
	p = serveProcess(t, bin, db, dir, port)
	second := createEntity(t, base, adminToken(t, base, idDir), 12)
	testwait.For(t, "failed attempts for both events", func() bool { n, _, _ := sub.get(); return n >= 2 })
	kill9(t, p)

	// Life 3: the subscriber is back; both events arrive.
	sub.mu.Lock()
	sub.failing = false
	sub.mu.Unlock()
	serveProcess(t, bin, db, dir, port)
	testwait.For(t, "both events delivered", func() bool {
		_, subjects, _ := sub.get()
		return subjects[first] != "" && subjects[second] != ""
	})
	_, subjects, accepted := sub.get()
	for _, code := range []string{first, second} {
		if accepted[subjects[code]] < 1 {
			t.Fatalf("event for %s not accepted: %v", code, accepted)
		}
	}
}
