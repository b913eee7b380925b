package browser

import (
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// TestConnectorsPage (FP-19, FP-14, FP-15, FP-16, FP-20, FP-21, FP-13):
// the administrator opens 数据对接, sees every connector never run, clicks
// 立即同步 on the spot-check platform (its simulator mounted by the
// platform), sees the run's result, cursor and health and the request in
// the interaction log; the spot check arrives in the entity's 一户一档.
func TestConnectorsPage(t *testing.T) {
	s := startStack(t, func(c *platform.Config) {
		base := c.Public.BaseURL
		c.Connectors.LegalPersonURL, c.Connectors.PublicityURL = base+"/sim/legalperson", base+"/sim/publicity"
		c.Connectors.SpotCheckURL, c.Connectors.ShiURL, c.Connectors.HubURL = base+"/sim/spotcheck", base+"/sim/shi", base+"/sim/hub"
	})
	p := adminPage(t, s)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	changan, _ := seedEntities(t, s, login.AccessToken)

	p.goTo("/market/connectors")
	p.waitFor("the connectors", `all('[data-test=connectors] .el-table__body td').some((td) => txt(td) === '抽查数据平台')`)
	if n := p.text(`String(all('[data-test=health]').filter((e) => txt(e) === '未知').length)`); n != "6" {
		t.Fatalf("%s connectors never run, want 6", n)
	}
	// DOM clicks: the table's loading mask may still cover a row when it first renders.
	p.jsClick("立即同步", `all('[data-test=run-spotcheck]')[0]`)
	p.expectToast("the run started", "同步已开始")
	p.clickUntil("refresh", `all('[data-test=refresh]')[0]`,
		`all('[data-test=connectors] .el-table__body tr').some((tr) => txt(tr).includes('抽查数据平台') && txt(tr).includes('完成') && txt(tr).includes('正常'))`)
	p.jsClick("the log", `all('[data-test=log-spotcheck]')[0]`)
	p.waitFor("a logged request", `all('[data-test=log] .el-table__body tr').some((tr) => txt(tr).includes('/ccpt/api/results') && txt(tr).includes('200'))`)

	// The record reaches the registry through the event, and 一户一档 shows it.
	var prof struct {
		Counts map[string]int `json:"counts"`
	}
	testwait.For(t, "the spot check in the registry", func() bool {
		s.api(t, "GET", "/registry/v1/entities/"+changan[0]+"/profile", login.AccessToken, nil, &prof)
		return prof.Counts["spot_check"] == 1
	})
	p.goTo("/market/profile/" + changan[0])
	p.waitFor("the spot-check tab", `all('.el-tabs__item').some((e) => txt(e) === '抽查检查（1）')`)
	if tabs := p.text(`all('.el-tabs__item').map(txt).join(',')`); !strings.Contains(tabs, "涉市场经营人员（0）") {
		t.Errorf("tabs %s", tabs)
	}
}
