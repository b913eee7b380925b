package provincialsync

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
)

// FP-8: starting a sync by hand leaves an operation-log row naming the
// person and the sync started, before and after.
func TestOpLogStartRun(t *testing.T) {
	h := newHarness(t)
	h.sim.Generate(3, 2, base)
	h.startRun(t)
	ops := auditlogtest.Ops(t, h.pool, "")
	if len(ops) != 1 {
		t.Fatalf("want one row; got %+v", ops)
	}
	o := ops[0]
	if o.Action != "province.sync.run" || o.ObjectType != "province_sync" || o.ObjectID != "" || o.UserID != "city-user" ||
		auditlogtest.Field(o.Before, "running") != "false" || auditlogtest.Field(o.After, "running") != "true" ||
		auditlogtest.Field(o.After, "trigger") != "manual" {
		t.Errorf("start: %+v %s %s", o, o.Before, o.After)
	}
}
