package dispatch

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no listing shows an alarm, event, task or
// position or resource outside the caller's jurisdiction.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	in, _ := h.raise(t, "130102001", "长安区内的报警")
	h.raise(t, "130104002", "桥西区的报警")
	own := h.iss.Bearer(station("s1", "130102001"))
	ev := decode[Event](t, h.do(t, own, "POST", "/dispatch/v1/alarms/"+in+"/accept", map[string]string{}), 200)
	decode[Task](t, h.do(t, own, "POST", "/dispatch/v1/tasks", map[string]any{"event_id": ev.ID, "title": "长安区内的报警核查", "assignee": "s1"}), 201)
	h.do(t, own, "POST", "/dispatch/v1/positions", map[string]any{"positions": []map[string]any{{"at": h.now, "lat": 38.04, "lng": 114.51, "accuracy": 5}}})
	decode[Resource](t, h.do(t, own, "POST", "/dispatch/v1/resources", map[string]any{"kind": "station", "name": "长安区内的报警所", "lat": 38.05, "lng": 114.52}), 201)
	decode[Resource](t, h.do(t, h.iss.Bearer(station("s2", "130104002")), "POST", "/dispatch/v1/resources",
		map[string]any{"kind": "station", "name": "桥西区的报警所", "lat": 38.03, "lng": 114.46}), 201)
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.f.Handler())
	conformance.Scope(t, h.f.Handler(), conformance.ScopeFixture{
		Bearer:         h.iss.Bearer(authtest.InDistricts(conformance.Permissions(h.f.Handler()), "130102")),
		InsideMarkers:  []string{"长安区内的报警", "130102001"},
		ForeignMarkers: []string{"桥西区的报警", "130104002"},
		Params:         map[string]string{"id": "00000000-0000-0000-0000-000000000000", "user": "s1", "action": "handle"},
	})
}
