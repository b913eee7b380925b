package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is Debian's Chromium, installed by .ci/run.
const chromium = "/usr/bin/chromium"

// newBrowser starts one headless Chromium with a fresh profile for the
// test; extra adds flags (the consult test's fake camera and microphone).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium not found at %s (apt-get install chromium): %v", chromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1920, 1080),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return bctx
}

// page is one tab in its own browser context (own cookie jar), so each
// user of the scenario is signed in independently.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string
}

func openPage(t *testing.T, browser context.Context, base, name string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1920, 1080)); err != nil {
		t.Fatalf("%s: open tab: %v", name, err)
	}
	return &page{t: t, ctx: ctx, base: base, name: name}
}

// helpers are defined in the page before each query; vis() means laid out
// and shown (Element Plus keeps closed dialogs and poppers in the DOM).
const helpers = `
const vis = (e) => !!(e && e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden');
const txt = (e) => (e.textContent || '').replace(/\s+/g, ' ').trim();
const all = (css) => [...document.querySelectorAll(css)].filter(vis);
const byText = (css, text) => all(css).find((e) => txt(e) === text) || null;
const field = (label) => all('.el-form-item').find((f) => { const l = f.querySelector('.el-form-item__label'); return l && txt(l) === label; }) || null;
const dialog = (title) => all('.el-dialog').find((d) => { const h = d.querySelector('.el-dialog__title'); return h && txt(h) === title; }) || null;
`

