package dashboard

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
)

var anomalyPerms = []string{PermAnomaly + ":view", PermAnomaly + ":handle", PermAnomaly + ":manage", PermAnomaly + ":export"}

// validCode is a credit code whose check characters and region hold.
func validCode(t *testing.T, district string, n int) string {
	t.Helper()
	c, err := codes.MakeCreditCode("91", district, fmt.Sprintf("%08d", n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type anomalyEnt struct {
	code, district, industry, status, legal, address string
}

func addEntity(t *testing.T, h harness, e anomalyEnt) string {
	t.Helper()
	ctx := context.Background()
	if e.district == "" {
		e.district = "130102"
	}
	if e.industry == "" {
		e.industry = "5211"
	}
	if e.status == "" {
		e.status = "active"
	}
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_entities (credit_code, name, district_code, township_code,
		industry_code, status) VALUES ($1, $2, $3, $3 || '001', $4, $5)`, e.code, "异常测试"+e.code[10:]+"有限公司", e.district, e.industry, e.status); err != nil {
		t.Fatal(err)
	}
	if e.legal != "" || e.address != "" {
		legal, addr := e.legal, e.address
		if legal == "-" {
			legal = ""
		} else if legal == "" {
			legal = "张三"
		}
		if addr == "" {
			addr = "石家庄市长安区中山东路1号"
		}
		if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_entity_fields VALUES ($1, $2, $3)`, e.code, legal, addr); err != nil {
			t.Fatal(err)
		}
	}
	return e.code
}

func addLicence(t *testing.T, h harness, code, title, until, status string) {
	t.Helper()
	var u any
	if until != "" {
		u = until
	}
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO registry.stub_dashboard_licences (credit_code, ref_no, title, valid_until, status)
		VALUES ($1, 'XK' || $1, $2, $3, $4)`, code, title, u, status); err != nil {
		t.Fatal(err)
	}
}

// anomalySet is the live anomalies as "rule credit-or-subject".
func anomalySet(t *testing.T, h harness) map[string]bool {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT rule, CASE WHEN credit_code = '' THEN subject ELSE credit_code END
		FROM dashboard.anomalies WHERE resolved_at IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var r, s string
		if err := rows.Scan(&r, &s); err != nil {
			t.Fatal(err)
		}
		out[r+" "+s] = true
	}
	return out
}

// ruleFixture seeds a positive and a negative case for every rule and
// returns them as rule → [positive, negative] credit codes (or subjects).
func ruleFixture(t *testing.T, h harness) map[string][2]string {
	t.Helper()
	ctx := context.Background()
	n := 0
	next := func(district string) string { n++; return validCode(t, district, n) }
	good := func() string { return addEntity(t, h, anomalyEnt{code: next("130102")}) }
	fx := map[string][2]string{}

	bad := []byte(next("130102"))
	bad[17] = map[bool]byte{true: '1', false: '2'}[bad[17] != '1']
	fx["credit_code_check"] = [2]string{addEntity(t, h, anomalyEnt{code: string(bad)}), good()}
	fx["credit_region_unknown"] = [2]string{addEntity(t, h, anomalyEnt{code: next("139999")}), good()}
	fx["missing_fields"] = [2]string{addEntity(t, h, anomalyEnt{code: next("130102"), legal: "-"}),
		addEntity(t, h, anomalyEnt{code: next("130102"), legal: "李四"})}
	fx["address_district_mismatch"] = [2]string{addEntity(t, h, anomalyEnt{code: next("130102"), address: "石家庄市桥西区中华南大街88号"}),
		addEntity(t, h, anomalyEnt{code: next("130102"), address: "石家庄市长安区建设北大街5号"})}
	fx["address_too_vague"] = [2]string{addEntity(t, h, anomalyEnt{code: next("130102"), address: "石家庄市长安区"}), good()}

	food := addEntity(t, h, anomalyEnt{code: next("130102"), industry: "6210"})
	foodOK := addEntity(t, h, anomalyEnt{code: next("130102"), industry: "6210"})
	addLicence(t, h, foodOK, "食品经营许可证", "2099-01-01", "")
	fx["food_without_licence"] = [2]string{food, foodOK}

	drug := addEntity(t, h, anomalyEnt{code: next("130102"), industry: "5251"})
	drugOK := addEntity(t, h, anomalyEnt{code: next("130102"), industry: "5251"})
	addLicence(t, h, drugOK, "药品经营许可证", "2099-01-01", "")
	fx["drug_without_licence"] = [2]string{drug, drugOK}

	expired := good()
	addLicence(t, h, expired, "公共场所卫生许可证", "2020-01-01", "")
	renewed := good()
	addLicence(t, h, renewed, "公共场所卫生许可证", "2020-01-01", "")
	addLicence(t, h, renewed, "公共场所卫生许可证", "2099-01-01", "")
	fx["licence_expired_operating"] = [2]string{expired, renewed}

	dereg := addEntity(t, h, anomalyEnt{code: next("130102"), status: "deregistered"})
	addLicence(t, h, dereg, "烟草专卖零售许可证", "2099-01-01", "")
	deregOK := addEntity(t, h, anomalyEnt{code: next("130102"), status: "deregistered"})
	addLicence(t, h, deregOK, "烟草专卖零售许可证", "2099-01-01", "注销")
	fx["deregistered_valid_licence"] = [2]string{dereg, deregOK}

	qrDereg := addEntity(t, h, anomalyEnt{code: next("130102"), status: "revoked"})
	qrActive := good()
	for i, c := range []string{qrDereg, qrActive} {
		if _, err := h.pool.Exec(ctx, `INSERT INTO qr.stub_codes (token, credit_code) VALUES ($1, $2)`, fmt.Sprintf("tok%d", i), c); err != nil {
			t.Fatal(err)
		}
	}
	fx["deregistered_active_qr"] = [2]string{qrDereg, qrActive}

	var out, vague int64
	for _, g := range []struct {
		id     *int64
		issues []string
	}{{&out, []string{"outside_district"}}, {&vague, []string{"too_vague"}}} {
		if err := h.pool.QueryRow(ctx, `INSERT INTO dashboard.geocode_anomalies (address, normalized, district_code, grade, issues, created_at)
			VALUES ($2, $2, '130102', 'B', $1, now()) RETURNING id`, g.issues, "长安区某路"+g.issues[0]).Scan(g.id); err != nil {
			t.Fatal(err)
		}
	}
	fx["geocode_outside_district"] = [2]string{fmt.Sprintf("geocode:%d", out), fmt.Sprintf("geocode:%d", vague)}
	return fx
}

// FP-102: every rule finds its positive case and leaves its negative
// case alone; a second run changes nothing; a cleared cause resolves.
func TestAnomalyRules(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	fx := ruleFixture(t, h)
	if len(fx) != len(anomalyRules()) {
		t.Fatalf("the fixture covers %d rules of %d", len(fx), len(anomalyRules()))
	}
	res, err := h.f.DetectAnomalies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := anomalySet(t, h)
	for rule, c := range fx {
		if !got[rule+" "+c[0]] {
			t.Errorf("%s: the positive case %s was not found", rule, c[0])
		}
		if got[rule+" "+c[1]] {
			t.Errorf("%s: the negative case %s was found", rule, c[1])
		}
	}
	// Classes: a food-industry entity without licence is food, an expired
	// hygiene licence is a licence anomaly.
	var class string
	if err := h.pool.QueryRow(ctx, `SELECT class FROM dashboard.anomalies WHERE rule = 'food_without_licence'`).Scan(&class); err != nil || class != "food" {
		t.Errorf("food rule class %q %v", class, err)
	}
	// Idempotent: the second run inserts and resolves nothing, and each
	// anomaly has exactly one detection step.
	again, err := h.f.DetectAnomalies(ctx)
	if err != nil || again.New != 0 || again.Resolved != 0 || again.Found != res.Found {
		t.Errorf("second run %+v (first %+v) %v", again, res, err)
	}
	var steps int
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM dashboard.anomaly_trace WHERE step = 'detected'`).Scan(&steps); err != nil || steps != res.New {
		t.Errorf("%d detection steps for %d anomalies (%v)", steps, res.New, err)
	}
	// The missing legal representative is filled in: the next run resolves it.
	if _, err := h.pool.Exec(ctx, `UPDATE registry.stub_dashboard_entity_fields SET legal_rep = '王五' WHERE credit_code = $1`, fx["missing_fields"][0]); err != nil {
		t.Fatal(err)
	}
	third, err := h.f.DetectAnomalies(ctx)
	if err != nil || third.Resolved != 1 {
		t.Fatalf("after the fix: %+v %v", third, err)
	}
	var status string
	if err := h.pool.QueryRow(ctx, `SELECT status FROM dashboard.anomalies WHERE rule = 'missing_fields' AND credit_code = $1`,
		fx["missing_fields"][0]).Scan(&status); err != nil || status != "resolved" {
		t.Errorf("the fixed anomaly is %q (%v)", status, err)
	}
}

