package browser

import (
	"testing"

	"github.com/chromedp/chromedp"
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
}
