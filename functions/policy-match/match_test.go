package policymatch

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/httpx"
)

func decode[T any](t *testing.T, rec interface{ Body() []byte }) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

type body []byte

func (b body) Body() []byte { return b }

var allPerms = []string{PermPolicy + ":view", PermPolicy + ":create", PermPolicy + ":edit", PermPolicy + ":publish",
	PermMatch + ":view", PermMatch + ":export", PermAccount + ":view", PermAccount + ":edit"}

// createPolicy saves and publishes a policy through the API.
func (h harness) createPolicy(t *testing.T, bearer string, in map[string]any, publish bool) Policy {
	t.Helper()
	rec := h.do(t, bearer, "POST", "/policy/v1/policies", in)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create %v: %d %s", in["title"], rec.Code, rec.Body)
	}
	p := decode[Policy](t, body(rec.Body.Bytes()))
	if publish {
		if rec := h.do(t, bearer, "PUT", "/policy/v1/policies/"+strconv.FormatInt(p.ID, 10)+"/status", map[string]string{"status": "published"}); rec.Code != 200 {
			t.Fatalf("publish: %d %s", rec.Code, rec.Body)
		}
	}
	return p
}

// FP-62: an entity's policies come ranked, each condition shown met or
// not, the summary reading "行业 C13 符合；小微企业；长安区".
func TestEntityToPolicies(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	code := h.addEntity(t, entity{industry: "1311", district: "130102", year: 2024, employees: 25, revenue: 400, name: "石家庄恒丰粮油加工有限公司",
		scope: "粮食加工；食用植物油加工"})
	local := h.createPolicy(t, bearer, map[string]any{"title": "长安区支持农副食品加工小微企业的若干措施", "issuer": "长安区人民政府",
		"published_on": "2025-03-01", "apply_url": "https://zwfw.sjz.example.gov.cn/ca/1", "apply_platform": "长安区政务服务中心",
		"condition": map[string]any{"industries": []string{"C13"}, "sizes": []string{"small", "micro"}, "districts": []string{"130102"}}}, true)
	national := h.createPolicy(t, bearer, map[string]any{"title": "关于进一步支持小微企业和个体工商户发展有关税费政策的公告", "issuer": "财政部 税务总局",
		"published_on": "2023-08-02", "condition": map[string]any{"sizes": []string{"small", "micro"}}}, true)
	h.createPolicy(t, bearer, map[string]any{"title": "桥西区软件企业奖励办法", "issuer": "桥西区人民政府",
		"condition": map[string]any{"industries": []string{"65"}, "districts": []string{"130104"}}}, true)
	h.createPolicy(t, bearer, map[string]any{"title": "未发布的草稿政策", "condition": map[string]any{}}, false)

	rec := h.do(t, bearer, "GET", "/policy/v1/entities/"+code+"/policies", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	m := decode[EntityMatches](t, body(rec.Body.Bytes()))
	if m.Matched != 2 || len(m.Items) != 2 {
		t.Fatalf("matched %d: %+v", m.Matched, m.Items)
	}
	if m.Items[0].Policy.ID != local.ID || m.Items[1].Policy.ID != national.ID {
		t.Errorf("ranking: the more specific local policy first, got %s, %s", m.Items[0].Policy.Title, m.Items[1].Policy.Title)
	}
	if got := m.Items[0].Summary; got != "行业 C13 符合；小微企业；长安区" {
		t.Errorf("summary %q", got)
	}
	if m.Items[0].Policy.ApplyURL != "https://zwfw.sjz.example.gov.cn/ca/1" {
		t.Errorf("the application link is missing: %+v", m.Items[0].Policy)
	}
	if m.Profile.Size != "small" || !strings.Contains(m.Profile.SizeReason, "工业") || m.Profile.Industry.Code[:2] != "13" {
		t.Errorf("profile %+v", m.Profile)
	}
	// With all=true the failing ones come too, saying which condition failed.
	all := decode[EntityMatches](t, body(h.do(t, bearer, "GET", "/policy/v1/entities/"+code+"/policies?all=true", nil).Body.Bytes()))
	if len(all.Items) != 3 || all.Items[2].Matched || !strings.Contains(all.Items[2].Summary, "行业不符") {
		t.Errorf("all: %+v", all.Items)
	}
	if rec := h.do(t, bearer, "GET", "/policy/v1/entities/"+code+"/policies?all=yes", nil); rec.Code != 400 {
		t.Errorf("all=yes: %d", rec.Code)
	}
	if rec := h.do(t, bearer, "GET", "/policy/v1/entities/91130100MA00000000/policies", nil); rec.Code != 404 {
		t.Errorf("unknown entity: %d", rec.Code)
	}
}

// FP-63: a policy's entities in the caller's scope, counted by district and
// industry, paged, and exported as XLSX.
func TestPolicyToEntities(t *testing.T) {
	h := newHarness(t)
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	for i := range 5 {
		h.addEntity(t, entity{industry: "1311", district: "130102", name: "长安食品" + strconv.Itoa(i) + "有限公司"})
	}
	for range 3 {
		h.addEntity(t, entity{industry: "1430", district: "130104"})
	}
	h.addEntity(t, entity{industry: "6513", district: "130104"})
	h.addEntity(t, entity{industry: "1311", district: "130104", abnormal: true})
	p := h.createPolicy(t, city, map[string]any{"title": "食品工业企业技术改造奖补", "issuer": "石家庄市工业和信息化局",
		"condition": map[string]any{"industries": []string{"13", "14"}, "not_abnormal": true}}, true)
	path := "/policy/v1/policies/" + strconv.FormatInt(p.ID, 10) + "/entities"
	res := decode[PolicyEntities](t, body(h.do(t, city, "GET", path+"?page_size=3", nil).Body.Bytes()))
	if res.Total != 8 || len(res.Items) != 3 || len(res.ByDistrict) != 2 || res.ByDistrict[0].Code != "130102" || res.ByDistrict[0].Count != 5 ||
		res.ByDistrict[0].Name != "长安区" {
		t.Fatalf("city-wide: total %d, by district %+v, %d items", res.Total, res.ByDistrict, len(res.Items))
	}
	if len(res.ByIndustry) != 2 || res.ByIndustry[0].Code != "13" || res.ByIndustry[0].Count != 5 || res.ByIndustry[0].Name == "" {
		t.Errorf("by industry %+v", res.ByIndustry)
	}
	page2 := decode[PolicyEntities](t, body(h.do(t, city, "GET", path+"?page_size=3&page=3", nil).Body.Bytes()))
	rev := func(s string) string { r := []rune(s); slices.Reverse(r); return string(r) }
	if len(page2.Items) != 2 || rev(page2.Items[0].CreditCode) <= rev(res.Items[2].CreditCode) {
		t.Errorf("page 3: %+v", page2.Items)
	}
	district := h.iss.Bearer(authtest.InDistricts(allPerms, "130104"))
	qx := decode[PolicyEntities](t, body(h.do(t, district, "GET", path, nil).Body.Bytes()))
	if qx.Total != 3 || len(qx.ByDistrict) != 1 || qx.ByDistrict[0].Code != "130104" {
		t.Errorf("district scope: %+v", qx.ByDistrict)
	}
	rec := h.do(t, district, "GET", path+"/export", nil)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Disposition"), ".xlsx") {
		t.Fatalf("export: %d %s", rec.Code, rec.Header())
	}
	x, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows(x.GetSheetName(0))
	if len(rows) != 4 || rows[0][0] != "统一社会信用代码" || !strings.Contains(rows[1][3], "桥西区") {
		t.Errorf("export rows %v", rows)
	}
	if rec := h.do(t, city, "GET", "/policy/v1/policies/999/entities", nil); rec.Code != 404 {
		t.Errorf("unknown policy: %d", rec.Code)
	}
}

