package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/sms"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/sim/bureau"
	smssim "github.com/sjzamr/smartreg/tests/sim/sms"
)

type harness struct {
	f      *Function
	iss    *authtest.Issuer
	pool   *pgxpool.Pool
	sms    *smssim.Simulator
	bureau *bureau.Simulator
	site   string // the simulator's base address
	now    time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{iss: authtest.NewIssuer(t), pool: storetest.New(t, append(Migrations(), auditlogtest.Migration())...),
		now: time.Date(2026, 3, 1, 10, 0, 0, 0, beijing)}
	h.sms = smssim.New("k", "s")
	h.sms.PerPhonePerMinute = 0
	h.sms.Now = func() time.Time { return time.Now() }
	smsSrv := httptest.NewServer(h.sms)
	t.Cleanup(smsSrv.Close)
	client, err := sms.New(smsSrv.URL, "k", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	h.bureau = bureau.New()
	siteSrv := httptest.NewServer(http.StripPrefix("/sim/bureau", h.bureau))
	t.Cleanup(siteSrv.Close)
	h.site = siteSrv.URL + "/sim/bureau/"
	bl, err := blob.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults[Config]()
	cfg.ImportAllow += "," + h.site
	h.f, err = New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: h.pool, Now: func() time.Time { return h.now },
		Verifier: h.iss.Verifier(), Blob: bl, SMS: client}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

func (h *harness) staff() string {
	return h.iss.Bearer(authtest.CityWide(PermActivity+":view", PermActivity+":create", PermActivity+":edit", PermSignup+":view"))
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %d %s: %v", rec.Code, rec.Body, err)
	}
	return v
}

