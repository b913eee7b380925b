package govsite

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSiteServesItsDocuments(t *testing.T) {
	s := New()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, p := range Paths() {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || len(body) < 100 {
			t.Errorf("%s: %d, %d bytes", p, res.StatusCode, len(body))
		}
		if strings.HasSuffix(p, ".pdf") != (res.Header.Get("Content-Type") == "application/pdf") {
			t.Errorf("%s: content type %s", p, res.Header.Get("Content-Type"))
		}
	}
	if res, _ := http.Get(srv.URL + "/zwgk/zcwj/nope.html"); res.StatusCode != 404 {
		t.Errorf("missing page: %d", res.StatusCode)
	}
	if res, _ := http.Get(srv.URL + "/art/sjz-gxj-2025-7.html"); res.StatusCode != 200 || res.Request.URL.Path != "/zwgk/zcwj/sjz-gxj-2025-7.html" {
		t.Errorf("old address not redirected: %d %s", res.StatusCode, res.Request.URL)
	}
	if s.Hits(Paths()[0]) != 2 {
		t.Errorf("hits: %d", s.Hits(Paths()[0]))
	}
}

func TestSiteRefusesBursts(t *testing.T) {
	s := New()
	s.Burst = 2
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	codes := []int{}
	for range 4 {
		res, err := http.Get(srv.URL + Paths()[0])
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes = append(codes, res.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[3] != 429 {
		t.Fatalf("burst answers %v", codes)
	}
}