// FP-102: an entity event recomputes that entity alone, and a redelivery
// changes nothing.
func TestAnomalyEntityEvent(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	code := addEntity(t, h, anomalyEnt{code: validCode(t, "130102", 1), industry: "6210"})
	other := addEntity(t, h, anomalyEnt{code: validCode(t, "130102", 2), industry: "6210"})
	e := entityEvent(t, events.EntityRegistered, code, events.EntityRegisteredData{Entity: events.Entity{CreditCode: code, DistrictCode: "130102"}})
	for range 2 {
		if _, err := h.f.Receive(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got := anomalySet(t, h)
	if !got["food_without_licence "+code] || got["food_without_licence "+other] || len(got) != 1 {
		t.Errorf("after the event (twice): %v", got)
	}
	var by string
	if err := h.pool.QueryRow(ctx, `SELECT detected_by FROM dashboard.anomalies`).Scan(&by); err != nil || !strings.HasPrefix(by, "event:"+events.EntityRegistered) {
		t.Errorf("detected by %q %v", by, err)
	}
}

// FP-102, FP-105, FP-104: the views in scope; another district sees none.
func TestAnomalyViewsInScope(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	ruleFixture(t, h)
	if _, err := h.f.DetectAnomalies(ctx); err != nil {
		t.Fatal(err)
	}
	city := h.iss.Bearer(authtest.CityWide(anomalyPerms...))
	o := decode[AnomalyOverview](t, h.do(t, city, "GET", "/dashboard/v1/anomalies/overview", nil), 200)
	if o.Total != len(anomalyRules()) || o.Empty || len(o.Rules) != len(anomalyRules()) {
		t.Errorf("city overview: %+v", o)
	}
	byClass := map[string]int{}
	for _, c := range o.Classes {
		byClass[c.Class] = c.Live
	}
	if byClass["food"] != 1 || byClass["drug"] != 1 || byClass["licence"] != 2 || byClass["entity"] != 7 {
		t.Errorf("classes %v", byClass)
	}
	d := decode[struct {
		Items []AnomalyDistrict `json:"items"`
		Total int               `json:"total"`
	}](t, h.do(t, city, "GET", "/dashboard/v1/anomalies/districts", nil), 200)
	if d.Total != o.Total || len(d.Items) < 20 {
		t.Errorf("districts total %d of %d over %d counties", d.Total, o.Total, len(d.Items))
	}
	// FP-133: a tag narrows the map's totals.
	tg := decode[struct {
		Total int `json:"total"`
	}](t, h.do(t, city, "GET", "/dashboard/v1/anomalies/districts?tag=%E8%AF%81%E7%85%A7%E8%BF%87%E6%9C%9F", nil), 200)
	if tg.Total != 1 {
		t.Errorf("证照过期 total %d", tg.Total)
	}
	tags := decode[struct {
		Items []Share `json:"items"`
	}](t, h.do(t, city, "GET", "/dashboard/v1/anomalies/tags", nil), 200)
	if len(tags.Items) == 0 || tags.Items[0].Count < 2 {
		t.Errorf("tags %+v", tags.Items)
	}
	// Another district: nothing, and the anomaly does not exist for them.
	other := h.iss.Bearer(authtest.InDistricts(anomalyPerms, "130104"))
	o2 := decode[AnomalyOverview](t, h.do(t, other, "GET", "/dashboard/v1/anomalies/overview", nil), 200)
	if o2.Total != 0 || !o2.Empty || o2.Notice != NoAnomalyNotice {
		t.Errorf("桥西区 overview: %+v", o2)
	}
	l := decode[struct {
		Items []AnomalyRow `json:"items"`
		Total int          `json:"total"`
	}](t, h.do(t, other, "GET", "/dashboard/v1/anomalies?status=all", nil), 200)
	if l.Total != 0 || len(l.Items) != 0 {
		t.Errorf("桥西区 list: %+v", l)
	}
	var id int64
	if err := h.pool.QueryRow(ctx, `SELECT min(id) FROM dashboard.anomalies`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{{"GET", "/dashboard/v1/anomalies/%d"}, {"GET", "/dashboard/v1/anomalies/%d/trace"},
		{"POST", "/dashboard/v1/anomalies/%d/actions"}} {
		if rec := h.do(t, other, r.method, fmt.Sprintf(r.path, id), map[string]any{"action": "opinion", "opinion": "越权处理"}); rec.Code != 404 {
			t.Errorf("%s %s by 桥西区: %d", r.method, r.path, rec.Code)
		}
	}
	mine := h.iss.Bearer(authtest.InDistricts(anomalyPerms, "130102"))
	l = decode[struct {
		Items []AnomalyRow `json:"items"`
		Total int          `json:"total"`
	}](t, h.do(t, mine, "GET", "/dashboard/v1/anomalies?class=food", nil), 200)
	if l.Total != 1 || l.Items[0].Rule != "food_without_licence" || l.Items[0].DistrictName != "长安区" {
		t.Errorf("长安区 food list: %+v", l)
	}
	// FP-106: sources, causes, suggestions ranked by impact.
	an := decode[struct {
		Sources     []Share      `json:"sources"`
		Suggestions []Suggestion `json:"suggestions"`
	}](t, h.do(t, city, "GET", "/dashboard/v1/anomalies/analysis", nil), 200)
	if len(an.Sources) != 3 || len(an.Suggestions) != len(anomalyRules()) || an.Suggestions[0].Impact != "high" || an.Suggestions[0].Suggestion == "" {
		t.Errorf("analysis: %+v", an)
	}
	// FP-103: the trend counts today's detections; a past period is empty.
	tr := decode[struct {
		Items []TrendPoint `json:"items"`
		Empty bool         `json:"empty"`
	}](t, h.do(t, city, "GET", "/dashboard/v1/anomalies/trend", nil), 200)
	if tr.Empty || len(tr.Items) != 30 || tr.Items[29].Detected != o.Total {
		t.Errorf("trend: empty %v, %d points, last %+v", tr.Empty, len(tr.Items), tr.Items[len(tr.Items)-1])
	}
	past := decode[struct {
		Items  []TrendPoint `json:"items"`
		Empty  bool         `json:"empty"`
		Notice string       `json:"notice"`
	}](t, h.do(t, city, "GET", "/dashboard/v1/anomalies/trend?from=2020-01-01&to=2020-01-31", nil), 200)
	if !past.Empty || past.Notice == "" || len(past.Items) != 31 {
		t.Errorf("past trend: %+v", past)
	}
	// FP-102: export of the overview (CSV).
	rec := h.do(t, city, "GET", "/dashboard/v1/anomalies/export?what=overview&format=csv", nil)
	if rec.Code != 200 {
		t.Fatalf("export %d %s", rec.Code, rec.Body)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rec.Body.String(), "\ufeff"))).ReadAll()
	if err != nil || len(recs) < 6 || recs[1][0] != "市场主体" || recs[1][1] != "7" || recs[5][0] != "合计" {
		t.Errorf("export: %v %v", recs, err)
	}
}

// The empty scope shows the notice, never zeros.
func TestAnomalyEmptyScope(t *testing.T) {
	h := newHarness(t)
	none := h.iss.Bearer(authtest.InDistricts(anomalyPerms))
	o := decode[AnomalyOverview](t, h.do(t, none, "GET", "/dashboard/v1/anomalies/overview", nil), 200)
	if !o.Empty || o.Notice != EmptyScopeNotice {
		t.Errorf("empty scope overview: %+v", o)
	}
	for _, path := range []string{"/dashboard/v1/anomalies/trend", "/dashboard/v1/anomalies/districts", "/dashboard/v1/anomalies/analysis"} {
		v := decode[map[string]any](t, h.do(t, none, "GET", path, nil), 200)
		if v["notice"] != EmptyScopeNotice || v["empty"] != true {
			t.Errorf("%s: %v", path, v)
		}
	}
}

// FP-107: a threshold alerts once per crossing, to its roles and
// departments, and re-arms when the count falls below.
func TestAnomalyThresholdAlertsOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	city := h.iss.Bearer(authtest.CityWide(anomalyPerms...))
	th := decode[Threshold](t, h.do(t, city, "POST", "/dashboard/v1/anomalies/thresholds", map[string]any{"name": "长安区食品无证",
		"rule": "food_without_licence", "district_code": "130102", "threshold": 2, "level": "alert", "roles": []string{"district_admin"},
		"dept_ids": []string{"dept-food"}}), 201)
	a := addEntity(t, h, anomalyEnt{code: validCode(t, "130102", 1), industry: "6210"})
	if res, err := h.f.DetectAnomalies(ctx); err != nil || res.Alerts != 0 {
		t.Fatalf("one below the line: %+v %v", res, err)
	}
	addEntity(t, h, anomalyEnt{code: validCode(t, "130102", 2), industry: "6220"})
	for i, want := range []int{1, 0, 0} {
		if res, err := h.f.DetectAnomalies(ctx); err != nil || res.Alerts != want {
			t.Fatalf("tick %d: %+v %v", i, res, err)
		}
	}
	notices := func() []events.NoticeRequestedData {
		rows, err := h.pool.Query(ctx, `SELECT event FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, events.NotifyNoticeRequested)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []events.NoticeRequestedData
		for rows.Next() {
			var raw []byte
			var e struct {
				Data events.NoticeRequestedData `json:"data"`
			}
			if err := rows.Scan(&raw); err != nil || json.Unmarshal(raw, &e) != nil {
				t.Fatal(err)
			}
			out = append(out, e.Data)
		}
		return out
	}
	ns := notices()
	if len(ns) != 1 || ns[0].Level != "alert" || strings.Join(ns[0].Target.Roles, ",") != "district_admin" ||
		strings.Join(ns[0].Target.DeptIDs, ",") != "dept-food" || !strings.Contains(ns[0].Title, "长安区") || !strings.Contains(ns[0].Title, "2 条") {
		t.Fatalf("notices: %+v", ns)
	}
	// Below the line (a licence issued), then above again: a second alert.
	addLicence(t, h, a, "食品经营许可证", "2099-01-01", "")
	if res, err := h.f.DetectAnomalies(ctx); err != nil || res.Alerts != 0 || res.Resolved != 1 {
		t.Fatalf("fell below: %+v %v", res, err)
	}
	addEntity(t, h, anomalyEnt{code: validCode(t, "130102", 3), industry: "6291"})
	if res, err := h.f.DetectAnomalies(ctx); err != nil || res.Alerts != 1 {
		t.Fatalf("crossed again: %+v %v", res, err)
	}
	if ns := notices(); len(ns) != 2 {
		t.Errorf("%d notices after two crossings", len(ns))
	}
	al := decode[struct {
		Items []Alert `json:"items"`
	}](t, h.do(t, city, "GET", "/dashboard/v1/anomalies/alerts", nil), 200)
	if len(al.Items) != 2 || al.Items[0].ThresholdID != th.ID {
		t.Errorf("alerts: %+v", al.Items)
	}
	// An edit re-arms the threshold; an unknown one is 404.
	ed := decode[Threshold](t, h.do(t, city, "PUT", fmt.Sprintf("/dashboard/v1/anomalies/thresholds/%d", th.ID), map[string]any{"name": "长安区食品无证（调整）",
		"rule": "food_without_licence", "district_code": "130102", "threshold": 5, "roles": []string{"district_admin"}}), 200)
	if ed.Crossed || ed.Threshold != 5 || ed.Count != 2 || ed.Name != "长安区食品无证（调整）" {
		t.Errorf("edited: %+v", ed)
	}
	if rec := h.do(t, city, "PUT", "/dashboard/v1/anomalies/thresholds/999", map[string]any{"name": "x", "threshold": 1, "roles": []string{"r"}}); rec.Code != 404 {
		t.Errorf("unknown threshold: %d", rec.Code)
	}
	// A district user sees their district's thresholds, not another's.
	other := h.iss.Bearer(authtest.InDistricts(anomalyPerms, "130104"))
	if l := decode[struct {
		Items []Threshold `json:"items"`
	}](t, h.do(t, other, "GET", "/dashboard/v1/anomalies/thresholds", nil), 200); len(l.Items) != 0 {
		t.Errorf("桥西区 sees %+v", l.Items)
	}
}

// FP-109, FP-108: classify, record an opinion, correct; each step in the
// trace and the operation log; a closed anomaly refuses more.
func TestAnomalyWorkflow(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	addEntity(t, h, anomalyEnt{code: validCode(t, "130102", 1), industry: "6210"})
	if _, err := h.f.DetectAnomalies(ctx); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := h.pool.QueryRow(ctx, `SELECT id FROM dashboard.anomalies`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	who := h.iss.Bearer(authtest.InDistricts(anomalyPerms, "130102"))
	path := fmt.Sprintf("/dashboard/v1/anomalies/%d/actions", id)
	a := decode[AnomalyRow](t, h.do(t, who, "POST", path, map[string]any{"action": "classify", "category": "主体违规"}), 200)
	if a.Status != "processing" || a.Category != "主体违规" {
		t.Errorf("classified: %+v", a)
	}
	a = decode[AnomalyRow](t, h.do(t, who, "POST", path, map[string]any{"action": "opinion", "opinion": "已通知属地所现场核查"}), 200)
	if a.Opinion != "已通知属地所现场核查" || a.Status != "processing" {
		t.Errorf("opinion: %+v", a)
	}
	a = decode[AnomalyRow](t, h.do(t, who, "POST", path, map[string]any{"action": "correct", "field": "行业代码", "value": "5211"}), 200)
	if a.Status != "corrected" || a.HandledBy != "district" || !strings.Contains(string(a.Correction), "5211") {
		t.Errorf("corrected: %+v", a)
	}
	if rec := h.do(t, who, "POST", path, map[string]any{"action": "opinion", "opinion": "再处理"}); rec.Code != 409 {
		t.Errorf("an action on a corrected anomaly: %d", rec.Code)
	}
	tr := decode[struct {
		Steps         []TraceStep `json:"steps"`
		Source        string      `json:"source"`
		LineageNotice string      `json:"lineage_notice"`
	}](t, h.do(t, who, "GET", fmt.Sprintf("/dashboard/v1/anomalies/%d/trace", id), nil), 200)
	var steps []string
	for _, s := range tr.Steps {
		steps = append(steps, s.Step)
	}
	if strings.Join(steps, ",") != "detected,classify,opinion,correct" || tr.Source != "registry" || tr.LineageNotice == "" {
		t.Errorf("trace: %v %+v", steps, tr)
	}
	var actions []string
	for _, o := range auditlogtest.Ops(t, h.pool, fmt.Sprint(id)) {
		if o.ObjectType == "anomaly" {
			if o.UserID != "district-user" || o.DistrictCode != "130102" {
				t.Errorf("op %+v", o)
			}
			actions = append(actions, o.Action)
		}
	}
	if strings.Join(actions, ",") != "dashboard.anomaly.classify,dashboard.anomaly.opinion,dashboard.anomaly.correct" {
		t.Errorf("operation log: %v", actions)
	}
	// A corrected anomaly stays corrected when the next run still finds
	// the cause (the correction is on its way to the registry).
	if _, err := h.f.DetectAnomalies(ctx); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := h.pool.QueryRow(ctx, `SELECT status FROM dashboard.anomalies WHERE id = $1`, id).Scan(&status); err != nil || status != "corrected" {
		t.Errorf("after the next run: %q %v", status, err)
	}
}

// Bad input gets a clear Chinese error.
func TestAnomalyBadInput(t *testing.T) {
	h := newHarness(t)
	city := h.iss.Bearer(authtest.CityWide(anomalyPerms...))
	addEntity(t, h, anomalyEnt{code: validCode(t, "130102", 1), industry: "6210"})
	if _, err := h.f.DetectAnomalies(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, method, path string
		body               any
		code               int
		msg                string
	}{
		{"class-400", "GET", "/dashboard/v1/anomalies?class=water", nil, 400, "异常分类"},
		{"status-400", "GET", "/dashboard/v1/anomalies?status=gone", nil, 400, "状态应为"},
		{"district-400", "GET", "/dashboard/v1/anomalies?district=999999", nil, 400, "区县代码无效"},
		{"trend-order-400", "GET", "/dashboard/v1/anomalies/trend?from=2026-02-01&to=2026-01-01", nil, 400, "结束日期不能早于开始日期"},
		{"trend-date-400", "GET", "/dashboard/v1/anomalies/trend?from=yesterday", nil, 400, "YYYY-MM-DD"},
		{"trend-long-400", "GET", "/dashboard/v1/anomalies/trend?from=2020-01-01&to=2026-01-01", nil, 400, "最长一年"},
		{"unknown-404", "GET", "/dashboard/v1/anomalies/99999", nil, 404, "异常数据不存在"},
		{"id-404", "GET", "/dashboard/v1/anomalies/abc", nil, 404, "异常数据不存在"},
		{"action-400", "POST", "/dashboard/v1/anomalies/1/actions", map[string]any{"action": "delete"}, 400, "处理动作"},
		{"opinion-400", "POST", "/dashboard/v1/anomalies/1/actions", map[string]any{"action": "dismiss"}, 400, "处理意见"},
		{"category-400", "POST", "/dashboard/v1/anomalies/1/actions", map[string]any{"action": "classify", "category": "随便"}, 400, "归类应为"},
		{"correct-400", "POST", "/dashboard/v1/anomalies/1/actions", map[string]any{"action": "correct"}, 400, "修正"},
		{"threshold-400", "POST", "/dashboard/v1/anomalies/thresholds", map[string]any{"name": "", "threshold": 0}, 400, "阈值"},
		{"threshold-target-400", "POST", "/dashboard/v1/anomalies/thresholds", map[string]any{"name": "x", "threshold": 3}, 400, "接收角色"},
		{"export-what-400", "GET", "/dashboard/v1/anomalies/export?what=all", nil, 400, "导出内容"},
	} {
		rec := h.do(t, city, c.method, c.path, c.body)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.msg) {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
	}
	// The keyword finds by name or by credit code, and a LIKE wildcard is literal.
	code := validCode(t, "130102", 1)
	for q, want := range map[string]int{"异常测试": 1, code: 1, "%": 0, "无此主体": 0} {
		l := decode[struct {
			Total int `json:"total"`
		}](t, h.do(t, city, "GET", "/dashboard/v1/anomalies?q="+url.QueryEscape(q), nil), 200)
		if l.Total != want {
			t.Errorf("q=%s: %d, want %d", q, l.Total, want)
		}
	}
	// A district user may not set a city-wide threshold or another district's.
	d := h.iss.Bearer(authtest.InDistricts(anomalyPerms, "130102"))
	for _, district := range []string{"", "130104"} {
		rec := h.do(t, d, "POST", "/dashboard/v1/anomalies/thresholds", map[string]any{"name": "x", "threshold": 3, "roles": []string{"r"},
			"district_code": district})
		if rec.Code != 400 {
			t.Errorf("district user, threshold for %q: %d %s", district, rec.Code, rec.Body)
		}
	}
}

// FP-102: the dashboard-anomalies PingSource's tick runs the detection.
func TestAnomalyPingSource(t *testing.T) {
	h := newHarness(t)
	addEntity(t, h, anomalyEnt{code: validCode(t, "130102", 1), industry: "5251"})
	ping := entityEvent(t, events.Ping, "", map[string]any{"task": AnomalyTask})
	ping.SetSource("/apis/v1/namespaces/smartreg/pingsources/dashboard-anomalies")
	if _, err := h.f.Receive(context.Background(), ping); err != nil {
		t.Fatal(err)
	}
	if got := anomalySet(t, h); len(got) != 1 || !got["drug_without_licence "+validCode(t, "130102", 1)] {
		t.Errorf("after the tick: %v", got)
	}
}

// The anomaly stubs keep the published contract's result columns (the
// registry's TestDashboardAnomalyReadFunctions checks the same strings).
func TestAnomalyStubsMatchPublishedSignatures(t *testing.T) {
	h := newHarness(t)
	for fn, want := range map[string]string{
		"registry.dashboard_anomaly_entities()": "TABLE(credit_code character, name text, entity_type text, legal_rep text, address text, district_code text, township_code text, industry_code text, status text, established_on date, updated_at timestamp with time zone)",
		"registry.dashboard_licences()":         "TABLE(id bigint, credit_code character, ref_no text, title text, authority text, occurred_on date, valid_until date, status text, created_at timestamp with time zone)",
		"qr.active_codes(integer)":              "TABLE(token text, credit_code text, entity_name text)",
	} {
		var got string
		if err := h.pool.QueryRow(context.Background(), `SELECT pg_get_function_result($1::regprocedure)`, fn).Scan(&got); err != nil || got != want {
			t.Errorf("stub %s returns %s (%v), want %s", fn, got, err, want)
		}
	}
}
