package browser

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpinput "github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sjzamr/smartreg/functions/dispatch"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
)

// FP-146, FP-163: the inspector's phone page (emulated at 360×800, its GPS
// stubbed at a street of 长安区) raises a one-key alarm; the command
// centre, open in another browser, shows it blinking in its list and on
// the newest-alarm banner, pushed by dispatch's SSE feed.
func TestPhoneAlarmBlinksOnTheCentre(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	const adminPW = "Dispatch-Browser-1!"
	centre := openPage(t, newBrowser(t), s.url, "centre")
	centre.login("admin", pw["admin"], adminPW)
	centre.goTo("/command/centre")
	centre.waitFor("the centre's map", `document.querySelector('[data-test=centre-map]')`)

	phone := openPage(t, newBrowser(t), s.url, "phone")
	phone.run("phone viewport", chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile))
	phone.login("admin", adminPW, "")
	// The GPS fix: geolocation stubbed before the page asks for it.
	var ok bool
	if err := phone.eval(`Object.defineProperty(navigator, 'geolocation', {value: {
		watchPosition: (ok) => { setTimeout(() => ok({coords: {latitude: 38.0428, longitude: 114.5149, accuracy: 8}}), 0); return 1 },
		clearWatch: () => {} }}) && true`, &ok); err != nil {
		t.Fatalf("stub GPS: %v", err)
	}
	phone.goTo("/mobile/inspector")
	phone.waitFor("the alarm button", `document.querySelector('[data-test=sos]')`)
	phone.typeInto("the alarm text", `document.querySelector('.phone .el-input__inner')`, "浏览器测试：现场有人阻挠执法")
	phone.click("one-key alarm", `document.querySelector('[data-test=sos]')`)
	phone.waitFor("the alarm delivered", `(document.querySelector('[data-test=alarm-status]')||{}).textContent === '报警已送达指挥中心'`)

	centre.waitFor("the alarm blinking in the list", `[...document.querySelectorAll('.card.blink[data-alarm]')].some((e) => e.textContent.includes('浏览器测试'))`)
	centre.waitFor("the newest-alarm banner", `(document.querySelector('[data-test=alarm-banner]')||{}).textContent?.includes('浏览器测试')`)

	// FP-149: a false alarm is dismissed with its reason, and the history
	// says who did it and why.
	centre.jsClick("the alarm", `[...document.querySelectorAll('[data-alarm]')].find((e) => e.textContent.includes('浏览器测试'))`)
	centre.click("dismiss", `document.querySelector('[data-test=dismiss-alarm]')`)
	centre.typeInto("the reason", `document.querySelector('.el-message-box input')`, "已电话核实为误报")
	centre.click("confirm", `document.querySelector('.el-message-box__btns .el-button--primary')`)
	centre.expectToast("dismissed", "报警已消除")
	centre.waitFor("the blink gone", `![...document.querySelectorAll('.card.blink[data-alarm]')].some((e) => e.textContent.includes('浏览器测试'))`)
	centre.waitFor("the message box gone", `!all('.el-message-box').length`)
	centre.clickUntil("the history", `document.querySelector('[data-test=history]')`, `all('[data-test=history-table]').length`)
	centre.waitFor("the dismissed alarm in the history", `[...document.querySelectorAll('[data-test=history-table] .el-table__row')].some((r) =>
		r.textContent.includes('浏览器测试') && r.textContent.includes('已消除') && r.textContent.includes('已电话核实为误报'))`)
}

