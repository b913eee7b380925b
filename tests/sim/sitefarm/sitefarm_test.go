package sitefarm

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, f *Farm, host, path string) *http.Response {
	t.Helper()
	r := httptest.NewRequest("GET", "http://"+host+path, nil)
	w := httptest.NewRecorder()
	f.ServeHTTP(w, r)
	return w.Result()
}

func TestFarm(t *testing.T) {
	f := New(10, 50*time.Millisecond)
	b, _ := io.ReadAll(get(t, f, ShopHost(3), "/robots.txt").Body)
	if !strings.Contains(string(b), "Crawl-delay: 0.05") || !strings.Contains(string(b), "Disallow: /private/") {
		t.Fatalf("robots.txt = %q", b)
	}
	b, _ = io.ReadAll(get(t, f, ShopHost(3)+":8080", "/").Body)
	if !strings.Contains(string(b), CreditCode(3)) || !strings.Contains(string(b), ShopName(3)) {
		t.Fatalf("index = %q", b)
	}
	if r := get(t, f, ShopHost(10), "/"); r.StatusCode != 404 {
		t.Fatalf("unknown shop: %d", r.StatusCode)
	}
	if r := get(t, f, HostFlaky, "/"); r.StatusCode != 503 {
		t.Fatalf("flaky first: %d", r.StatusCode)
	}
	get(t, f, HostFlaky, "/")
	if r := get(t, f, HostFlaky, "/"); r.StatusCode != 200 {
		t.Fatalf("flaky third: %d", r.StatusCode)
	}
	if r := get(t, f, HostLoop, "/r/4"); r.StatusCode != 302 || r.Header.Get("Location") != "/r/5" {
		t.Fatalf("loop: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if f.Hits("http://"+ShopHost(3)+"/") != 1 {
		t.Fatalf("hits = %v", f.AllHits())
	}
	// Three quick requests to the flaky host break its Crawl-delay; so does the private path.
	get(t, f, ShopHost(4), "/private/admin")
	v := f.Violations(0)
	if len(v) < 3 || !strings.Contains(strings.Join(v, "\n"), "disallowed path fetched") {
		t.Fatalf("violations = %v", v)
	}
}

func TestCreditCode(t *testing.T) {
	// GB 32100's example-shaped code: a check character from the alphabet, 18 characters.
	for i := 0; i < 50; i++ {
		c := CreditCode(i)
		if len(c) != 18 || creditCheck(c[:17]) != c[17] {
			t.Fatalf("code %d = %s", i, c)
		}
	}
}
