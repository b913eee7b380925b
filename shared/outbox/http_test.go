package outbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Under Knative with OIDC the Broker refuses events without the
// SinkBinding's token; the publisher sends the token file's current
// content with each event, and nothing when there is no file.
func TestHTTPPublisherSendsTheSinkBindingToken(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "token")
	pub, err := NewHTTPPublisher(srv.URL, file)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEvent("/functions/test", "cn.gov.sjz.amr.test.happened.v1", "", map[string]string{"a": "b"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := pub.Publish(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"first-token", "rotated-token"} {
		if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0] != "" || got[1] != "Bearer first-token" || got[2] != "Bearer rotated-token" {
		t.Fatalf("Authorization headers %q", got)
	}
}
