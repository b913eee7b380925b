package audit

import (
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and the operation log (the routes holding entity
// data) never shows an operation on an entity outside the reader's scope.
func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now, nil)
	h := e.f.Handler()
	conformance.Events(t, Name, e.f)
	conformance.Routes(t, h)

	const changan, qiaoxi = "91130102MA0A1B2C2T", "91130104MA0B2C3D4E"
	e.op(auditlog.Operation{Username: "clerk", Action: "registry.entity.update", ObjectType: "entity", ObjectID: changan,
		DistrictCode: "130102", After: map[string]string{"name": "长安区恒达商贸有限公司"}})
	e.op(auditlog.Operation{Username: "clerk", Action: "registry.entity.update", ObjectType: "entity", ObjectID: qiaoxi,
		DistrictCode: "130104", TownshipCode: "130104001", After: map[string]string{"name": "桥西区福源商贸有限公司"}})
	e.login(auditlog.Login{Username: "clerk", Result: auditlog.ResultSuccess})
	reader := authtest.InDistricts(conformance.Permissions(h), "130102")
	reader.Roles = []string{RoleAuditor, RoleSecAdmin}
	conformance.Scope(t, h, conformance.ScopeFixture{
		Bearer:         e.iss.Bearer(reader),
		Queries:        map[string]string{"GET /audit/v1/logs/operation/export": "format=csv"},
		InsideMarkers:  []string{changan},
		ForeignMarkers: []string{qiaoxi, "桥西区福源商贸有限公司"},
	})
}
