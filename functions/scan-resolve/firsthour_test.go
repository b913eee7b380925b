package scanresolve

import (
	"net/http"
	"strings"
	"testing"
)

// A newcomer's first hour (issue 24): the page reads well on a desktop, a
// copied link with a trailing slash lands on the page, and the icon exists.
func TestDesktopTrailingSlashAndIcon(t *testing.T) {
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	h := f.Handler()
	token, _ := e.entity("active", "长安区福瑞超市")
	rec := get(t, h, "/q/"+token)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "@media (min-width:700px){body{max-width:600px;margin:0 auto") {
		t.Fatalf("the page has no readable desktop column: %d", rec.Code)
	}
	rec = get(t, h, "/q/"+token+"/?from=wechat")
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/q/"+token+"?from=wechat" {
		t.Fatalf("trailing slash: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = get(t, h, "/favicon.ico")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/x-icon" {
		t.Fatalf("favicon: %d %v", rec.Code, rec.Header())
	}
}