// published makes an activity starting in the given time from now.
func (h *harness) published(t *testing.T, in time.Duration, capacity, waitlist int) Activity {
	t.Helper()
	ai := ActivityInput{Theme: "食品安全开放日", Place: "裕华区中央厨房", Organiser: "市局食品协调处", StartsAt: h.now.Add(in),
		EndsAt: h.now.Add(in + 2*time.Hour), Capacity: capacity, Waitlist: waitlist}
	rec := h.do(t, h.staff(), "POST", "/activities/v1/activities", ai)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	a := decode[Activity](t, rec)
	if rec := h.do(t, h.staff(), "POST", "/activities/v1/activities/"+strconv.FormatInt(a.ID, 10)+"/publish", nil); rec.Code != 200 {
		t.Fatalf("publish: %d %s", rec.Code, rec.Body)
	}
	return a
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	bl, _ := blob.NewDir(t.TempDir())
	snd, _ := sms.New("http://127.0.0.1:1", "k", "s", nil)
	def := config.Defaults[Config]()
	full := Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier(), Blob: bl, SMS: snd}
	for name, clear := range map[string]func(*Deps){
		"logger": func(d *Deps) { d.Logger = nil }, "pool": func(d *Deps) { d.Pool = nil }, "now": func(d *Deps) { d.Now = nil },
		"verifier": func(d *Deps) { d.Verifier = nil }, "blob": func(d *Deps) { d.Blob = nil }, "sms": func(d *Deps) { d.SMS = nil },
	} {
		d := full
		clear(&d)
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(full, Config{}); err == nil {
		t.Error("an invalid Config accepted")
	}
	if _, err := New(full, def); err != nil {
		t.Errorf("complete deps refused: %v", err)
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

// FP-76: sign-ups fill the places, then the waiting list; a cancellation
// promotes the first on the list, who is told by SMS.
func TestSignupCapacityAndWaitingList(t *testing.T) {
	h := newHarness(t)
	a := h.published(t, 72*time.Hour, 2, 1)
	path := "/activities/v1/public/activities/" + strconv.FormatInt(a.ID, 10) + "/signups"
	var tokens []string
	for i, want := range []string{"confirmed", "confirmed", "waitlisted"} {
		rec := h.do(t, "", "POST", path, SignupInput{Name: "报名人" + strconv.Itoa(i), Phone: "1390000000" + strconv.Itoa(i)})
		if rec.Code != 201 {
			t.Fatalf("sign-up %d: %d %s", i, rec.Code, rec.Body)
		}
		s := decode[Signup](t, rec)
		if s.Status != want || s.PhoneMasked != "139****000"+strconv.Itoa(i) {
			t.Fatalf("sign-up %d: %+v", i, s)
		}
		tokens = append(tokens, s.Token)
	}
	if s := decode[MySignup](t, h.do(t, "", "GET", "/activities/v1/public/signups/"+tokens[2], nil)); s.Signup.Position != 1 || s.Activity.Waiting != 1 {
		t.Errorf("waiting position: %+v", s)
	}
	rec := h.do(t, "", "POST", path, SignupInput{Name: "第四人", Phone: "13900000009"})
	if rec.Code != 409 || !strings.Contains(rec.Body.String(), "候补名单也已满") {
		t.Fatalf("full: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "", "POST", path, SignupInput{Name: "重复", Phone: "13900000000"}); rec.Code != 409 {
		t.Fatalf("the same phone twice: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "", "POST", path, SignupInput{Name: "", Phone: "123"}); rec.Code != 400 {
		t.Fatalf("bad input: %d", rec.Code)
	}
	var plain int
	_ = h.pool.QueryRow(context.Background(), `SELECT count(*) FROM activities.signups WHERE position('13900000000' in encode(phone_sealed, 'escape')) > 0`).Scan(&plain)
	if plain != 0 {
		t.Fatal("a phone number is stored in clear")
	}
	// The first cancels: the waiting one is confirmed and texted.
	if rec := h.do(t, "", "DELETE", "/activities/v1/public/signups/"+tokens[0], nil); rec.Code != 200 {
		t.Fatalf("cancel: %d %s", rec.Code, rec.Body)
	}
	if s := decode[MySignup](t, h.do(t, "", "GET", "/activities/v1/public/signups/"+tokens[2], nil)); s.Signup.Status != "confirmed" || s.Activity.Confirmed != 2 {
		t.Fatalf("after the cancellation: %+v", s)
	}
	if m, ok := h.sms.Last("13900000002"); !ok || m.Template != "SMS_ACTIVITY_PROMOTED" || m.Params["theme"] != "食品安全开放日" {
		t.Fatalf("promotion SMS: %+v %v", m, ok)
	}
	list := decode[httpx.PageOf[Signup]](t, h.do(t, h.staff(), "GET", "/activities/v1/activities/"+strconv.FormatInt(a.ID, 10)+"/signups", nil))
	if list.Total != 3 || strings.Contains(list.Items[0].PhoneMasked, "0000000") || list.Items[0].Token != "" {
		t.Fatalf("staff list masks and hides tokens: %+v", list)
	}
	// A draft takes no sign-ups and is not public.
	draft := decode[Activity](t, h.do(t, h.staff(), "POST", "/activities/v1/activities", ActivityInput{Theme: "草稿", Place: "某地", Organiser: "某处",
		StartsAt: h.now.Add(time.Hour), EndsAt: h.now.Add(2 * time.Hour), Capacity: 5}))
	if rec := h.do(t, "", "GET", "/activities/v1/public/activities/"+strconv.FormatInt(draft.ID, 10), nil); rec.Code != 404 {
		t.Errorf("a draft is public: %d", rec.Code)
	}
	if rec := h.do(t, "", "POST", "/activities/v1/public/activities/"+strconv.FormatInt(draft.ID, 10)+"/signups", SignupInput{Name: "甲", Phone: "13900000005"}); rec.Code != 404 {
		t.Errorf("a draft takes sign-ups: %d", rec.Code)
	}
}

// Two people taking the last place at once: one gets it, one waits.
func TestConcurrentSignupsNeverExceedCapacity(t *testing.T) {
	h := newHarness(t)
	a := h.published(t, 72*time.Hour, 5, 20)
	errc := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, err := h.f.Sign(context.Background(), a.ID, "", SignupInput{Name: "并发", Phone: "1380000" + strconv.Itoa(1000+i)})
			errc <- err
		}()
	}
	for range 20 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	got, _ := getActivity(context.Background(), h.pool, a.ID, false)
	if got.Confirmed != 5 || got.Waiting != 15 {
		t.Fatalf("confirmed %d, waiting %d", got.Confirmed, got.Waiting)
	}
}

// Reminders go out a day and an hour before, once each, and a failed SMS
// is tried again on the next tick.
func TestRemindersBeforeTheStart(t *testing.T) {
	h := newHarness(t)
	a := h.published(t, 20*time.Hour, 5, 0)
	for i := range 2 {
		if _, err := h.f.Sign(context.Background(), a.ID, "user-"+strconv.Itoa(i), SignupInput{Name: "甲", Phone: "1370000000" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	h.sms.FailNext("SYSTEM_ERROR", 1)
	n, err := h.f.SendReminders(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("first tick: %d %v", n, err)
	}
	if n, _ := h.f.SendReminders(context.Background()); n != 1 {
		t.Fatalf("the failed one is retried: %d", n)
	}
	if n, _ := h.f.SendReminders(context.Background()); n != 0 {
		t.Fatalf("a third tick sent %d again", n)
	}
	h.now = h.now.Add(19*time.Hour + 30*time.Minute)
	if n, _ := h.f.SendReminders(context.Background()); n != 2 {
		t.Fatalf("the hour before: %d", n)
	}
	if m, ok := h.sms.Last("13700000001"); !ok || m.Template != "SMS_ACTIVITY_REMINDER" || m.Params["place"] != "裕华区中央厨房" {
		t.Fatalf("reminder SMS: %+v", m)
	}
	var notices int
	_ = h.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.outbox WHERE event_type = 'cn.gov.sjz.amr.notify.notice.requested.v1'`).Scan(&notices)
	// 4 reminders to the two signed-in participants, 2 to the organiser.
	if notices != 6 {
		t.Fatalf("%d notices", notices)
	}
}

// FP-76: import from the bureau's site and from an official-account
// article; the draft waits for review.
func TestImportFromPages(t *testing.T) {
	h := newHarness(t)
	rec := h.do(t, h.staff(), "POST", "/activities/v1/imports", ImportInput{URL: h.site + "news/315.html"})
	if rec.Code != 201 {
		t.Fatalf("import: %d %s", rec.Code, rec.Body)
	}
	res := decode[ImportResult](t, rec)
	a := res.Activity
	if a.Status != "draft" || a.Place != "石家庄市长安区人民广场" || a.Organiser != "石家庄市市场监督管理局" || a.Capacity != 80 ||
		!a.StartsAt.Equal(time.Date(2026, 3, 15, 9, 0, 0, 0, beijing)) || !a.EndsAt.Equal(time.Date(2026, 3, 15, 11, 30, 0, 0, beijing)) ||
		len(a.Photos) != 2 || a.SourceURL != h.site+"news/315.html" || !strings.Contains(a.Description, "现场咨询") || strings.Contains(a.Description, "网站标识码") {
		t.Fatalf("site import: %+v warnings %v", a, res.Warnings)
	}
	if rec := h.do(t, h.staff(), "GET", "/activities/v1/activities/"+strconv.FormatInt(a.ID, 10)+"/photos/1", nil); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("imported photo: %d %s", rec.Code, rec.Header())
	}
	if rec := h.do(t, "", "GET", "/activities/v1/public/activities/"+strconv.FormatInt(a.ID, 10)+"/photos/1", nil); rec.Code != 404 {
		t.Fatalf("a draft's photo is public: %d", rec.Code)
	}
	res = decode[ImportResult](t, h.do(t, h.staff(), "POST", "/activities/v1/imports", ImportInput{URL: h.site + "s/FoodOpenDay"}))
	w := res.Activity
	if !strings.HasPrefix(w.Theme, "食品安全开放日") || w.Capacity != 30 || w.Organiser != "石家庄市市场监督管理局食品安全协调处" || len(w.Photos) != 1 ||
		!w.StartsAt.Equal(time.Date(2026, 6, 6, 14, 0, 0, 0, beijing)) || res.Extracted.SiteName != "石家庄市场监管" {
		t.Fatalf("wechat import: %+v %+v", w, res.Extracted)
	}
	for name, c := range map[string]struct {
		url  string
		code int
		fail int
	}{
		"outside the allow-list": {"https://example.com/a.html", 400, 0},
		"not a url":              {"javascript:alert(1)", 400, 0},
		"missing page":           {h.site + "news/none.html", 400, 0},
		"site down":              {h.site + "news/315.html", 503, 1},
	} {
		h.bureau.FailNext(c.fail)
		if rec := h.do(t, h.staff(), "POST", "/activities/v1/imports", ImportInput{URL: c.url}); rec.Code != c.code {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	var n int
	_ = h.pool.QueryRow(context.Background(), `SELECT count(*) FROM activities.activities`).Scan(&n)
	if n != 2 {
		t.Errorf("%d activities after the failed imports, want 2", n)
	}
	// Published after review, it is public.
	if rec := h.do(t, h.staff(), "POST", "/activities/v1/activities/"+strconv.FormatInt(a.ID, 10)+"/publish", nil); rec.Code != 200 || decode[Activity](t, rec).ReviewedBy == "" {
		t.Fatalf("publish: %d %s", rec.Code, rec.Body)
	}
	pub := decode[PublicActivity](t, h.do(t, "", "GET", "/activities/v1/public/activities/"+strconv.FormatInt(a.ID, 10), nil))
	if !pub.SignupOpen || pub.Left != 80 || len(pub.Photos) != 2 {
		t.Fatalf("public view: %+v", pub)
	}
	if rec := h.do(t, "", "GET", pub.Photos[0], nil); rec.Code != 200 {
		t.Fatalf("public photo: %d", rec.Code)
	}
}

// The H5 pages: a form sign-up lands on its own result page.
func TestPhonePages(t *testing.T) {
	h := newHarness(t)
	a := h.published(t, 48*time.Hour, 1, 5)
	id := strconv.FormatInt(a.ID, 10)
	if rec := h.do(t, "", "GET", "/activities/m/", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "食品安全开放日") {
		t.Fatalf("list page: %d", rec.Code)
	}
	post := func(form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/activities/m/"+id+"/signup", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.f.Handler().ServeHTTP(rec, req)
		return rec
	}
	rec := post(url.Values{"name": {"张三"}, "phone": {"13500000001"}})
	if rec.Code != 303 {
		t.Fatalf("form sign-up: %d %s", rec.Code, rec.Body)
	}
	if page := h.do(t, "", "GET", rec.Header().Get("Location"), nil); !strings.Contains(page.Body.String(), "报名成功") {
		t.Fatalf("result page: %s", page.Body)
	}
	rec = post(url.Values{"name": {"李四"}, "phone": {"13500000002"}})
	if page := h.do(t, "", "GET", rec.Header().Get("Location"), nil); !strings.Contains(page.Body.String(), "已登记候补（第 1 位）") {
		t.Fatalf("waiting page: %s", page.Body)
	}
	if rec := post(url.Values{"name": {"王五"}, "phone": {"12"}}); rec.Code != 400 || !strings.Contains(rec.Body.String(), "11 位手机号码") {
		t.Fatalf("bad form: %d", rec.Code)
	}
	if rec := h.do(t, "", "GET", "/activities/m/999999", nil); rec.Code != 404 {
		t.Errorf("missing activity page: %d", rec.Code)
	}
}

func TestActivityEditsAndSummary(t *testing.T) {
	h := newHarness(t)
	a := h.published(t, time.Hour, 3, 0)
	for i := range 2 {
		if _, err := h.f.Sign(context.Background(), a.ID, "", SignupInput{Name: "甲", Phone: "1360000000" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	in := ActivityInput{Theme: a.Theme, Place: a.Place, Organiser: a.Organiser, StartsAt: a.StartsAt, EndsAt: a.EndsAt, Capacity: 1, Version: 2}
	if rec := h.do(t, h.staff(), "PUT", "/activities/v1/activities/"+strconv.FormatInt(a.ID, 10), in); rec.Code != 400 {
		t.Fatalf("capacity below the confirmed: %d %s", rec.Code, rec.Body)
	}
	in.Capacity, in.Version = 3, 1
	if rec := h.do(t, h.staff(), "PUT", "/activities/v1/activities/"+strconv.FormatInt(a.ID, 10), in); rec.Code != 409 {
		t.Fatalf("stale version: %d", rec.Code)
	}
	if _, err := h.f.SetSummary(context.Background(), Actor{}, a.ID, "圆满结束", nil); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("a summary before the start: %v", err)
	}
	h.now = h.now.Add(3 * time.Hour)
	rec := h.do(t, h.staff(), "PUT", "/activities/v1/activities/"+strconv.FormatInt(a.ID, 10)+"/summary", SummaryInput{Summary: "共 2 人参加，现场答疑 30 余次。"})
	if rec.Code != 200 || decode[Activity](t, rec).Summary == "" {
		t.Fatalf("summary: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "", "POST", "/activities/v1/activities", in); rec.Code != 401 {
		t.Errorf("anonymous create: %d", rec.Code)
	}
	bad := ActivityInput{Theme: "", Place: "x", Organiser: "y", StartsAt: h.now, EndsAt: h.now.Add(-time.Hour), Capacity: -1}
	if rec := h.do(t, h.staff(), "POST", "/activities/v1/activities", bad); rec.Code != 400 || !strings.Contains(rec.Body.String(), "共 3 处错误") {
		t.Errorf("bad activity: %d %s", rec.Code, rec.Body)
	}
}
