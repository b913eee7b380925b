package browser

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/tests/sim/sitefarm"
)

// TestMonitorModelOnTheFarm (FP-85, 86, 88, 91; issue 15): a crawl job over the
// site farm is created on 爬虫任务 and crawled by crawler-shard through the
// platform's broker; a monitoring model for illegal advertising is
// configured on 监测模型 and run, finding the farm's planted absolute terms;
// on 监测线索 one clue is confirmed, and the XLSX export holds every clue of
// the model with the confirmed one marked so. On 经营行为数据 the products
// are found by keyword and the search is saved and run.
func TestMonitorModelOnTheFarm(t *testing.T) {
	farm := sitefarm.New(6, 0)
	srv := httptest.NewServer(farm)
	t.Cleanup(srv.Close)
	s := startStack(t, func(c *platform.Config) {
		c.CrawlerShard.Resolve = sitefarm.Domain + "=" + strings.TrimPrefix(srv.URL, "http://")
	})
	p := adminPage(t, s)

	// The crawl, from the console.
	p.goTo("/monitor/jobs")
	p.click("new job", `byText('button', '新建任务')`)
	p.typeInto("job name", `field('任务名称') && field('任务名称').querySelector('input')`, "农场网店巡查")
	p.typeInto("seeds", `field('种子地址') && field('种子地址').querySelector('textarea')`, strings.Join(farm.Seeds(false), "\n"))
	p.typeInto("scope", `field('抓取范围') && field('抓取范围').querySelector('textarea')`, sitefarm.Domain)
	p.dialogButton("新建爬虫任务", "创建")
	p.expectToast("job created", "任务已创建")
	ctx := context.Background()
	pages := farm.Shops * (1 + sitefarm.ProductsPerShop)
	deadline := time.Now().Add(90 * time.Second)
	for {
		var open, done int
		if err := s.p.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state IN ('queued', 'fetching')), count(*) FILTER (WHERE state = 'done')
			FROM crawlershard.frontier`).Scan(&open, &done); err != nil {
			t.Fatal(err)
		}
		if open == 0 && done >= pages {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the crawl did not finish: %d open, %d done of at least %d", open, done, pages)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := 0; i < farm.Shops; i++ {
		for _, u := range sitefarm.ShopPages(i) {
			if n := farm.Hits(u); n != 1 {
				t.Errorf("%s fetched %d times", u, n)
			}
		}
	}

	// The model, configured and run.
	p.goTo("/monitor/models")
	p.click("new model", `byText('button', '新建模型')`)
	p.typeInto("model name", `field('模型名称') && field('模型名称').querySelector('input')`, "网店绝对化用语监测")
	p.jsClick("type 违法广告", `[...dialog('新建监测模型').querySelectorAll('.el-checkbox')].find((c) => txt(c) === '违法广告')`)
	p.dialogButton("新建监测模型", "创建")
	p.expectToast("model created", "模型已创建")
	row := `all('[data-test=monitor-models] .el-table__row').find((r) => txt(r).includes('网店绝对化用语监测'))`
	p.waitFor("the dialog closed", `!dialog('新建监测模型')`)
	p.jsClick("run", `(`+row+`) && [...(`+row+`).querySelectorAll('button')].find((b) => txt(b) === '运行')`)
	p.expectToast("run finished", "运行完成")
	toast := p.text(`all('.el-message--success').map(txt).find((m) => m.includes('运行完成')) || ''`)
	added := 0
	if i := strings.Index(toast, "新增线索 "); i >= 0 {
		added, _ = strconv.Atoi(strings.Fields(toast[i+len("新增线索 "):])[0])
	}
	if added == 0 {
		t.Fatalf("the run found no clue on the farm: %q", toast)
	}

	// A clue reviewed.
	p.jsClick("its clues", `(`+row+`) && [...(`+row+`).querySelectorAll('button')].find((b) => txt(b) === '查看线索')`)
	clue := `all('[data-test=monitor-clues] .el-table__body-wrapper .el-table__row').find((r) => txt(r).includes('全网销量第一') && txt(r).includes('待研判'))`
	p.waitFor("the planted absolute term listed", clue)
	p.waitFor("every clue of the model", `all('[data-test=monitor-clues] .el-table__body-wrapper .el-table__row').length === `+strconv.Itoa(added))
	p.jsClick("confirm", `(`+clue+`) && [...(`+clue+`).querySelectorAll('button')].find((b) => txt(b) === '确认')`)
	p.typeInto("opinion", `dialog('确认线索') && dialog('确认线索').querySelector('textarea')`, "页面宣称全网销量第一，无依据")
	p.dialogButton("确认线索", "确定")
	p.expectToast("reviewed", "已研判")
	p.waitFor("the clue confirmed", `all('[data-test=monitor-clues] .el-table__body-wrapper .el-table__row').some((r) => txt(r).includes('已确认') && txt(r).includes('页面宣称全网销量第一'))`)
	p.waitFor("the rule's precision", `all('[data-test=rule-stats] .el-table__row').some((r) => txt(r).includes('100.0%'))`)

	// The export: once the review dialog's fading overlay is gone, or the
	// click lands on it (seen under load).
	p.waitFor("the review dialog gone", `!dialog('确认线索') && !all('.el-overlay').length`)
	file := p.download("export", `byText('button', '导出 Excel')`)
	x, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatalf("the export is not an XLSX file: %v", err)
	}
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != added+1 || rows[0][0] != "编号" || rows[0][12] != "状态" {
		t.Fatalf("export: %d rows (want %d clues and the header): %v", len(rows), added, rows[:min(len(rows), 3)])
	}
	confirmed := 0
	for _, r := range rows[1:] {
		if len(r) > 13 && r[12] == "已确认" {
			confirmed++
			if r[13] != "页面宣称全网销量第一，无依据" || !strings.Contains(r[7], sitefarm.Domain) {
				t.Errorf("the confirmed clue's row: %v", r)
			}
		}
	}
	if confirmed != 1 {
		t.Errorf("%d confirmed clues in the export, want 1", confirmed)
	}

	// FP-86: the crawled products searched by keyword on 经营行为数据, and
	// the search saved to run on a schedule and run once by hand.
	p.goTo("/monitor/behaviour")
	p.typeInto("keyword", `document.querySelector('input[data-test=behaviour-q]')`, "全网销量第一")
	p.click("search", `document.querySelector('[data-test=behaviour-search]')`)
	hit := `all('[data-test=behaviour-hits] .el-table__body-wrapper .el-table__row').find((r) => txt(r).includes('全网销量第一'))`
	p.waitFor("a product with the keyword", hit)
	total := `(txt(document.querySelector('.el-pagination__total')).match(/\d+/) || ['?'])[0]`
	p.click("save", `document.querySelector('[data-test=behaviour-save]')`)
	p.typeInto("search name", `document.querySelector('input[data-test=save-name]')`, "销量第一宣传")
	p.click("confirm save", `document.querySelector('[data-test=save-confirm]')`)
	p.expectToast("saved", "已保存")
	saved := `all('[data-test=saved-searches] .el-table__row').find((r) => txt(r).includes('销量第一宣传') && txt(r).includes('每 24 小时'))`
	p.waitFor("the saved search listed", saved)
	p.waitFor("the save dialog gone", `!all('.el-overlay').some((o) => o.offsetParent !== null)`)
	p.clickUntil("run it", `(`+saved+`) && (`+saved+`).querySelector('[data-test=saved-run]')`, `all('.el-message--success').some((m) => txt(m).includes('命中'))`)
	// First run: every hit is new, as many as the search's total.
	p.waitFor("the run's hits in the list", `(`+saved+`) && txt(`+saved+`).includes(`+total+` + ' / ' + `+total+`)`)
}

// download clicks what starts a download and returns the file Chromium
// saved (into a directory of the test's own).
func (p *page) download(what, expr string) string {
	p.t.Helper()
	dir := p.t.TempDir()
	id := chromedp.FromContext(p.ctx).BrowserContextID
	// Browser-level events: the download belongs to the browser context,
	// not to the tab.
	progress := chromedp.BrowserEvents(p.ctx, browser.DownloadProgress)
	yes := true
	// Sent to the browser, for the tab's browser context.
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: id, DownloadPath: dir, EventsEnabled: &yes}); err != nil {
		p.fail("allow downloads: %v", err)
	}
	done := make(chan string, 1)
	go func() {
		for ev, err := range progress {
			if err != nil {
				return
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				done <- ev.GUID
				return
			}
		}
	}()
	p.click(what, expr)
	if msg := p.text(`all('.el-message--error').map(txt).join('；')`); msg != "" {
		p.fail("%s: the console reported an error: %s", what, msg)
	}
	select {
	case guid := <-done:
		f := filepath.Join(dir, guid)
		if _, err := os.Stat(f); err != nil {
			p.fail("%s: the download finished but is not on disk: %v", what, err)
		}
		return f
	case <-time.After(30 * time.Second):
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		p.fail("%s: no download finished (in %s: %v)", what, dir, names)
	}
	return ""
}
