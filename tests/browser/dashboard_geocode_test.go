package browser

import (
	"testing"
)

// TestGeocodeQuality (FP-124, FP-139, FP-140, FP-131): addresses typed
// into 地址质量 are normalised and graded; geocoded through the platform's
// AMap simulator, the township- and district-level ones are flagged; in
// the worklist a row opens the detail drawer, one point is confirmed with
// a reason (refused without one) and the other moved.
func TestGeocodeQuality(t *testing.T) {
	s := startStack(t)
	p := adminPage(t, s)
	p.goTo("/dashboard/geocode")
	p.typeInto("addresses", `all('textarea[data-test=geo-input], [data-test=geo-input] textarea')[0]`, "长安区中山东路123号5号楼\n鹿泉区铜冶镇\n北京市朝阳区\n藁城区")
	p.click("normalise", `all('[data-test=geo-normalize]')[0]`)
	p.waitFor("four graded rows", `all('[data-test=geo-results] [data-test=geo-grade]').length === 4`)
	if got := p.strings(`all('[data-test=geo-results] [data-test=geo-grade]').map(txt)`); joined(got) != "A 楼栋级,D 乡镇级,F 无法识别,E 区县级" {
		t.Errorf("grades %v", got)
	}
	p.click("geocode", `all('[data-test=geo-geocode]')[0]`)
	p.waitFor("the flagged warning", `all('.el-message--warning').some((e) => txt(e).includes('2 个点位可疑')) || all('.el-message--error').length`)
	if msg := p.text(`all('.el-message--error').map(txt).join('；')`); msg != "" {
		p.fail("geocoding: %s", msg)
	}
	p.waitFor("a point for the precise one", `all('[data-test=geo-results] .el-table__body tr').some((r) => /114\.\d+, 3[78]\.\d+/.test(txt(r)))`)
	p.click("the worklist", `byText('.el-tabs__item', '异常点位处理')`)
	p.waitFor("the flagged address", `all('[data-test=geo-anomalies] .el-table__body tr').some((r) => txt(r).includes('鹿泉区铜冶镇') && txt(r).includes('地址过于笼统'))`)
	// The detail drawer (FP-131) opens on a row.
	p.click("a row", `all('[data-test=geo-anomalies] .el-table__body tr').find((r) => txt(r).includes('藁城区'))`)
	p.waitFor("the drawer", `all('[data-test=detail-drawer] .el-descriptions').some((d) => txt(d).includes('地址过于笼统'))`)
	p.click("close the drawer", `all('[data-test=detail-drawer] .el-drawer__close-btn')[0]`)
	p.waitFor("the drawer closed", `!all('[data-test=detail-drawer] .el-descriptions').length`)
	// Confirm with a reason (FP-131): refused without one.
	p.jsClick("confirm", `all('[data-test=geo-anomalies] .el-table__body tr').find((r) => txt(r).includes('藁城区')).querySelector('[data-test=geo-confirm]')`)
	p.waitFor("the reason dialog", `all('[data-test=confirm-reason-ok]').length`)
	p.click("ok without a reason", `all('[data-test=confirm-reason-ok]')[0]`)
	p.waitFor("the reason asked for", `all('[data-test=confirm-reason-error]').some((e) => txt(e).includes('原因至少'))`)
	p.typeInto("the reason", `all('textarea[data-test=confirm-reason-input], [data-test=confirm-reason-input] textarea')[0]`, "已电话核实，区县级地址")
	p.click("ok", `all('[data-test=confirm-reason-ok]')[0]`)
	p.expectToast("confirmed", "已确认")
	p.waitFor("one left open", `all('[data-test=geo-anomalies] .el-table__body tr').length === 1`)
	p.jsClick("fix", `all('[data-test=geo-anomalies] [data-test=geo-fix]')[0]`)
	p.waitFor("the fix dialog", `all('[data-test=geo-fix-save]').length`)
	p.click("save", `all('[data-test=geo-fix-save]')[0]`)
	p.expectToast("fixed", "已纠正")
	p.waitFor("the open list empty", `!all('[data-test=geo-anomalies] .el-table__body tr').length`)
	// A DOM click: the closing dialog's mask may still cover the page.
	p.jsClick("the fixed list", `byText('.el-radio-button', '已纠正').querySelector('input')`)
	p.waitFor("the fixed filter on", `txt(all('.el-radio-button.is-active')[0]) === '已纠正'`)
	p.waitFor("the fixed point", `all('[data-test=geo-anomalies] .el-table__body tr').some((r) => txt(r).includes('鹿泉区铜冶镇') && txt(r).includes('已纠正'))`)
	p.jsClick("the confirmed list", `byText('.el-radio-button', '已确认').querySelector('input')`)
	p.waitFor("the confirmed point with its reason", `all('[data-test=geo-anomalies] .el-table__body tr').some((r) => txt(r).includes('藁城区') && txt(r).includes('已电话核实'))`)
	p.shot("geocode")
}
