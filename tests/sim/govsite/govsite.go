// Package govsite simulates the government websites policy-match imports
// policies from by address (FP-57): the city and provincial departments'
// 政策文件 columns, which publish each document as an HTML page (the meta
// tags ArticleTitle, PubDate, ContentSource and FileNumber, an 信息公开
// table above the text, the text in a TRS_Editor block between the site's
// header and footer) and attach the signed original as a PDF. Like the real
// sites it answers slowly at times, refuses bursts with 429, redirects
// the old addresses and 404s what it does not have.
//
// Standard library only, so policy-match's tests can use it without the
// tests module. Mount Handler on an httptest.Server; every page's address
// is Server.URL + one of Paths().
package govsite

import (
	"embed"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed pages/*.html pages/*.pdf
var pages embed.FS

// Site is the simulator; the zero value is not usable, use New.
type Site struct {
	// Latency delays every answer (a slow provincial site).
	Latency time.Duration
	// Burst is how many requests a second it serves before answering 429
	// with Retry-After, as the sites' firewalls do; 0 means no limit.
	Burst int

	mu     sync.Mutex
	window time.Time
	seen   int
	hits   map[string]int
}

// New returns a site without latency or rate limit.
func New() *Site { return &Site{hits: map[string]int{}} }

// Paths are the documents the site publishes, as a crawler finds them.
func Paths() []string {
	return []string{
		"/zwgk/zcwj/sjz-gxj-2025-7.html",   // city: 专精特新 measures, with an online application link
		"/zwgk/zcwj/hebei-sjj-2025-3.html", // province: 个体工商户转型升级
		"/zwgk/zcwj/sjz-kjj-2025-18.pdf",   // city: the PDF attachment of a notice (text layer)
		"/zwgk/zcwj/broken-date.html",      // a page whose date no parser can read
	}
}

// Hits reports how often a path was fetched.
func (s *Site) Hits(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[p]
}

// Handler serves the site.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /zwgk/zcwj/", s.document)
	mux.HandleFunc("GET /zwgk/zcwj/index.html", s.index)
	// The column moved; old links still circulate.
	mux.HandleFunc("GET /art/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/zwgk/zcwj/"+path.Base(r.URL.Path), http.StatusMovedPermanently)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Latency > 0 {
			select {
			case <-time.After(s.Latency):
			case <-r.Context().Done():
				return
			}
		}
		if !s.allow() {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "访问过于频繁，请稍后再试", http.StatusTooManyRequests)
			return
		}
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

func (s *Site) allow() bool {
	if s.Burst <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.window) >= time.Second {
		s.window, s.seen = now, 0
	}
	s.seen++
	return s.seen <= s.Burst
}

func (s *Site) document(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	data, err := pages.ReadFile("pages/" + name)
	if err != nil || strings.HasSuffix(name, ".svg") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>404 页面不存在</title></head><body>您访问的页面不存在或已删除</body></html>")
		return
	}
	switch path.Ext(name) {
	case ".pdf":
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.Write(data)
}

func (s *Site) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政策文件</title></head><body><ul class=\"list\">")
	for _, p := range Paths() {
		fmt.Fprintf(w, "<li><a href=%q>%s</a></li>", p, path.Base(p))
	}
	fmt.Fprint(w, "</ul></body></html>")
}
