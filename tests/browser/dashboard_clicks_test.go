package browser

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// clickCounter performs a task as a person would, clicking only what the
// page does not already show, and counts the clicks and page loads.
type clickCounter struct {
	p             *page
	clicks, loads int
}

// open loads the page afresh, as on another day.
func (c *clickCounter) open(hash string) {
	c.p.run("leave", chromedp.Navigate("about:blank"))
	c.p.goTo(hash)
	c.loads++
}

func (c *clickCounter) click(what, expr string) {
	c.p.click(what, expr)
	c.clicks++
}

// ensureSelect sets the toolbar's n-th select to option unless it
// already shows it: two clicks, or none.
func (c *clickCounter) ensureSelect(n int, option string) {
	sel := fmt.Sprintf(`all('.toolbar .el-select')[%d]`, n)
	c.p.waitFor(fmt.Sprintf("select %d", n), sel)
	shown := c.p.text(`txt(` + sel + `.querySelector('.el-select__selected-item:not(.el-select__input-wrapper)'))`)
	if shown == option {
		return
	}
	c.click(fmt.Sprintf("open select %d", n), sel+`.querySelector('.el-select__wrapper')`)
	c.p.jsClick(option, fmt.Sprintf(`byText('.el-select-dropdown__item', %s)`, jsString(option)))
	c.clicks++
	c.p.waitFor("dropdown closed", `!all('.el-select-dropdown__item').length`)
}

// exportQrLog is the task "export a log": the QR operation log's issuing
// records that succeeded, as an XLSX.
func (c *clickCounter) exportQrLog() {
	c.open("/qr/oplog")
	c.p.waitFor("the log page", `all('.toolbar button').some((b) => txt(b) === '导出')`)
	c.ensureSelect(0, "赋码")
	c.ensureSelect(1, "成功")
	before := c.p.text(`String(performance.getEntriesByType('resource').filter((e) => e.name.includes('/qr/v1/oplog/export')).length)`)
	c.click("export", `all('.toolbar button').find((b) => txt(b) === '导出')`)
	c.p.waitFor("the export downloaded", `String(performance.getEntriesByType('resource').filter((e) => e.name.includes('/qr/v1/oplog/export') && e.name.includes('action=issue') && e.name.includes('result=success')).length) !== `+jsString(before))
}

// TestFewerClicks (FP-131): exporting a log twice (today and again
// tomorrow, as the weekly returns ask) costs fewer clicks with the shared
// list page, which remembers its filters, than with the copied pages it
// replaced. The "before" numbers were measured by this same task on the
// copied pages (commit 9d69d3e, before the shared component): 5 clicks a visit, the filters set again each time.
func TestFewerClicks(t *testing.T) {
	s := startStack(t)
	p := adminPage(t, s)
	c := &clickCounter{p: p}
	c.exportQrLog()
	c.exportQrLog()
	t.Logf("export a log twice: %d clicks, %d page loads", c.clicks, c.loads)
	const beforeClicks, beforeLoads = 10, 2
	if c.clicks+c.loads >= beforeClicks+beforeLoads {
		t.Errorf("export a log twice: %d clicks and %d loads, not fewer than the %d and %d before the shared list page",
			c.clicks, c.loads, beforeClicks, beforeLoads)
	}
}
