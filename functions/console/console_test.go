package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/shared/conformance"
	"github.com/sjzamr/smartreg/shared/runtime"
)

var _ runtime.Function = (*Function)(nil)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func built() fs.FS {
	return fstest.MapFS{
		"index.html":             {Data: []byte(`<!doctype html><html><head><script type="module" src="/console/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>`)},
		"assets/index-abc123.js": {Data: []byte(strings.Repeat("console.log('石家庄');\n", 200))},
		"assets/logo-x1.png":     {Data: []byte("\x89PNG\r\n\x1a\nnot really")},
	}
}

func TestNewRequiresLogger(t *testing.T) {
	if _, err := New(Deps{}, Config{}); err == nil || !strings.Contains(err.Error(), "Logger") {
		t.Fatalf("New without Logger: err = %v, want Logger is required", err)
	}
}

func TestNewRequiresIndex(t *testing.T) {
	_, err := New(Deps{Logger: quiet(), Assets: fstest.MapFS{"assets/a.js": {Data: []byte("x")}}}, Config{})
	if err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Fatalf("err = %v, want missing index.html", err)
	}
}

// The embedded build is whichever exists: the real dist after
// `task console:build`, else the committed placeholder — either way New works.
func TestEmbeddedBuildServes(t *testing.T) {
	f := started(t, Deps{Logger: quiet()})
	rec := get(t, f, "/console/", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<html") {
		t.Fatalf("GET /console/ = %d %q", rec.Code, rec.Body.String())
	}
	if f.Placeholder() != !strings.Contains(rec.Body.String(), "/console/assets/") {
		t.Fatalf("Placeholder() = %v but index.html references assets: %v", f.Placeholder(), !f.Placeholder())
	}
}

func get(t *testing.T, f *Function, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.Handler().ServeHTTP(rec, req)
	return rec
}

func TestServing(t *testing.T) {
	f := started(t, Deps{Logger: quiet(), Assets: built()})
	cases := []struct {
		name, path   string
		status       int
		ctype, cache string
		body         string
	}{
		{"index-200", "/console/", 200, "text/html", "no-cache", `<div id="app">`},
		{"index-explicit-200", "/console/index.html", 200, "text/html", "no-cache", `<div id="app">`},
		{"spa-fallback-200", "/console/system/users", 200, "text/html", "no-cache", `<div id="app">`},
		{"asset-200", "/console/assets/index-abc123.js", 200, "javascript", "immutable", "石家庄"},
		{"png-200", "/console/assets/logo-x1.png", 200, "image/png", "max-age=31536000", "PNG"},
		{"missing-asset-404", "/console/assets/index-old.js", 404, "", "", ""},
		{"missing-file-404", "/console/robots.txt", 404, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := get(t, f, c.path, nil)
			if rec.Code != c.status {
				t.Fatalf("status = %d, want %d", rec.Code, c.status)
			}
			if c.status != 200 {
				return
			}
			if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, c.ctype) {
				t.Errorf("Content-Type = %q, want %q", ct, c.ctype)
			}
			if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, c.cache) {
				t.Errorf("Cache-Control = %q, want %q", cc, c.cache)
			}
			if !strings.Contains(rec.Body.String(), c.body) {
				t.Errorf("body lacks %q", c.body)
			}
		})
	}
}

func TestRedirectAndSecurityHeaders(t *testing.T) {
	f := started(t, Deps{Logger: quiet(), Assets: built()})
	rec := get(t, f, "/console", nil)
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/console/" {
		t.Fatalf("GET /console = %d → %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = get(t, f, "/console/", nil)
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatalf("index.html security headers: CSP %q, XFO %q", csp, rec.Header().Get("X-Frame-Options"))
	}
}

func TestGzipAndETag(t *testing.T) {
	f := started(t, Deps{Logger: quiet(), Assets: built()})
	rec := get(t, f, "/console/assets/index-abc123.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", rec.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !strings.HasPrefix(string(plain), "console.log('石家庄')") {
		t.Fatalf("gunzipped body = %.40q", plain)
	}
	if rec.Body.Len() >= len(plain) {
		t.Fatalf("gzip %d bytes not smaller than %d", rec.Body.Len(), len(plain))
	}
	// A client refusing gzip gets the plain bytes.
	rec = get(t, f, "/console/assets/index-abc123.js", map[string]string{"Accept-Encoding": "gzip;q=0"})
	if rec.Header().Get("Content-Encoding") != "" || rec.Body.Len() != len(plain) {
		t.Fatalf("gzip;q=0: encoding %q, %d bytes", rec.Header().Get("Content-Encoding"), rec.Body.Len())
	}
	etag := rec.Header().Get("ETag")
	rec = get(t, f, "/console/assets/index-abc123.js", map[string]string{"If-None-Match": etag})
	if etag == "" || rec.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match %q: status %d, want 304", etag, rec.Code)
	}
}

func TestReceiveIgnoresEvents(t *testing.T) {
	f := started(t, Deps{Logger: quiet(), Assets: built()})
	e := event.New()
	e.SetType("cn.gov.sjz.amr.entity.registered.v1")
	reply, err := f.Receive(context.Background(), e)
	if reply != nil || err != nil {
		t.Fatalf("Receive = %v, %v; want nil, nil", reply, err)
	}
	if err := f.Ready(context.Background()); err != nil {
		t.Fatalf("Ready = %v", err)
	}
}

// Through the shared runtime, as the platform mounts it: probes and pages.
func TestUnderRuntime(t *testing.T) {
	f := started(t, Deps{Logger: quiet(), Assets: built()})
	h := runtime.Handler(Name, f, runtime.Options{Logger: quiet()})
	for path, want := range map[string]int{"/console/healthz": 200, "/console/readyz": 200, "/console/": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, want)
		}
	}
}

// started is a console after New and Start, as the runtime runs it.
func started(t *testing.T, d Deps) *Function {
	t.Helper()
	f, err := New(d, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// Before Start the console answers 503, never a half-loaded app.
func TestServesOnlyAfterStart(t *testing.T) {
	f, err := New(Deps{Logger: quiet(), Assets: built()}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(t, f, "/console/", nil); rec.Code != 503 {
		t.Fatalf("before Start: %d", rec.Code)
	}
}

func TestConformance(t *testing.T) {
	f := started(t, Deps{Logger: quiet(), Assets: built()})
	conformance.Events(t, Name, f)
	conformance.Routes(t, f.Handler())
}

func TestServesTheIcon(t *testing.T) {
	f := started(t, Deps{Logger: quiet(), Assets: built()})
	if rec := get(t, f, "/console/favicon.ico", nil); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/x-icon" {
		t.Fatalf("favicon: %d %v", rec.Code, rec.Header())
	}
}