// FP-145, FP-146, FP-147, FP-150, FP-154, FP-155, FP-159, FP-162: the whole dispatch loop
// in two browsers. The phone, offline, queues its alarm and sends it once
// when back online; the operator circles the phone's position on the map,
// picks the inspector found inside and dispatches a task and an
// instruction, answered by the phone's field report; the phone receives
// the task and completes it with a photo; the operator approves and
// closes, and the event's retrospection lists every step in order.
func TestCentreCirclesDispatchesAndRetraces(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	const adminPW = "Dispatch-Browser-2!"
	centre := openPage(t, newBrowser(t), s.url, "centre")
	centre.login("admin", pw["admin"], adminPW)

	phone := openPage(t, newBrowser(t), s.url, "phone")
	phone.run("phone viewport", chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile))
	phone.login("admin", adminPW, "")
	var ok bool
	if err := phone.eval(`Object.defineProperty(navigator, 'geolocation', {value: {
		watchPosition: (ok) => { setTimeout(() => ok({coords: {latitude: 38.0428, longitude: 114.5149, accuracy: 8}}), 0); return 1 },
		clearWatch: () => {} }}) && true`, &ok); err != nil {
		t.Fatalf("stub GPS: %v", err)
	}
	phone.goTo("/mobile/inspector")
	phone.waitFor("the alarm button", `document.querySelector('[data-test=sos]')`)

	// Offline: the alarm waits in the phone's queue.
	phone.run("go offline", networkOffline(true))
	phone.typeInto("the alarm text", `document.querySelector('.phone .el-input__inner')`, "离线报警：市场内有人销售过期食品")
	phone.click("one-key alarm", `document.querySelector('[data-test=sos]')`)
	phone.waitFor("the alarm queued", `document.body.innerText.includes('待发送 1 条')`)
	phone.run("back online", networkOffline(false))
	phone.waitFor("the queued alarm delivered", `(document.querySelector('[data-test=alarm-status]')||{}).textContent === '报警已送达指挥中心' && !document.body.innerText.includes('待发送')`)

	// A camera beside the phone, on the map's camera layer (FP-143).
	lat, lng := 38.0431, 114.5153
	if _, err := s.p.Dispatch.SaveResource(context.Background(), auditlog.System("test"), auth.Scope{Kind: auth.ScopeAll}, "",
		dispatch.ResourceInput{Kind: "camera", Name: "菜市场东门摄像头", Status: "online", Lat: &lat, Lng: &lng, District: "130102"}); err != nil {
		t.Fatal(err)
	}
	centre.goTo("/command/centre")
	centre.waitFor("the alarm in the list", `[...document.querySelectorAll('[data-alarm]')].some((e) => e.textContent.includes('离线报警'))`)
	if n := centre.text(`String([...document.querySelectorAll('[data-alarm]')].filter((e) => e.textContent.includes('离线报警')).length)`); n != "1" {
		t.Fatalf("the queued alarm reached the centre %s times, want once", n)
	}
	centre.jsClick("the alarm", `[...document.querySelectorAll('[data-alarm]')].find((e) => e.textContent.includes('离线报警'))`)
	centre.click("accept as an event", `document.querySelector('[data-test=accept-alarm]')`)
	centre.waitFor("the event's first steps", `all('[data-test=timeline-step]').length >= 2`)

	// The circle: drawn with the mouse around the phone's position, at the
	// map's own projection (the canvas is 900×640 over 113.8–115.5°E,
	// 37.45–38.6°N).
	centre.click("the circle tool", `document.querySelector('[data-test=circle-tool]')`)
	var box struct{ X, Y float64 }
	if err := centre.eval(`(() => { const r = document.querySelector('[data-test=centre-map]').getBoundingClientRect(); return {X: r.left, Y: r.top} })()`, &box); err != nil {
		t.Fatal(err)
	}
	x, y := box.X+(114.5149-113.8)/1.7*900, box.Y+(38.6-38.0428)/1.15*640
	pressed := func(p *cdpinput.DispatchMouseEventParams) { p.Buttons = 1 }
	centre.run("draw the circle",
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMouseMoved, x, y),
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft, pressed),
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMouseMoved, x+10, y, pressed),
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMouseMoved, x+20, y, pressed),
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMouseReleased, x+20, y, chromedp.ButtonLeft))
	centre.waitFor("the inspector inside the circle", `document.querySelector('[data-dispatch]')`)
	centre.waitFor("the camera inside the circle", `[...document.querySelectorAll('[data-resource]')].some((e) => e.textContent.includes('菜市场东门摄像头'))`)
	centre.click("dispatch a task", `document.querySelector('[data-dispatch]')`)
	centre.expectToast("the task dispatched", "任务已派发")

	// FP-159: an instruction from the centre, read on the phone's event
	// view, answered by a field report the centre sees at once.
	centre.typeInto("the instruction", `document.querySelector('input[data-test=instruction]')`, "先封存再取证，注意执法记录仪全程录像")
	centre.click("give the instruction", `document.querySelector('[data-test=send-instruction]')`)
	centre.expectToast("instruction given", "指令已下达给 1 人")
	phone.jsClick("the events tab", `document.querySelector('#tab-events')`)
	phone.jsClick("the event", `[...document.querySelectorAll('[data-phone-event]')].find((e) => e.textContent.includes('一键报警'))`)
	phone.waitFor("the instruction on the phone", `all('[data-test=phone-step]').some((e) => e.textContent.includes('指挥中心指令') && e.textContent.includes('先封存再取证'))`)
	phone.typeInto("the field report", `document.querySelector('textarea[data-test=quick-text]')`, "已到场，封存过期食品 12 箱")
	phone.click("send the field report", `document.querySelector('[data-test=send-quick]')`)
	phone.expectToast("field report sent", "速报已发送")
	centre.waitFor("the field report at the centre", `all('[data-test=timeline-step]').some((e) => e.textContent.includes('现场速报') && e.textContent.includes('封存过期食品 12 箱'))`)

	// The phone's task centre: receive, then complete with a photo.
	phone.jsClick("the task tab", `document.querySelector('#tab-tasks')`)
	task := `[...document.querySelectorAll('[data-task]')].find((e) => e.textContent.includes('前往报警现场处置'))`
	phone.waitFor("the dispatched task", task)
	phone.typeInto("the result", task+`.querySelector('.el-input__inner')`, "已到场，过期食品已下架封存")
	photo := filepath.Join(t.TempDir(), "scene.png")
	writePNG(t, photo)
	phone.run("attach the photo", chromedp.SetUploadFiles(node(task+`.querySelector('input[type=file]')`), []string{photo}))
	phone.click("complete the task", task+`.querySelector('[data-complete]')`)
	phone.expectToast("the task completed", "任务已办结")

	// Back at the centre: the result with its photo (the picture itself,
	// loaded through the attachment's scope check), approval, closing.
	centre.click("refresh the retrospection", `document.querySelector('[data-test=timeline]')`)
	centre.waitFor("the handled task with its photo", `all('[data-event-task]').some((e) => e.textContent.includes('现场照片 1 张') && e.textContent.includes('待审批'))`)
	centre.waitFor("the photo shown", `[...document.querySelectorAll('[data-event-task] img')].some((i) => i.complete && i.naturalWidth === 64)`)
	centre.click("approve", `document.querySelector('[data-approve]')`)
	centre.expectToast("approved", "已审批")
	centre.click("close the event", `document.querySelector('[data-test=close-event]')`)
	centre.typeInto("the closing reason", `document.querySelector('.el-message-box input')`, "现场处置完毕")
	centre.click("confirm closing", `document.querySelector('.el-message-box__btns .el-button--primary')`)
	centre.expectToast("closed", "事件已关闭")

	centre.waitFor("the closing step", `all('[data-test=timeline-step]').some((e) => e.textContent.includes('事件关闭'))`)
	steps := centre.strings(`all('[data-test=timeline-step]').map(txt)`)
	want := []string{"事件创建", "关联报警", "派发任务", "指令下达", "现场速报", "任务办结", "任务审批", "事件关闭"}
	if len(steps) != len(want) {
		t.Fatalf("retrospection has %d steps, want %d: %q", len(steps), len(want), steps)
	}
	for i, w := range want {
		if !strings.Contains(steps[i], w) {
			t.Fatalf("step %d is %q, want %s (all: %q)", i, steps[i], w, steps)
		}
	}
	if !strings.Contains(steps[5], "过期食品已下架封存") || !strings.Contains(steps[5], "照片 1 张") {
		t.Fatalf("the handling step lacks the result or the photo: %q", steps[5])
	}
	if !strings.Contains(steps[7], "现场处置完毕") {
		t.Fatalf("the closing step lacks the reason: %q", steps[7])
	}

	// The alarm's line in the history: closed with its event's reason.
	centre.waitFor("the message box gone", `!all('.el-message-box').length`)
	centre.clickUntil("the history", `document.querySelector('[data-test=history]')`, `all('[data-test=history-table]').length`)
	centre.waitFor("the closed alarm in the history", `[...document.querySelectorAll('[data-test=history-table] .el-table__row')].some((r) =>
		r.textContent.includes('离线报警') && r.textContent.includes('已关闭') && r.textContent.includes('现场处置完毕'))`)
	centre.run("close the history", chromedp.KeyEvent(kb.Escape))
	centre.waitFor("the history closed", `!all('[data-test=history-table]').length`)

	// FP-161: a hazard report with a photo reaches the centre's event list
	// by the feed, and opening it shows the photo.
	phone.jsClick("the report tab", `document.querySelector('#tab-report')`)
	phone.typeInto("the hazard title", `document.querySelector('#pane-report .el-input__inner')`, "隐患：商场扶梯护栏松动")
	phone.run("attach the hazard photo", chromedp.SetUploadFiles(node(`document.querySelector('[data-test=report-files]')`), []string{photo}))
	phone.click("send the report", `document.querySelector('[data-test=send-report]')`)
	phone.expectToast("the report sent", "已上报")
	report := `[...document.querySelectorAll('[data-event]')].find((e) => e.textContent.includes('扶梯护栏松动'))`
	centre.waitFor("the report in the event list", report)
	if src := centre.text(report + `.textContent`); !strings.Contains(src, "隐患上报") {
		t.Fatalf("the report's source: %q", src)
	}
	centre.jsClick("open the report", report)
	centre.waitFor("the report's photo", `[...document.querySelectorAll('[data-test=event-attachments] img')].some((i) => i.complete && i.naturalWidth === 64)`)
}

