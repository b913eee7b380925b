package dispatch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

type harness struct {
	f    *Function
	iss  *authtest.Issuer
	pool *pgxpool.Pool
	now  time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	h := &harness{iss: iss, pool: storetest.New(t, append(Migrations(), auditlogtest.Migration())...), now: time.Now().UTC().Truncate(time.Second)}
	var err error
	h.f, err = New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: h.pool, Now: func() time.Time { return h.now },
		Verifier: iss.Verifier()}, config.Defaults[Config]())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.f.Stop(context.Background()) })
	return h
}

func (h *harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Authorization", bearer)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder, want int) T {
	t.Helper()
	var v T
	if rec.Code != want {
		t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return v
}

var allPerms = []string{PermEvent + ":view", PermEvent + ":create", PermEvent + ":edit", PermTrack + ":create", PermTrack + ":view",
	PermTask + ":view", PermTask + ":create", PermTask + ":handle", PermTask + ":approve"}

// station is a user of a station (所) covering one street.
func station(user, township string) auth.Principal {
	return auth.Principal{UserID: user, Name: "用户" + user, Perms: allPerms,
		Scope: auth.Scope{Kind: auth.ScopeDept, Townships: []string{township}}}
}

func (h *harness) raise(t *testing.T, township, text string) (string, error) {
	t.Helper()
	id := uuid.NewString()
	e, err := outbox.NewEvent("/functions/alarm-intake", events.AlarmRaised, id, events.AlarmRaisedData{AlarmID: id, Level: "紧急",
		Text: text, Lat: 38.04, Lng: 114.51, Accuracy: 10, RaisedBy: "phone-1", RaisedName: "张检查", District: township[:6],
		Township: township, RaisedAt: h.now, ReceivedAt: h.now}, h.now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.f.Receive(context.Background(), e)
	if err == nil {
		_, err = h.f.Receive(context.Background(), e) // a redelivery changes nothing
	}
	return id, err
}

type sse struct {
	id, event, data string
}

// openFeed opens the SSE feed on a real server and returns its items.
func openFeed(t *testing.T, h *harness, bearer, lastID string) (<-chan sse, func()) {
	t.Helper()
	srv := httptest.NewServer(h.f.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/dispatch/v1/feed", nil)
	req.Header.Set("Authorization", bearer)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("feed: %v %v", err, resp)
	}
	ch := make(chan sse, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" {
					ch <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
	}()
	return ch, func() { cancel(); resp.Body.Close(); srv.Close() }
}

func next(t *testing.T, ch <-chan sse, event string) sse {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("feed ended before %s", event)
			}
			if m.event == event {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s on the feed", event)
		}
	}
}

