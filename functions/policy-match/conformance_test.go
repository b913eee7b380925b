package policymatch

import (
	"strconv"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reaches an entity outside the
// caller's data scope: with one entity in 长安区 (inside) and one in 桥西区
// (foreign), a policy both match, an enterprise account bound to each, and
// the caller's own account bound to the inside one.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.f.Handler())

	inside := h.addEntity(t, entity{district: "130102", name: "长安区恒达食品有限公司", industry: "1311"})
	foreign := h.addEntity(t, entity{district: "130104", name: "桥西区福源食品有限公司", industry: "1311"})
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	p := h.createPolicy(t, city, map[string]any{"title": "食品企业奖补", "condition": map[string]any{"industries": []string{"13"}}}, true)
	h.bindUser(t, "u-inside", inside)
	h.bindUser(t, "u-foreign", foreign)
	caller := authtest.InDistricts(conformance.Permissions(h.f.Handler()), "130102")
	h.bindUser(t, caller.UserID, inside)

	conformance.Scope(t, h.f.Handler(), conformance.ScopeFixture{
		Bearer:  h.iss.Bearer(caller),
		Inside:  map[string]string{"code": inside, "credit_code": inside},
		Foreign: map[string]string{"code": foreign, "credit_code": foreign},
		Params:  map[string]string{"id": strconv.FormatInt(p.ID, 10), "dim": "category"},
		Bodies: map[string]string{
			"POST /policy/v1/accounts":                  `{"user_id":"u-probe","username":"probe","credit_code":"{{entity}}"}`,
			"POST /policy/v1/policies":                  `{"title":"探测政策"}`,
			"PUT /policy/v1/policies/{id}":              `{"title":"食品企业奖补"}`,
			"PUT /policy/v1/policies/{id}/condition":    `{"industries":["13"]}`,
			"PUT /policy/v1/policies/{id}/labels/{dim}": `{"value":"财政税收"}`,
			"PUT /policy/v1/policies/{id}/status":       `{"status":"published"}`,
			"POST /policy/v1/drafts":                    `{"text":"小微企业"}`,
			"POST /policy/v1/imports/urls":              `{"urls":["http://127.0.0.1:1/x.html"]}`,
		},
		Queries:        map[string]string{"GET /policy/v1/policies/{id}/entities/export": "format=csv"},
		InsideMarkers:  []string{inside},
		ForeignMarkers: []string{foreign, "桥西区福源食品有限公司"},
	})
}
