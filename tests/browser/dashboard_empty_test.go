package browser

import (
	"testing"
)

// TestDashboardEmptyStates (FP-101, FP-110, FP-114): bad input shows a
// clear empty state, never a broken chart. An unknown indicator opened by
// address says 指标不存在 with no chart; a user whose data scope is empty
// sees the scope notice on the KPI board and in every area of the big
// screen, with no chart drawn and the canvas still whole.
func TestDashboardEmptyStates(t *testing.T) {
	s := startStack(t)
	token := apiAdmin(t, s)
	var role struct {
		ID string `json:"id"`
	}
	if st := s.api(t, "POST", "/identity/v1/roles", token, map[string]any{"code": "screen_self", "name": "大屏（仅本人数据）",
		"menus": []string{"dashboard.kpi", "dashboard.screen", "dashboard.reports"}, "perms": []string{"dashboard.kpi:view"},
		"scope_kind": "self"}, &role); st != 201 && st != 200 {
		t.Fatalf("create role: %d", st)
	}
	pw := createUser(t, s, token, "screenself", "大屏观察员", "13800138021", "screen_self")

	admin := openPage(t, newBrowser(t), s.url, "admin")
	admin.login("admin", adminPW, "")
	for _, bad := range []string{"999", "abc"} {
		admin.goTo("/dashboard/kpi?indicator=" + bad)
		admin.waitFor("the unknown indicator's empty state", `all('[data-test=kpi-detail-empty]').some((e) => txt(e).includes('指标不存在'))`)
		var canvases int
		if err := admin.eval(`all('[data-test=kpi-detail] canvas').length`, &canvases); err != nil || canvases != 0 {
			admin.fail("an unknown indicator drew %d charts (%v)", canvases, err)
		}
	}

	user := openPage(t, newBrowser(t), s.url, "screenself")
	user.login("screenself", pw, "Daping#Empty2026x")
	user.goTo("/dashboard/kpi")
	user.waitFor("the scope notice on the board", `all('[data-test=kpi-notice]').some((e) => txt(e).includes('数据范围为空'))`)
	if vals := user.strings(`all('[data-test=kpi-card] .kpi-value').map(txt)`); len(vals) == 0 || vals[0] != "—" {
		user.fail("values with an empty scope: %v", vals)
	}
	user.goTo("/screen")
	user.waitFor("every chart area empty", `all('[data-test=screen-empty]').length === 5 && all('[data-test=screen-empty]').every((e) => txt(e).includes('数据范围为空'))`)
	var g struct {
		Charts int  `json:"charts"`
		Areas  int  `json:"areas"`
		Inside bool `json:"inside"`
	}
	if err := user.eval(`(() => { const c = document.querySelector('[data-test=screen-canvas]').getBoundingClientRect();
		const as = [...document.querySelectorAll('[data-area]')];
		return { charts: document.querySelectorAll('[data-area] canvas').length, areas: as.length,
			inside: as.every((a) => { const b = a.getBoundingClientRect(); return b.left >= c.left - 0.5 && b.right <= c.right + 0.5 && b.top >= c.top - 0.5 && b.bottom <= c.bottom + 0.5; }) }; })()`, &g); err != nil {
		user.fail("measure: %v", err)
	}
	if g.Charts != 0 || g.Areas != 7 || !g.Inside {
		user.fail("empty-scope screen: %+v", g)
	}
	user.shot("screen-empty-scope")
}