func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	p.shot("failure")
	body, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ''`))
	loc, _ := chromedp.Run(p.ctx, chromedp.Location())
	p.t.Fatalf("%s: %s\n(at %s)\npage text:\n%s", p.name, fmt.Sprintf(format, args...), loc, body)
}

// shot saves a screenshot beside the test's temporary files (kept on
// failure by SMARTREG_BROWSER_SHOTS=dir).
func (p *page) shot(tag string) {
	dir := os.Getenv("SMARTREG_BROWSER_SHOTS")
	if dir == "" {
		return
	}
	if buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", p.name, tag, time.Now().UnixMilli())), buf, 0o644)
	}
}

func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail("%s: %v", what, err)
	}
}

// eval runs a helper expression and decodes its result.
func (p *page) eval(expr string, out any) error {
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[json.RawMessage]("(() => {"+helpers+"return ("+expr+");})()"))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// waitFor polls a boolean expression (the UI loads asynchronously).
func (p *page) waitFor(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ok bool
		if err := p.eval("!!("+expr+")", &ok); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.fail("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// node is a chromedp selector for the element an expression returns, so
// clicks are real mouse events at the element.
func node(expr string) chromedp.JSPath {
	return chromedp.JSPath("(() => {" + helpers + "return (" + expr + ");})()")
}

func (p *page) click(what, expr string) {
	p.t.Helper()
	p.waitFor(what, expr)
	sel := node(expr)
	p.run("click "+what, chromedp.ScrollIntoView(sel), chromedp.Click(sel))
}

// jsClick dispatches a DOM click on the element (for targets whose
// handler sits on an ancestor that a mouse click's hit test may miss).
func (p *page) jsClick(what, expr string) {
	p.t.Helper()
	p.waitFor(what, expr)
	var ok bool
	if err := p.eval(`(() => { const e = `+expr+`; e.click(); return true; })()`, &ok); err != nil {
		p.fail("click %s: %v", what, err)
	}
}

// typeInto clears an input and types text into it with key events, as a
// person would (Vue's v-model listens to input events).
func (p *page) typeInto(what, expr, text string) {
	p.t.Helper()
	p.waitFor(what, expr)
	var cleared bool
	if err := p.eval(`(() => { const e = `+expr+`; e.value = ''; e.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`, &cleared); err != nil {
		p.fail("clear %s: %v", what, err)
	}
	p.run("type into "+what, chromedp.SendKeys(node(expr), text))
}

func (p *page) goTo(hash string) {
	p.t.Helper()
	p.run("navigate to "+hash, chromedp.Navigate(p.base+"/console/#"+hash))
}

func (p *page) text(expr string) string {
	var s string
	if err := p.eval(expr, &s); err != nil {
		p.fail("evaluate %s: %v", expr, err)
	}
	return s
}

func (p *page) strings(expr string) []string {
	var raw json.RawMessage
	if err := p.eval(expr, &raw); err != nil {
		p.fail("evaluate %s: %v", expr, err)
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		p.fail("decode %s: %v", raw, err)
	}
	return out
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// input finds a visible input by its name attribute.
func input(name string) string {
	return fmt.Sprintf(`all('input[name=%s], textarea[name=%s]')[0]`, jsString(name), jsString(name))
}

// --- console actions ---

// login signs in; when the account must change its password first (every
// generated or admin-set password), it changes it to newPassword.
func (p *page) login(username, password, newPassword string) {
	p.t.Helper()
	p.goTo("/login")
	p.typeInto("username", input("username"), username)
	p.typeInto("password", input("password"), password)
	p.click("login button", `all('[data-test=login-submit]')[0]`)
	p.waitFor("login result", `dialog('首次登录，请修改密码') || all('.layout').length || all('[data-test=login-error]').length`)
	if msg := p.text(`(all('[data-test=login-error]')[0] || {}).textContent || ''`); msg != "" {
		p.fail("login as %s refused: %s", username, msg)
	}
	if newPassword != "" {
		p.waitFor("forced password change", `dialog('首次登录，请修改密码')`)
		p.typeInto("old password", input("old_password"), password)
		p.typeInto("new password", input("new_password"), newPassword)
		p.typeInto("confirm password", input("confirm_password"), newPassword)
		p.click("confirm change", `[...dialog('首次登录，请修改密码').querySelectorAll('.el-dialog__footer button')].find((b) => txt(b) === '确定')`)
	}
	p.waitFor("the console layout", `all('.layout').length && all('[data-test=current-user]').length`)
}

// menuCodes are the menu entries (leaf codes) the layout rendered.
func (p *page) menuCodes() []string {
	return p.strings(`[...document.querySelectorAll('.aside [data-menu]')].map((e) => e.getAttribute('data-menu'))`)
}

// pick opens the select of a form field (by its label) and chooses an
// option by its text.
func (p *page) pick(label, option string) {
	p.t.Helper()
	p.click("select "+label, fmt.Sprintf(`field(%s) && field(%s).querySelector('.el-select__wrapper')`, jsString(label), jsString(label)))
	opt := fmt.Sprintf(`byText('.el-select-dropdown__item, .el-tree-node__label', %s)`, jsString(option))
	p.jsClick(label+" option "+option, opt)
	// A multiple select stays open over what lies below it: click somewhere
	// neutral (a dialog's title, else the page title; a form label would
	// focus the select again) and wait until the options are gone.
	p.click("outside "+label, `(all('.el-dialog .el-dialog__title')[0] || all('.header .title')[0])`)
	p.waitFor("dropdown closed", `!all('.el-select-dropdown__item').length && !all('.el-tree-node__label').filter((e) => e.closest('.el-popper')).length`)
}

func (p *page) dialogButton(title, button string) {
	p.t.Helper()
	p.click(title+" "+button, fmt.Sprintf(`dialog(%s) && [...dialog(%s).querySelectorAll('.el-dialog__footer button')].find((b) => txt(b) === %s)`,
		jsString(title), jsString(title), jsString(button)))
}

// expectToast waits for a success message containing text (an earlier
// toast may still be showing), failing at once with the text of an error
// message instead.
func (p *page) expectToast(what, text string) {
	p.t.Helper()
	p.waitFor(what, fmt.Sprintf(`all('.el-message--success').some((e) => txt(e).includes(%s)) || all('.el-message--error').length`, jsString(text)))
	if msg := p.text(`all('.el-message--error').map(txt).join('；')`); msg != "" {
		p.fail("%s: the console reported an error: %s", what, msg)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joined(list []string) string { return strings.Join(list, ",") }

// clickUntil clicks until the expression until holds: a click that lands
// while a dialog's fade-out overlay still covers the page (slow under load)
// is tried again, up to three times.
func (p *page) clickUntil(what, expr, until string) {
	p.t.Helper()
	for try := 0; try < 3; try++ {
		p.click(what, expr)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			var ok bool
			if err := p.eval("!!("+until+")", &ok); err == nil && ok {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	p.waitFor(what+" to take effect", until)
}
