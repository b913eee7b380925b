package dashboard

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

var allPerms = []string{PermKPI + ":view", PermKPI + ":manage", PermKPI + ":export"}

// seed fills the stub registry: 长安区 130102 has 6 entities, 桥西区 130104
// has 4, 新华区 130105 has 2. Penalties on some.
func seed(t *testing.T, h harness) {
	t.Helper()
	ctx := context.Background()
	type ent struct{ district, township, typ, status, industry string }
	ents := []ent{
		{"130102", "130102001", "enterprise", "active", "5211"},
		{"130102", "130102001", "enterprise", "active", "5212"},
		{"130102", "130102002", "enterprise", "revoked", "5211"},
		{"130102", "130102002", "individual", "active", "5211"},
		{"130102", "130102002", "individual", "active", "6210"},
		{"130102", "130102002", "cooperative", "active", "0111"},
		{"130104", "130104001", "enterprise", "active", "5211"},
		{"130104", "130104001", "enterprise", "active", "5211"},
		{"130104", "130104001", "enterprise", "active", "6210"},
		{"130104", "130104001", "individual", "deregistered", "5211"},
		{"130105", "130105001", "enterprise", "active", "5211"},
		{"130105", "130105001", "enterprise", "active", "5211"},
	}
	for i, e := range ents {
		code := fmt.Sprintf("91130100MA%08d", i)
		if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_entities (credit_code, name, entity_type, district_code,
			township_code, industry_code, status) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			code, fmt.Sprintf("石家庄测试%02d商贸有限公司", i), e.typ, e.district, e.township, e.industry, e.status); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // entities 0, 3, 6, 9 have a penalty
			if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_records (credit_code, kind) VALUES ($1, 'penalty')`, code); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := h.f.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
}

func decode[T any](t *testing.T, rec interface{ Result() *http.Response }, want int) T {
	t.Helper()
	res := rec.Result()
	var v T
	if res.StatusCode != want {
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		t.Fatalf("status %d, want %d: %s", res.StatusCode, want, b.String())
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func valueOf(t *testing.T, b Board, name string) int64 {
	t.Helper()
	for _, it := range b.Items {
		if it.Name == name {
			if it.Value == nil {
				t.Fatalf("%s has no value", name)
			}
			return *it.Value
		}
	}
	t.Fatalf("%s not on the board: %+v", name, b.Items)
	return 0
}

// FP-110, FP-112: the seeded board shows each indicator's value in the
// caller's scope, from the rollup, and sorts by name, type and value.
func TestBoardValuesInScope(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	b := decode[Board](t, h.do(t, city, "GET", "/dashboard/v1/indicators", nil), 200)
	if v := valueOf(t, b, "在业企业"); v != 7 {
		t.Errorf("city-wide 在业企业 = %d, want 7", v)
	}
	if !b.Items[0].FromRollup {
		t.Error("a basic indicator was not answered from the rollup")
	}
	district := h.iss.Bearer(authtest.InDistricts(allPerms, "130104"))
	b = decode[Board](t, h.do(t, district, "GET", "/dashboard/v1/indicators?sort=value&order=desc", nil), 200)
	if v := valueOf(t, b, "在业企业"); v != 3 {
		t.Errorf("桥西区 在业企业 = %d, want 3", v)
	}
	if v := valueOf(t, b, "注销主体"); v != 1 {
		t.Errorf("桥西区 注销主体 = %d, want 1", v)
	}
	for i := 1; i < len(b.Items); i++ {
		if *b.Items[i-1].Value < *b.Items[i].Value {
			t.Fatalf("not sorted by value desc: %+v", b.Items)
		}
	}
	// A township-narrowed scope is answered exactly from the rollup too.
	town := h.iss.Bearer(auth.Principal{UserID: "t", Username: "t", Perms: allPerms,
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}, Townships: []string{"130102002"}}})
	b = decode[Board](t, h.do(t, town, "GET", "/dashboard/v1/indicators", nil), 200)
	if v := valueOf(t, b, "在业个体工商户"); v != 2 {
		t.Errorf("township 在业个体工商户 = %d, want 2", v)
	}
	if v := valueOf(t, b, "在业企业"); v != 0 {
		t.Errorf("township 在业企业 = %d, want 0", v)
	}
	b = decode[Board](t, h.do(t, city, "GET", "/dashboard/v1/indicators?sort=name", nil), 200)
	for i := 1; i < len(b.Items); i++ {
		if b.Items[i-1].Name > b.Items[i].Name {
			t.Fatalf("not sorted by name: %v, %v", b.Items[i-1].Name, b.Items[i].Name)
		}
	}
	for _, bad := range []string{"?sort=colour", "?order=up", "?category=x"} {
		if rec := h.do(t, city, "GET", "/dashboard/v1/indicators"+bad, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "应为") && !strings.Contains(rec.Body.String(), "无效") {
			t.Errorf("%s: %d %s", bad, rec.Code, rec.Body)
		}
	}
}

// Bad input: an empty data scope shows a clear notice, never numbers; an
// unknown indicator is a clear 404.
func TestEmptyScopeAndUnknownIndicator(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	empty := h.iss.Bearer(auth.Principal{UserID: "e", Username: "e", Perms: allPerms, Scope: auth.Scope{Kind: auth.ScopeDept}})
	b := decode[Board](t, h.do(t, empty, "GET", "/dashboard/v1/indicators", nil), 200)
	if b.Notice != EmptyScopeNotice || len(b.Items) == 0 || b.Items[0].Value != nil {
		t.Errorf("empty scope board: %+v", b)
	}
	c := decode[Counties](t, h.do(t, empty, "GET", "/dashboard/v1/indicators/1/counties", nil), 200)
	if c.Notice != EmptyScopeNotice || len(c.Items) != 0 {
		t.Errorf("empty scope counties: %+v", c)
	}
	if rec := h.do(t, empty, "GET", "/dashboard/v1/indicators/1/export?format=csv", nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "数据范围为空") {
		t.Errorf("empty scope export: %d %s", rec.Code, rec.Body)
	}
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	for _, path := range []string{"/dashboard/v1/indicators/9999", "/dashboard/v1/indicators/9999/counties",
		"/dashboard/v1/indicators/abc/roster", "/dashboard/v1/indicators/9999/export"} {
		if rec := h.do(t, city, "GET", path, nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), "指标不存在") {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}

// FP-111, FP-113: the back office adds categories (two levels only) and
// indicators, edits them, hides one and sets wrapping; viewers never see
// a hidden indicator.
func TestMaintainIndicators(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	admin := h.iss.Bearer(authtest.CityWide(allPerms...))
	viewer := h.iss.Bearer(authtest.CityWide(PermKPI + ":view"))
	top := decode[Category](t, h.do(t, admin, "POST", "/dashboard/v1/categories", map[string]any{"name": "信用监管"}), 201)
	sub := decode[Category](t, h.do(t, admin, "POST", "/dashboard/v1/categories", map[string]any{"name": "行政处罚", "parent_id": top.ID}), 201)
	if rec := h.do(t, admin, "POST", "/dashboard/v1/categories", map[string]any{"name": "三级", "parent_id": sub.ID}); rec.Code != 400 || !strings.Contains(rec.Body.String(), "两级") {
		t.Errorf("a third level: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, admin, "POST", "/dashboard/v1/categories", map[string]any{"name": "行政处罚", "parent_id": top.ID}); rec.Code != 409 {
		t.Errorf("duplicate category: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, viewer, "POST", "/dashboard/v1/categories", map[string]any{"name": "x"}); rec.Code != 403 {
		t.Errorf("viewer created a category: %d", rec.Code)
	}
	tree := decode[struct{ Items []Category }](t, h.do(t, viewer, "GET", "/dashboard/v1/categories", nil), 200)
	found := false
	for _, c := range tree.Items {
		found = found || c.ID == top.ID && len(c.Children) == 1 && c.Children[0].Name == "行政处罚"
	}
	if !found {
		t.Errorf("tree: %+v", tree.Items)
	}
	for name, in := range map[string]map[string]any{
		"unknown-field":   {"category_id": sub.ID, "name": "x", "kind": "basic", "conditions": []Condition{{"colour", "eq", "red"}}},
		"bad-value":       {"category_id": sub.ID, "name": "x", "kind": "basic", "conditions": []Condition{{"entity_type", "eq", "shop"}}},
		"advanced-single": {"category_id": sub.ID, "name": "x", "kind": "advanced", "conditions": []Condition{{"status", "eq", "active"}}},
		"no-name":         {"category_id": sub.ID, "name": " ", "kind": "basic"},
		"bad-kind":        {"category_id": sub.ID, "name": "x", "kind": "fancy"},
	} {
		if rec := h.do(t, admin, "POST", "/dashboard/v1/indicators", in); rec.Code != 400 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	in := map[string]any{"category_id": sub.ID, "name": "受处罚在业企业", "kind": "advanced", "conditions": []Condition{
		{"entity_type", "eq", "enterprise"}, {"status", "eq", "active"}, {"record_kind", "has", "penalty"}}}
	it := decode[Indicator](t, h.do(t, admin, "POST", "/dashboard/v1/indicators", in), 201)
	if it.ParentName != "信用监管" || it.Category != "行政处罚" || !it.Visible || it.Wrap {
		t.Errorf("created: %+v", it)
	}
	got := decode[Indicator](t, h.do(t, viewer, "GET", fmt.Sprintf("/dashboard/v1/indicators/%d", it.ID), nil), 200)
	if got.Value == nil || *got.Value != 2 || !got.FromRollup { // entities 0 and 6, from the record rollup
		t.Errorf("value of 受处罚在业企业: %+v", got)
	}
	in["visible"], in["wrap"], in["name"] = false, true, "受处罚的在业企业"
	upd := decode[Indicator](t, h.do(t, admin, "PUT", fmt.Sprintf("/dashboard/v1/indicators/%d", it.ID), in), 200)
	if upd.Visible || !upd.Wrap || upd.Name != "受处罚的在业企业" || upd.UpdatedBy != "city" {
		t.Errorf("updated: %+v", upd)
	}
	b := decode[Board](t, h.do(t, viewer, "GET", fmt.Sprintf("/dashboard/v1/indicators?category=%d", top.ID), nil), 200)
	if len(b.Items) != 0 {
		t.Errorf("a hidden indicator shown to a viewer: %+v", b.Items)
	}
	if rec := h.do(t, viewer, "GET", fmt.Sprintf("/dashboard/v1/indicators/%d", it.ID), nil); rec.Code != 404 {
		t.Errorf("a hidden indicator opened by a viewer: %d", rec.Code)
	}
	if rec := h.do(t, viewer, "GET", "/dashboard/v1/indicators?all=true", nil); rec.Code != 403 {
		t.Errorf("a viewer listed hidden indicators: %d", rec.Code)
	}
	b = decode[Board](t, h.do(t, admin, "GET", fmt.Sprintf("/dashboard/v1/indicators?category=%d&all=true", top.ID), nil), 200)
	if len(b.Items) != 1 || b.Items[0].Visible {
		t.Errorf("back office list: %+v", b.Items)
	}
	if rec := h.do(t, admin, "PUT", "/dashboard/v1/indicators/9999", in); rec.Code != 404 {
		t.Errorf("edit unknown: %d", rec.Code)
	}
	var audits int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.outbox WHERE event_type = $1`, events.AuditOperationRecorded).Scan(&audits); err != nil || audits != 4 {
		t.Errorf("audit entries = %d (%v), want 4 (2 categories, create, update)", audits, err)
	}
}