// An alarm reaches the centre's stream once; a stream that reconnects with
// its Last-Event-ID gets what was raised meanwhile, and a station's stream
// never shows another station's alarm.
func TestAlarmFeed(t *testing.T) {
	h := newHarness(t)
	centre := h.iss.Bearer(authtest.CityWide(allPerms...))
	ch, closeFeed := openFeed(t, h, centre, "")
	next(t, ch, "ready")
	stationCh, closeStation := openFeed(t, h, h.iss.Bearer(station("s1", "130102001")), "")
	defer closeStation()
	next(t, stationCh, "ready")
	if _, err := h.raise(t, "130104002", "桥西区报警"); err != nil {
		t.Fatal(err)
	}
	id, _ := h.raise(t, "130102001", "长安区报警")
	first := next(t, ch, "alarm")
	if !strings.Contains(first.data, "桥西区报警") {
		t.Fatalf("first alarm %s", first.data)
	}
	if m := next(t, ch, "alarm"); !strings.Contains(m.data, id) {
		t.Fatalf("second alarm %s", m.data)
	}
	if m := next(t, stationCh, "alarm"); !strings.Contains(m.data, "长安区报警") {
		t.Fatalf("station saw %s", m.data)
	}
	closeFeed()
	// Raised while the centre's map was away.
	h.raise(t, "130102001", "断线期间的报警")
	ch, closeFeed = openFeed(t, h, centre, first.id)
	defer closeFeed()
	for _, want := range []string{"长安区报警", "断线期间的报警"} {
		if m := next(t, ch, "alarm"); !strings.Contains(m.data, want) {
			t.Fatalf("replay: %s, want %s", m.data, want)
		}
	}
	var n int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM dispatch.alarms`).Scan(&n)
	if n != 3 {
		t.Fatalf("%d alarms stored, want 3 (redeliveries ignored)", n)
	}
}

// FP-144, FP-145, FP-149, FP-150, FP-154: the whole handling of an alarm: accepted as an event, the nearest
// inspector found by KNN, a task dispatched and completed with a photo,
// the event closed; the retrospection shows every step, and the fuzzy
// search finds it.
func TestAlarmToTaskToRetrospection(t *testing.T) {
	h := newHarness(t)
	centre := h.iss.Bearer(authtest.CityWide(allPerms...))
	id, _ := h.raise(t, "130102001", "有人阻挠执法")
	// Two inspectors report positions; one is nearer the alarm.
	for _, p := range []struct {
		user     string
		lat, lng float64
	}{{"near", 38.041, 114.511}, {"far", 38.10, 114.60}} {
		b := h.iss.Bearer(station(p.user, "130102001"))
		rec := h.do(t, b, "POST", "/dispatch/v1/positions", map[string]any{"positions": []map[string]any{
			{"at": h.now.Add(-time.Minute), "lat": p.lat - 0.001, "lng": p.lng, "accuracy": 8},
			{"at": h.now, "lat": p.lat, "lng": p.lng, "accuracy": 5}}})
		if rec.Code != 200 {
			t.Fatalf("positions: %d %s", rec.Code, rec.Body)
		}
	}
	near := decode[[]Position](t, h.do(t, centre, "GET", "/dispatch/v1/live?lat=38.04&lng=114.51&nearest=1", nil), 200)
	if len(near) != 1 || near[0].UserID != "near" || near[0].Distance <= 0 || near[0].Distance > 500 {
		t.Fatalf("nearest: %+v", near)
	}
	circle := decode[[]Position](t, h.do(t, centre, "GET", "/dispatch/v1/live?lat=38.04&lng=114.51&radius=2000", nil), 200)
	if len(circle) != 1 {
		t.Fatalf("circle of 2 km: %+v", circle)
	}
	poly := decode[[]Position](t, h.do(t, centre, "GET", "/dispatch/v1/live?polygon=114.5,38.0;114.7,38.0;114.7,38.2;114.5,38.2", nil), 200)
	if len(poly) != 2 {
		t.Fatalf("polygon: %+v", poly)
	}
	ev := decode[Event](t, h.do(t, centre, "POST", "/dispatch/v1/alarms/"+id+"/accept", map[string]string{"type": "执法受阻"}), 200)
	if ev.Source != "alarm" || ev.Color == "" || ev.Township != "130102001" {
		t.Fatalf("event %+v", ev)
	}
	task := decode[Task](t, h.do(t, centre, "POST", "/dispatch/v1/tasks", map[string]any{"event_id": ev.ID, "title": "前往现场核查",
		"assignee": "near", "due_at": h.now.Add(time.Hour)}), 201)
	inspector := h.iss.Bearer(station("near", "130102001"))
	mine := decode[httpx.PageOf[Task]](t, h.do(t, inspector, "GET", "/dispatch/v1/tasks?box=handled&status=pending", nil), 200)
	if mine.Total != 1 || mine.Items[0].ID != task.ID {
		t.Fatalf("inspector's pending tasks: %+v", mine)
	}
	if rec := h.do(t, h.iss.Bearer(station("far", "130102001")), "POST", "/dispatch/v1/tasks/"+task.ID+"/handle", map[string]any{"result": "x"}); rec.Code != 403 {
		t.Fatalf("someone else handles: %d %s", rec.Code, rec.Body)
	}
	photoKey := "alarm/" + uuid.NewString() // a key alarm-intake gave the phone
	done := decode[Task](t, h.do(t, inspector, "POST", "/dispatch/v1/tasks/"+task.ID+"/handle",
		map[string]any{"result": "已到场，现场已恢复秩序", "attachments": []string{photoKey}}), 200)
	if done.Status != "done" || done.ResultAttachments[0] != photoKey {
		t.Fatalf("handled %+v", done)
	}
	decode[Event](t, h.do(t, centre, "POST", "/dispatch/v1/events/"+ev.ID+"/close", map[string]string{"reason": "现场处置完毕"}), 200)
	if rec := h.do(t, centre, "POST", "/dispatch/v1/events/"+ev.ID+"/close", map[string]string{"reason": "再次"}); rec.Code != 409 {
		t.Fatalf("closed twice: %d", rec.Code)
	}
	tl := decode[Timeline](t, h.do(t, centre, "GET", "/dispatch/v1/events/"+ev.ID+"/timeline", nil), 200)
	var actions []string
	for _, s := range tl.Steps {
		actions = append(actions, s.Action)
	}
	if got := strings.Join(actions, ","); got != "created,alarm_linked,task_dispatched,task_handle,closed" {
		t.Fatalf("timeline %s", got)
	}
	if len(tl.Tasks) != 1 || len(tl.Alarms) != 1 || tl.Alarms[0].Status != "closed" || tl.Event.CloseReason != "现场处置完毕" {
		t.Fatalf("timeline %+v", tl)
	}
	// Fuzzy search: a substring, and a near miss.
	for _, q := range []string{"阻挠", "一键报警（紧急）"} {
		page := decode[httpx.PageOf[Event]](t, h.do(t, centre, "GET", "/dispatch/v1/events?q="+q, nil), 200)
		if page.Total != 1 {
			t.Errorf("search %q: %d", q, page.Total)
		}
	}
	track := decode[TrackView](t, h.do(t, centre, "GET", "/dispatch/v1/tracks/near", nil), 200)
	if track.Points != 2 || len(track.T) != 2 || track.T[0] >= track.T[1] || track.Lat[1] != 38.041 {
		t.Fatalf("24-hour playback %+v", track)
	}
}

// FP-148. Playback is thinned (ends kept, fewer fixes, the stored count told);
// tolerance 0 and the CSV download give every fix; bad tolerances are
// refused in Chinese.
func TestTrackPlaybackAndDownload(t *testing.T) {
	h := newHarness(t)
	phone := h.iss.Bearer(station("p1", "130102001"))
	var ps []map[string]any
	for i := range 300 { // a straight walk north, then east: one corner
		lat, lng := 38.0+float64(min(i, 150))*1e-5, 114.5+float64(max(0, i-150))*1e-5
		ps = append(ps, map[string]any{"at": h.now.Add(time.Duration(i-300) * 5 * time.Second), "lat": lat, "lng": lng, "accuracy": 5})
	}
	if rec := h.do(t, phone, "POST", "/dispatch/v1/positions", map[string]any{"positions": ps}); rec.Code != 200 {
		t.Fatalf("positions: %d %s", rec.Code, rec.Body)
	}
	centre := h.iss.Bearer(authtest.CityWide(allPerms...))
	v := decode[TrackView](t, h.do(t, centre, "GET", "/dispatch/v1/tracks/p1", nil), 200)
	if v.Points != 300 || len(v.T) != 3 || v.Tolerance != defaultTolerance || v.Lat[1] != 38.0015 ||
		v.T[0] != h.now.Add(-300*5*time.Second).UnixMilli() || v.T[2] != h.now.Add(-5*time.Second).UnixMilli() {
		t.Fatalf("thinned playback: points %d, kept %d %+v", v.Points, len(v.T), v)
	}
	full := decode[TrackView](t, h.do(t, centre, "GET", "/dispatch/v1/tracks/p1?tolerance=0", nil), 200)
	if len(full.T) != 300 || full.Lng[299] != 114.5+149*1e-5 {
		t.Fatalf("full resolution: %d fixes", len(full.T))
	}
	rec := h.do(t, centre, "GET", "/dispatch/v1/tracks/p1/csv", nil)
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || len(lines) != 301 ||
		lines[0] != "user_id,at,lat,lng,accuracy" || !strings.HasPrefix(lines[1], "p1,") {
		t.Fatalf("download: %d %q, %d lines", rec.Code, rec.Header().Get("Content-Type"), len(lines))
	}
	for _, q := range []string{"tolerance=-1", "tolerance=abc", "tolerance=NaN"} {
		if rec := h.do(t, centre, "GET", "/dispatch/v1/tracks/p1?"+q, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "tolerance") {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
	other := h.iss.Bearer(station("s2", "130104002"))
	if rec := h.do(t, other, "GET", "/dispatch/v1/tracks/p1/csv", nil); len(strings.Split(strings.TrimSpace(rec.Body.String()), "\n")) != 1 {
		t.Errorf("another station downloads: %s", rec.Body)
	}
}

// A station user sees only the events, tasks and tracks of their
// jurisdiction.
func TestStationScope(t *testing.T) {
	h := newHarness(t)
	a1, _ := h.raise(t, "130102001", "本所报警")
	a2, _ := h.raise(t, "130104002", "外所报警")
	own, other := h.iss.Bearer(station("s1", "130102001")), h.iss.Bearer(station("s2", "130104002"))
	ev := decode[Event](t, h.do(t, own, "POST", "/dispatch/v1/alarms/"+a1+"/accept", map[string]string{}), 200)
	if rec := h.do(t, own, "POST", "/dispatch/v1/alarms/"+a2+"/accept", map[string]string{}); rec.Code != 404 {
		t.Fatalf("accepting another station's alarm: %d", rec.Code)
	}
	decode[Task](t, h.do(t, own, "POST", "/dispatch/v1/tasks", map[string]any{"event_id": ev.ID, "title": "核查", "assignee": "s1"}), 201)
	h.do(t, own, "POST", "/dispatch/v1/positions", map[string]any{"positions": []map[string]any{{"at": h.now, "lat": 38.04, "lng": 114.51, "accuracy": 5}}})
	for path, want := range map[string]string{
		"/dispatch/v1/alarms": `"total":1`, "/dispatch/v1/events": `"total":1`, "/dispatch/v1/tasks": `"total":1`,
	} {
		if body := h.do(t, own, "GET", path, nil).Body.String(); !strings.Contains(body, want) || strings.Contains(body, "外所") {
			t.Errorf("own station %s: %s", path, body)
		}
		if body := h.do(t, other, "GET", path, nil).Body.String(); strings.Contains(body, "本所") || strings.Contains(body, ev.ID) {
			t.Errorf("other station %s: %s", path, body)
		}
	}
	for _, path := range []string{"/dispatch/v1/events/" + ev.ID + "/timeline"} {
		if rec := h.do(t, other, "GET", path, nil); rec.Code != 404 {
			t.Errorf("other station %s: %d", path, rec.Code)
		}
	}
	if rec := h.do(t, other, "POST", "/dispatch/v1/events/"+ev.ID+"/close", map[string]string{"reason": "x"}); rec.Code != 404 {
		t.Errorf("other station closes: %d", rec.Code)
	}
	if body := h.do(t, other, "GET", "/dispatch/v1/tracks/s1", nil).Body.String(); !strings.Contains(body, `"points":0`) {
		t.Errorf("other station's track query: %s", body)
	}
	if body := h.do(t, other, "GET", "/dispatch/v1/live", nil).Body.String(); strings.TrimSpace(body) != "[]" {
		t.Errorf("other station's live map: %s", body)
	}
	if body := h.do(t, own, "GET", "/dispatch/v1/live", nil).Body.String(); !strings.Contains(body, `"s1"`) {
		t.Errorf("own station's live map: %s", body)
	}
}

func TestBadPositions(t *testing.T) {
	h := newHarness(t)
	b := h.iss.Bearer(station("s1", "130102001"))
	for name, tc := range map[string]struct {
		pos  map[string]any
		want string
	}{
		"lat":    {map[string]any{"at": h.now, "lat": 95, "lng": 114.5, "accuracy": 5}, "纬度超出范围"},
		"lng":    {map[string]any{"at": h.now, "lat": 38, "lng": 190, "accuracy": 5}, "经度超出范围"},
		"future": {map[string]any{"at": h.now.Add(time.Hour), "lat": 38, "lng": 114.5, "accuracy": 5}, "晚于当前时间"},
		"no-at":  {map[string]any{"lat": 38, "lng": 114.5, "accuracy": 5}, "缺少定位时间"},
	} {
		rec := h.do(t, b, "POST", "/dispatch/v1/positions", map[string]any{"positions": []any{tc.pos}})
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if rec := h.do(t, b, "GET", "/dispatch/v1/live?lat=NaN&lng=1", nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "不是有效数字") {
		t.Errorf("NaN query: %d %s", rec.Code, rec.Body)
	}
}

// Retention drops whole day partitions; ingest makes the day's partition.
func TestTrackPartitionsAndRetention(t *testing.T) {
	h := newHarness(t)
	old := h.now.Add(-200 * 24 * time.Hour)
	if err := h.f.ensurePartition(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	if err := h.f.maintainTracks(context.Background()); err != nil {
		t.Fatal(err)
	}
	var names []string
	rows, _ := h.pool.Query(context.Background(), `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'dispatch.positions'::regclass ORDER BY 1`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if fmt.Sprint(names) != fmt.Sprint([]string{partName(h.now), partName(h.now.Add(24 * time.Hour))}) {
		t.Fatalf("partitions %v", names)
	}
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()}, Config{}); err == nil {
		t.Error("an invalid Config accepted")
	}
}

func TestConfigIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range config.Describe(Config{}) {
		if f.Help == "" || !strings.Contains(string(doc), "`"+f.Env+"`") {
			t.Errorf("%s lacks help text or is not in docs/operations.md (go test ./infra/local/platform -run Settings -update)", f.Env)
		}
	}
}

// FP-142: the base map is our own schematic GeoJSON: every district of the city,
// marked as a schematic map without survey claim.
func TestBaseMap(t *testing.T) {
	h := newHarness(t)
	rec := h.do(t, h.iss.Bearer(station("s1", "130102001")), "GET", "/dispatch/v1/basemap", nil)
	var doc struct {
		Properties struct {
			Schematic bool   `json:"schematic"`
			Note      string `json:"note"`
		} `json:"properties"`
		Features []struct {
			Properties struct{ Code, Name string } `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != 200 {
		t.Fatalf("%d %v", rec.Code, err)
	}
	if !doc.Properties.Schematic || !strings.Contains(doc.Properties.Note, "无审图号") || len(doc.Features) != 22 {
		t.Fatalf("base map: %+v", doc.Properties)
	}
}

