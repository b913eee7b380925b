package browser

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// commsUsers creates a 长安区 bureau with two inspectors (执法检查人员) and
// returns their ids and initial passwords.
func commsUsers(t *testing.T, s *stack, token string) (ids, initial [2]string) {
	t.Helper()
	var tree []struct {
		ID string `json:"id"`
	}
	if st := s.api(t, "GET", "/identity/v1/departments", token, nil, &tree); st != 200 || len(tree) == 0 {
		t.Fatalf("departments: %d", st)
	}
	var dept struct {
		ID string `json:"id"`
	}
	if st := s.api(t, "POST", "/identity/v1/departments", token, map[string]any{"parent_id": tree[0].ID, "name": "长安区会商测试所",
		"level": "district", "district_codes": []string{"130102"}}, &dept); st != 201 {
		t.Fatalf("create department: %d", st)
	}
	var roles []struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	if st := s.api(t, "GET", "/identity/v1/roles", token, nil, &roles); st != 200 {
		t.Fatalf("roles: %d", st)
	}
	var inspector string
	for _, r := range roles {
		if r.Code == "inspector" {
			inspector = r.ID
		}
	}
	for i, u := range []struct{ username, name, phone string }{{"xuncha1", "巡查员甲", "13800138201"}, {"xuncha2", "巡查员乙", "13800138202"}} {
		var c struct {
			ID              string `json:"id"`
			InitialPassword string `json:"initial_password"`
		}
		if st := s.api(t, "POST", "/identity/v1/users", token, map[string]any{"username": u.username, "name": u.name, "phone": u.phone,
			"dept_id": dept.ID, "role_ids": []string{inspector}}, &c); st != 201 || c.InitialPassword == "" {
			t.Fatalf("create user %s: %d", u.username, st)
		}
		var list struct {
			Items []struct {
				ID       string `json:"id"`
				Username string `json:"username"`
			} `json:"items"`
		}
		if st := s.api(t, "GET", "/identity/v1/users?q="+u.username, token, nil, &list); st != 200 || len(list.Items) != 1 {
			t.Fatalf("find user %s: %d %+v", u.username, st, list)
		}
		ids[i], initial[i] = list.Items[0].ID, c.InitialPassword
	}
	return ids, initial
}

