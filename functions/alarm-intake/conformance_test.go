package alarmintake

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no listing shows an alarm outside the
// caller's jurisdiction.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	in, out := alarmBody("inside-0001", h.now), alarmBody("foreign-001", h.now)
	in["text"], out["text"] = "长安区内的报警", "桥西区的报警"
	h.do(t, h.iss.Bearer(station("u1", "130102001")), "POST", "/alarm/v1/alarms", in)
	h.do(t, h.iss.Bearer(station("u2", "130104002")), "POST", "/alarm/v1/alarms", out)
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.f.Handler())
	conformance.Scope(t, h.f.Handler(), conformance.ScopeFixture{
		Bearer:         h.iss.Bearer(authtest.InDistricts(conformance.Permissions(h.f.Handler()), "130102")),
		InsideMarkers:  []string{"长安区内的报警"},
		ForeignMarkers: []string{"桥西区的报警"},
		Params:         map[string]string{"id": "00000000-0000-0000-0000-000000000000"},
	})
}
