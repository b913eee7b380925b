package dispatch

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/httpx"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
)

// FP-143: resources on the map — added in the caller's jurisdiction,
// listed by layer, selected by circle and nearest N like the inspectors,
// changed and removed with the operation log keeping both states, and
// never seen or touched by another station.
func TestResourcesOnTheMap(t *testing.T) {
	h := newHarness(t)
	own, other := h.iss.Bearer(station("s1", "130102001")), h.iss.Bearer(station("s2", "130104002"))
	add := func(kind, name string, lat, lng float64) Resource {
		return decode[Resource](t, h.do(t, own, "POST", "/dispatch/v1/resources",
			map[string]any{"kind": kind, "name": name, "lat": lat, "lng": lng, "phone": "0311-8765 4321"}), 201)
	}
	st := add("station", "长安区建北市场监管所", 38.0500, 114.5200)
	cam := add("camera", "中山路口摄像头", 38.0430, 114.5150)
	car := add("vehicle", "冀A·执法01", 38.1500, 114.6500) // about 15 km away
	if st.Township != "130102001" || st.District != "130102" {
		t.Fatalf("a station user's resource belongs to their street: %+v", st)
	}

	names := func(bearer, query string) string {
		t.Helper()
		list := decode[[]Resource](t, h.do(t, bearer, "GET", "/dispatch/v1/resources"+query, nil), 200)
		var out []string
		for _, r := range list {
			out = append(out, r.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(own, "?kind=camera,vehicle"); got != "中山路口摄像头,冀A·执法01" {
		t.Errorf("camera and vehicle layers: %q", got)
	}
	if got := names(own, "?lat=38.0428&lng=114.5149&radius=2000"); got != "中山路口摄像头,长安区建北市场监管所" {
		t.Errorf("a 2 km circle, nearest first: %q", got)
	}
	if got := names(own, "?lat=38.0428&lng=114.5149&nearest=1"); got != "中山路口摄像头" {
		t.Errorf("the nearest one: %q", got)
	}
	if got := names(other, ""); got != "" {
		t.Errorf("another station sees %q", got)
	}
	if rec := h.do(t, other, "DELETE", "/dispatch/v1/resources/"+cam.ID, nil); rec.Code != 404 {
		t.Errorf("another station deletes: %d", rec.Code)
	}

	moved := decode[Resource](t, h.do(t, own, "PUT", "/dispatch/v1/resources/"+car.ID,
		map[string]any{"kind": "vehicle", "name": "冀A·执法01", "status": "busy", "lat": 38.0429, "lng": 114.5151}), 200)
	if moved.Status != "busy" || names(own, "?lat=38.0428&lng=114.5149&nearest=1") != "冀A·执法01" {
		t.Errorf("the vehicle moved next to the point: %+v", moved)
	}
	if rec := h.do(t, own, "DELETE", "/dispatch/v1/resources/"+cam.ID, nil); rec.Code != 204 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if got := names(own, "?kind=camera"); got != "" {
		t.Errorf("deleted camera still listed: %q", got)
	}
	ops := auditlogtest.Ops(t, h.pool, car.ID)
	if len(ops) != 2 || ops[1].Action != "dispatch.resource.edit" || auditlogtest.Field(ops[1].Before, "status") != "online" ||
		auditlogtest.Field(ops[1].After, "status") != "busy" || ops[1].UserID != "s1" {
		t.Errorf("operation log of the vehicle: %+v", ops)
	}
	if ops := auditlogtest.Ops(t, h.pool, cam.ID); len(ops) != 2 || ops[1].Action != "dispatch.resource.delete" || len(ops[1].Before) == 0 {
		t.Errorf("operation log of the deleted camera: %+v", ops)
	}
}

func TestBadResources(t *testing.T) {
	h := newHarness(t)
	b := h.iss.Bearer(station("s1", "130102001"))
	for name, tc := range map[string]struct {
		body map[string]any
		want string
	}{
		"kind":     {map[string]any{"kind": "drone", "name": "x", "lat": 38, "lng": 114.5}, "资源类型只能是"},
		"name":     {map[string]any{"kind": "camera", "name": " ", "lat": 38, "lng": 114.5}, "请填写资源名称"},
		"position": {map[string]any{"kind": "camera", "name": "x"}, "请在地图上选择位置"},
		"lat":      {map[string]any{"kind": "camera", "name": "x", "lat": 91, "lng": 114.5}, "纬度超出范围"},
		"phone":    {map[string]any{"kind": "station", "name": "x", "lat": 38, "lng": 114.5, "phone": "call me"}, "联系电话只能包含"},
		"district": {map[string]any{"kind": "station", "name": "x", "lat": 38, "lng": 114.5, "district": "999999"}, "区划"},
		"status":   {map[string]any{"kind": "station", "name": "x", "lat": 38, "lng": 114.5, "status": "gone"}, "状态只能是"},
	} {
		rec := h.do(t, b, "POST", "/dispatch/v1/resources", tc.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	decode[Resource](t, h.do(t, b, "POST", "/dispatch/v1/resources", map[string]any{"kind": "camera", "name": "A", "code": "CAM-1", "lat": 38, "lng": 114.5}), 201)
	if rec := h.do(t, b, "POST", "/dispatch/v1/resources", map[string]any{"kind": "camera", "name": "B", "code": "CAM-1", "lat": 38, "lng": 114.5}); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), "已有编号 CAM-1") {
		t.Errorf("duplicate code: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, b, "GET", "/dispatch/v1/resources?kind=drone", nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "未知的资源类型") {
		t.Errorf("unknown layer: %d %s", rec.Code, rec.Body)
	}
}

func TestSeedDemoResourcesOnce(t *testing.T) {
	h := newHarness(t)
	msg, err := h.f.SeedDemo(t.Context())
	if err != nil || msg == "" {
		t.Fatalf("first seed: %q %v", msg, err)
	}
	if msg, err := h.f.SeedDemo(t.Context()); err != nil || msg != "" {
		t.Fatalf("second seed: %q %v", msg, err)
	}
	county := auth.Principal{UserID: "c1", Perms: allPerms, Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}}
	list := decode[[]Resource](t, h.do(t, h.iss.Bearer(county), "GET", "/dispatch/v1/resources", nil), 200)
	kinds := map[string]int{}
	for _, r := range list {
		kinds[r.Kind]++
		if r.Township != "" || r.District != "130102" {
			t.Errorf("a 长安区 user sees %+v", r)
		}
	}
	if kinds["station"] != 1 || kinds["camera"] != 1 || kinds["device"] != 1 || kinds["vehicle"] != 1 {
		t.Errorf("长安区's demo layers: %v", kinds)
	}
}

// FP-144: counts per type inside the caller's jurisdiction.
func TestEventCountsPerType(t *testing.T) {
	h := newHarness(t)
	own, other := h.iss.Bearer(station("s1", "130102001")), h.iss.Bearer(station("s2", "130104002"))
	at := func(b string, typ string) Event {
		lat, lng := 38.04, 114.51
		return decode[Event](t, h.do(t, b, "POST", "/dispatch/v1/events", EventInput{Type: typ, Title: "接报：" + typ, Source: "call", Lat: &lat, Lng: &lng}), 201)
	}
	at(own, "食品安全")
	at(own, "食品安全")
	e := at(own, "价格投诉")
	at(other, "食品安全")
	decode[Event](t, h.do(t, own, "POST", "/dispatch/v1/events/"+e.ID+"/close", map[string]string{"reason": "已处理"}), 200)
	got := decode[map[string]int](t, h.do(t, own, "GET", "/dispatch/v1/event-counts?status=open", nil), 200)
	if len(got) != 1 || got["食品安全"] != 2 {
		t.Errorf("open events per type: %v", got)
	}
	if got := decode[map[string]int](t, h.do(t, own, "GET", "/dispatch/v1/event-counts", nil), 200); got["价格投诉"] != 1 || got["食品安全"] != 2 {
		t.Errorf("all events per type: %v", got)
	}
	if rec := h.do(t, own, "GET", "/dispatch/v1/event-counts?status=gone", nil); rec.Code != 400 {
		t.Errorf("bad status: %d", rec.Code)
	}
}

// FP-161: a hazard report from the phone keeps its photos and videos;
// anything but an upload's key is refused.
func TestHazardReportWithAttachments(t *testing.T) {
	h := newHarness(t)
	b := h.iss.Bearer(station("s1", "130102001"))
	lat, lng := 38.04, 114.51
	key := "alarm/" + uuid.NewString()
	e := decode[Event](t, h.do(t, b, "POST", "/dispatch/v1/events", EventInput{Type: "特种设备", Title: "电梯异响", Source: "report",
		Lat: &lat, Lng: &lng, Attachments: []string{key}}), 201)
	if len(e.Attachments) != 1 || e.Attachments[0] != key {
		t.Fatalf("attachments: %+v", e)
	}
	for _, bad := range [][]string{{"registry/secret.pdf"}, {"alarm/../x"}, make([]string, 10)} {
		rec := h.do(t, b, "POST", "/dispatch/v1/events", EventInput{Type: "特种设备", Title: "x", Source: "report", Lat: &lat, Lng: &lng, Attachments: bad})
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "附件") {
			t.Errorf("%q: %d %s", bad, rec.Code, rec.Body)
		}
	}
}

// FP-159: the phone's field report and the centre's instruction join the
// event's timeline; an instruction goes, as a notice in the same
// transaction, to the people holding the event's tasks.
func TestFieldReportsAndInstructions(t *testing.T) {
	h := newHarness(t)
	centre := h.iss.Bearer(station("c1", "130102001"))
	phoneUser := station("p1", "130102001")
	phoneUser.Perms = []string{PermEvent + ":view", PermEvent + ":create", PermTask + ":view", PermTask + ":handle"}
	phone := h.iss.Bearer(phoneUser)
	lat, lng := 38.04, 114.51
	ev := decode[Event](t, h.do(t, centre, "POST", "/dispatch/v1/events", EventInput{Type: "食品安全", Title: "超市过期食品", Source: "call", Lat: &lat, Lng: &lng}), 201)
	path := "/dispatch/v1/events/" + ev.ID + "/updates"
	if rec := h.do(t, centre, "POST", path, UpdateInput{Kind: "instruction", Text: "请就近人员前往"}); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), "还没有派发任务") {
		t.Fatalf("an instruction with nobody to receive it: %d %s", rec.Code, rec.Body)
	}
	decode[Task](t, h.do(t, centre, "POST", "/dispatch/v1/tasks", map[string]any{"event_id": ev.ID, "title": "核查", "assignee": "p1"}), 201)
	u := decode[EventUpdate](t, h.do(t, centre, "POST", path, UpdateInput{Kind: "instruction", Text: "先封存再取证"}), 201)
	if len(u.Recipients) != 1 || u.Recipients[0] != "p1" {
		t.Fatalf("instruction recipients: %+v", u)
	}
	var notices int
	if err := h.pool.QueryRow(t.Context(), `SELECT count(*) FROM platform.outbox WHERE event_type = $1 AND event->'data'->'target'->'user_ids' ? 'p1'
		AND event->'data'->>'body' = '先封存再取证'`, "cn.gov.sjz.amr.notify.notice.requested.v1").Scan(&notices); err != nil || notices != 1 {
		t.Fatalf("the instruction's notice: %d %v", notices, err)
	}
	if rec := h.do(t, phone, "POST", path, UpdateInput{Kind: "instruction", Text: "越权指令"}); rec.Code != 403 {
		t.Errorf("the phone gives an instruction: %d %s", rec.Code, rec.Body)
	}
	decode[EventUpdate](t, h.do(t, phone, "POST", path, UpdateInput{Kind: "report", Text: "已到场，封存 12 箱", Attachments: []string{"alarm/" + uuid.NewString()}}), 201)
	if rec := h.do(t, h.iss.Bearer(station("s2", "130104002")), "POST", path, UpdateInput{Kind: "report", Text: "外所"}); rec.Code != 404 {
		t.Errorf("another station reports: %d", rec.Code)
	}
	tl := decode[Timeline](t, h.do(t, centre, "GET", "/dispatch/v1/events/"+ev.ID+"/timeline", nil), 200)
	var actions []string
	for _, s := range tl.Steps {
		actions = append(actions, s.Action)
	}
	if got := strings.Join(actions, ","); got != "created,task_dispatched,instruction,field_report" {
		t.Fatalf("timeline %s", got)
	}
	if !strings.Contains(string(tl.Steps[3].Detail), "封存 12 箱") {
		t.Errorf("the report's text: %s", tl.Steps[3].Detail)
	}
	for name, in := range map[string]UpdateInput{"kind": {Kind: "chat", Text: "x"}, "empty": {Kind: "report", Text: "  "}} {
		if rec := h.do(t, phone, "POST", path, in); rec.Code != 400 {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
	decode[Event](t, h.do(t, centre, "POST", "/dispatch/v1/events/"+ev.ID+"/close", map[string]string{"reason": "处置完毕"}), 200)
	if rec := h.do(t, phone, "POST", path, UpdateInput{Kind: "report", Text: "补充"}); rec.Code != 409 {
		t.Errorf("a report on a closed event: %d %s", rec.Code, rec.Body)
	}
}

// FP-150: a new or reassigned task is a notice to its assignee; the
// PingSource's sweep reminds the assignee and the creator once of a task
// about to fall due, and never of one far off or done.
func TestTaskNoticesAndDueReminders(t *testing.T) {
	h := newHarness(t)
	centre := h.iss.Bearer(station("c1", "130102001"))
	lat, lng := 38.04, 114.51
	ev := decode[Event](t, h.do(t, centre, "POST", "/dispatch/v1/events", EventInput{Type: "食品安全", Title: "夜市检查", Source: "call", Lat: &lat, Lng: &lng}), 201)
	soon, later := h.now.Add(90*time.Minute), h.now.Add(48*time.Hour)
	dueSoon := decode[Task](t, h.do(t, centre, "POST", "/dispatch/v1/tasks", map[string]any{"event_id": ev.ID, "title": "夜市复查", "assignee": "p1", "due_at": soon}), 201)
	decode[Task](t, h.do(t, centre, "POST", "/dispatch/v1/tasks", map[string]any{"title": "月底汇总", "assignee": "p2", "due_at": later}), 201)
	decode[Task](t, h.do(t, centre, "POST", "/dispatch/v1/tasks/"+dueSoon.ID+"/reassign", map[string]any{"assignee": "p3"}), 200)
	notices := func(kind string) []string {
		t.Helper()
		rows, err := h.pool.Query(t.Context(), `SELECT event->'data'->>'title' || '→' || (event->'data'->'target'->'user_ids')::text
			FROM platform.outbox WHERE event_type = 'cn.gov.sjz.amr.notify.notice.requested.v1' AND event->'data'->>'kind' = $1 ORDER BY seq`, kind)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := strings.Join(notices("dispatch_task"), "|"); got != `新任务：夜市复查→["p1"]|新任务：月底汇总→["p2"]|转派给您的任务：夜市复查→["p3"]` {
		t.Fatalf("task notices: %s", got)
	}
	tick := func(id string) {
		t.Helper()
		e := event.New()
		e.SetID(id)
		e.SetSource("/apis/v1/namespaces/smartreg/pingsources/dispatch-task-due")
		e.SetType(events.Ping)
		_ = e.SetData(event.ApplicationJSON, map[string]any{"task": DueTask})
		if _, err := h.f.Receive(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	tick("tick-1")
	tick("tick-1") // redelivered
	tick("tick-2")
	if got := strings.Join(notices("dispatch_task_due"), "|"); got != `任务即将到期：夜市复查→["p3", "c1"]` {
		t.Fatalf("due reminders: %s", got)
	}
	tl := decode[Timeline](t, h.do(t, centre, "GET", "/dispatch/v1/events/"+ev.ID+"/timeline", nil), 200)
	if last := tl.Steps[len(tl.Steps)-1]; last.Action != "task_reminded" {
		t.Fatalf("the reminder's step: %+v", tl.Steps)
	}
	h.now = h.now.Add(72 * time.Hour) // the far one is now overdue
	tick("tick-3")
	if got := notices("dispatch_task_due"); len(got) != 2 || !strings.HasPrefix(got[1], "任务已超期：月底汇总") {
		t.Fatalf("overdue reminder: %q", got)
	}
}

// FP-149: the alarm history says what became of each alarm — accepted
// into an event, dismissed with its reason, closed with its event's reason
// — by whom and when, and is searched by status, level, text and time.
func TestAlarmHistory(t *testing.T) {
	h := newHarness(t)
	centre := h.iss.Bearer(station("c1", "130102001"))
	real, _ := h.raise(t, "130102001", "农贸市场有人打架")
	falseAlarm, _ := h.raise(t, "130102001", "误触报警")
	if rec := h.do(t, centre, "POST", "/dispatch/v1/alarms/"+falseAlarm+"/dismiss", map[string]string{"reason": " "}); rec.Code != 400 {
		t.Fatalf("dismiss without a reason: %d", rec.Code)
	}
	d := decode[Alarm](t, h.do(t, centre, "POST", "/dispatch/v1/alarms/"+falseAlarm+"/dismiss", map[string]string{"reason": "检查员误触，已电话核实"}), 200)
	if d.Status != "dismissed" || d.HandledBy != "c1" || d.HandledAt == nil || d.CloseReason != "检查员误触，已电话核实" {
		t.Fatalf("dismissed: %+v", d)
	}
	if rec := h.do(t, centre, "POST", "/dispatch/v1/alarms/"+falseAlarm+"/accept", map[string]string{"type": "其他"}); rec.Code != 409 {
		t.Errorf("accepting a dismissed alarm: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, centre, "POST", "/dispatch/v1/alarms/"+falseAlarm+"/dismiss", map[string]string{"reason": "again"}); rec.Code != 409 {
		t.Errorf("dismissing twice: %d", rec.Code)
	}
	ev := decode[Event](t, h.do(t, centre, "POST", "/dispatch/v1/alarms/"+real+"/accept", map[string]string{"type": "市场秩序"}), 200)
	decode[Event](t, h.do(t, centre, "POST", "/dispatch/v1/events/"+ev.ID+"/close", map[string]string{"reason": "双方已调解"}), 200)
	list := func(query string) []Alarm {
		t.Helper()
		return decode[httpx.PageOf[Alarm]](t, h.do(t, centre, "GET", "/dispatch/v1/alarms"+query, nil), 200).Items
	}
	if got := list("?status=closed"); len(got) != 1 || got[0].ID != real || got[0].CloseReason != "双方已调解" || got[0].HandledBy != "c1" ||
		got[0].EventID == nil || *got[0].EventID != ev.ID {
		t.Fatalf("closed alarms: %+v", got)
	}
	if got := list("?q=电话核实"); len(got) != 1 || got[0].ID != falseAlarm {
		t.Fatalf("search by reason: %+v", got)
	}
	if got := list("?from=" + h.now.Add(time.Minute).Format(time.RFC3339)); len(got) != 0 {
		t.Fatalf("received after now: %+v", got)
	}
	if rec := h.do(t, centre, "GET", "/dispatch/v1/alarms?status=lost", nil); rec.Code != 400 {
		t.Errorf("unknown status: %d", rec.Code)
	}
	if rec := h.do(t, h.iss.Bearer(station("s2", "130104002")), "POST", "/dispatch/v1/alarms/"+real+"/dismiss", map[string]string{"reason": "x"}); rec.Code != 404 {
		t.Errorf("another station dismisses: %d", rec.Code)
	}
}
