// Package console serves the admin console (管理控制台): a Vue single-page
// application built by Vite into web/dist and embedded in the binary, served
// under /console/. It has no API of its own: the pages call the other
// functions' published HTTP APIs (identity, registry, qr, scan) same-origin,
// authenticated by identity's HttpOnly cookie.
package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "console"

// Prefix is where the console is served.
const Prefix = "/console/"

// The pattern "web/dist*" always matches web/dist-placeholder (committed), so
// `go build` works on a clean clone before npm has run; once
// `task console:build` has produced web/dist it is embedded too and wins.
//
//go:embed all:web/dist*
var embedded embed.FS

// Deps is what the console needs.
type Deps struct {
	Logger *slog.Logger
	// Assets overrides the embedded build (tests); nil means embedded.
	Assets fs.FS
}

// Function serves the console.
type Function struct {
	log         *slog.Logger
	files       map[string]*asset
	placeholder bool
}

type asset struct {
	body, gz    []byte
	ctype, etag string
	immutable   bool
}

// New loads the console's files into memory (a few MB), precompressing the
// text ones so a phone on 4G gets gzip without per-request work.
func New(d Deps) (*Function, error) {
	if d.Logger == nil {
		return nil, errors.New("console: Logger is required")
	}
	root, placeholder, err := pick(d.Assets)
	if err != nil {
		return nil, err
	}
	f := &Function{log: d.Logger, files: map[string]*asset{}, placeholder: placeholder}
	err = fs.WalkDir(root, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		f.files[p] = load(p, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if f.files["index.html"] == nil {
		return nil, errors.New("console: the build has no index.html")
	}
	if placeholder {
		d.Logger.Warn("console: web/dist was not built; serving the placeholder page (run task console:build)")
	}
	return f, nil
}

// pick chooses the real build when present, else the placeholder.
func pick(override fs.FS) (fs.FS, bool, error) {
	if override != nil {
		return override, false, nil
	}
	if dist, err := fs.Sub(embedded, "web/dist"); err == nil {
		if _, err := fs.Stat(dist, "index.html"); err == nil {
			return dist, false, nil
		}
	}
	ph, err := fs.Sub(embedded, "web/dist-placeholder")
	return ph, true, err
}

func load(p string, b []byte) *asset {
	sum := sha256.Sum256(b)
	a := &asset{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
		// Vite puts content-hashed files under assets/: their name changes with
		// their content, so browsers may keep them for a year.
		immutable: strings.HasPrefix(p, "assets/")}
	a.ctype = mime.TypeByExtension(path.Ext(p))
	if a.ctype == "" {
		a.ctype = http.DetectContentType(b)
	}
	if compressible(a.ctype) && len(b) > 1024 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		if buf.Len() < len(b) {
			a.gz = buf.Bytes()
		}
	}
	return a
}

func compressible(ctype string) bool {
	for _, p := range []string{"text/", "application/javascript", "text/javascript", "application/json", "image/svg+xml"} {
		if strings.HasPrefix(ctype, p) {
			return true
		}
	}
	return false
}

// Placeholder reports whether the console was built without its front end.
func (f *Function) Placeholder() bool { return f.placeholder }

// Ready: the files are in memory, so the console is ready once built.
func (f *Function) Ready(context.Context) error { return nil }

// Receive ignores events: the console reacts to none.
func (f *Function) Receive(context.Context, event.Event) (*event.Event, error) { return nil, nil }

// Handler serves the SPA under /console/.
func (f *Function) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /console/{path...}", f.serve)
	mux.HandleFunc("HEAD /console/{path...}", f.serve)
	return mux
}

func (f *Function) serve(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	a, ok := f.files[p]
	if !ok || p == "" {
		// Routing is by hash, but any page path still lands on the app; a
		// missing hashed asset is a real 404 (an old index.html cached by a
		// proxy must not receive HTML as JavaScript).
		if strings.HasPrefix(p, "assets/") || path.Ext(p) != "" && p != "index.html" {
			http.NotFound(w, r)
			return
		}
		a = f.files["index.html"]
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
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
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
