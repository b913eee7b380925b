package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

// pdfText is a PDF's text as pdftotext (poppler-utils) extracts it.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if len(pdf) < 5 || string(pdf[:5]) != "%PDF-" {
		t.Fatalf("not a PDF: %.200s", pdf)
	}
	dir := os.Getenv("DASHBOARD_PDF_DIR") // keep the PDFs to look at
	if dir == "" {
		dir = t.TempDir()
	}
	p := filepath.Join(dir, fmt.Sprintf("%s-%d.pdf", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano()))
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// at fixes the function's clock: Thursday 3 December 2026, 10:00 Beijing
// time, so "last month" is November 2026.
func at(h harness) time.Time {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, beijing())
	h.f.now = func() time.Time { return now }
	return now
}

// seedPeriod registers, in November 2026, n entities in 长安区 and three in
// 桥西区, and gives 桥西区 two penalties in November.
func seedPeriod(t *testing.T, h harness, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_entities (credit_code, name, entity_type, district_code,
		township_code, status, established_on) SELECT 'N1301020' || lpad(i::text, 10, '0'), '长安新设' || i || '号商贸有限公司',
		'enterprise', '130102', '130102001', 'active', date '2026-11-01' + (i % 30) FROM generate_series(1, $1) i`, n); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_entities (credit_code, name, entity_type, district_code,
		township_code, status, established_on) VALUES
		('N13010400000000001', '桥西新设甲商店', 'individual', '130104', '130104001', 'active', '2026-11-05'),
		('N13010400000000002', '桥西新设乙商店', 'individual', '130104', '130104001', 'active', '2026-11-06'),
		('N13010400000000003', '桥西新设丙有限公司', 'enterprise', '130104', '130104001', 'active', '2026-11-30')`); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_records (credit_code, kind, occurred_on) VALUES
		('N13010400000000001', 'penalty', '2026-11-10'), ('N13010400000000003', 'penalty', '2026-11-20')`); err != nil {
		t.Fatal(err)
	}
	if err := h.f.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
}

func createReport(t *testing.T, h harness, in map[string]any) Report {
	t.Helper()
	admin := h.iss.Bearer(authtest.CityWide(allPerms...))
	return decode[Report](t, h.do(t, admin, "POST", "/dashboard/v1/reports", in), 201)
}

// FP-138: two recipients with different district scopes subscribe to the
// same monthly report; each period's delivery is rendered with each one's
// own scope, arrives as a platform notice addressed to them alone, and its
// PDF (checked with pdftotext) shows their own numbers, every row of the
// period's roster (more than 2 000), and none of the other's district.
func TestSubscriptionPerRecipientScope(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	at(h)
	const many = 2150
	seedPeriod(t, h, many)
	rep := createReport(t, h, map[string]any{"title": "市场主体月报", "dimensions": []string{"record_kind", "district", "entity_type"}, "period": "month"})
	if strings.Join(rep.Dimensions, ",") != "district,entity_type,record_kind" {
		t.Errorf("dimensions kept in the fixed order: %v", rep.Dimensions)
	}
	a := auth.Principal{UserID: "u-changan", Username: "changan", Perms: allPerms, Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}}
	b := auth.Principal{UserID: "u-qiaoxi", Username: "qiaoxi", Perms: allPerms, Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130104"}}}
	for _, p := range []auth.Principal{a, b} {
		got := decode[Report](t, h.do(t, h.iss.Bearer(p), "PUT", fmt.Sprintf("/dashboard/v1/reports/%d/subscription", rep.ID), nil), 200)
		if !got.Subscribed {
			t.Errorf("%s: not subscribed", p.Username)
		}
	}
	ctx := context.Background()
	// The dashboard-reports PingSource's tick delivers both.
	ping := cloudevents.New()
	ping.SetID("ping-reports-1")
	ping.SetType(events.Ping)
	ping.SetSource("/apis/v1/namespaces/smartreg/pingsources/dashboard-reports")
	_ = ping.SetData("application/json", map[string]any{"task": ReportTask})
	if _, err := h.f.Receive(ctx, ping); err != nil {
		t.Fatal(err)
	}
	var deliveries int
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM dashboard.deliveries`).Scan(&deliveries); err != nil || deliveries != 2 {
		t.Fatalf("after the tick: %d deliveries (%v), want 2", deliveries, err)
	}
	// A redelivered tick sends nothing twice.
	if n, err := h.f.Deliver(ctx); err != nil || n != 0 {
		t.Errorf("a second tick delivered %d (%v), want 0", n, err)
	}
	// One notice per recipient, addressed to that recipient only, with their numbers.
	rows, err := h.pool.Query(ctx, `SELECT event FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, events.NotifyNoticeRequested)
	if err != nil {
		t.Fatal(err)
	}
	notices := map[string]events.NoticeRequestedData{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var e struct {
			Data events.NoticeRequestedData `json:"data"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if len(e.Data.Target.UserIDs) != 1 || e.Data.Target.All || len(e.Data.Target.Roles)+len(e.Data.Target.DeptIDs) > 0 {
			t.Errorf("a notice not addressed to one recipient: %+v", e.Data.Target)
		}
		notices[e.Data.Target.UserIDs[0]] = e.Data
	}
	if len(notices) != 2 {
		t.Fatalf("notices: %+v", notices)
	}
	wantA := fmt.Sprintf("本期新登记 %d 户", many)
	if body := notices[a.UserID].Body; !strings.Contains(body, wantA) || !strings.Contains(body, "长安区") || !strings.Contains(notices[a.UserID].Title, "2026-11-01") {
		t.Errorf("长安区 notice: %+v", notices[a.UserID])
	}
	if body := notices[b.UserID].Body; !strings.Contains(body, "本期新登记 3 户") || !strings.Contains(body, "桥西区") {
		t.Errorf("桥西区 notice: %+v", notices[b.UserID])
	}
	if !strings.HasPrefix(notices[a.UserID].Link, "/console/#/dashboard/reports?delivery=") {
		t.Errorf("link: %q", notices[a.UserID].Link)
	}

	pdfOf := func(p auth.Principal) (Delivery, string) {
		t.Helper()
		ds := decode[struct{ Items []Delivery }](t, h.do(t, h.iss.Bearer(p), "GET", "/dashboard/v1/deliveries", nil), 200)
		if len(ds.Items) != 1 || ds.Items[0].PeriodFrom != "2026-11-01" || ds.Items[0].PeriodTo != "2026-11-30" {
			t.Fatalf("%s deliveries: %+v", p.Username, ds.Items)
		}
		rec := h.do(t, h.iss.Bearer(p), "GET", fmt.Sprintf("/dashboard/v1/deliveries/%d/pdf", ds.Items[0].ID), nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/pdf" {
			t.Fatalf("%s pdf: %d %s", p.Username, rec.Code, rec.Body.String()[:min(200, rec.Body.Len())])
		}
		return ds.Items[0], pdfText(t, rec.Body.Bytes())
	}
	da, ta := pdfOf(a)
	db, tb := pdfOf(b)
	if da.Rows != many || db.Rows != 3 {
		t.Errorf("roster rows: 长安区 %d, 桥西区 %d", da.Rows, db.Rows)
	}
	for _, want := range []string{"市场主体月报", "2026-11-01 至 2026-11-30", "数据范围：长安区", wantA, "按区县", "按主体类型",
		fmt.Sprintf("共 %d 户", many), "长安新设1号商贸有限公司", fmt.Sprintf("长安新设%d号商贸有限公司", many)} {
		if !strings.Contains(ta, want) {
			t.Errorf("长安区 PDF lacks %q", want)
		}
	}
	// Every row of the roster is in the PDF: the last one is past row 2 000.
	if got := strings.Count(ta, "长安新设"); got != many {
		t.Errorf("长安区 PDF lists %d new entities, want %d", got, many)
	}
	for _, want := range []string{"数据范围：桥西区", "本期新登记 3 户", "桥西新设丙有限公司", "行政处罚"} {
		if !strings.Contains(tb, want) {
			t.Errorf("桥西区 PDF lacks %q", want)
		}
	}
	for _, foreign := range []string{"桥西", "新华区"} {
		if strings.Contains(ta, foreign) {
			t.Errorf("长安区 PDF shows %q", foreign)
		}
	}
	for _, foreign := range []string{"长安", "新华区"} {
		if strings.Contains(tb, foreign) {
			t.Errorf("桥西区 PDF shows %q", foreign)
		}
	}
	// A delivery is its recipient's alone.
	if rec := h.do(t, h.iss.Bearer(b), "GET", fmt.Sprintf("/dashboard/v1/deliveries/%d/pdf", da.ID), nil); rec.Code != 404 {
		t.Errorf("桥西区 read 长安区's delivery: %d", rec.Code)
	}
	// A later visit renews the stored scope: the next period uses it.
	b.Scope.Districts = []string{"130105"}
	decode[struct{ Items []Report }](t, h.do(t, h.iss.Bearer(b), "GET", "/dashboard/v1/reports", nil), 200)
	var stored string
	if err := h.pool.QueryRow(ctx, `SELECT scope->>'districts' FROM dashboard.subscriptions WHERE user_id = $1`, b.UserID).Scan(&stored); err != nil || stored != `["130105"]` {
		t.Errorf("stored scope after the visit: %s (%v)", stored, err)
	}
	if rec := h.do(t, h.iss.Bearer(b), "DELETE", fmt.Sprintf("/dashboard/v1/reports/%d/subscription", rep.ID), nil); rec.Code != 204 {
		t.Errorf("unsubscribe: %d", rec.Code)
	}
	// FP-8: the unsubscription is in the operation log, once (a second
	// DELETE changes nothing and logs nothing).
	h.do(t, h.iss.Bearer(b), "DELETE", fmt.Sprintf("/dashboard/v1/reports/%d/subscription", rep.ID), nil)
	var unsub []auditlogtest.Op
	for _, o := range auditlogtest.Ops(t, h.pool, strconv.Itoa(int(rep.ID))) {
		if o.Action == "dashboard.report.unsubscribe" {
			unsub = append(unsub, o)
		}
	}
	if len(unsub) != 1 || unsub[0].UserID != b.UserID || auditlogtest.Field(unsub[0].Before, "subscribed") != "true" ||
		auditlogtest.Field(unsub[0].After, "subscribed") != "false" {
		t.Errorf("the unsubscription's log: %+v", unsub)
	}
}

