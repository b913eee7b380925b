package browser

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	auditorPW = "Audit#Console2026x"
	secFlowPW = "Secure#Console2026y"
)

// TestAuditAndMessagePages: the console's pages on the audit and notify
// functions' APIs (issue 23). The security administrator's open console
// gets the pop-up of a security alert and of an announcement through the
// message centre's stream, lists them, and sees the alert on its page;
// the audit administrator reads the failed logins and the announcement's
// publication in the login and operation logs.
func TestAuditAndMessagePages(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	browser := newBrowser(t)

	sec := openPage(t, browser, s.url, "secadmin")
	sec.login("secadmin", pw["secadmin"], secFlowPW)
	aud := openPage(t, browser, s.url, "auditor")
	aud.login("auditor", pw["auditor"], auditorPW)
	if menus := aud.menuCodes(); !contains(menus, "security.login-logs") || !contains(menus, "security.op-logs") || contains(menus, "security.alerts") {
		t.Fatalf("the auditor's menu = %v", menus)
	}

	// Someone guesses a password: five failures raise a security alert,
	// whose notice pops up in the security administrator's console. After
	// the third, identity asks for a captcha and makes each attempt wait:
	// the guesser solves them and waits, so every attempt is a logged
	// failure (refusals for want of a captcha are not).
	for range 5 {
		s.guess(t, "guess_who", "Wrong#Password1")
	}
	sec.waitFor("the alert's pop-up", `all('.el-notification').some((e) => txt(e).includes('guess_who'))`)
	sec.goTo("/security/alerts")
	sec.waitFor("the alert listed", `all('.el-table__body tr').some((tr) => txt(tr).includes('账号连续登录失败') && txt(tr).includes('guess_who'))`)

	// The system administrator publishes an announcement with a link of
	// this site; one with a javascript: link is refused.
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": pw["admin"]}, &login); st != 200 {
		t.Fatalf("admin login: %d", st)
	}
	var changed struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", login.AccessToken,
		map[string]string{"old_password": pw["admin"], "new_password": adminPW}, &changed); st != 200 {
		t.Fatalf("admin password change: %d", st)
	}
	if st := s.api(t, "POST", "/notify/v1/notices", changed.AccessToken, map[string]any{"title": "钓鱼", "all": true,
		"link": "javascript:alert(document.cookie)"}, nil); st != 400 {
		t.Fatalf("an announcement with a javascript: link: %d, want 400", st)
	}
	const title = "今晚 22:00 系统升级"
	if st := s.api(t, "POST", "/notify/v1/notices", changed.AccessToken, map[string]any{"title": title, "body": "升级期间暂停服务 10 分钟。",
		"level": "warning", "popup": true, "roles": []string{"secadmin"}, "link": "/console/#/workbench"}, nil); st != 202 {
		t.Fatalf("publish: %d", st)
	}
	sec.waitFor("the announcement's pop-up", fmt.Sprintf(`all('.el-notification').some((e) => txt(e).includes(%s))`, jsString(title)))
	sec.goTo("/messages")
	sec.waitFor("the announcement in the message centre", fmt.Sprintf(`all('.el-collapse-item').some((e) => txt(e).includes(%s))`, jsString(title)))
	// A DOM click: the pop-ups at the side may lie over the header.
	sec.jsClick("open the announcement", fmt.Sprintf(`all('.el-collapse-item__header').find((e) => txt(e).includes(%s))`, jsString(title)))
	sec.waitFor("its link", `all('.el-collapse-item .el-link').some((a) => a.getAttribute('href') === '/console/#/workbench')`)

	// The audit administrator reads both in the logs.
	aud.goTo("/security/login-logs")
	aud.waitFor("the failed logins", `all('.el-table__body tr').filter((tr) => txt(tr).includes('guess_who') && txt(tr).includes('失败')).length >= 5`)
	aud.goTo("/security/op-logs")
	aud.waitFor("the publication", `all('.el-table__body tr').some((tr) => txt(tr).includes('notify.notice.create') && txt(tr).includes('admin'))`)
	aud.waitFor("the export button", `all('.toolbar button').some((b) => txt(b) === '导出')`)

	// The pop-up at login (FP-128): signing in again, the security
	// administrator gets the unread pop-up notices at the side — the alert,
	// not the announcement he has read.
	again := openPage(t, browser, s.url, "secadmin-again")
	again.login("secadmin", secFlowPW, "")
	again.waitFor("the unread alert popping up at login", `all('.el-notification').some((e) => txt(e).includes('guess_who'))`)
	if shown := again.text(`all('.el-notification').map(txt).join('；')`); strings.Contains(shown, title) {
		t.Errorf("the read announcement popped up again at login: %s", shown)
	}
}

// guess makes one failed login that identity checks and logs: it solves
// the captcha when asked for one and waits when told to.
func (s *stack) guess(t *testing.T, username, password string) {
	t.Helper()
	body := map[string]string{"username": username, "password": password}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		switch st := s.api(t, "POST", "/identity/v1/login", "", body, nil); st {
		case http.StatusUnauthorized:
			return
		case http.StatusBadRequest: // a captcha asked for (or the last one spent)
			body["captcha_id"], body["captcha"] = s.solveCaptcha(t)
		case http.StatusServiceUnavailable: // the progressive delay
			time.Sleep(500 * time.Millisecond)
		default:
			t.Fatalf("a wrong password answered %d", st)
		}
	}
	t.Fatalf("%s: no checked failure within a minute", username)
}