// Alarms delivered concurrently (the broker's workers) all reach an open
// stream: a feed row committed after a later seq is never skipped.
func TestConcurrentAlarmsAllReachTheStream(t *testing.T) {
	h := newHarness(t)
	ch, closeFeed := openFeed(t, h, h.iss.Bearer(authtest.CityWide(allPerms...)), "")
	defer closeFeed()
	next(t, ch, "ready")
	const n = 60
	errc := make(chan error, n)
	for i := range n {
		go func() { _, err := h.raise(t, "130102001", fmt.Sprintf("并发报警-%02d", i)); errc <- err }()
	}
	for range n {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int64]bool{}
	for len(seen) < n {
		m := next(t, ch, "alarm")
		var it FeedItem
		if err := json.Unmarshal([]byte(m.data), &it); err != nil || seen[it.Seq] {
			t.Fatalf("item %s sent twice or unreadable (%v)", m.data, err)
		}
		seen[it.Seq] = true
	}
}

// FP-146. The case that skipped rows when streams read "seq > last sent": a
// writer takes its seq, another writer with a later seq commits and is
// shown, then the first commits. Its row must still be shown, once, on the
// open stream and on a stream resuming from the id of the later row.
// (Deterministic: the first writer's transaction is held open by hand.)
func TestLateCommitWithEarlierSeqIsNotSkipped(t *testing.T) {
	h := newHarness(t)
	centre := h.iss.Bearer(authtest.CityWide(allPerms...))
	ch, closeFeed := openFeed(t, h, centre, "")
	defer closeFeed()
	next(t, ch, "ready")
	ctx := context.Background()
	slow, err := h.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	if err := addFeed(ctx, slow, "alarm", "130102", "130102001", map[string]string{"text": "先取序号后提交"}, h.now); err != nil {
		t.Fatal(err)
	}
	var slowSeq int64
	if err := slow.QueryRow(ctx, `SELECT max(seq) FROM dispatch.feed`).Scan(&slowSeq); err != nil {
		t.Fatal(err)
	}
	h.raise(t, "130102001", "后取序号先提交")
	fast := next(t, ch, "alarm")
	var it FeedItem
	json.Unmarshal([]byte(fast.data), &it)
	if !strings.Contains(fast.data, "后取序号先提交") || it.Seq <= slowSeq {
		t.Fatalf("first shown %s (seq %d), want the later seq, above %d", fast.data, it.Seq, slowSeq)
	}
	// A map that reconnects from the later row's id.
	ch2, close2 := openFeed(t, h, centre, fast.id)
	defer close2()
	next(t, ch2, "ready")
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	h.f.hub.wake() // Receive wakes after its commit; this writer is the test
	for _, c := range []<-chan sse{ch, ch2} {
		m := next(t, c, "alarm")
		json.Unmarshal([]byte(m.data), &it)
		if it.Seq != slowSeq {
			t.Fatalf("after the late commit: %s, want seq %d", m.data, slowSeq)
		}
	}
	// Nothing is shown twice: the next item on both is a new alarm.
	h.raise(t, "130102001", "之后的报警")
	for _, c := range []<-chan sse{ch, ch2} {
		if m := next(t, c, "alarm"); !strings.Contains(m.data, "之后的报警") {
			t.Fatalf("then %s", m.data)
		}
	}
}

// A cursor survives its round trip through an SSE id; bad ids are refused.
func TestFeedCursorText(t *testing.T) {
	for _, c := range []cursor{{lo: "10:12:10,11"}, {lo: "5:5:"}, {lo: "7:9:8", hi: "9:14:12", seq: 42}} {
		got, ok := parseCursor(c.String())
		if !ok || got != c {
			t.Errorf("%q parsed as %+v %v", c.String(), got, ok)
		}
	}
	for _, bad := range []string{"", "x", "1:2", "1:2:3~4", "1:2:~1:2:~x", "1:2:3\nevent: x"} {
		if _, ok := parseCursor(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
