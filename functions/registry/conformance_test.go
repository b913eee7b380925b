package registry

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reaches an entity outside the
// caller's data scope (FP-6).
func TestConformance(t *testing.T) {
	f, _ := newFunction(t)
	h := f.Handler()
	conformance.Events(t, Name, f)
	conformance.Routes(t, h)

	changan, qiaoxi := seedTwoDistricts(t, h)
	for _, c := range []string{changan, qiaoxi} {
		if rec := do(t, h, "POST", "/registry/v1/entities/"+c+"/records", map[string]any{"kind": "licence",
			"title": "食品经营许可证", "occurred_on": "2024-01-02", "authority": "石家庄市市场监督管理局"}); rec.Code != 201 {
			t.Fatalf("seed record: %d %s", rec.Code, rec.Body)
		}
	}
	inside := func(code string) string {
		return `{"credit_code":"` + code + `","name":"长安区新登记商贸有限公司","entity_type":"enterprise","legal_rep":"李明",` +
			`"established_on":"2020-01-02","registered_capital":10,"business_scope":"日用品销售","address":"石家庄市长安区中山东路8号",` +
			`"district_code":"` + code[2:8] + `","industry_code":"5211"}`
	}
	newInside, newForeign := code(t, "91", "130102", 77), code(t, "91", "130104", 78)
	importCSV := func(code string) string {
		return "统一社会信用代码,主体名称,主体类型,法定代表人,成立日期,住所,行政区划代码,行业代码\n" +
			code + ",导入测试商行,个体工商户,王五,2021-03-04,石家庄市某路1号," + code[2:8] + ",5211\n"
	}
	conformance.Scope(t, h, conformance.ScopeFixture{
		Bearer:  "Bearer " + tokenFor(t, authtest.InDistricts(conformance.Permissions(h), "130102")),
		Inside:  map[string]string{"code": changan, "credit_code": newInside},
		Foreign: map[string]string{"code": qiaoxi, "credit_code": newForeign},
		Bodies: map[string]string{
			"PUT /registry/v1/entities/{code}": `{"name":"改名有限公司","entity_type":"enterprise","legal_rep":"张建国","established_on":"2019-05-20",` +
				`"registered_capital":500.5,"business_scope":"建材销售","address":"石家庄市长安区建设北大街1号","district_code":"130102",` +
				`"industry_code":"5164","version":2}`,
			"POST /registry/v1/entities/{code}/records": `{"kind":"penalty","title":"行政处罚决定书","occurred_on":"2024-03-04","authority":"石家庄市市场监督管理局"}`,
		},
		BodyFor:        map[string]func(string) string{"POST /registry/v1/entities": inside, "POST /registry/v1/imports": importCSV},
		ContentTypes:   map[string]string{"POST /registry/v1/imports": "text/csv"},
		Queries:        map[string]string{"GET /registry/v1/entities/export": "format=csv"},
		InsideMarkers:  []string{changan},
		ForeignMarkers: []string{qiaoxi, "桥西区福源商贸有限公司"},
	})
}
