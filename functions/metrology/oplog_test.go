package metrology

import (
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
)

// FP-8: registering and editing a using enterprise leave operation-log rows
// naming the person, the enterprise and the contact before and after, with
// the phone masked.
func TestOpLogEnterpriseCreateAndEdit(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	code := creditCode(t, "130102", 11)
	e := must[Enterprise](t, h, 201, city, "POST", "/metrology/v1/enterprises", map[string]any{"credit_code": code, "name": "长安区恒达加油站有限公司",
		"district_code": "130102", "address": "石家庄市测试路 1 号", "contact": "王经理", "phone": "13912345678"})
	must[Enterprise](t, h, 200, city, "PUT", "/metrology/v1/enterprises/"+code, map[string]any{"name": e.Name, "district_code": "130102",
		"address": e.Address, "contact": "李经理", "version": e.Version})
	ops := auditlogtest.Ops(t, h.pool, code)
	if len(ops) != 2 {
		t.Fatalf("want create and edit; got %+v", ops)
	}
	c, u := ops[0], ops[1]
	if c.Action != "metrology.enterprise.create" || c.ObjectType != "enterprise" || c.UserID != "city-user" || c.DistrictCode != "130102" ||
		c.Before != nil || auditlogtest.Field(c.After, "contact") != "王经理" {
		t.Errorf("create: %+v %s", c, c.After)
	}
	if u.Action != "metrology.enterprise.edit" || u.ObjectID != code || u.UserID != "city-user" ||
		auditlogtest.Field(u.Before, "contact") != "王经理" || auditlogtest.Field(u.After, "contact") != "李经理" {
		t.Errorf("edit: %+v %s %s", u, u.Before, u.After)
	}
	for _, o := range ops {
		for _, s := range []string{string(o.Before), string(o.After)} {
			if strings.Contains(s, "13912345678") {
				t.Errorf("%s: the phone is not masked: %s", o.Action, s)
			}
		}
		if p := auditlogtest.Field(o.After, "phone"); p != "139****5678" {
			t.Errorf("%s: masked phone %q", o.Action, p)
		}
	}
}
