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
	"strings"
	"sync/atomic"
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

// Config is the console's settings. Its pages find the APIs same-origin;
// the consult pages (functions/comms) also open LiveKit's signalling
// WebSocket, whose origin the page's Content-Security-Policy must allow.
type Config struct {
	ConnectSrc string `env:"CONSOLE_CONNECT_SRC" default:"ws://127.0.0.1:7880 ws://localhost:7880" help:"控制台页面可连接的其他地址（CSP connect-src，空格分隔），如 LiveKit 的 wss:// 地址"`
}

// Deps is what the console needs.
type Deps struct {
	Logger *slog.Logger
	// Assets overrides the embedded build (tests); nil means embedded.
	Assets fs.FS
}

// Function serves the console.
type Function struct {
	log         *slog.Logger
	root        fs.FS
	files       atomic.Pointer[map[string]*asset] // set by Start
	placeholder bool
	csp         string
}

type asset struct {
	body, gz    []byte
	ctype, etag string
	immutable   bool
}

// New checks the dependencies and that a build is there; it reads no
// file. Start loads them.
func New(d Deps, c Config) (*Function, error) {
	if d.Logger == nil {
		return nil, errors.New("console: Logger is required")
	}
	root, placeholder, err := pick(d.Assets)
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(root, "index.html"); err != nil {
		return nil, errors.New("console: the build has no index.html")
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
		// The camera page's HLS player feeds the video element through Media Source (a blob: URL).
		"media-src 'self' blob:; " +
		"connect-src 'self'"
	for _, src := range strings.Fields(c.ConnectSrc) {
		if strings.ContainsAny(src, ";'\"") {
			return nil, errors.New("console: CONSOLE_CONNECT_SRC holds a character a CSP source cannot have")
		}
		csp += " " + src
	}
	csp += "; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
	return &Function{log: d.Logger, root: root, placeholder: placeholder, csp: csp}, nil
}

// Start loads the console's files into memory (a few MB), precompressing
// the text ones so a phone on 4G gets gzip without per-request work.
func (f *Function) Start(context.Context) error {
	files := map[string]*asset{}
	err := fs.WalkDir(f.root, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(f.root, p)
		if err != nil {
			return err
		}
		files[p] = load(p, b)
		return nil
	})
	if err != nil {
		return err
	}
	f.files.Store(&files)
	if f.placeholder {
		f.log.Warn("console: web/dist was not built; serving the placeholder page (run task console:build)")
	}
	return nil
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