// FP-121: bad input to a report answers a clear error, and an empty scope
// or a period without data prints a plain sentence, never an empty chart.
func TestReportBadInputAndEmptyStates(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	at(h)
	admin := h.iss.Bearer(authtest.CityWide(allPerms...))
	for name, in := range map[string]map[string]any{
		"no-title":      {"title": " ", "dimensions": []string{"district"}, "period": "month"},
		"no-dimension":  {"title": "x", "dimensions": []string{}, "period": "month"},
		"bad-dimension": {"title": "x", "dimensions": []string{"colour"}, "period": "month"},
		"bad-district":  {"title": "x", "dimensions": []string{"district"}, "districts": []string{"110101"}, "period": "month"},
		"bad-period":    {"title": "x", "dimensions": []string{"district"}, "period": "hourly"},
	} {
		if rec := h.do(t, admin, "POST", "/dashboard/v1/reports", in); rec.Code != 400 || !strings.Contains(rec.Body.String(), "message") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	rep := createReport(t, h, map[string]any{"title": "长安区主体报告", "dimensions": []string{"district", "status"}, "districts": []string{"130102"}, "period": "week"})
	path := fmt.Sprintf("/dashboard/v1/reports/%d/pdf", rep.ID)
	for name, q := range map[string]string{"bad-date": "?from=2026-13-01", "reversed": "?from=2026-11-02&to=2026-11-01", "too-long": "?from=2020-01-01&to=2026-01-01"} {
		if rec := h.do(t, admin, "GET", path+q, nil); rec.Code != 400 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if rec := h.do(t, admin, "GET", "/dashboard/v1/reports/999/pdf", nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), "报告不存在") {
		t.Errorf("unknown report: %d %s", rec.Code, rec.Body)
	}
	// A period without data: the stock is shown, the period says it has none.
	rec := h.do(t, admin, "GET", path+"?from=2001-01-01&to=2001-01-31", nil)
	if rec.Code != 200 {
		t.Fatalf("pdf: %d %s", rec.Code, rec.Body)
	}
	text := pdfText(t, rec.Body.Bytes())
	for _, want := range []string{"2001-01-01 至 2001-01-31", "数据范围：长安区", "没有新登记的主体", "现有市场主体 6 户", "本期新登记 0 户"} {
		if !strings.Contains(text, want) {
			t.Errorf("empty period PDF lacks %q:\n%s", want, text)
		}
	}
	// The report's districts narrow the reader's scope, never widen it.
	other := h.iss.Bearer(authtest.InDistricts(allPerms, "130104"))
	rec = h.do(t, other, "GET", path, nil)
	text = pdfText(t, rec.Body.Bytes())
	if !strings.Contains(text, "数据范围为空") || strings.Contains(text, "按区县") || strings.Contains(text, "长安区 ") {
		t.Errorf("a 桥西区 reader of a 长安区 report:\n%s", text)
	}
	// An empty scope says so plainly.
	empty := h.iss.Bearer(auth.Principal{UserID: "e", Username: "e", Perms: allPerms, Scope: auth.Scope{Kind: auth.ScopeDept}})
	text = pdfText(t, h.do(t, empty, "GET", path, nil).Body.Bytes())
	if !strings.Contains(text, "您的数据范围为空") {
		t.Errorf("empty-scope PDF:\n%s", text)
	}
}

// FP-101: the big screen's numbers come from the rollups in the caller's
// scope; every county of the scope is listed (zeros too, for the map);
// an empty scope answers the notice with empty lists, never nulls.
func TestScreen(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	city := decode[Screen](t, h.do(t, h.iss.Bearer(authtest.CityWide(allPerms...)), "GET", "/dashboard/v1/screen", nil), 200)
	if city.Totals.Entities != 12 || city.Totals.Active != 10 || city.Totals.Revoked != 1 || city.Totals.Deregistered != 1 {
		t.Errorf("totals: %+v", city.Totals)
	}
	if len(city.Districts) != 24 || city.Districts[0].Code != "130102" || city.Districts[0].Active != 5 {
		t.Errorf("districts: %d, first %+v", len(city.Districts), city.Districts[0])
	}
	if len(city.Records) != 1 || city.Records[0].Name != "行政处罚" || city.Records[0].Count != 4 {
		t.Errorf("records: %+v", city.Records)
	}
	if len(city.Indicators) != 5 || city.RefreshedAt == nil {
		t.Errorf("indicators %d, refreshed %v", len(city.Indicators), city.RefreshedAt)
	}
	one := decode[Screen](t, h.do(t, h.iss.Bearer(authtest.InDistricts(allPerms, "130104")), "GET", "/dashboard/v1/screen", nil), 200)
	if len(one.Districts) != 1 || one.Districts[0].Name != "桥西区" || one.Totals.Entities != 4 {
		t.Errorf("桥西区 screen: %+v", one)
	}
	rec := h.do(t, h.iss.Bearer(auth.Principal{UserID: "e", Username: "e", Perms: allPerms, Scope: auth.Scope{Kind: auth.ScopeDept}}), "GET", "/dashboard/v1/screen", nil)
	if !strings.Contains(rec.Body.String(), `"districts":[]`) || !strings.Contains(rec.Body.String(), EmptyScopeNotice) {
		t.Errorf("empty scope: %s", rec.Body)
	}
	// FP-132: a county picked on the map narrows every number but the map.
	picked := decode[Screen](t, h.do(t, h.iss.Bearer(authtest.CityWide(allPerms...)), "GET", "/dashboard/v1/screen?district=130104", nil), 200)
	if picked.District != "130104" || picked.Totals.Entities != 4 || len(picked.Districts) != 24 || picked.Records[0].Count != 2 {
		t.Errorf("picked 桥西区: %+v", picked)
	}
	for _, it := range picked.Indicators {
		if it.Name == "在业企业" && *it.Value != 3 {
			t.Errorf("桥西区 在业企业 = %d, want 3", *it.Value)
		}
	}
	outside := decode[Screen](t, h.do(t, h.iss.Bearer(authtest.InDistricts(allPerms, "130104")), "GET", "/dashboard/v1/screen?district=130102", nil), 200)
	if outside.Totals.Entities != 0 || outside.Notice != "所选区县不在您的数据范围内" || len(outside.Districts) != 1 {
		t.Errorf("a county outside the scope: %+v", outside)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(allPerms...)), "GET", "/dashboard/v1/screen?district=110101", nil); rec.Code != 400 {
		t.Errorf("a county of another city: %d", rec.Code)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(allPerms...)), "GET", "/dashboard/v1/map", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "长安区") {
		t.Errorf("map: %d", rec.Code)
	}
}
