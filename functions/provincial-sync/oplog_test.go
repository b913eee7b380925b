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

// FP-8: uploading an issued certificate is recorded once, by the system,
// with the province's id in the after state; a redelivery records nothing.
func TestOpLogCertificateUpload(t *testing.T) {
	h := newHarness(t)
	uploadOnce(t, h, "issued-1", 11, "JD2026-000009")
	uploadOnce(t, h, "issued-1b", 11, "JD2026-000009")
	ops := auditlogtest.Ops(t, h.pool, "")
	if len(ops) != 1 {
		t.Fatalf("want one row; got %+v", ops)
	}
	o := ops[0]
	if o.Action != "province.certificate.upload" || o.ObjectType != "certificate" || o.ObjectID != "JD2026-000009" ||
		o.Username != "system:"+Name || o.DistrictCode != "130102" ||
		auditlogtest.Field(o.Before, "uploaded") != "false" || auditlogtest.Field(o.After, "uploaded") != "true" ||
		auditlogtest.Field(o.After, "remote_id") == "" {
		t.Errorf("upload: %+v %s %s", o, o.Before, o.After)
	}
}
