package dashboard

import (
	"fmt"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

// FP-8: creating and renaming an indicator leave operation-log rows naming
// the person, the indicator and the name before and after.
func TestOpLogIndicatorCreateAndUpdate(t *testing.T) {
	h := newHarness(t)
	admin := h.iss.Bearer(authtest.CityWide(allPerms...))
	cat := decode[Category](t, h.do(t, admin, "POST", "/dashboard/v1/categories", map[string]any{"name": "信用监管"}), 201)
	in := map[string]any{"category_id": cat.ID, "name": "测试在业主体", "kind": "basic", "conditions": []Condition{{"status", "eq", "active"}}}
	it := decode[Indicator](t, h.do(t, admin, "POST", "/dashboard/v1/indicators", in), 201)
	in["name"] = "测试在业的主体"
	decode[Indicator](t, h.do(t, admin, "PUT", fmt.Sprintf("/dashboard/v1/indicators/%d", it.ID), in), 200)
	var ops []auditlogtest.Op
	for _, o := range auditlogtest.Ops(t, h.pool, fmt.Sprint(it.ID)) {
		if o.ObjectType == "kpi_indicator" {
			ops = append(ops, o)
		}
	}
	if len(ops) != 2 {
		t.Fatalf("want create and update; got %+v", ops)
	}
	c, u := ops[0], ops[1]
	if c.Action != "dashboard.indicator.create" || c.UserID != "city-user" || c.Before != nil || auditlogtest.Field(c.After, "name") != "测试在业主体" {
		t.Errorf("create: %+v %s %s", c, c.Before, c.After)
	}
	if u.Action != "dashboard.indicator.update" || u.ObjectID != fmt.Sprint(it.ID) || u.UserID != "city-user" ||
		auditlogtest.Field(u.Before, "name") != "测试在业主体" || auditlogtest.Field(u.After, "name") != "测试在业的主体" {
		t.Errorf("update: %+v %s %s", u, u.Before, u.After)
	}
}
