package alarmintake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
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
	dir, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{iss: iss, pool: storetest.New(t, Migrations()...), now: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	cfg := config.Defaults[Config]()
	cfg.MaxPhotoBytes = 1000
	h.f, err = New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: h.pool, Blob: dir, Now: func() time.Time { return h.now },
		Verifier: iss.Verifier()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) raw(t *testing.T, bearer, method, path, ct string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

func (h *harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	return h.raw(t, bearer, method, path, "application/json", r)
}

// station is an inspector of a station (所) in one street of 长安区.
func station(user, township string) auth.Principal {
	return auth.Principal{UserID: user, Name: "检查员" + user, Perms: []string{PermAlarm + ":create", PermAlarm + ":view"},
		Scope: auth.Scope{Kind: auth.ScopeDept, Townships: []string{township}}}
}

func alarmBody(key string, at time.Time) map[string]any {
	return map[string]any{"idempotency_key": key, "level": "紧急", "text": "现场有人阻挠执法", "lat": 38.0428, "lng": 114.5149,
		"accuracy": 12.5, "at": at}
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	dir, _ := blob.NewDir(t.TempDir())
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Blob: dir, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Blob: dir, Now: time.Now, Verifier: iss.Verifier()},
		"blob":     {Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Blob: dir, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Blob: dir, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(Deps{Logger: log, Pool: pool, Blob: dir, Now: time.Now, Verifier: iss.Verifier()}, Config{}); err == nil {
		t.Error("an invalid Config accepted")
	}
}

// An alarm is answered only after its row and its event are committed,
// and a phone's queued resend (the same key) gets the first alarm back:
// one row, one alarm.raised.
func TestRaiseIsDurableAndIdempotent(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(station("u1", "130102001"))
	body := alarmBody("offline-queue-0001", h.now.Add(-3*time.Hour)) // queued offline for three hours
	rec := h.do(t, bearer, "POST", "/alarm/v1/alarms", body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("raise: %d %s", rec.Code, rec.Body)
	}
	var first Alarm
	json.Unmarshal(rec.Body.Bytes(), &first)
	if first.District != "130102" || first.Township != "130102001" || first.Level != "紧急" {
		t.Fatalf("stored %+v", first)
	}
	for range 2 {
		rec = h.do(t, bearer, "POST", "/alarm/v1/alarms", body)
		var again Alarm
		json.Unmarshal(rec.Body.Bytes(), &again)
		if rec.Code != http.StatusOK || again.ID != first.ID {
			t.Fatalf("resend: %d %s (first %s)", rec.Code, rec.Body, first.ID)
		}
	}
	// Another user may use the same key: keys are per phone user.
	if rec := h.do(t, h.iss.Bearer(station("u2", "130102001")), "POST", "/alarm/v1/alarms", body); rec.Code != http.StatusCreated {
		t.Fatalf("other user's alarm: %d %s", rec.Code, rec.Body)
	}
	var alarms, raised int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM alarmintake.alarms`).Scan(&alarms)
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.outbox WHERE event_type = $1`, events.AlarmRaised).Scan(&raised)
	if alarms != 2 || raised != 2 {
		t.Fatalf("%d alarms, %d events; want 2 and 2", alarms, raised)
	}
	var data events.AlarmRaisedData
	var raw []byte
	h.pool.QueryRow(context.Background(), `SELECT event->'data' FROM platform.outbox WHERE event->>'subject' = $1`, first.ID).Scan(&raw)
	if err := json.Unmarshal(raw, &data); err != nil || data.AlarmID != first.ID || data.Township != "130102001" {
		t.Fatalf("event data %s: %v", raw, err)
	}
}

