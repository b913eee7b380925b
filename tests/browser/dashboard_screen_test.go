package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenArtifacts is where the big screen's screenshots are kept: beside
// this package (ignored by git) unless SMARTREG_BROWSER_ARTIFACTS names a
// directory CI collects.
func screenArtifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SMARTREG_BROWSER_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	dir = filepath.Join(dir, "screen")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenGeometry is what the page measures of the big screen.
type screenGeometry struct {
	Design   string                `json:"design"`
	Canvas   [4]float64            `json:"canvas"` // x, y, w, h on the display
	Scale    float64               `json:"scale"`
	Viewport [2]float64            `json:"viewport"`
	Areas    map[string][4]float64 `json:"areas"`
	Layout   map[string][2]float64 `json:"layout"`   // offsetWidth/Height: the unscaled design size
	Overflow []string              `json:"overflow"` // areas whose content is larger than the area
	Charts   map[string][2]float64 `json:"charts"`   // each chart's drawing canvas, in pixels
	RowsOut  int                   `json:"rows_out"` // ranking rows outside their area
	Rows     int                   `json:"rows"`
}

const measureScreen = `(() => {
  const r = (e) => { const b = e.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; };
  const c = document.querySelector('[data-test=screen-canvas]');
  const out = { design: c.dataset.design, canvas: r(c), viewport: [innerWidth, innerHeight], areas: {}, layout: {}, overflow: [], charts: {}, rows_out: 0, rows: 0 };
  out.scale = c.getBoundingClientRect().width / c.offsetWidth;
  for (const a of document.querySelectorAll('[data-area]')) {
    out.areas[a.dataset.area] = r(a);
    out.layout[a.dataset.area] = [a.offsetWidth, a.offsetHeight];
    if (a.scrollHeight > a.clientHeight + 1 || a.scrollWidth > a.clientWidth + 1) out.overflow.push(a.dataset.area);
  }
  for (const ch of document.querySelectorAll('[data-chart]')) {
    const cv = ch.querySelector('canvas');
    out.charts[ch.dataset.chart] = cv ? [cv.width, cv.height] : [0, 0];
  }
  const area = document.querySelector('[data-area=ranking]').getBoundingClientRect();
  for (const li of document.querySelectorAll('[data-test=screen-ranking] li')) {
    out.rows++;
    const b = li.getBoundingClientRect();
    if (b.top < area.top - 0.5 || b.bottom > area.bottom + 0.5 || b.left < area.left - 0.5 || b.right > area.right + 0.5) out.rows_out++;
  }
  return out;
})()`