// FP-151, FP-153, FP-156: an inspector's alarm reaches the centre; the
// centre opens a consult from it, inviting two inspectors, and starts
// recording; the two emulated phones (Chromium with fake microphones) join
// through the phone page; the host mutes one, which the muted phone shows;
// the host stops recording and both phones' recordings appear in the list
// and play back from object storage.
func TestConsultFromAlarmWithTwoPhones(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": pw["admin"]}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", login.AccessToken, map[string]string{"old_password": pw["admin"], "new_password": adminPW}, &login); st != 200 {
		t.Fatalf("change password: %d", st)
	}
	ids, initial := commsUsers(t, s, login.AccessToken)
	// 巡查员甲 raises the alarm from 长安区, as the phone page does (its own
	// browser test is TestPhoneAlarmBlinksOnTheCentre), so the event and
	// the consult lie in the inspectors' district.
	const phonePW = "Comms-Phone-1!"
	var insp struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "xuncha1", "password": initial[0]}, &insp); st != 200 {
		t.Fatalf("inspector login: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", insp.AccessToken, map[string]string{"old_password": initial[0], "new_password": phonePW}, &insp); st != 200 {
		t.Fatalf("inspector password: %d", st)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	if st := s.api(t, "POST", "/alarm/v1/alarms", insp.AccessToken, map[string]any{"idempotency_key": fmt.Sprintf("comms-browser-%d", time.Now().UnixNano()),
		"level": "紧急", "text": "会商测试：现场需要协助", "lat": 38.0428, "lng": 114.5149, "accuracy": 8, "at": now}, nil); st != 201 {
		t.Fatalf("raise alarm: %d", st)
	}

	centre := openPage(t, newBrowser(t), s.url, "centre")
	centre.login("admin", adminPW, "")
	centre.goTo("/comms/consult")
	centre.click("发起会商 on the alarm", `all('[data-test=consult-alarm]').filter((e) => txt(e).includes('会商测试'))[0]?.querySelector('[data-test=consult-from-alarm]')`)
	centre.waitFor("the 发起会商 dialog", `dialog('发起会商')`)
	centre.pick("参会成员", "巡查员甲（xuncha1）")
	centre.pick("参会成员", "巡查员乙（xuncha2）")
	centre.dialogButton("发起会商", "发起")
	// The dialog's fade-out overlay would swallow the next click.
	centre.waitFor("the consult panel, the dialog gone", `all('[data-test=consult-panel]').length && all('[data-test=consult-members] .el-table__row').length === 3 &&
		!dialog('发起会商') && !all('.el-overlay').length`)
	centre.click("开始录音", `all('[data-test=record-start]')[0]`)
	centre.waitFor("recording on", `all('[data-test=recording-on]').length`)

	// Chromium's fake camera and microphone (a beeping tone), granted
	// without a prompt: the emulated phones.
	fake := []chromedp.ExecAllocatorOption{chromedp.Flag("use-fake-ui-for-media-stream", true), chromedp.Flag("use-fake-device-for-media-stream", true)}
	var phones [2]*page
	for i, name := range []string{"xuncha1", "xuncha2"} {
		ph := openPage(t, newBrowser(t, fake...), s.url, name)
		ph.run("phone viewport", chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile))
		if i == 0 {
			ph.login(name, phonePW, "")
		} else {
			ph.login(name, initial[i], phonePW)
		}
		ph.goTo("/comms/phone")
		ph.click("进入 the consult", `all('[data-test=phone-open]')[0]`)
		ph.click("加入会商", `all('[data-test=phone-join]')[0]`)
		ph.waitFor("joined with the microphone on", `txt(document.querySelector('[data-test=phone-status]')) === '已加入 · 麦克风开启'`)
		phones[i] = ph
	}
	for i := range ids {
		centre.waitFor("phone "+fmt.Sprint(i+1)+"'s microphone live on the centre", fmt.Sprintf(`txt(document.querySelector('[data-test="mic-%s"]')) === '开启'`, ids[i]))
	}

	centre.click("静音 巡查员甲", fmt.Sprintf(`all('[data-test="mute-%s"]')[0]`, ids[0]))
	centre.waitFor("巡查员甲 muted on the server", fmt.Sprintf(`txt(document.querySelector('[data-test="mic-%s"]')) === '已静音'`, ids[0]))
	phones[0].waitFor("the muted phone says so", `txt(document.querySelector('[data-test=phone-status]')) === '已加入 · 麦克风已被主持人静音'`)
	if got := phones[1].text(`txt(document.querySelector('[data-test=phone-status]'))`); got != "已加入 · 麦克风开启" {
		t.Errorf("the other phone shows %q", got)
	}
	if got := centre.text(fmt.Sprintf(`txt(document.querySelector('[data-test="mic-%s"]'))`, ids[1])); got != "开启" {
		t.Errorf("巡查员乙's microphone on the centre: %q", got)
	}

	// FP-160: the muted phone still reports in writing; it joins the event's
	// timeline, which the consult panel's chat shows.
	phones[0].typeInto("the report", `all('.phone-consult textarea')[0]`, "现场秩序已恢复")
	phones[0].click("发送文字", `byText('.phone-consult button', '发送文字')`)
	centre.waitFor("the phone's report in the consult chat", `txt(document.querySelector('[data-test=consult-chat]')).includes('现场秩序已恢复')`)

	centre.click("停止录音", `all('[data-test=record-stop]')[0]`)
	centre.waitFor("both phones' recordings in the list", `all('[data-test=recording-audio]').length === 2`)
	names := centre.strings(`all('[data-test=consult-recordings] .el-table__row').map((r) => txt(r.querySelector('td')))`)
	if !contains(names, "巡查员甲") || !contains(names, "巡查员乙") {
		t.Errorf("recordings of %v", names)
	}
	// The list's player loads the recording from object storage: an OGG file.
	var started bool
	if err := centre.eval(`(() => { fetch(document.querySelector('[data-test=recording-audio]').src, {headers: {Range: 'bytes=0-3'}})
		.then((r) => r.status === 206 ? r.text() : 'HTTP ' + r.status).then((s) => { window.__ogg = s }); return true })()`, &started); err != nil {
		t.Fatalf("fetch the recording: %v", err)
	}
	centre.waitFor("the recording's first bytes", `window.__ogg === 'OggS'`)
	centre.shot("consult")
	phones[0].shot("muted")
}

// FP-158: the centre watches the simulated camera live (HLS repackaged by
// ffmpeg, played by hls.js) and takes a snapshot that appears in the list.
func TestCameraLiveViewInTheConsole(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": pw["admin"]}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", login.AccessToken, map[string]string{"old_password": pw["admin"], "new_password": adminPW}, &login); st != 200 {
		t.Fatalf("change password: %d", st)
	}
	if st := s.api(t, "POST", "/comms/v1/cameras", login.AccessToken, map[string]any{"name": "长安区农贸市场东门（模拟）", "kind": "test", "district": "130102"}, nil); st != 201 {
		t.Fatalf("add camera: %d", st)
	}
	centre := openPage(t, newBrowser(t), s.url, "centre")
	centre.login("admin", adminPW, "")
	centre.goTo("/comms/cameras")
	centre.click("实时画面", `all('[data-test=camera-watch]')[0]`)
	centre.waitFor("the live picture playing", `(() => { const v = document.querySelector('[data-test=camera-video]'); return v && v.readyState >= 2 && v.currentTime > 0 && v.videoWidth === 640 })()`)
	centre.click("抓拍", `all('[data-test=camera-snapshot]')[0]`)
	centre.waitFor("the snapshot in the list", `all('[data-test=camera-media] img').some((i) => i.complete && i.naturalWidth === 640)`)
	centre.shot("camera")
}