func TestBadAlarmsGetClearErrors(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(station("u1", "130102001"))
	at := h.now.Format(time.RFC3339)
	for name, tc := range map[string]struct{ body, want string }{
		"lat-out-of-range": {`{"idempotency_key":"k-00000001","level":"紧急","lat":91,"lng":114.5,"accuracy":5,"at":"` + at + `"}`, "纬度超出范围"},
		"lng-out-of-range": {`{"idempotency_key":"k-00000001","level":"紧急","lat":38,"lng":-181,"accuracy":5,"at":"` + at + `"}`, "经度超出范围"},
		"nan-literal":      {`{"idempotency_key":"k-00000001","level":"紧急","lat":NaN,"lng":114.5,"accuracy":5,"at":"` + at + `"}`, "NaN"},
		"null-position":    {`{"idempotency_key":"k-00000001","level":"紧急","lat":null,"lng":114.5,"accuracy":5,"at":"` + at + `"}`, "缺少定位"},
		"future":           {`{"idempotency_key":"k-00000001","level":"紧急","lat":38,"lng":114.5,"accuracy":5,"at":"` + h.now.Add(time.Hour).Format(time.RFC3339) + `"}`, "晚于当前时间"},
		"too-old":          {`{"idempotency_key":"k-00000001","level":"紧急","lat":38,"lng":114.5,"accuracy":5,"at":"` + h.now.Add(-30*24*time.Hour).Format(time.RFC3339) + `"}`, "已过期"},
		"negative-acc":     {`{"idempotency_key":"k-00000001","level":"紧急","lat":38,"lng":114.5,"accuracy":-1,"at":"` + at + `"}`, "定位精度"},
		"level":            {`{"idempotency_key":"k-00000001","level":"一般","lat":38,"lng":114.5,"accuracy":5,"at":"` + at + `"}`, "紧急或重要紧急"},
		"no-key":           {`{"level":"紧急","lat":38,"lng":114.5,"accuracy":5,"at":"` + at + `"}`, "幂等键"},
		"foreign-upload":   {`{"idempotency_key":"k-00000001","level":"紧急","lat":38,"lng":114.5,"accuracy":5,"at":"` + at + `","attachments":["alarm/00000000-0000-0000-0000-000000000000"]}`, "附件未上传完成"},
	} {
		rec := h.do(t, bearer, "POST", "/alarm/v1/alarms", tc.body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s; want 400 with %q", name, rec.Code, rec.Body, tc.want)
		}
	}
	var n int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM alarmintake.alarms`).Scan(&n)
	if n != 0 {
		t.Errorf("%d bad alarms stored", n)
	}
}

// A photo goes through a signed upload; a declared size over the limit,
// a body longer than declared, a wrong token and another user are refused.
func TestSignedUploads(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(station("u1", "130102001"))
	if rec := h.do(t, bearer, "POST", "/alarm/v1/uploads", map[string]any{"kind": "photo", "content_type": "image/jpeg", "size": 5000}); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), "文件过大") {
		t.Fatalf("oversized declaration: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, bearer, "POST", "/alarm/v1/uploads", map[string]any{"kind": "photo", "content_type": "text/html", "size": 10}); rec.Code != 400 {
		t.Fatalf("html as a photo: %d %s", rec.Code, rec.Body)
	}
	ask := func() Upload {
		rec := h.do(t, bearer, "POST", "/alarm/v1/uploads", map[string]any{"kind": "photo", "content_type": "image/jpeg", "size": 100})
		var u Upload
		if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &u) != nil {
			t.Fatalf("ask: %d %s", rec.Code, rec.Body)
		}
		return u
	}
	u := ask()
	if rec := h.raw(t, bearer, "PUT", u.URL, "image/jpeg", bytes.NewReader(make([]byte, 101))); rec.Code != 400 || !strings.Contains(rec.Body.String(), "超过") {
		t.Fatalf("longer than declared: %d %s", rec.Code, rec.Body)
	}
	if rec := h.raw(t, bearer, "PUT", strings.Split(u.URL, "?")[0]+"?token=bad", "image/jpeg", strings.NewReader("x")); rec.Code != 403 {
		t.Fatalf("bad token: %d %s", rec.Code, rec.Body)
	}
	if rec := h.raw(t, h.iss.Bearer(station("u2", "130102001")), "PUT", u.URL, "image/jpeg", strings.NewReader("x")); rec.Code != 403 {
		t.Fatalf("another user: %d %s", rec.Code, rec.Body)
	}
	u = ask()
	if rec := h.raw(t, bearer, "PUT", u.URL, "image/jpeg", bytes.NewReader(make([]byte, 100))); rec.Code != 200 {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	body := alarmBody("with-photo-01", h.now)
	body["attachments"] = []string{u.Key}
	if rec := h.do(t, bearer, "POST", "/alarm/v1/alarms", body); rec.Code != 201 || !strings.Contains(rec.Body.String(), u.Key) {
		t.Fatalf("alarm with photo: %d %s", rec.Code, rec.Body)
	}
	// Another user cannot attach u1's photo.
	body["idempotency_key"] = "with-photo-02"
	if rec := h.do(t, h.iss.Bearer(station("u2", "130102001")), "POST", "/alarm/v1/alarms", body); rec.Code != 400 {
		t.Fatalf("someone else's photo: %d %s", rec.Code, rec.Body)
	}
}

// A station user sees only the alarms of their jurisdiction.
func TestStationScope(t *testing.T) {
	h := newHarness(t)
	h.do(t, h.iss.Bearer(station("u1", "130102001")), "POST", "/alarm/v1/alarms", alarmBody("scope-key-1", h.now))
	h.do(t, h.iss.Bearer(station("u2", "130104002")), "POST", "/alarm/v1/alarms", alarmBody("scope-key-2", h.now))
	for _, tc := range []struct {
		p    auth.Principal
		want int
	}{{station("v1", "130102001"), 1}, {station("v2", "130102009"), 0}, {authtest.CityWide(PermAlarm + ":view"), 2}} {
		rec := h.do(t, h.iss.Bearer(tc.p), "GET", "/alarm/v1/alarms", nil)
		var page httpx.PageOf[Alarm]
		json.Unmarshal(rec.Body.Bytes(), &page)
		if rec.Code != 200 || page.Total != tc.want {
			t.Errorf("%s sees %d (%d); want %d", tc.p.UserID, page.Total, rec.Code, tc.want)
		}
	}
}

// Every setting is documented where operators look (docs/operations.md,
// generated by the platform's settings test).
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

// FP-150, FP-154, FP-161: an attachment is seen by its uploader and by
// those whose scope covers the uploader's street, as the bytes and type
// it was uploaded with; never by another station, never before its bytes
// arrived. Videos (a hazard report's) are accepted up to their own limit.
func TestViewAttachments(t *testing.T) {
	h := newHarness(t)
	u1, colleague, other := h.iss.Bearer(station("u1", "130102001")), h.iss.Bearer(station("u3", "130102001")), h.iss.Bearer(station("u2", "130104002"))
	ask := func(kind, ct string, size int) Upload {
		t.Helper()
		rec := h.do(t, u1, "POST", "/alarm/v1/uploads", map[string]any{"kind": kind, "content_type": ct, "size": size})
		var u Upload
		if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &u) != nil {
			t.Fatalf("ask %s: %d %s", kind, rec.Code, rec.Body)
		}
		return u
	}
	photo := []byte("\x89PNG\r\n\x1a\n-scene-photo-bytes")
	u := ask("photo", "image/png", len(photo))
	content := "/alarm/v1/uploads/" + strings.TrimPrefix(u.Key, "alarm/") + "/content"
	if rec := h.do(t, u1, "GET", content, nil); rec.Code != 404 {
		t.Fatalf("before the bytes arrived: %d", rec.Code)
	}
	if rec := h.raw(t, u1, "PUT", u.URL, "image/png", bytes.NewReader(photo)); rec.Code != 200 {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	for name, b := range map[string]string{"uploader": u1, "same street": colleague} {
		rec := h.do(t, b, "GET", content, nil)
		if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), photo) || rec.Header().Get("Content-Type") != "image/png" ||
			rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q %v", name, rec.Code, rec.Body.Bytes(), rec.Header())
		}
	}
	if rec := h.do(t, other, "GET", content, nil); rec.Code != 404 || bytes.Contains(rec.Body.Bytes(), photo) {
		t.Errorf("another station: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, u1, "GET", "/alarm/v1/uploads/not-a-uuid/content", nil); rec.Code != 404 {
		t.Errorf("bad id: %d", rec.Code)
	}
	ask("video", "video/mp4", 40<<20)
	if rec := h.do(t, u1, "POST", "/alarm/v1/uploads", map[string]any{"kind": "video", "content_type": "video/mp4", "size": 60 << 20}); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), "不能超过 50 MB") {
		t.Errorf("a 60 MB video: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, u1, "POST", "/alarm/v1/uploads", map[string]any{"kind": "video", "content_type": "image/png", "size": 10}); rec.Code != 400 {
		t.Errorf("a PNG declared as video: %d %s", rec.Code, rec.Body)
	}
}
