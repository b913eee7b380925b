package browser

import (
	"os"
	"os/exec"
	"path/filepath"
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

// TestMonitorStreamCheck (FP-89): a recording with a caption track (made
// by ffmpeg) is added on 直播监测 and checked: the toast counts the
// captions and the hit, and the row shows the result.
func TestMonitorStreamCheck(t *testing.T) {
	s := startStack(t)
	dir := t.TempDir()
	srt := filepath.Join(dir, "live.srt")
	if err := os.WriteFile(srt, []byte("1\n00:00:01,000 --> 00:00:02,000\n欢迎来到直播间\n\n2\n00:00:03,000 --> 00:00:04,000\n这款茶叶是全网最好的\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mp4 := filepath.Join(dir, "live.mp4")
	if b, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=5:duration=5",
		"-i", srt, "-map", "0:v", "-map", "1:s", "-c:v", "mpeg4", "-c:s", "mov_text", "-y", mp4).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, b)
	}
	p := adminPage(t, s)
	p.goTo("/monitor/streams")
	p.click("add", `all('[data-test=stream-add]')[0]`)
	p.typeInto("platform", `field('平台') && field('平台').querySelector('input')`, "抖音")
	p.typeInto("account", `field('主播账号') && field('主播账号').querySelector('input')`, "长安茶行官方")
	p.typeInto("url", `field('直播流地址') && field('直播流地址').querySelector('input')`, "file://"+mp4)
	p.pick("区县", "长安区")
	p.dialogButton("添加直播流", "保存")
	p.expectToast("added", "已加入监测名单")
	p.waitFor("listed", `all('[data-test=monitor-streams] .el-table__row').some((r) => txt(r).includes('长安茶行官方'))`)
	p.jsClick("check", `[...all('[data-test=monitor-streams] button')].find((b) => txt(b) === '检查字幕')`)
	p.expectToast("checked", "读取字幕 2 条，疑似违法 1 处，新增线索 1 条")
	p.waitFor("result shown", `all('[data-test=monitor-streams] .el-table__row').some((r) => txt(r).includes('字幕 2 条，疑似违法 1 处'))`)
}
