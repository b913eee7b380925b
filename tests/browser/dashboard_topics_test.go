package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// topicGeometry is what the page measures of a topic board.
type topicGeometry struct {
	Design   string                `json:"design"`
	Canvas   [4]float64            `json:"canvas"`
	Viewport [2]float64            `json:"viewport"`
	Areas    map[string][4]float64 `json:"areas"`
	Overflow []string              `json:"overflow"`
	Charts   map[string][2]float64 `json:"charts"`
	Outside  []string              `json:"outside"` // elements of the canvas (or page) lying outside it
	ScrollW  float64               `json:"scroll_w"`
}

// measureTopics measures the canvas form when there is one, the page form
// otherwise (where the "canvas" is the viewport: nothing may stick out
// sideways on a phone).
const measureTopics = `(() => {
  const r = (e) => { const b = e.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; };
  const c = document.querySelector('[data-test=topic-canvas]');
  const out = { design: c ? c.dataset.design : 'page', viewport: [innerWidth, innerHeight], areas: {}, overflow: [], charts: {}, outside: [],
    scroll_w: document.scrollingElement.scrollWidth };
  out.canvas = c ? r(c) : [0, 0, innerWidth, document.scrollingElement.scrollHeight];
  const [cx, cy, cw, ch] = out.canvas;
  for (const a of document.querySelectorAll('[data-area]')) {
    out.areas[a.dataset.area] = r(a);
    if (a.scrollHeight > a.clientHeight + 1 || a.scrollWidth > a.clientWidth + 1) out.overflow.push(a.dataset.area);
  }
  for (const ch of document.querySelectorAll('[data-chart]')) {
    const cv = ch.querySelector('canvas');
    out.charts[ch.dataset.chart] = cv ? [cv.width, cv.height] : [0, 0];
  }
  const root = c || document.querySelector('[data-test=topics-page]');
  for (const e of root.querySelectorAll('*')) {
    if (!e.getClientRects().length || e.closest('.el-table__body-wrapper, .el-table__header-wrapper, .el-scrollbar__wrap')) continue;
    const b = e.getBoundingClientRect();
    if (b.width === 0 || b.height === 0) continue;
    if (b.left < cx - 1 || b.right > cx + cw + 1 || (c && (b.top < cy - 1 || b.bottom > cy + ch + 1))) out.outside.push(e.tagName + '.' + e.className);
  }
  return out;
})()`