// FP-57–61: a person's label overrides the rules', is kept across a
// re-import, and is removed by an empty value; a value outside the
// dimension's list is refused.
func TestOverridesAreKept(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	in := map[string]any{"title": "关于做好失业保险稳岗返还工作的通知", "issuer": "石家庄市人社局", "doc_no": "石人社〔2025〕9号"}
	p := h.createPolicy(t, bearer, in, false)
	if p.Effective[DimCategory] != "就业社保" || p.Labels[DimCategory].Reason == "" || p.Effective[DimDepartment] != "石家庄市人力资源和社会保障局" {
		t.Fatalf("labels %+v", p.Labels)
	}
	id := strconv.FormatInt(p.ID, 10)
	rec := h.do(t, bearer, "PUT", "/policy/v1/policies/"+id+"/labels/category", map[string]string{"value": "财政税收", "note": "以资金返还为主"})
	if rec.Code != 200 {
		t.Fatalf("override: %d %s", rec.Code, rec.Body)
	}
	got := decode[Policy](t, body(rec.Body.Bytes()))
	if got.Effective[DimCategory] != "财政税收" || got.Labels[DimCategory].Value != "就业社保" || got.Overrides[DimCategory].By != "city" {
		t.Errorf("after override: %+v %+v", got.Effective, got.Overrides)
	}
	// The same document imported again: the override stays.
	if rec := h.do(t, bearer, "POST", "/policy/v1/policies", in); rec.Code != 200 {
		t.Fatalf("re-save: %d %s", rec.Code, rec.Body)
	}
	again, _ := h.f.Get(context.Background(), p.ID)
	if again.Effective[DimCategory] != "财政税收" || again.Revision != 2 {
		t.Errorf("override lost on re-import: %+v rev %d", again.Effective, again.Revision)
	}
	if rec := h.do(t, bearer, "PUT", "/policy/v1/policies/"+id+"/labels/category", map[string]string{"value": "天文"}); rec.Code != 400 {
		t.Errorf("unknown value: %d", rec.Code)
	}
	if rec := h.do(t, bearer, "PUT", "/policy/v1/policies/"+id+"/labels/colour", map[string]string{"value": "红"}); rec.Code != 404 {
		t.Errorf("unknown dimension: %d", rec.Code)
	}
	cleared := decode[Policy](t, body(h.do(t, bearer, "PUT", "/policy/v1/policies/"+id+"/labels/category", map[string]string{"value": ""}).Body.Bytes()))
	if cleared.Effective[DimCategory] != "就业社保" || len(cleared.Overrides) != 0 {
		t.Errorf("cleared: %+v", cleared)
	}
	// A department override is free text.
	dep := decode[Policy](t, body(h.do(t, bearer, "PUT", "/policy/v1/policies/"+id+"/labels/department", map[string]string{"value": "石家庄市人民政府"}).Body.Bytes()))
	if dep.Effective[DimDepartment] != "石家庄市人民政府" {
		t.Errorf("department override: %+v", dep.Effective)
	}
	// Filters use the effective labels.
	list := decode[httpx.PageOf[Policy]](t, body(h.do(t, bearer, "GET", "/policy/v1/policies?department="+"石家庄市人民政府", nil).Body.Bytes()))
	if list.Total != 1 {
		t.Errorf("filter by the overridden department: %+v", list)
	}
}

