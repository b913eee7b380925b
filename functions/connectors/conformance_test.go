package connectors

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reaches an entity outside the
// caller's data scope. Extend the scope fixture as routes that touch
// entity data are added.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.f.Handler())
	conformance.Scope(t, h.f.Handler(), conformance.ScopeFixture{
		Bearer: h.iss.Bearer(authtest.InDistricts(conformance.Permissions(h.f.Handler()), "130102")),
	})
}
