package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func testMux() *Mux {
	m := NewMux()
	m.HandleFunc("GET /q/{token}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("page " + r.PathValue("token")))
	}, Public(), AnyParams())
	m.HandleFunc("POST /v1/things", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }, Public())
	return m
}

// A routed request reaches its handler with its path values; what no route
// serves is answered in the JSON error shape: 405 with Allow for a known
// path, 404 otherwise.
func TestMuxRoutesAndRefusesInJSON(t *testing.T) {
	m := testMux()
	for _, c := range []struct {
		method, path string
		code         int
		body, allow  string
	}{
		{"GET", "/q/abc", 200, "page abc", ""},
		{"GET", "/q/abc?utm_source=wx", 200, "page abc", ""},
		{"POST", "/v1/things", 201, "", ""},
		{"DELETE", "/q/abc", 405, `"code":"invalid"`, "GET, HEAD"},
		{"GET", "/v1/things", 405, "不支持该请求方法", "POST"},
		{"GET", "/nothing/here", 404, `"code":"not_found"`, ""},
		{"GET", "/q/a/b", 404, "请求的地址不存在", ""},
	} {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.body) || rec.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %d %q (Allow %q), want %d with %q (Allow %q)", c.method, c.path, rec.Code, rec.Body, rec.Header().Get("Allow"), c.code, c.body, c.allow)
		}
	}
	if _, p := m.Handler(httptest.NewRequest("GET", "/nothing", nil)); p != "" {
		t.Errorf("Handler reports pattern %q for an unrouted path, want none", p)
	}
	if _, p := m.Handler(httptest.NewRequest("GET", "/q/x", nil)); p != "GET /q/{token}" {
		t.Errorf("Handler reports pattern %q, want GET /q/{token}", p)
	}
}

// A function may serve "/" itself: its route then answers what no other
// does.
func TestMuxWithARootRoute(t *testing.T) {
	m := NewMux()
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }, Public())
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/anything", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("the function's own / answered %d", rec.Code)
	}
}

type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header             { return w.h }
func (nopWriter) Write(b []byte) (int, error)       { return len(b), nil }
func (nopWriter) WriteHeader(int)                   {}
func (nopWriter) WriteString(s string) (int, error) { return len(s), nil }

// The Mux routes once: a routed request allocates no more than the
// ServeMux alone does for it (the public page's hot path counts them).
func TestMuxAddsNoAllocations(t *testing.T) {
	h := func(w http.ResponseWriter, r *http.Request) { _ = r.PathValue("token") }
	sm := http.NewServeMux()
	sm.HandleFunc("GET /q/{token}", h)
	m := NewMux()
	m.HandleFunc("GET /q/{token}", h, Public(), AnyParams())
	m.Use(func(next http.Handler) http.Handler { return next })
	req := httptest.NewRequest("GET", "/q/AAAAAAAAAAAAAAAA", nil)
	w := nopWriter{h: http.Header{}}
	base := testing.AllocsPerRun(200, func() { sm.ServeHTTP(w, req) })
	got := testing.AllocsPerRun(200, func() { m.ServeHTTP(w, req) })
	if got > base {
		t.Errorf("a routed request allocates %.0f times through the Mux, %.0f through the ServeMux alone", got, base)
	}
}