// networkOffline cuts (or restores) the tab's network and tells the page
// so, as a phone losing its signal would.
func networkOffline(offline bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		rule := &network.Conditions{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}
		if _, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{rule}}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	})
}

// writePNG writes a small real PNG (a scene photo stand-in).
func writePNG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FP-144, FP-149: a phone call entered at the centre — type, title, the
// place clicked on the map — becomes an event on the map, counted under
// its type's colour, with its first step in the retrospection.
func TestCallIntakeOnTheMap(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	centre := openPage(t, newBrowser(t), s.url, "centre")
	centre.login("admin", pw["admin"], "Dispatch-Browser-3!")
	centre.goTo("/command/centre")
	centre.waitFor("the type legend", `(document.querySelector('[data-test=type-counts]')||{}).textContent?.includes('食品安全 0')`)
	centre.click("call intake", `document.querySelector('[data-test=intake]')`)
	centre.pick("事件类型", "食品安全")
	centre.typeInto("title", input("intake_title"), "来电：某超市销售过期牛奶")
	centre.typeInto("address", input("intake_address"), "长安区中山东路某超市")
	centre.click("pick on the map", `document.querySelector('[data-test=pick-on-map]')`)
	var box struct{ X, Y float64 }
	if err := centre.eval(`(() => { const r = document.querySelector('[data-test=centre-map]').getBoundingClientRect(); return {X: r.left, Y: r.top} })()`, &box); err != nil {
		t.Fatal(err)
	}
	centre.waitFor("the dialog out of the way", `!dialog('来电接报') && !all('.el-overlay').length`)
	centre.run("click the place", chromedp.MouseClickXY(box.X+378, box.Y+310))
	centre.waitFor("the picked position", `dialog('来电接报') && document.querySelector('[data-test=intake-position]')`)
	centre.dialogButton("来电接报", "确定")
	centre.expectToast("the call entered", "已接报")
	centre.waitFor("the count under its type", `document.querySelector('[data-test=type-counts]').textContent.includes('食品安全 1')`)
	centre.waitFor("the first step", `all('[data-test=timeline-step]').some((e) => e.textContent.includes('事件创建'))`)
}

