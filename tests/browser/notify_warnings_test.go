package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

// TestWarningBoard (FP-129): a warning another function raises through
// the notice event arrives live in the system administrator's open
// console, pops up at his next login until acknowledged, is acknowledged
// there, and is handled on the 预警信息 page with an opinion; a warning for
// another role never reaches him.
func TestWarningBoard(t *testing.T) { // FP-129
	s := startStack(t)
	pw := s.initialPasswords(t)
	browser := newBrowser(t)
	first := openPage(t, browser, s.url, "admin")
	first.login("admin", pw["admin"], adminPW)
	if menus := first.menuCodes(); !contains(menus, "warnings") {
		t.Fatalf("the administrator's menu lacks 预警信息: %v", menus)
	}

	const title, other = "长安区某商场电梯困人", "审计日志存储空间不足"
	raise := func(n sharednotify.Notice) {
		t.Helper()
		if err := store.InTx(context.Background(), s.p.Pool, func(tx pgx.Tx) error {
			return sharednotify.Post(context.Background(), tx, "/functions/alarm-intake", n)
		}); err != nil {
			t.Fatal(err)
		}
	}
	raise(sharednotify.Notice{Title: other, WarningLevel: sharednotify.WarningYellow, Roles: []string{"auditor"}})
	raise(sharednotify.Notice{Title: title, Body: "3 人被困，已报 119。", Level: sharednotify.LevelAlert,
		WarningLevel: sharednotify.WarningRed, WarningKind: "特种设备", Roles: []string{"sysadmin"}})
	first.waitFor("the live warning", fmt.Sprintf(`all('.el-notification').some((e) => txt(e).includes(%s) && txt(e).includes('红色预警'))`, jsString(title)))

	// At the next login the unacknowledged warning pops up; it is
	// acknowledged there.
	again := openPage(t, browser, s.url, "admin-again")
	again.login("admin", adminPW, "")
	again.waitFor("the pop-up at login", fmt.Sprintf(`(dialog('未签收的预警信息') || {offsetParent: null}).offsetParent &&
		all('[data-test=warning-popup-item]').some((e) => txt(e).includes(%s))`, jsString(title)))
	if shown := again.text(`all('[data-test=warning-popup-item]').map(txt).join('；')`); strings.Contains(shown, other) || shown == "" {
		t.Fatalf("the pop-up shows %q", shown)
	}
	again.jsClick("acknowledge in the pop-up", `all('[data-test=warning-popup-item]').find((e) => txt(e).includes('电梯困人')).querySelector('[data-test=warning-popup-ack]')`)
	again.waitFor("acknowledged", `all('[data-test=warning-popup-item]').some((e) => txt(e).includes('电梯困人') && txt(e).includes('已签收'))`)
	again.jsClick("to the board", `all('[data-test=warning-popup-all]')[0]`)
	again.waitFor("the pop-up to close", `!(dialog('未签收的预警信息') || {offsetParent: null}).offsetParent`)

	// The board: the warning, processing since acknowledged; the auditor's is not there.
	row := fmt.Sprintf(`all('.el-table__body tr').find((tr) => txt(tr).includes(%s))`, jsString(title))
	again.waitFor("the warning on the board", row+` && txt(`+row+`).includes('处理中') && txt(`+row+`).includes('已签收')`)
	if again.text(`String(all('.el-table__body tr').some((tr) => txt(tr).includes('审计日志存储空间不足')))`) != "false" {
		t.Fatal("the auditor's warning is on the administrator's board")
	}
	again.jsClick("handle", row+`.querySelector('[data-test=warning-handle]')`)
	again.waitFor("the handling dialog", `(dialog('处理预警') || {offsetParent: null}).offsetParent`)
	again.jsClick("已处理", `dialog('处理预警').querySelector('[data-test=warning-state-done] input') || dialog('处理预警').querySelector('[data-test=warning-state-done]')`)
	again.typeInto("the opinion", `dialog('处理预警').querySelector('textarea')`, "已派员到场，人员安全解困，电梯停用待检。")
	again.jsClick("submit", `dialog('处理预警').querySelector('[data-test=warning-handle-submit]')`)
	again.waitFor("handled", row+` && txt(`+row+`).includes('已处理') && txt(`+row+`).includes('人员安全解困')`)

	// The handling is stored with who did it.
	var state, handler, opinion string
	if err := s.p.Pool.QueryRow(context.Background(), `SELECT state, handled_name, opinion FROM notify.warnings WHERE title = $1`, title).
		Scan(&state, &handler, &opinion); err != nil || state != "done" || handler == "" || opinion != "已派员到场，人员安全解困，电梯停用待检。" {
		t.Errorf("stored: %s %s %s (%v)", state, handler, opinion, err)
	}
}
