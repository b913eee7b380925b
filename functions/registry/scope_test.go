package registry

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime"
)

// seedTwoDistricts registers one entity in 长安区 (130102) and one in
// 桥西区 (130104) as a city-wide clerk, returning their credit codes.
func seedTwoDistricts(t *testing.T, h http.Handler) (changan, qiaoxi string) {
	t.Helper()
	a := validInput(t, 1)
	b := validInput(t, 2)
	b["credit_code"], b["district_code"], b["name"] = code(t, "91", "130104", 2), "130104", "桥西区福源商贸有限公司"
	b["address"] = "石家庄市桥西区中山西路2号"
	for _, in := range []map[string]any{a, b} {
		if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != 201 {
			t.Fatalf("seed: %d %s", rec.Code, rec.Body)
		}
	}
	return a["credit_code"].(string), b["credit_code"].(string)
}

func searchCodes(t *testing.T, h http.Handler, token, query string) []string {
	t.Helper()
	rec := doAs(t, h, token, "GET", "/registry/v1/entities?"+query, nil)
	if rec.Code != 200 {
		t.Fatalf("search %s: %d %s", query, rec.Code, rec.Body)
	}
	var res SearchResult
	_ = json.Unmarshal(rec.Body.Bytes(), &res)
	var out []string
	for _, e := range res.Items {
		out = append(out, e.CreditCode)
	}
	if res.Total != len(out) {
		t.Fatalf("search %s: total %d counts rows the caller cannot see (%d items)", query, res.Total, len(out))
	}
	return out
}