// FP-157: the phone's contacts — search the directory, star a colleague
// (favourites come first), and keep a group of the ticked people.
func TestPhoneContacts(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	phone := openPage(t, newBrowser(t), s.url, "phone")
	phone.run("phone viewport", chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile))
	phone.login("admin", pw["admin"], "Dispatch-Browser-4!")
	phone.goTo("/mobile/inspector")
	phone.jsClick("the contacts tab", `document.querySelector('#tab-contacts')`)
	auditor := `[...document.querySelectorAll('[data-contact]')].find((e) => e.textContent.includes('审计管理员'))`
	phone.waitFor("the directory", auditor)
	phone.typeInto("search", `document.querySelector('input[data-test=contact-search]')`, "审计")
	phone.run("search", chromedp.KeyEvent("\r"))
	phone.waitFor("only the auditor", `document.querySelectorAll('[data-contact]').length === 1 && `+auditor)
	phone.jsClick("star the auditor", auditor+`.querySelector('[data-fav]')`)
	phone.waitFor("starred", auditor+`.textContent.includes('★ 已收藏')`)
	phone.jsClick("tick the auditor", auditor+`.querySelector('.el-checkbox')`)
	phone.typeInto("group name", `document.querySelector('input[data-test=group-name]')`, "审计联络组")
	phone.click("save the group", `document.querySelector('[data-test=save-group]')`)
	phone.expectToast("group saved", "群组已保存")
	phone.waitFor("the group with its member", `[...document.querySelectorAll('[data-group]')].some((g) => g.textContent.includes('审计联络组') && g.textContent.includes('审计管理员'))`)
}