// TestTopicBoards (FP-118, FP-119, FP-120, FP-141): each topic board in its
// three forms. The big-screen canvas at 5760×1920, 1920×1080 and 390×844
// keeps every area inside the canvas with no overlap and nothing
// overflowing, and draws its charts at a non-zero size; the PC page at
// 1920×1080 and the phone page at 390×844 draw their charts, nothing sticks
// out sideways, and on the phone the charts are paged one at a time
// (FP-141). Screenshots are kept in tests/browser/artifacts/screen.
func TestTopicBoards(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	districts := []string{"130102", "130102", "130102", "130104", "130104", "130105", "130108", "130183"}
	licences := []string{"食品经营许可证", "药品经营许可证", "特种设备使用登记证", "全国工业产品生产许可证"}
	penalties := []string{"销售超过保质期的食品案", "未明码标价案", "发布违法广告案", "特种设备未经定期检验继续使用案"}
	for i, d := range districts {
		code := fmt.Sprintf("91130100TPC%07d", i)
		if _, err := s.p.Pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
			address, district_code, township_code, industry_code, status) VALUES ($1, $2, 'enterprise', '张三', '2018-01-01', '某路1号', $3, '', '5211', 'active')`,
			code, fmt.Sprintf("专题测试%d商贸有限公司", i), d); err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			if _, err := s.p.Pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, ref_no, title, occurred_on, status, public)
				VALUES ($1, 'licence', $2, $3, $4, $5, true)`, code, fmt.Sprintf("XK%d%d", i, j), licences[(i+j)%4],
				fmt.Sprintf("%d-05-01", 2022+(i+j)%5), []string{"有效", "已过期"}[j]); err != nil {
				t.Fatal(err)
			}
			if _, err := s.p.Pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, status, public, details)
				VALUES ($1, 'penalty', $2, $3, $4, true, $5)`, code, penalties[(i+j)%4], fmt.Sprintf("%d-0%d-10", 2022+(i+j)%5, 1+j),
				[]string{"已结案", "执行中"}[(i+j)%2], fmt.Sprintf(`{"amount":"%d.00"}`, 1000*(i+1))); err != nil {
				t.Fatal(err)
			}
		}
	}
	var model int64
	if err := s.p.Pool.QueryRow(ctx, `INSERT INTO monitor.models (name, districts, types, platforms, window_days, created_by, created_at)
		VALUES ('专题测试', '{}', '{advertising}', '{}', 30, 'test', now()) RETURNING id`).Scan(&model); err != nil {
		t.Fatal(err)
	}
	for i, f := range []string{"网店", "网站", "小程序", "微店", "网店"} {
		if _, err := s.p.Pool.Exec(ctx, `INSERT INTO monitor.clues (model_id, rule_id, rule_version, article, term, snippet, object_url, object_name,
			entity_name, credit_code, district, platform, created_at, district_code) VALUES ($1, 'absolute-terms', '2026.1', '广告法第九条', '最佳', '最佳',
			$2, '商品', $3, '', '长安区', $4, now(), $5)`, model, fmt.Sprintf("http://shop%d.topics.test/p/1", i), fmt.Sprintf("网店%d", i), f, districts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.p.Pool.Exec(ctx, `INSERT INTO monitor.streams (platform, account, title, url, entity_name, credit_code, district, district_code,
		every_minutes, created_by, created_at) VALUES ('抖音', 'topics01', '直播', 'https://live.topics.test/1.m3u8', '主播公司', '', '桥西区', '130104', 30, 'test', now())`); err != nil {
		t.Fatal(err)
	}
	if err := s.p.Dashboard.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.p.Dashboard.RefreshTopics(ctx); err != nil {
		t.Fatal(err)
	}
	dir := screenArtifacts(t)
	p := adminPage(t, s)
	charts := map[string]int{"licences": 4, "penalties": 4, "online": 3}
	shoot := func(name string) {
		buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "topics-"+name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, board := range []string{"licences", "penalties", "online"} {
		for _, v := range []struct {
			name   string
			w, h   int64
			mobile bool
			design string
		}{{"5760x1920", 5760, 1920, false, "5760x1920"}, {"1920x1080", 1920, 1080, false, "3840x2160"}, {"390x844", 390, 844, true, "3840x2160"}} {
			name := board + "-screen-" + v.name
			opts := []chromedp.EmulateViewportOption{}
			if v.mobile {
				opts = append(opts, chromedp.EmulateMobile)
			}
			p.run("viewport "+name, chromedp.EmulateViewport(v.w, v.h, opts...))
			p.goTo("/topic-screen/" + board)
			p.waitFor(name+": charts drawn", fmt.Sprintf(`all('[data-chart] canvas').filter((cv) => cv.width > 0 && cv.height > 0).length === %d`, charts[board]))
			p.waitFor(name+": the list", `all('[data-test=topic-list] li').length >= 2`)
			time.Sleep(300 * time.Millisecond)
			var g topicGeometry
			if err := p.eval(measureTopics, &g); err != nil {
				p.fail("measure: %v", err)
			}
			checkTopicCanvas(t, name, v.design, g, charts[board])
			shoot(name)
		}
		for _, v := range []struct {
			name   string
			w, h   int64
			mobile bool
		}{{"pc", 1920, 1080, false}, {"phone", 390, 844, true}} {
			name := board + "-" + v.name
			opts := []chromedp.EmulateViewportOption{}
			if v.mobile {
				opts = append(opts, chromedp.EmulateMobile)
			}
			p.run("viewport "+name, chromedp.EmulateViewport(v.w, v.h, opts...))
			p.goTo("/dashboard/topics/" + board)
			want := charts[board]
			if v.mobile {
				want = 1 // one chart a page on a phone
			}
			p.waitFor(name+": charts drawn", fmt.Sprintf(`all('[data-test=topic-chart-cell] [data-chart] canvas').filter((cv) => cv.width > 0 && cv.height > 0).length === %d`, want))
			time.Sleep(300 * time.Millisecond)
			var g topicGeometry
			if err := p.eval(measureTopics, &g); err != nil {
				p.fail("measure: %v", err)
			}
			if g.ScrollW > g.Viewport[0]+1 || len(g.Outside) > 0 {
				t.Errorf("%s: page %v wide on %v, elements outside: %v", name, g.ScrollW, g.Viewport, g.Outside)
			}
			for c, sz := range g.Charts {
				if sz[0] <= 0 || sz[1] <= 0 {
					t.Errorf("%s: chart %s has size %v", name, c, sz)
				}
			}
			shoot(name)
			if v.mobile { // FP-141: the other charts are a page away, not squeezed in
				first := p.text(`all('[data-test=topic-chart-cell] [data-chart]')[0].dataset.chart`)
				p.waitFor(name+": the chart pager", `all('[data-test=chart-pages]').length === 1`)
				p.click("next chart page", `all('[data-test=chart-next]')[0]`)
				p.waitFor(name+": the next chart", fmt.Sprintf(`all('[data-test=topic-chart-cell] [data-chart]').length === 1 && all('[data-test=topic-chart-cell] [data-chart]')[0].dataset.chart !== %q`, first))
			}
		}
	}
	// The penalty board's default period is this year: the seeded cases of
	// 2022–2026 still fill its five-year trend on the PC page.
	p.run("viewport", chromedp.EmulateViewport(1920, 1080))
	p.goTo("/dashboard/topics/penalties")
	p.waitFor("the trend", `all('[data-chart=trend] canvas').length === 1`)
}

func checkTopicCanvas(t *testing.T, name, wantDesign string, g topicGeometry, charts int) {
	t.Helper()
	const eps = 0.6
	if g.Design != wantDesign {
		t.Errorf("%s: design %s, want %s", name, g.Design, wantDesign)
	}
	cx, cy, cw, ch := g.Canvas[0], g.Canvas[1], g.Canvas[2], g.Canvas[3]
	if cx < -eps || cy < -eps || cx+cw > g.Viewport[0]+eps || cy+ch > g.Viewport[1]+eps {
		t.Errorf("%s: canvas %v leaves the display %v", name, g.Canvas, g.Viewport)
	}
	if len(g.Areas) != 7 {
		t.Errorf("%s: %d areas, want 7", name, len(g.Areas))
	}
	var names []string
	for n, a := range g.Areas {
		names = append(names, n)
		if a[0] < cx-eps || a[1] < cy-eps || a[0]+a[2] > cx+cw+eps || a[1]+a[3] > cy+ch+eps {
			t.Errorf("%s: area %s %v outside the canvas %v", name, n, a, g.Canvas)
		}
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			a, b := g.Areas[names[i]], g.Areas[names[j]]
			if min(a[0]+a[2], b[0]+b[2])-max(a[0], b[0]) > eps && min(a[1]+a[3], b[1]+b[3])-max(a[1], b[1]) > eps {
				t.Errorf("%s: areas %s and %s overlap", name, names[i], names[j])
			}
		}
	}
	if len(g.Overflow) > 0 {
		t.Errorf("%s: content overflows the areas %v", name, g.Overflow)
	}
	if len(g.Outside) > 0 {
		t.Errorf("%s: elements outside the canvas: %v", name, g.Outside)
	}
	if len(g.Charts) != charts {
		t.Errorf("%s: %d charts, want %d", name, len(g.Charts), charts)
	}
	for c, s := range g.Charts {
		if s[0] <= 0 || s[1] <= 0 {
			t.Errorf("%s: chart %s has size %v", name, c, s)
		}
	}
}