// TestDistrictUserCannotReachAnotherDistrict is the acceptance
// test: a user scoped to 长安区 cannot read, change or export an entity of
// 桥西区 through the registry API — it answers as if the entity did not
// exist — while a city-wide user can.
func TestDistrictUserCannotReachAnotherDistrict(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	changan, qiaoxi := seedTwoDistricts(t, h)
	district := tokenFor(t, authtest.InDistricts(allPerms, "130102"))
	city := tokenFor(t, authtest.CityWide(allPerms...))

	update := func(code string, version int) map[string]any {
		in := validInput(t, 2)
		delete(in, "credit_code")
		in["district_code"], in["name"], in["version"] = "130104", "桥西区福源商贸有限公司（已改名）", version
		return in
	}
	record := map[string]any{"kind": "inspection", "title": "日常监督检查", "authority": "长安区市场监督管理局",
		"occurred_on": "2026-03-01", "status": "合格"}

	// Reads and writes of the other district's entity: all 404, bodies
	// identical to a code that does not exist.
	missing := doAs(t, h, city, "GET", "/registry/v1/entities/"+code(t, "91", "130104", 99), nil)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/registry/v1/entities/" + qiaoxi, nil},
		{"GET", "/registry/v1/entities/" + qiaoxi + "/profile", nil},
		{"PUT", "/registry/v1/entities/" + qiaoxi, update(qiaoxi, 1)},
		{"POST", "/registry/v1/entities/" + qiaoxi + "/records", record},
	} {
		rec := doAs(t, h, district, c.method, c.path, c.body)
		if rec.Code != 404 || !sameError(rec.Body.String(), missing.Body.String()) {
			t.Errorf("%s %s as 长安区 user: %d %s, want the 404 of a missing entity %s", c.method, c.path, rec.Code, rec.Body, missing.Body)
		}
	}
	var version, records int
	_ = pool.QueryRow(t.Context(), `SELECT version, (SELECT count(*) FROM registry.records WHERE credit_code = $1)
		FROM registry.entities WHERE credit_code = $1`, qiaoxi).Scan(&version, &records)
	if version != 1 || records != 0 {
		t.Fatalf("refused writes changed the 桥西区 entity: version %d, records %d", version, records)
	}

	// Searches, even naming the district or the code, see only 长安区.
	for _, q := range []string{"", "district=130104", "code=" + qiaoxi, "name=" + "福源"} {
		got := searchCodes(t, h, district, q)
		if slices.Contains(got, qiaoxi) {
			t.Errorf("search %q as 长安区 user finds the 桥西区 entity", q)
		}
	}
	if got := searchCodes(t, h, district, ""); !slices.Equal(got, []string{changan}) {
		t.Errorf("长安区 user's search = %v, want only %s", got, changan)
	}

	// Export holds only the caller's rows.
	rec := doAs(t, h, district, "GET", "/registry/v1/entities/export?format=csv", nil)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), qiaoxi) || !strings.Contains(rec.Body.String(), changan) {
		t.Errorf("长安区 user's export: %d, holds 桥西区 %v, holds 长安区 %v", rec.Code,
			strings.Contains(rec.Body.String(), qiaoxi), strings.Contains(rec.Body.String(), changan))
	}

	// Stats count only the caller's districts.
	rec = doAs(t, h, district, "GET", "/registry/v1/stats", nil)
	var stats struct {
		Items []StatRow `json:"items"`
		Total int64     `json:"total"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &stats)
	if rec.Code != 200 || stats.Total != 1 || len(stats.Items) != 1 || stats.Items[0].DistrictCode != "130102" {
		t.Errorf("长安区 user's stats: %d %s", rec.Code, rec.Body)
	}

	// Writes may not place an entity outside the scope.
	in := validInput(t, 3)
	in["credit_code"], in["district_code"] = code(t, "91", "130104", 3), "130104"
	if rec := doAs(t, h, district, "POST", "/registry/v1/entities", in); rec.Code != 403 || errorFields(t, rec)["district_code"] == "" {
		t.Errorf("create in 桥西区 as 长安区 user: %d %s, want 403 on district_code", rec.Code, rec.Body)
	}
	move := validInput(t, 1)
	delete(move, "credit_code")
	move["district_code"], move["version"] = "130104", 1
	if rec := doAs(t, h, district, "PUT", "/registry/v1/entities/"+changan, move); rec.Code != 403 {
		t.Errorf("moving a 长安区 entity to 桥西区 as 长安区 user: %d %s, want 403", rec.Code, rec.Body)
	}
	csv := "统一社会信用代码,主体名称,主体类型,法定代表人,成立日期,注册资本,住所,行政区划,乡镇街道,行业,登记状态\n" +
		strings.Join([]string{code(t, "92", "130104", 7), "桥西区李记小吃", "个体工商户", "李四", "2021-03-04", "5",
			"石家庄市桥西区自强路9号", "130104", "", "6210", "存续"}, ",") + "\n"
	if rec := uploadAs(t, h, district, "batch.csv", []byte(csv)); rec.Code != 400 || errorFields(t, rec)["district_code"] == "" {
		t.Errorf("import into 桥西区 as 长安区 user: %d %s, want 400 on district_code", rec.Code, rec.Body)
	}

	// The city-wide user reaches both.
	for _, c := range []string{changan, qiaoxi} {
		if rec := doAs(t, h, city, "GET", "/registry/v1/entities/"+c+"/profile", nil); rec.Code != 200 {
			t.Errorf("city-wide profile of %s: %d", c, rec.Code)
		}
	}
	if rec := doAs(t, h, city, "PUT", "/registry/v1/entities/"+qiaoxi, update(qiaoxi, 1)); rec.Code != 200 {
		t.Errorf("city-wide update of the 桥西区 entity: %d %s", rec.Code, rec.Body)
	}
	if got := searchCodes(t, h, city, ""); len(got) != 2 {
		t.Errorf("city-wide search = %v, want both", got)
	}
	rec = doAs(t, h, city, "GET", "/registry/v1/entities/export?format=csv", nil)
	if !strings.Contains(rec.Body.String(), qiaoxi) || !strings.Contains(rec.Body.String(), changan) {
		t.Errorf("city-wide export lacks an entity: %s", rec.Body)
	}
}

// sameError compares two error bodies without their request ids.
func sameError(a, b string) bool {
	strip := func(s string) string {
		var body map[string]any
		_ = json.Unmarshal([]byte(s), &body)
		delete(body, "request_id")
		out, _ := json.Marshal(body)
		return string(out)
	}
	return strip(a) == strip(b)
}

// TestEveryRouteNeedsItsPermission: no token → 401, a token without the
// route's permission → 403, for every API route; the OpenAPI document
// stays public.
func TestEveryRouteNeedsItsPermission(t *testing.T) {
	f, _ := newFunction(t)
	h := f.Handler()
	routes := []struct{ method, path, perm string }{
		{"POST", "/registry/v1/entities", "registry.entity:create"},
		{"GET", "/registry/v1/entities", "registry.entity:view"},
		{"GET", "/registry/v1/entities/export", "registry.entity:export"},
		{"GET", "/registry/v1/entities/91130102MA0A1B2C2T", "registry.entity:view"},
		{"PUT", "/registry/v1/entities/91130102MA0A1B2C2T", "registry.entity:edit"},
		{"GET", "/registry/v1/entities/91130102MA0A1B2C2T/profile", "registry.entity:view"},
		{"POST", "/registry/v1/entities/91130102MA0A1B2C2T/records", "registry.entity:edit"},
		{"POST", "/registry/v1/imports", "registry.import:create"},
		{"GET", "/registry/v1/stats", "registry.entity:view"},
	}
	if n := len(h.(httpx.RouteLister).Routes()); n != len(routes) {
		t.Fatalf("the registry serves %d routes, this test knows %d: add the new one", n, len(routes))
	}
	for _, r := range routes {
		if rec := doAs(t, h, "", r.method, r.path, nil); rec.Code != 401 {
			t.Errorf("%s %s without a token: %d, want 401", r.method, r.path, rec.Code)
		}
		others := slices.DeleteFunc(slices.Clone(allPerms), func(p string) bool { return p == r.perm })
		tok := tokenFor(t, authtest.CityWide(others...))
		if rec := doAs(t, h, tok, r.method, r.path, nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), auth.MsgForbidden) {
			t.Errorf("%s %s without %s: %d %s, want 403", r.method, r.path, r.perm, rec.Code, rec.Body)
		}
	}
	// The runtime serves the OpenAPI document to anyone.
	if rec := doAs(t, runtime.Handler(Name, f, runtime.Options{}), "", "GET", "/registry/v1/openapi.yaml", nil); rec.Code != 200 {
		t.Errorf("openapi.yaml without a token: %d", rec.Code)
	}
	if rec := doAs(t, h, "not-a-token", "GET", "/registry/v1/stats", nil); rec.Code != 401 {
		t.Errorf("a bad token is not refused: %d", rec.Code)
	}
}