// FP-155: the inspectors' app is an installable PWA that opens with no
// network at all: the manifest names the phone page, the service worker
// keeps the page and its assets, and with the platform gone the page
// still starts, and alarms and hazard reports wait in its queue.
func TestPhoneAppOpensOffline(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	phone := openPage(t, newBrowser(t), s.url, "phone")
	phone.run("phone viewport", chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile))
	phone.run("GPS on every page", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `
			Object.defineProperty(navigator, 'geolocation', {value: {
				watchPosition: (ok) => { setTimeout(() => ok({coords: {latitude: 38.0428, longitude: 114.5149, accuracy: 8}}), 0); return 1 },
				clearWatch: () => {} }})`})
		return err
	}))
	phone.login("admin", pw["admin"], "Dispatch-Browser-5!")
	phone.goTo("/mobile/inspector")
	phone.waitFor("the alarm button", `document.querySelector('[data-test=sos]')`)
	await := func(what, expr string) string {
		t.Helper()
		v, err := chromedp.Run(phone.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	if got := await("the manifest", `fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json()).then((m) => m.start_url + ' ' + m.display)`); got != "/console/#/mobile/inspector standalone" {
		t.Fatalf("manifest: %q", got)
	}
	if got := await("the service worker", `navigator.serviceWorker.ready.then((r) => r.active.scriptURL)`); !strings.HasSuffix(got, "/console/sw.js") {
		t.Fatalf("service worker: %q", got)
	}
	// A second visit runs under the worker, which keeps what it serves.
	phone.run("reload", chromedp.Reload())
	phone.waitFor("the page under the worker", `navigator.serviceWorker.controller && document.querySelector('[data-test=sos]')`)
	if got := await("the kept page", `caches.match('/console/').then((r) => r ? 'kept' : 'missing')`); got != "kept" {
		t.Fatalf("the page in the cache: %s", got)
	}

	s.stop() // the network is gone: the platform's port refuses connections
	phone.run("reload offline", chromedp.Reload())
	phone.waitFor("the phone page, offline", `document.querySelector('[data-test=sos]')`)
	phone.typeInto("the alarm text", `document.querySelector('.phone .el-input__inner')`, "无信号区域报警")
	phone.click("one-key alarm", `document.querySelector('[data-test=sos]')`)
	phone.waitFor("the alarm queued", `document.body.innerText.includes('待发送 1 条')`)
	phone.jsClick("the report tab", `document.querySelector('#tab-report')`)
	phone.typeInto("the hazard title", `document.querySelector('#pane-report .el-input__inner')`, "地下商场消防通道堵塞")
	phone.click("send the report", `document.querySelector('[data-test=send-report]')`)
	phone.waitFor("the report queued", `(document.querySelector('[data-test=report-queue]')||{}).textContent?.includes('待上报 1 条')`)
	if got := phone.text(`JSON.parse(localStorage.getItem('reportQueue'))[0].title`); got != "地下商场消防通道堵塞" {
		t.Fatalf("queued report: %q", got)
	}
}

// FP-149, FP-152: the duty officer's brief (事件报送) — a call entered at
// the centre, the 初报 template composes the SMS from it, the recipients
// come from the directory (their numbers read from identity, logged), and
// the one-key SMS reaches them: the delivery log says sent.
func TestEventBriefFromTemplateAndDirectory(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	const adminPW = "Dispatch-Browser-6!"
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": pw["admin"]}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", login.AccessToken, map[string]string{"old_password": pw["admin"], "new_password": adminPW}, &login); st != 200 {
		t.Fatalf("change password: %d", st)
	}
	commsUsers(t, s, login.AccessToken) // 巡查员甲 13800138201, 巡查员乙 13800138202
	lat, lng := 38.0428, 114.5149
	if st := s.api(t, "POST", "/dispatch/v1/events", login.AccessToken, map[string]any{"type": "食品安全", "title": "某小学食堂疑似食物中毒",
		"description": "12 名学生腹痛", "address": "长安区建设北大街", "source": "call", "lat": lat, "lng": lng}, nil); st != 201 {
		t.Fatalf("event: %d", st)
	}
	centre := openPage(t, newBrowser(t), s.url, "centre")
	centre.login("admin", adminPW, "")
	centre.goTo("/comms/notify")
	centre.click("the event select", `document.querySelector('[data-test=notify-event]').closest('.el-select').querySelector('.el-select__wrapper')`)
	centre.jsClick("the event", `byText('.el-select-dropdown__item', '某小学食堂疑似食物中毒')`)
	centre.click("the template select", `document.querySelector('[data-test=notify-template]').closest('.el-select').querySelector('.el-select__wrapper')`)
	centre.jsClick("初报", `byText('.el-select-dropdown__item', '初报（接报即报）')`)
	centre.waitFor("the composed brief", `(document.querySelector('textarea[data-test=notify-body]')||{}).value?.startsWith('【事件初报】') &&
		document.querySelector('textarea[data-test=notify-body]').value.includes('长安区建设北大街发生食品安全事件：某小学食堂疑似食物中毒')`)
	centre.click("from the directory", `document.querySelector('[data-test=notify-directory]')`)
	centre.typeInto("search", `document.querySelector('input[data-test=directory-search]')`, "巡查员")
	centre.run("search", chromedp.KeyEvent("\r"))
	centre.waitFor("two inspectors", `dialog('从通讯录选择') && dialog('从通讯录选择').querySelectorAll('.el-table__body .el-table__row').length === 2`)
	centre.jsClick("select all", `dialog('从通讯录选择').querySelector('.el-table__header .el-checkbox')`)
	centre.click("add", `document.querySelector('[data-test=directory-add]')`)
	centre.waitFor("their numbers filled in", `[...document.querySelectorAll('[data-test=notify-nodes] input')].map((i) => i.value).join(',').includes('13800138201') &&
		[...document.querySelectorAll('[data-test=notify-nodes] input')].map((i) => i.value).join(',').includes('13800138202')`)
	centre.waitFor("the dialog gone", `!dialog('从通讯录选择')`)
	centre.clickUntil("one-key SMS", `document.querySelector('[data-test=notify-sms]')`, `all('[data-test=notify-log]').length`)
	centre.waitFor("both sent", `[...document.querySelectorAll('[data-test=state-sms]')].filter((e) => e.textContent.includes('已受理')).length === 2`)
	for _, phone := range []string{"13800138201", "13800138202"} {
		m, ok := s.sms.Last(phone)
		if !ok || !strings.Contains(fmt.Sprint(m.Params), "某小学食堂疑似食物中毒") {
			t.Errorf("the SMS gateway got for %s: %+v %v", phone, m, ok)
		}
	}
}