// TestBigScreen (FP-101): the big screen is drawn on a canvas of its
// design resolution, 5760×1920 (3:1) or 3840×2160, and scaled to the
// display without reflowing. At 5760×1920, 3840×2160, 1920×1080 and
// 390×844 (and the 3:1 canvas letterboxed on 16:9) every area lies inside
// the canvas, no two overlap, nothing overflows its area, the canvas fits
// the display, the three charts (map, type shares, records) have a
// non-zero size, and the ranking rows stay inside their area. Screenshots
// are kept under tests/browser/artifacts/screen. It refreshes on its own
// (new data appears without a reload), goes fullscreen, and a county
// picked in the ranking narrows the other numbers (FP-132).
func TestBigScreen(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	// Entities in five districts, more in 长安区; penalties on some.
	districts := []string{"130102", "130102", "130102", "130102", "130104", "130104", "130104", "130105", "130105", "130108", "130183"}
	for i, d := range districts {
		typ := []string{"enterprise", "individual", "cooperative"}[i%3]
		code := fmt.Sprintf("91130100SCR%07d", i)
		if _, err := s.p.Pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
			address, district_code, township_code, industry_code, status) VALUES ($1, $2, $3, '张三', '2020-01-01', '某路1号', $4, '', '5211', 'active')`,
			code, fmt.Sprintf("大屏测试%d商贸有限公司", i), typ, d); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := s.p.Pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, status, public)
				VALUES ($1, 'penalty', '行政处罚', '2026-01-01', '', true)`, code); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.p.Dashboard.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	dir := screenArtifacts(t)
	p := adminPage(t, s)
	cases := []struct {
		name       string
		w, h       int64
		mobile     bool
		query      string
		wantDesign string
	}{
		{"5760x1920", 5760, 1920, false, "", "5760x1920"},
		{"3840x2160", 3840, 2160, false, "", "3840x2160"},
		{"1920x1080", 1920, 1080, false, "", "3840x2160"},
		{"390x844", 390, 844, true, "", "3840x2160"},
		{"1920x1080-3to1", 1920, 1080, false, "?size=5760x1920", "5760x1920"},
	}
	for _, c := range cases {
		opts := []chromedp.EmulateViewportOption{}
		if c.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		p.run("viewport "+c.name, chromedp.EmulateViewport(c.w, c.h, opts...))
		p.goTo("/screen" + c.query)
		p.waitFor(c.name+": the charts drawn", `all('[data-chart] canvas').filter((cv) => cv.width > 0 && cv.height > 0).length === 3`)
		p.waitFor(c.name+": the ranking", `all('[data-test=screen-ranking] li').length >= 5`)
		time.Sleep(300 * time.Millisecond) // ECharts' first frame
		var g screenGeometry
		if err := p.eval(measureScreen, &g); err != nil {
			p.fail("measure: %v", err)
		}
		checkScreen(t, c.name, c.wantDesign, g)
		buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("%s: screenshot: %v", c.name, err)
		}
		file := filepath.Join(dir, "screen-"+c.name+".png")
		if err := os.WriteFile(file, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: design %s, scale %.3f, screenshot %s", c.name, g.Design, g.Scale, file)
	}
	if got := p.strings(`all('[data-test=screen-ranking] li .name').map(txt)`); len(got) == 0 || got[0] != "长安区" {
		t.Errorf("ranking starts with %v, want 长安区", got)
	}

	// Auto-refresh: a new entity shows without a reload.
	p.run("viewport", chromedp.EmulateViewport(1920, 1080))
	p.goTo("/screen?refresh=5")
	p.waitFor("the totals", `all('[data-test=screen-total] .total-value').length === 4 && txt(all('[data-test=screen-total] .total-value')[0]) === '11'`)
	if _, err := s.p.Pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
		address, district_code, township_code, industry_code, status) VALUES ('91130100SCR9999999', '大屏新增商贸有限公司', 'enterprise', '张三',
		'2026-01-01', '某路2号', '130102', '', '5211', 'active')`); err != nil {
		t.Fatal(err)
	}
	if err := s.p.Dashboard.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	p.waitLong("the refreshed total", `txt(all('[data-test=screen-total] .total-value')[0]) === '12'`, 15*time.Second)

	// Fullscreen from the button (a real click: browsers need a gesture).
	p.click("fullscreen", `all('[data-test=screen-fullscreen]')[0]`)
	p.waitFor("fullscreen", `!!document.fullscreenElement && txt(all('[data-test=screen-fullscreen]')[0]) === '退出全屏'`)
	var g screenGeometry
	if err := p.eval(measureScreen, &g); err != nil {
		p.fail("measure: %v", err)
	}
	checkScreen(t, "fullscreen", "3840x2160", g)

	// FP-132: a county picked in the ranking (or on the map) narrows every
	// other number; the map keeps the whole scope.
	p.click("桥西区 in the ranking", `all('[data-test=screen-ranking] li').find((li) => txt(li.querySelector('.name')) === '桥西区')`)
	p.waitFor("the screen narrowed to 桥西区", `all('[data-test=screen-picked]').some((e) => txt(e).includes('桥西区')) && txt(all('[data-test=screen-total] .total-value')[0]) === '3'`)
	if n := p.text(`String(all('[data-test=screen-ranking] li').length)`); n == "0" {
		t.Error("the ranking emptied when a county was picked")
	}
	if err := p.eval(measureScreen, &g); err != nil {
		p.fail("measure: %v", err)
	}
	checkScreen(t, "picked", "3840x2160", g)
	p.click("all counties", `all('[data-test=screen-unpick]')[0]`)
	p.waitFor("the whole scope again", `!all('[data-test=screen-picked]').length && txt(all('[data-test=screen-total] .total-value')[0]) === '12'`)
}

func checkScreen(t *testing.T, name, wantDesign string, g screenGeometry) {
	t.Helper()
	const eps = 0.6
	if g.Design != wantDesign {
		t.Errorf("%s: design %s, want %s", name, g.Design, wantDesign)
	}
	var dw, dh float64
	fmt.Sscanf(strings.Replace(g.Design, "x", " ", 1), "%g %g", &dw, &dh)
	want := min(g.Viewport[0]/dw, g.Viewport[1]/dh)
	if g.Scale < want*0.99 || g.Scale > want*1.01 {
		t.Errorf("%s: scale %.4f, want %.4f (the canvas fitted to the display)", name, g.Scale, want)
	}
	cx, cy, cw, ch := g.Canvas[0], g.Canvas[1], g.Canvas[2], g.Canvas[3]
	if cx < -eps || cy < -eps || cx+cw > g.Viewport[0]+eps || cy+ch > g.Viewport[1]+eps {
		t.Errorf("%s: canvas %v leaves the display %v", name, g.Canvas, g.Viewport)
	}
	if len(g.Areas) != 7 {
		t.Errorf("%s: %d areas", name, len(g.Areas))
	}
	names := make([]string, 0, len(g.Areas))
	for n, a := range g.Areas {
		names = append(names, n)
		if a[0] < cx-eps || a[1] < cy-eps || a[0]+a[2] > cx+cw+eps || a[1]+a[3] > cy+ch+eps || a[2] <= 0 || a[3] <= 0 {
			t.Errorf("%s: area %s %v outside the canvas %v", name, n, a, g.Canvas)
		}
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			a, b := g.Areas[names[i]], g.Areas[names[j]]
			ix := min(a[0]+a[2], b[0]+b[2]) - max(a[0], b[0])
			iy := min(a[1]+a[3], b[1]+b[3]) - max(a[1], b[1])
			if ix > eps && iy > eps {
				t.Errorf("%s: areas %s %v and %s %v overlap", name, names[i], a, names[j], b)
			}
		}
	}
	// Never reflowed: the areas keep their design size in CSS pixels at
	// every display size.
	wantMap := map[string][2]float64{"5760x1920": {2320, 1670}, "3840x2160": {1540, 1930}}[g.Design]
	if g.Layout["map"] != wantMap {
		t.Errorf("%s: the map area is %v in layout, want its design size %v", name, g.Layout["map"], wantMap)
	}
	if len(g.Overflow) > 0 {
		t.Errorf("%s: content overflows the areas %v", name, g.Overflow)
	}
	for _, c := range []string{"map", "types", "records"} {
		if s := g.Charts[c]; s[0] <= 0 || s[1] <= 0 {
			t.Errorf("%s: chart %s has size %v", name, c, s)
		}
	}
	if g.Rows == 0 || g.RowsOut > 0 {
		t.Errorf("%s: %d of %d ranking rows outside their area", name, g.RowsOut, g.Rows)
	}
}
