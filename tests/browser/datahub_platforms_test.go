package browser

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/tests/sim/thirdparty"
)

// TestDatahubPlatformFlow (FP-115, FP-116, FP-117): the administrator
// creates a third-party platform in 三方平台管理, then in 数据交互配置 an
// interface of it (the simulator's API-key endpoint, two fields mapped
// onto 市场主体基本信息), tests the connection, runs it and sees the rows
// written, then finds the call in 数据交互日志 with the key redacted.
func TestDatahubPlatformFlow(t *testing.T) {
	var recs []thirdparty.Record
	for i := range 3 {
		code, _ := codes.MakeCreditCode("91", "130102", fmt.Sprintf("MB%06d", i))
		recs = append(recs, thirdparty.Record{USCC: code, Name: fmt.Sprintf("浏览器三方%d食品有限公司", i), RegDate: "2020/01/01",
			Capital: "10", District: "130102", Industry: "1411"})
	}
	sim := thirdparty.New("browser-key-0001", "kid", "sec", "cid", "csec", recs...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	// The simulator is on loopback: the administrator's allow-list admits it.
	s := startStack(t, func(c *platform.Config) { c.Datahub.PlatformAllow = "127.0.0.1/32" })
	p := adminPage(t, s)
	if menus := p.menuCodes(); !contains(menus, "datahub.platforms") || !contains(menus, "datahub.platform-interfaces") || !contains(menus, "datahub.platform-logs") {
		t.Fatalf("the administrator's menu lacks the third-party pages: %v", menus)
	}

	p.goTo("/datahub/platforms")
	p.click("new platform", `all('[data-test=pf-new]')[0]`)
	p.typeInto("platform name", `all('input[data-test=pf-name]')[0]`, "浏览器测试追溯平台")
	p.typeInto("department", `all('input[data-test=pf-dept]')[0]`, "市食品安全办")
	p.click("save platform", `all('[data-test=pf-save]')[0]`)
	p.expectToast("platform saved", "已保存")
	p.waitFor("the platform listed", `all('[data-test=pf-list] .el-table__body td').some((td) => txt(td) === '浏览器测试追溯平台')`)

	p.goTo("/datahub/platform-interfaces")
	p.click("new configuration", `all('[data-test=pi-new]')[0]`)
	p.pick("所属平台", "浏览器测试追溯平台")
	p.typeInto("configuration name", `all('input[data-test=pi-name]')[0]`, "企业名录接口")
	p.typeInto("address", `all('input[data-test=pi-address]')[0]`, srv.URL+"/apikey/enterprises")
	p.jsClick("auth api_key", `byText('.el-radio', 'API Key 请求头')`)
	p.typeInto("secret", `all('input[data-test=pi-secret]')[0]`, "browser-key-0001")
	p.typeInto("mapping source 0", `all('[data-map-source="0"] input, input[data-map-source="0"]')[0]`, "uscc")
	p.click("mapping target 0", `all('[data-map-target="0"]')[0].querySelector('.el-select__wrapper') || all('[data-map-target="0"]')[0]`)
	p.jsClick("target credit_code", `byText('.el-select-dropdown__item', '统一社会信用代码（credit_code）')`)
	p.click("outside the select", `all('.el-dialog .el-dialog__title')[0]`)
	p.waitFor("dropdown closed", `!all('.el-select-dropdown__item').length`)
	p.click("add mapping", `all('[data-test=pi-map-add]')[0]`)
	p.typeInto("mapping source 1", `all('[data-map-source="1"] input, input[data-map-source="1"]')[0]`, "ent_name")
	p.click("mapping target 1", `all('[data-map-target="1"]')[0].querySelector('.el-select__wrapper') || all('[data-map-target="1"]')[0]`)
	p.jsClick("target name", `byText('.el-select-dropdown__item', '主体名称（name）')`)
	p.click("outside the select", `all('.el-dialog .el-dialog__title')[0]`)
	p.waitFor("dropdown closed", `!all('.el-select-dropdown__item').length`)
	p.click("save configuration", `all('[data-test=pi-save]')[0]`)
	p.expectToast("configuration saved", "已保存")
	p.waitFor("the configuration listed as 未联调", `all('[data-test=pi-list] .el-table__body tr').some((tr) => txt(tr).includes('企业名录接口') && txt(tr).includes('未联调'))`)

	p.clickUntil("test connection", `all('[data-test-conn]')[0]`, `dialog('测试连接结果') || all('.el-message--error').length`)
	if msg := p.text(`all('.el-message--error').map(txt).join('；')`); msg != "" {
		t.Fatalf("test connection: %s", msg)
	}
	p.waitFor("the test result", `dialog('测试连接结果') && txt(dialog('测试连接结果')).includes('成功') && txt(dialog('测试连接结果')).includes('浏览器三方0食品有限公司')`)
	p.clickUntil("close the result", `all('[data-test=pi-result-close]')[0]`, `!dialog('测试连接结果')`)
	p.waitFor("联调中 after the test", `all('[data-test=pi-list] .el-table__body tr').some((tr) => txt(tr).includes('企业名录接口') && txt(tr).includes('联调中'))`)
	p.clickUntil("run", `all('[data-run]').find((b) => !b.disabled)`, `dialog('执行结果')`)
	p.waitFor("three rows written", `dialog('执行结果') && txt(all('[data-test=pi-written]')[0] || {textContent: ''}) === '3'`)
	p.clickUntil("close the run result", `all('[data-test=pi-result-close]')[0]`, `!dialog('执行结果')`)

	p.goTo("/datahub/platform-logs")
	p.waitFor("the run in the log", `all('[data-test=pl-list] .el-table__body tr').some((tr) => txt(tr).includes('企业名录接口') && txt(tr).includes('手动执行') && txt(tr).includes('200'))`)
	p.jsClick("open the log row", `all('[data-test=pl-list] .el-table__body tr').find((tr) => txt(tr).includes('手动执行'))`)
	p.waitFor("the redacted request", `all('.dump').some((e) => txt(e).includes('X-Api-Key: ***')) && !all('.dump').some((e) => txt(e).includes('browser-key-0001'))`)
	if n := len(sim.Calls()); n != 2 {
		t.Errorf("the simulator answered %d calls, want the test's and the run's", n)
	}
}