// Bad input is refused with the field named, and nothing is written.
func TestPolicyValidation(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	for name, in := range map[string]map[string]any{
		"no title":     {"title": " "},
		"bad link":     {"title": "某政策", "apply_url": "javascript:alert(1)"},
		"dates":        {"title": "某政策", "effective_on": "2025-05-01", "expires_on": "2025-01-01"},
		"date format":  {"title": "某政策", "published_on": "2025/13/45"},
		"bad industry": {"title": "某政策", "condition": map[string]any{"industries": []string{"99"}}},
	} {
		rec := h.do(t, bearer, "POST", "/policy/v1/policies", in)
		if rec.Code != 400 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if n := tableCount(t, h.pool, "policy.policies"); n != 0 {
		t.Errorf("%d policies written by refused requests", n)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermPolicy+":view")), "POST", "/policy/v1/policies", map[string]any{"title": "某政策"}); rec.Code != 403 {
		t.Errorf("without create: %d", rec.Code)
	}
	if rec := h.do(t, "", "GET", "/policy/v1/policies", nil); rec.Code != 401 {
		t.Errorf("anonymous: %d", rec.Code)
	}
}

// FP-56: an entity's basic information as the matching sees it — its
// registered fields, district and industry names, and the derived type
// and size with their reasons — in the caller's scope only.
func TestEntityProfileRoute(t *testing.T) {
	h := newHarness(t)
	code := h.addEntity(t, entity{industry: "1311", district: "130102", year: 2024, employees: 25, revenue: 400, name: "石家庄𠮷丰粮油加工有限公司",
		scope: "粮食加工；食用植物油加工"})
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	rec := h.do(t, city, "GET", "/policy/v1/entities/"+code+"/profile", nil)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	p := decode[Profile](t, body(rec.Body.Bytes()))
	if p.Subject.CreditCode != code || p.Subject.Name != "石家庄𠮷丰粮油加工有限公司" || p.Subject.DistrictCode != "130102" ||
		p.DistrictName != "长安区" || p.Size != "small" || p.SizeName == "" || !strings.Contains(p.SizeReason, "工业") || p.FiguresYear != 2024 ||
		p.IndustryName == "" {
		t.Errorf("profile %+v", p)
	}
	other := h.iss.Bearer(authtest.InDistricts(allPerms, "130104"))
	if rec := h.do(t, other, "GET", "/policy/v1/entities/"+code+"/profile", nil); rec.Code != 404 {
		t.Errorf("another district's entity: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, city, "GET", "/policy/v1/entities/91130100MA00000000/profile", nil); rec.Code != 404 {
		t.Errorf("an unknown entity: %d", rec.Code)
	}
	if rec := h.do(t, "", "GET", "/policy/v1/entities/"+code+"/profile", nil); rec.Code != 401 {
		t.Errorf("no token: %d", rec.Code)
	}
}
