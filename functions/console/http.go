package console

import (
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/favicon"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// Handler serves the SPA under /console/.
// The pages are public (they hold no data; the APIs they call check the
// caller), and take any query string (the app routes by hash).
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Handle("GET /console", http.RedirectHandler(Prefix, http.StatusMovedPermanently), httpx.Public(), httpx.AnyParams())
	m.HandleFunc("GET /console/{path...}", f.serve, httpx.Public(), httpx.AnyParams())
	m.HandleFunc("HEAD /console/{path...}", f.serve, httpx.Public(), httpx.AnyParams())
	return m
}

func (f *Function) serve(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("path") == "favicon.ico" { // the platform's icon, not the build's
		favicon.Handler().ServeHTTP(w, r)
		return
	}
	files := f.files.Load()
	if files == nil {
		httpx.Fail(w, r, errs.New(errs.Unavailable, "控制台正在启动，请稍后刷新"))
		return
	}
	f.serveFile(w, r, *files)
}

func (f *Function) serveFile(w http.ResponseWriter, r *http.Request, files map[string]*asset) {
	p := r.PathValue("path")
	a, ok := files[p]
	if !ok || p == "" {
		// Routing is by hash, but any page path still lands on the app; a
		// missing hashed asset is a real 404 (an old index.html cached by a
		// proxy must not receive HTML as JavaScript).
		if strings.HasPrefix(p, "assets/") || path.Ext(p) != "" && p != "index.html" {
			http.NotFound(w, r)
			return
		}
		a = files["index.html"]
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if a.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// index.html names the current hashed assets: always revalidate, so
		// an upgrade reaches every browser on its next load.
		h.Set("Cache-Control", "no-cache")
	}
	if strings.HasPrefix(a.ctype, "text/html") {
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		// Element Plus sets inline styles; scripts come only from this origin.
		h.Set("Content-Security-Policy", f.csp)
	}
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		_, q, found := strings.Cut(strings.ReplaceAll(params, " ", ""), "q=")
		if !found {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}
