package browser

import (
	"context"
	"fmt"
	"testing"

	"github.com/sjzamr/smartreg/shared/codes"
)

// TestAnomalyViews (FP-102, FP-103, FP-104, FP-105, FP-106, FP-107,
// FP-108, FP-109, FP-133): three catering businesses without a food
// licence (two in 长安区, one in 桥西区) are found by the detection; the
// 异常数据 page shows their counts by class, the schematic district map
// drawn at a non-zero size with the tag's total on it, the trend and the
// suggestions; an anomaly opens in the drawer with its trace, gets an
// opinion and then a correction, and its state changes in the list.
func TestAnomalyViews(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	for i, d := range []string{"130102", "130102", "130104"} {
		code, err := codes.MakeCreditCode("92", d, fmt.Sprintf("AN%06d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.p.Pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
			address, district_code, township_code, industry_code, status) VALUES ($1, $2, 'individual', '张三', '2020-01-01',
			'石家庄市'||(CASE WHEN $3 = '130102' THEN '长安区' ELSE '桥西区' END)||'中山东路1号', $3, '', '6210', 'active')`,
			code, fmt.Sprintf("异常测试%d饭店", i), d); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := s.p.Dashboard.DetectAnomalies(ctx); err != nil || res.New < 3 {
		t.Fatalf("detection: %+v %v", res, err)
	}
	p := adminPage(t, s)
	p.goTo("/dashboard/anomalies")
	// FP-102: the overview counts by class.
	p.waitFor("the food class counts 3", `all('[data-test=an-class-card]').some((c) => txt(c).includes('食品数据') && txt(c.querySelector('[data-test=an-class-count]')) === '3')`)
	p.waitFor("the total", `Number(txt(all('[data-test=an-total] .num')[0])) >= 3`)
	// FP-104: the district map is drawn, at a non-zero size.
	p.waitFor("the map drawn", `all('[data-chart=district-map] canvas').some((c) => c.width > 0 && c.height > 0)`)
	// FP-103, FP-105, FP-106: the trend, the shares and the suggestions.
	p.waitFor("the trend drawn", `all('[data-test=an-trend] canvas').some((c) => c.width > 0 && c.height > 0)`)
	p.waitFor("the pie drawn", `all('[data-test=an-pie] canvas').some((c) => c.width > 0 && c.height > 0)`)
	p.waitFor("a suggestion", `all('[data-test=an-suggestions] .el-table__body tr').some((r) => txt(r).includes('无证经营'))`)
	// FP-133: a tag narrows the map's total.
	p.click("the 食品安全 tag", `all('[data-test=an-tag]').find((e) => txt(e).startsWith('食品安全'))`)
	p.waitFor("the tag's total on the map", `txt(all('[data-test=an-map-total]')[0]) === '食品安全合计 3 条'`)
	p.waitFor("the list narrowed to the tag", `all('[data-test=an-list] .el-table__body tr').length === 3`)
	p.shot("anomalies")
	// FP-105, FP-108: open one; its trace shows the detection.
	// The list may still be re-rendering after the tag: retry the click until the drawer opens.
	p.clickUntil("an anomaly", `all('[data-test=an-list] .el-table__body tr').find((r) => txt(r).includes('异常测试0饭店'))`,
		`all(".el-message--error").length || all('[data-test=detail-drawer] .el-descriptions').some((d) => txt(d).includes('食品经营主体无食品许可'))`)
	if msg := p.text(`all(".el-message--error").map(txt).join("；")`); msg != "" {
		p.fail("open: %s", msg)
	}
	p.waitFor("the trace", `all('[data-test=an-trace] .el-timeline-item').some((e) => txt(e).includes('规则发现') && txt(e).includes('市场主体登记'))`)
	// FP-109: an opinion, then a correction.
	p.typeInto("the opinion", `all('textarea[data-test=an-opinion], [data-test=an-opinion] textarea')[0]`, "已通知属地所现场核查")
	p.click("submit", `all('[data-test=an-submit]')[0]`)
	p.expectToast("handled", "已处理：处理中")
	p.waitFor("the row processing", `all('[data-test=an-list] .el-table__body tr').some((r) => txt(r).includes('异常测试0饭店') && txt(r).includes('处理中'))`)
	p.waitFor("two steps", `all('[data-test=an-trace] .el-timeline-item').length === 2`)
	p.click("the correct action", `byText('[data-test=an-action] .el-radio-button', '修正')`)
	p.typeInto("the field", `all('input[data-test=an-field], [data-test=an-field] input')[0]`, "行业代码")
	p.typeInto("the value", `all('input[data-test=an-value], [data-test=an-value] input')[0]`, "5211")
	p.click("submit", `all('[data-test=an-submit]')[0]`)
	p.expectToast("corrected", "已处理：已修正")
	p.waitFor("the handling form gone", `!all('[data-test=an-handle]').length`)
	p.waitFor("the row left the live list", `!all('[data-test=an-list] .el-table__body tr').some((r) => txt(r).includes('异常测试0饭店'))`)
	p.waitFor("the food count down to 2", `all('[data-test=an-class-card]').some((c) => txt(c).includes('食品数据') && txt(c.querySelector('[data-test=an-class-count]')) === '2')`)
}
