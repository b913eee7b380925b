package notify

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions. Notify holds no market-entity data, so the scope
// check finds no route to probe (each route declares httpx.NoEntity).
func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.replica(nil)
	conformance.Events(t, Name, f)
	conformance.Routes(t, f.Handler())
	conformance.Scope(t, f.Handler(), conformance.ScopeFixture{Bearer: e.iss.Bearer(*clerk)})
}
