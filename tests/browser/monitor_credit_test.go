package browser

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/codes"
)

// TestMonitorCreditGrade (FP-87): a penalty entered on 信用等级 grades the
// entity at once (100 − 15 = 85, B); the grade lists under its box, and its
// explanation names the factor, the deduction and the record, with the
// change in its history.
func TestMonitorCreditGrade(t *testing.T) {
	s := startStack(t)
	code, err := codes.MakeCreditCode("91", "130102", "20260087")
	if err != nil {
		t.Fatal(err)
	}
	p := adminPage(t, s)
	p.goTo("/monitor/credit")
	p.waitFor("grade boxes", `all('[data-test=credit-summary] .grade-box').length === 4`)
	p.click("enter a record", `all('[data-test=credit-add-record]')[0]`)
	p.typeInto("credit code", `field('统一社会信用代码') && field('统一社会信用代码').querySelector('input')`, code)
	p.typeInto("entity name", `field('主体名称') && field('主体名称').querySelector('input')`, "长安茶行")
	p.pick("区县", "长安区")
	p.typeInto("record number", `field('记录编号') && field('记录编号').querySelector('input')`, "石长市监罚〔2026〕87号")
	p.typeInto("date", `field('发生日期') && field('发生日期').querySelector('input')`, "2026-10-01")
	p.dialogButton("录入信用记录", "保存并重新评级")
	p.expectToast("regraded", "重新评定为 B 级（85 分）")
	p.jsClick("grade B box", `all('[data-test=credit-box-B]')[0]`)
	p.waitFor("the entity listed under B", `all('[data-test=credit-grades] .el-table__row').some((r) => txt(r).includes('长安茶行') && txt(r).includes(`+jsString(code)+`) && txt(r).includes('行政处罚 1 条 −15'))`)
	p.jsClick("D box", `all('[data-test=credit-box-D]')[0]`)
	p.waitFor("nothing under D", `!all('[data-test=credit-grades] .el-table__row').length`)
	p.jsClick("B box again", `all('[data-test=credit-box-B]')[0]`)
	p.waitFor("B listed again", `!all('[data-test=credit-grades] .el-loading-mask').some((m) => m.style.display !== 'none') && all('[data-test=credit-grades] .el-table__row').some((r) => txt(r).includes('长安茶行'))`)
	p.jsClick("explain", `[...all('[data-test=credit-grades] button')].find((b) => txt(b) === '说明')`)
	p.waitFor("the explanation", `all('[data-test=credit-detail]').some((d) => txt(d).includes('得分 85') && txt(d).includes('石长市监罚〔2026〕87号') && txt(d).includes('−15') && txt(d).includes('信用记录：行政处罚'))`)
}
