package bureau

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPages(t *testing.T) {
	s := New()
	get := func(p string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		return rec
	}
	if rec := get("/sim/bureau/news/315.html"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="zoom"`) || !strings.Contains(rec.Body.String(), "活动地点：") {
		t.Fatalf("site page: %d", rec.Code)
	}
	if rec := get("/sim/bureau/s/FoodOpenDay"); !strings.Contains(rec.Body.String(), `id="js_content"`) || !strings.Contains(rec.Body.String(), `data-src="../img/kitchen.png?wx_fmt=png"`) {
		t.Fatal("wechat page")
	}
	if rec := get("/sim/bureau/img/poster.png"); rec.Header().Get("Content-Type") != "image/png" || !strings.HasPrefix(rec.Body.String(), "\x89PNG") {
		t.Fatal("image")
	}
	if rec := get("/sim/bureau/news/none.html"); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown page: %d", rec.Code)
	}
	s.FailNext(1)
	if rec := get("/sim/bureau/news/315.html"); rec.Code != http.StatusBadGateway {
		t.Fatalf("FailNext: %d", rec.Code)
	}
	if s.Hits("news/315.html") != 2 {
		t.Fatalf("hits %d", s.Hits("news/315.html"))
	}
}
