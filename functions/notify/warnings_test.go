package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/httpx"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
)

// FP-129: a warning raised through the notice event reaches only the
// department or role it names — on the board and on the open streams —
// and never the message centre; the stream's ready event counts the
// unacknowledged ones (the pop-up at login).
func TestWarningsReachOnlyTheirAddressees(t *testing.T) { // FP-129
	t.Parallel()
	e := newEnv(t)
	f := e.replica(nil)
	srv := e.serve(f)
	receive(t, f, sharednotify.Notice{Title: "长安区某超市冷链温度异常", Level: "alert", WarningLevel: sharednotify.WarningRed,
		WarningKind: "食品安全", DeptIDs: []string{"d-changan"}, Link: "/console/#/monitor/clues"})
	clerkStream := openStream(t, srv.URL, e.iss.Token(*clerk))
	otherStream := openStream(t, srv.URL, e.iss.Token(*other))
	if ev := next(t, clerkStream); ev.name != "ready" || !strings.Contains(ev.data, `"warnings":1`) || !strings.Contains(ev.data, `"unread":0`) {
		t.Fatalf("clerk ready = %+v", ev)
	}
	if ev := next(t, otherStream); ev.name != "ready" || !strings.Contains(ev.data, `"warnings":0`) {
		t.Fatalf("other ready = %+v", ev)
	}
	// A role warning reaches both inspectors, live.
	receive(t, f, sharednotify.Notice{Title: "特种设备检验到期", WarningLevel: sharednotify.WarningYellow, Roles: []string{"inspector"}})
	for name, s := range map[string]<-chan sseEvent{"clerk": clerkStream, "other": otherStream} {
		ev := nextNamed(t, s, "warning")
		var w Warning
		if err := json.Unmarshal([]byte(ev.data), &w); err != nil || w.Title != "特种设备检验到期" || w.Level != "yellow" || w.State != StatePending ||
			w.Producer != "test" {
			t.Errorf("%s got %+v (%v)", name, ev, err)
		}
	}
	list := func(p string, q string) httpx.PageOf[Warning] {
		t.Helper()
		var out httpx.PageOf[Warning]
		status, body := call(t, srv.URL, "GET", "/notify/v1/warnings"+q, p, "")
		if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("list %s: %d %s", q, status, body)
		}
		return out
	}
	titles := func(pg httpx.PageOf[Warning]) string {
		var s []string
		for _, w := range pg.Items {
			s = append(s, w.Title)
		}
		return strings.Join(s, ",")
	}
	clerkTok, otherTok, secTok := e.iss.Token(*clerk), e.iss.Token(*other), e.iss.Token(*secadmin)
	if got := titles(list(clerkTok, "")); got != "特种设备检验到期,长安区某超市冷链温度异常" {
		t.Errorf("clerk's board = %s", got)
	}
	if got := titles(list(otherTok, "")); got != "特种设备检验到期" {
		t.Errorf("other's board = %s", got)
	}
	if got := list(secTok, ""); got.Total != 0 {
		t.Errorf("secadmin's board = %s", titles(got))
	}
	// Filters by level, source and state.
	if got := titles(list(clerkTok, "?level=red")); got != "长安区某超市冷链温度异常" {
		t.Errorf("level=red: %s", got)
	}
	if got := list(clerkTok, "?source=registry"); got.Total != 0 {
		t.Errorf("source=registry: %s", titles(got))
	}
	if got := list(clerkTok, "?source=test&state=pending&unacknowledged=true"); got.Total != 2 {
		t.Errorf("source=test&state=pending: %s", titles(got))
	}
	if status, body := call(t, srv.URL, "GET", "/notify/v1/warnings?level=purple", clerkTok, ""); status != 400 || !strings.Contains(body, "预警级别") {
		t.Errorf("bad level: %d %s", status, body)
	}
	// Warnings are not notices: the message centre stays empty.
	if status, body := call(t, srv.URL, "GET", "/notify/v1/notices", clerkTok, ""); status != 200 || !strings.Contains(body, `"total":0`) {
		t.Errorf("the message centre shows warnings: %s", body)
	}
	// The export carries the same rows.
	status, body := call(t, srv.URL, "GET", "/notify/v1/warnings/export?format=csv&level=red", clerkTok, "")
	if status != 200 || !strings.Contains(body, "长安区某超市冷链温度异常") || !strings.Contains(body, "红色预警") || strings.Contains(body, "特种设备") {
		t.Errorf("export: %d %s", status, body)
	}
	if status, body := call(t, srv.URL, "GET", "/notify/v1/warnings/sources", otherTok, ""); status != 200 || body != `{"items":["test"]}`+"\n" {
		t.Errorf("sources: %d %q", status, body)
	}
}

