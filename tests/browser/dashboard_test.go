package browser

import (
	"context"
	"fmt"
	"testing"
)

// TestKPIBoard (FP-110, FP-112–114, FP-130): the 指标看板 page shows the
// seeded indicators with values counted from the rollup, opens an
// indicator's county ranking (a chart of non-zero size and a ranked
// table) and roster, and the back office turns on an indicator's line
// wrapping.
func TestKPIBoard(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	// 长安区 three active enterprises, 桥西区 two, and one revoked.
	for i, d := range []string{"130102", "130102", "130102", "130104", "130104", "130104"} {
		status := "active"
		if i == 5 {
			status = "revoked"
		}
		if _, err := s.p.Pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
			address, district_code, township_code, industry_code, status) VALUES ($1, $2, 'enterprise', '张三', '2020-01-01', '某路1号', $3, '', '5211', $4)`,
			fmt.Sprintf("91130100KPI%07d", i), fmt.Sprintf("看板测试%d商贸有限公司", i), d, status); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.p.Dashboard.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	p := adminPage(t, s)
	p.goTo("/dashboard/kpi")
	card := `all('[data-test=kpi-card]').find((e) => txt(e.querySelector('.kpi-name')) === '在业企业')`
	p.waitFor("在业企业 = 5", card+` && txt(`+card+`.querySelector('.kpi-value')).startsWith('5')`)
	p.waitFor("吊销主体 = 1", `all('[data-test=kpi-card]').some((e) => txt(e.querySelector('.kpi-name')) === '吊销主体' && txt(e.querySelector('.kpi-value')).startsWith('1'))`)
	// A DOM click: the category tree above may still be laying out.
	p.waitFor("the category tree", `all('[data-test=kpi-tree] .el-tree-node').length`)
	p.jsClick("the 在业企业 card", card)
	p.waitFor("ranking", `all('[data-test=kpi-ranking] .el-table__body tr').length === 2`)
	if got := p.strings(`all('[data-test=kpi-ranking] .el-table__body tr').map((r) => txt(r.querySelectorAll('td')[1]) + ':' + txt(r.querySelectorAll('td')[2]))`); joined(got) != "长安区:3,桥西区:2" {
		t.Errorf("ranking = %v", got)
	}
	p.waitFor("the chart drawn", `all('[data-test=kpi-detail] canvas').some((c) => c.width > 0 && c.height > 0)`)
	p.waitFor("roster", `all('[data-test=kpi-roster] .el-table__body tr').length === 5`)
	p.shot("kpi-board")

	p.jsClick("edit 在业企业", card+`.querySelector('.kpi-meta button')`)
	p.waitFor("the dialog", `all('[data-test=kpi-dialog] input').length`)
	p.click("wrap switch", `all('.el-dialog [data-test=kpi-form-wrap]')[0]`)
	p.click("save", `all('[data-test=kpi-save]')[0]`)
	p.expectToast("saved", "已保存")
	p.waitFor("the name wraps", card+` && `+card+`.querySelector('.kpi-name.wrap')`)
}