// FP-114, FP-130: an advanced indicator's per-county counts ranked both
// ways (ties share a rank), its roster in scope, and exports in CSV and XLSX.
func TestAdvancedRankingRosterExport(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	admin := h.iss.Bearer(authtest.CityWide(allPerms...))
	in := map[string]any{"category_id": 2, "name": "零售业在业企业", "kind": "advanced", "conditions": []Condition{
		{"entity_type", "in", "enterprise,individual"}, {"status", "eq", "active"}, {"industry_code", "prefix", "52"}}}
	it := decode[Indicator](t, h.do(t, admin, "POST", "/dashboard/v1/indicators", in), 201)
	base := fmt.Sprintf("/dashboard/v1/indicators/%d", it.ID)
	// 长安区: 0, 1, 3 → 3; 桥西区: 6, 7 → 2; 新华区: 10, 11 → 2.
	c := decode[Counties](t, h.do(t, admin, "GET", base+"/counties", nil), 200)
	if len(c.Items) != 3 || c.Items[0].DistrictCode != "130102" || c.Items[0].Rank != 1 || c.Items[1].Rank != 2 || c.Items[2].Rank != 2 ||
		c.Total != 7 || c.Items[0].DistrictName != "长安区" {
		t.Errorf("desc ranking: %+v", c)
	}
	c = decode[Counties](t, h.do(t, admin, "GET", base+"/counties?order=asc", nil), 200)
	if c.Items[0].Count != 2 || c.Items[2].DistrictCode != "130102" || c.Items[2].Rank != 3 {
		t.Errorf("asc ranking: %+v", c)
	}
	if rec := h.do(t, admin, "GET", base+"/counties?order=up", nil); rec.Code != 400 {
		t.Errorf("bad order: %d", rec.Code)
	}
	district := h.iss.Bearer(authtest.InDistricts(allPerms, "130104"))
	page := decode[struct {
		Items []RosterRow
		Total int
	}](t, h.do(t, district, "GET", base+"/roster", nil), 200)
	if page.Total != 2 || len(page.Items) != 2 {
		t.Fatalf("桥西区 roster: %+v", page)
	}
	for _, r := range page.Items {
		if r.DistrictCode != "130104" || !strings.HasPrefix(r.IndustryCode, "52") {
			t.Errorf("roster row outside the conditions or scope: %+v", r)
		}
	}
	rec := h.do(t, district, "GET", base+"/export?format=csv", nil)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Disposition"), ".csv") {
		t.Fatalf("csv: %d %s", rec.Code, rec.Body)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(rec.Body.Bytes(), []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "统一社会信用代码" || rows[1][3] != "桥西区" {
		t.Errorf("csv rows: %v %v", rows, err)
	}
	rec = h.do(t, admin, "GET", base+"/export?what=counties&format=xlsx", nil)
	if rec.Code != 200 {
		t.Fatalf("xlsx: %d %s", rec.Code, rec.Body)
	}
	x, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	sheet := x.GetSheetList()[0]
	xr, _ := x.GetRows(sheet)
	if len(xr) != 4 || xr[1][2] != "长安区" || xr[1][3] != "3" {
		t.Errorf("xlsx rows: %v", xr)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermKPI+":view")), "GET", base+"/export", nil); rec.Code != 403 {
		t.Errorf("export without permission: %d", rec.Code)
	}
	if rec := h.do(t, admin, "GET", base+"/export?format=pdf", nil); rec.Code != 400 {
		t.Errorf("bad format: %d", rec.Code)
	}
}