// FP-145, FP-151: from the map to a consult — the operator opens an event,
// picks the inspectors near it (KNN) and opens a consult with them; the
// consult room shows them as members, on the event.
func TestConsultWithThePickedInspectors(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	const adminPW = "Dispatch-Browser-7!"
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": pw["admin"]}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", login.AccessToken, map[string]string{"old_password": pw["admin"], "new_password": adminPW}, &login); st != 200 {
		t.Fatalf("change password: %d", st)
	}
	_, initial := commsUsers(t, s, login.AccessToken)
	// 巡查员甲's phone reports a position near the event.
	var insp struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "xuncha1", "password": initial[0]}, &insp); st != 200 {
		t.Fatalf("inspector login: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", insp.AccessToken, map[string]string{"old_password": initial[0], "new_password": "Comms-Phone-7!"}, &insp); st != 200 {
		t.Fatalf("inspector password: %d", st)
	}
	if st := s.api(t, "POST", "/dispatch/v1/positions", insp.AccessToken, map[string]any{"positions": []map[string]any{
		{"at": time.Now().UTC().Format(time.RFC3339), "lat": 38.0431, "lng": 114.5152, "accuracy": 6}}}, nil); st != 200 {
		t.Fatalf("position: %d", st)
	}
	lat, lng := 38.0428, 114.5149
	if st := s.api(t, "POST", "/dispatch/v1/events", login.AccessToken, map[string]any{"type": "特种设备", "title": "商场扶梯骤停有人受伤",
		"source": "call", "lat": lat, "lng": lng, "district": "130102"}, nil); st != 201 {
		t.Fatalf("event: %d", st)
	}
	centre := openPage(t, newBrowser(t), s.url, "centre")
	centre.login("admin", adminPW, "")
	centre.goTo("/command/centre")
	centre.jsClick("the event", `[...document.querySelectorAll('[data-event]')].find((e) => e.textContent.includes('商场扶梯骤停'))`)
	centre.waitFor("its retrospection", `all('[data-test=timeline-step]').length >= 1`)
	// The nearest inspectors to the event: the selection panel needs an
	// alarm or an event point; the circle tool picks around the event.
	var box struct{ X, Y float64 }
	if err := centre.eval(`(() => { const r = document.querySelector('[data-test=centre-map]').getBoundingClientRect(); return {X: r.left, Y: r.top} })()`, &box); err != nil {
		t.Fatal(err)
	}
	x, y := box.X+(114.5149-113.8)/1.7*900, box.Y+(38.6-38.0428)/1.15*640
	pressed := func(p *cdpinput.DispatchMouseEventParams) { p.Buttons = 1 }
	centre.click("the circle tool", `document.querySelector('[data-test=circle-tool]')`)
	centre.run("draw the circle",
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMouseMoved, x, y),
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft, pressed),
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMouseMoved, x+15, y, pressed),
		chromedp.MouseEvent(cdpinput.DispatchMouseEventTypeMouseReleased, x+15, y, chromedp.ButtonLeft))
	centre.waitFor("巡查员甲 inside", `[...document.querySelectorAll('[data-inspector]')].some((e) => e.textContent.includes('巡查员甲'))`)
	centre.click("consult with them", `document.querySelector('[data-test=consult-picked]')`)
	centre.waitFor("the consult room", `location.hash.startsWith('#/comms/consult') && document.querySelector('[data-test=consult-panel]')`)
	centre.waitFor("巡查员甲 a member", `document.querySelector('[data-test=consult-members]').textContent.includes('巡查员甲')`)
}
