package monitor

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reaches an entity outside the
// caller's data scope. Extend the scope fixture as routes that touch
// entity data are added.
func TestConformance(t *testing.T) {
	w := newCreditWorld(t) // two entities, in 长安区 and 桥西区, with clues and grades
	conformance.Events(t, Name, w.h.f)
	conformance.Routes(t, w.h.f.Handler())
	conformance.Scope(t, w.h.f.Handler(), w.scopeFixture(t))
}