// The rollup follows events: a registered entity raises its district's
// count, a deregistration moves it between statuses, and a redelivered
// event changes nothing; the rollup always agrees with the raw count.
func TestRollupFollowsEvents(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	ctx := context.Background()
	active := []Condition{{"entity_type", "eq", "enterprise"}, {"status", "eq", "active"}}
	s := auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130105"}}
	before, rolled, err := count(ctx, h.pool, s, active)
	if err != nil || !rolled || before != 2 {
		t.Fatalf("before: %d %v %v", before, rolled, err)
	}
	code := "91130100MA99999999"
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_entities (credit_code, name, district_code, township_code)
		VALUES ($1, '新登记公司', '130105', '130105001')`, code); err != nil {
		t.Fatal(err)
	}
	// Not yet told: the rollup still says 2 (it is a rollup, not a view).
	if n, _, _ := count(ctx, h.pool, s, active); n != 2 {
		t.Fatalf("rollup moved before the event: %d", n)
	}
	ev := entityEvent(t, events.EntityRegistered, code, events.EntityRegisteredData{
		Entity: events.Entity{CreditCode: code, DistrictCode: "130105", EntityType: "enterprise", Status: "active"}, RegisteredAt: time.Now()})
	for range 2 { // the second delivery is a redelivery
		if _, err := h.f.Receive(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := count(ctx, h.pool, s, active); n != 3 {
			t.Fatalf("after registration: %d, want 3", n)
		}
	}
	if _, err := h.pool.Exec(ctx, `UPDATE registry.stub_dashboard_entities SET status = 'revoked' WHERE credit_code = $1`, code); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.Receive(ctx, entityEvent(t, events.EntityDeregistered, code, events.EntityDeregisteredData{
		CreditCode: code, Status: "revoked", Version: 2, ChangedAt: time.Now()})); err != nil {
		t.Fatal(err)
	}
	revoked := []Condition{{"status", "eq", "revoked"}}
	if n, _, _ := count(ctx, h.pool, s, revoked); n != 1 {
		t.Errorf("revoked after deregistration: %d", n)
	}
	for _, cs := range [][]Condition{active, revoked, nil} {
		for _, sc := range []auth.Scope{s, auth.All()} {
			r, _, _ := count(ctx, h.pool, sc, cs)
			raw, err := countRaw(ctx, h.pool, sc, cs)
			if err != nil || r != raw {
				t.Errorf("rollup %d != raw %d for %v in %v (%v)", r, raw, cs, sc, err)
			}
		}
	}
	// The PingSource tick rebuilds everything.
	if _, err := h.pool.Exec(ctx, `DELETE FROM dashboard.rollup`); err != nil {
		t.Fatal(err)
	}
	ping := cloudevents.New()
	ping.SetID("ping-1")
	ping.SetType(events.Ping)
	ping.SetSource("/apis/v1/namespaces/smartreg/pingsources/dashboard-rollup")
	_ = ping.SetData("application/json", map[string]any{"task": PingTask})
	if _, err := h.f.Receive(ctx, ping); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := count(ctx, h.pool, auth.All(), nil); n != 13 {
		t.Errorf("after the ping: %d entities, want 13", n)
	}
}

func entityEvent(t *testing.T, typ, subject string, data any) cloudevents.Event {
	t.Helper()
	e := cloudevents.New()
	e.SetID(fmt.Sprintf("%s-%d", subject, time.Now().UnixNano()))
	e.SetType(typ)
	e.SetSource("/functions/registry")
	e.SetSubject(subject)
	if err := e.SetData("application/json", data); err != nil {
		t.Fatal(err)
	}
	return e
}

// The stubs keep the published contract's result columns (the registry's
// TestDashboardReadFunctions checks the same strings on the real ones).
func TestContractStubMatchesPublishedSignatures(t *testing.T) {
	h := newHarness(t)
	for fn, want := range map[string]string{
		"registry.dashboard_entities()": "TABLE(credit_code character, name text, entity_type text, district_code text, township_code text, industry_code text, status text, established_on date, registered_capital numeric)",
		"registry.dashboard_records()":  "TABLE(credit_code character, kind text, status text, occurred_on date)",
	} {
		var got string
		if err := h.pool.QueryRow(context.Background(), `SELECT pg_get_function_result($1::regprocedure)`, fn).Scan(&got); err != nil || got != want {
			t.Errorf("stub %s returns %s (%v), want %s", fn, got, err, want)
		}
	}
}