// FP-129: acknowledgement and handling, each by an addressee only, with
// who and the opinion, in the operation log; a done warning is final; the
// addressees' streams hear every change.
func TestWarningHandling(t *testing.T) { // FP-129
	t.Parallel()
	e := newEnv(t)
	f := e.replica(nil)
	srv := e.serve(f)
	receive(t, f, sharednotify.Notice{Title: "长安区电梯困人", WarningLevel: sharednotify.WarningOrange, DeptIDs: []string{"d-changan"}})
	var w Warning
	if err := e.pool.QueryRow(ctx, `SELECT id FROM notify.warnings`).Scan(&w.ID); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/notify/v1/warnings/%d", w.ID)
	clerkTok, otherTok := e.iss.Token(*clerk), e.iss.Token(*other)
	clerkStream := openStream(t, srv.URL, clerkTok)
	nextNamed(t, clerkStream, "ready")
	// Someone else's warning: neither seen, acknowledged nor handled.
	for _, c := range [][2]string{{"GET", path}, {"POST", path + "/acknowledge"}, {"POST", path + "/handle"}} {
		body := ""
		if strings.HasSuffix(c[1], "/handle") {
			body = `{"state":"done","opinion":"已处理"}`
		}
		if status, out := call(t, srv.URL, c[0], c[1], otherTok, body); status != 404 || !strings.Contains(out, "预警信息不存在") {
			t.Errorf("other %s %s: %d %s", c[0], c[1], status, out)
		}
	}
	if status, out := call(t, srv.URL, "POST", path+"/acknowledge", clerkTok, ""); status != 200 ||
		!strings.Contains(out, `"state":"processing"`) || !strings.Contains(out, `"acknowledged_name":"clerk"`) {
		t.Fatalf("acknowledge: %d %s", status, out)
	}
	if ev := nextNamed(t, clerkStream, "warning_state"); !strings.Contains(ev.data, `"state":"processing"`) {
		t.Errorf("the stream heard %s", ev.data)
	}
	for name, c := range map[string]struct {
		body string
		want string
	}{
		"done-without-opinion": {`{"state":"done"}`, "处理意见"},
		"bad-state":            {`{"state":"pending","opinion":"x"}`, "处理状态"},
	} {
		if status, out := call(t, srv.URL, "POST", path+"/handle", clerkTok, c.body); status != 400 || !strings.Contains(out, c.want) {
			t.Errorf("%s: %d %s", name, status, out)
		}
	}
	if status, out := call(t, srv.URL, "POST", path+"/handle", clerkTok, `{"state":"done","opinion":"已派员到场解困，电梯停用待检"}`); status != 200 ||
		!strings.Contains(out, `"state":"done"`) || !strings.Contains(out, `"handled_name":"clerk"`) {
		t.Fatalf("handle: %d %s", status, out)
	}
	if status, out := call(t, srv.URL, "POST", path+"/handle", clerkTok, `{"state":"processing","opinion":"重新处理"}`); status != 409 ||
		!strings.Contains(out, "已处理完毕") {
		t.Errorf("handling a done warning: %d %s", status, out)
	}
	status, out := call(t, srv.URL, "GET", path, clerkTok, "")
	if err := json.Unmarshal([]byte(out), &w); status != 200 || err != nil || len(w.Actions) != 2 || w.Actions[0].Action != "acknowledge" ||
		w.Actions[1].Action != "done" || w.Actions[1].Opinion != "已派员到场解困，电梯停用待检" || w.Actions[1].UserID != "u-clerk" {
		t.Errorf("detail: %d %s", status, out)
	}
	ops := auditlogtest.Ops(t, e.pool, fmt.Sprint(w.ID))
	if len(ops) != 2 || ops[0].Action != "notify.warning.acknowledge" || ops[1].Action != "notify.warning.done" || ops[1].Username != "clerk" ||
		auditlogtest.Field(ops[1].After, "opinion") != "已派员到场解困，电梯停用待检" || auditlogtest.Field(ops[1].Before, "state") != "processing" {
		t.Errorf("operation log: %+v", ops)
	}
	// Handling an unacknowledged warning acknowledges it too.
	receive(t, f, sharednotify.Notice{Title: "价格异常波动", WarningLevel: sharednotify.WarningBlue, Roles: []string{"inspector"}})
	var id int64
	if err := e.pool.QueryRow(ctx, `SELECT id FROM notify.warnings WHERE title = '价格异常波动'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	got, err := f.Handle(ctx, auditlog.Actor{UserID: other.UserID, Username: other.Username}, other, id, StateProcessing, "核查中")
	if err != nil || got.AcknowledgedName != "other" || got.State != StateProcessing || got.Opinion != "核查中" {
		t.Errorf("handle unacknowledged: %+v %v", got, err)
	}
}

// FP-129: the notice event stays compatible: an event recorded before
// warning_level existed (its JSON lacks the new fields), of either type,
// is a notice as before; a redelivered warning is stored once.
func TestOldNoticeEventStillWorks(t *testing.T) { // FP-129
	t.Parallel()
	e := newEnv(t)
	f := e.replica(nil)
	for i, typ := range []string{events.NotifyNoticeRequested, events.IdentityNoticeRequested} {
		ev := event.New()
		ev.SetID(uniq())
		ev.SetSource("/functions/identity")
		ev.SetType(typ)
		raw := fmt.Sprintf(`{"title":"旧格式消息 %d","level":"warning","kind":"security_alert","target":{"roles":["inspector"]},
			"producer":"identity","requested_at":"2026-01-01T00:00:00Z"}`, i)
		if err := ev.SetData(event.ApplicationJSON, json.RawMessage(raw)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Receive(ctx, ev); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	var notices, warnings int
	if err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM notify.notices WHERE title LIKE '旧格式消息%'),
		(SELECT count(*) FROM notify.warnings)`).Scan(&notices, &warnings); err != nil || notices != 2 || warnings != 0 {
		t.Errorf("old events: %d notices, %d warnings (%v)", notices, warnings, err)
	}
	// A warning delivered twice is one warning.
	w := noticeEvent(t, events.NotifyNoticeRequested, sharednotify.Notice{Title: "重复投递", WarningLevel: "red", All: true})
	for range 2 {
		if _, err := f.Receive(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM notify.warnings`).Scan(&warnings); err != nil || warnings != 1 {
		t.Errorf("redelivered warning stored %d times (%v)", warnings, err)
	}
	// A malformed level from a producer that bypassed shared/notify is refused.
	bad := noticeEvent(t, events.NotifyNoticeRequested, sharednotify.Notice{Title: "坏级别", All: true})
	var d events.NoticeRequestedData
	_ = json.Unmarshal(bad.Data(), &d)
	d.WarningLevel = "purple"
	_ = bad.SetData(event.ApplicationJSON, d)
	if _, err := f.Receive(ctx, bad); err == nil {
		t.Error("a warning of level purple accepted")
	}
}
