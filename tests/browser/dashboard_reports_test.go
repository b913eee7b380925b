package browser

import (
	"testing"
)

// TestReportsPage (FP-121, FP-138, FP-131): a report is defined through
// the step guide (Next refused without a title), listed with its
// dimensions and period, and subscribed to from its switch.
func TestReportsPage(t *testing.T) {
	s := startStack(t)
	p := adminPage(t, s)
	p.goTo("/dashboard/reports")
	p.waitFor("the empty list", `all('[data-test=report-list] .el-empty').length`)
	p.click("new report", `all('[data-test=report-add]')[0]`)
	p.waitFor("the guide", `all('[data-test=step-guide] [data-test=step-next]').length`)
	p.click("next without a title", `all('[data-test=step-next]')[0]`)
	p.waitFor("the hint", `all('[data-test=step-hint]').some((e) => txt(e) === '请填写报告标题')`)
	p.typeInto("title", `all('input[data-test=report-form-title], [data-test=report-form-title] input')[0]`, "市场主体周报")
	p.click("next", `all('[data-test=step-next]')[0]`)
	p.waitFor("step 2", `all('[data-test=step-guide] .el-select').length`)
	p.click("next", `all('[data-test=step-next]')[0]`)
	p.waitFor("step 3", `all('[data-test=step-guide] .el-radio').length === 3`)
	p.click("weekly", `byText('[data-test=step-guide] .el-radio', '周报')`)
	p.click("save", `all('[data-test=step-finish]')[0]`)
	p.expectToast("saved", "已保存")
	p.waitFor("the report listed", `all('[data-test=report-list] .el-table__body tr').some((r) => txt(r).includes('市场主体周报') && txt(r).includes('区县、主体类型') && txt(r).includes('周报'))`)
	// A DOM click: the closing dialog's mask may still cover the list.
	p.jsClick("subscribe", `all('[data-test=report-list] .el-switch')[0]`)
	p.expectToast("subscribed", "已订阅")
	p.waitFor("the switch on", `all('[data-test=report-list] .el-switch.is-checked').length === 1`)
}
