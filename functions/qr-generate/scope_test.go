package qrgenerate

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

// The whole-city sweep is refused to a district caller holding
// qr.code:invalidate, and refused before anything is invalidated; the
// city-wide caller runs it.
func TestSweepRouteNeedsCityScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gone := e.register(entity(t, "enterprise", "130102"))
	if _, err := e.pool.Exec(context.Background(), `UPDATE qr.entities SET status = 'deregistered' WHERE credit_code = $1`, gone.CreditCode); err != nil {
		t.Fatal(err)
	}
	district := authtest.InDistricts([]string{"qr.code:invalidate"}, "130102")
	rec := e.do(&district, "POST", "/qr/v1/sweeps", nil)
	if rec.Code != http.StatusForbidden || errorOf(t, rec).Error.Message != "全市清理只能由市级管理员执行" {
		t.Fatalf("sweep by a district caller: %d %s", rec.Code, rec.Body)
	}
	if c := e.codeOf(gone.CreditCode); c.Status != StatusActive {
		t.Fatalf("the refused sweep invalidated a code: %+v", c)
	}
	city := authtest.CityWide("qr.code:invalidate")
	rec = e.do(&city, "POST", "/qr/v1/sweeps", nil)
	if rec.Code != http.StatusOK || decode[SweepResult](t, rec).Invalidated != 1 {
		t.Fatalf("sweep by the city: %d %s", rec.Code, rec.Body)
	}
	if c := e.codeOf(gone.CreditCode); c.Status != StatusInvalid {
		t.Errorf("after the city's sweep the code is %s", c.Status)
	}
}

// Download counters carry no place: a district caller sees the downloads
// of its own codes only, never another district's or the city's ZIPs.
// FP-50: download statistics.
func TestDownloadStatsFollowScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine := e.register(entity(t, "enterprise", "130102"))
	theirs := e.register(entity(t, "enterprise", "130104"))
	city := admin()
	for _, path := range []string{"/qr/v1/codes/" + mine.Token + ".svg", "/qr/v1/codes/" + theirs.Token + ".svg", "/qr/v1/codes/" + theirs.Token + ".png"} {
		if rec := e.do(&city, "GET", path, nil); rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
	if rec := e.do(&city, "POST", "/qr/v1/downloads", map[string]any{"credit_codes": []string{theirs.CreditCode}, "format": "svg"}); rec.Code != http.StatusOK {
		t.Fatalf("zip: %d %s", rec.Code, rec.Body)
	}
	counts := func(p *auth.Principal) map[string]int64 {
		rec := e.do(p, "GET", "/qr/v1/stats/downloads?from=2026-11-01&to=2026-11-30", nil)
		got := map[string]int64{}
		for _, d := range decode[DownloadStatsResult](t, rec).Items {
			got[d.Format] = d.Count
		}
		return got
	}
	district := authtest.InDistricts([]string{"qr.stats:view"}, "130102")
	if got := counts(&district); got["svg"] != 1 || got["png"] != 0 || got["zip"] != 0 {
		t.Errorf("district caller's download counts %v, want its one svg", got)
	}
	if got := counts(&city); got["svg"] != 3 || got["png"] != 1 || got["zip"] != 1 {
		t.Errorf("city's download counts %v, want svg 3 (one in the zip), png 1, zip 1", got)
	}
}

// failingRenderer fails every drawing of one code's content, as a
// renderer error (or a glyph the fonts lack) would.
type failingRenderer struct {
	Renderer
	bad string
}

func (r failingRenderer) SVG(content string) ([]byte, error) {
	if strings.HasSuffix(content, r.bad) {
		return nil, errors.New("render: simulated failure")
	}
	return r.Renderer.SVG(content)
}

// logSink collects log lines.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// A ZIP item that cannot be made is left out and listed in the archive's
// failure report (render.Zip); qr-generate logs the failures once for the
// batch, counts only the files delivered, and says so in the log row.
func TestZipLeavesOutFailedItems(t *testing.T) {
	t.Parallel()
	sink := &logSink{}
	ents := []events.Entity{entity(t, "enterprise", "130102"), entity(t, "enterprise", "130102"), entity(t, "enterprise", "130102")}
	var broken Code
	e := newEnv(t, func(d *Deps, _ *Config) { d.Logger = slog.New(slog.NewTextHandler(sink, nil)) })
	for i, ent := range ents {
		if c := e.register(ent); i == 1 {
			broken = c
		}
	}
	// Tokens are minted at issue: only now can the renderer fail one.
	e.f.render = failingRenderer{Renderer: e.rend, bad: broken.Token}
	city := admin()
	rec := e.do(&city, "POST", "/qr/v1/downloads", map[string]any{"district_code": "130102", "format": "svg"})
	if rec.Code != http.StatusOK {
		t.Fatalf("zip: %d %s", rec.Code, rec.Body)
	}
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil {
		t.Fatalf("the archive does not open: %v", err)
	}
	var names []string
	var report string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name == render.ZipReportName {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			report = string(b)
		}
	}
	brokenName := render.ZipName(broken.CreditCode, broken.EntityName, "svg")
	if len(names) != 3 || !strings.Contains(report, brokenName) || strings.Contains(strings.Join(names, "\n"), brokenName) {
		t.Fatalf("archive holds %v, report %q; want the two good files and the report naming %s", names, report, brokenName)
	}
	if n := e.count(`SELECT COALESCE(sum(count), 0) FROM qr.downloads WHERE format = 'svg'`); n != 2 {
		t.Errorf("%d svg downloads counted, want the 2 delivered", n)
	}
	if n := e.count(`SELECT count(*) FROM qr.downloads WHERE format = 'svg' AND token = $1`, broken.Token); n != 0 {
		t.Errorf("the failed item was counted as downloaded")
	}
	if n := e.count(`SELECT count(*) FROM qr.oplog WHERE action = 'download' AND detail LIKE '批量下载 ZIP：2 个%1 个生成失败%'`); n != 1 {
		t.Errorf("%d oplog rows telling of the failure, want 1", n)
	}
	if got := strings.Count(sink.String(), "zip download: items left out"); got != 1 || !strings.Contains(sink.String(), broken.Token) {
		t.Errorf("the failure was logged %d times (want once, naming %s):\n%s", got, broken.Token, sink.String())
	}
}
