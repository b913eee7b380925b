package registry

import (
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
)

// FP-8: every change writes its operation-log row with the before and
// after state in the change's own transaction; a refused or rolled-back
// change writes none.
func TestEveryChangeIsInTheOperationLog(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	in := validInput(t, 1)
	cc := in["credit_code"].(string)
	if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	in["name"], in["version"] = "河北恒达新材料有限公司", 1
	delete(in, "credit_code")
	if rec := do(t, h, "PUT", "/registry/v1/entities/"+cc, in); rec.Code != 200 {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	// A stale version is refused inside the transaction: no row.
	if rec := do(t, h, "PUT", "/registry/v1/entities/"+cc, in); rec.Code != 409 {
		t.Fatalf("stale update: %d", rec.Code)
	}
	rec := do(t, h, "POST", "/registry/v1/entities/"+cc+"/records", map[string]any{"kind": "licence", "ref_no": "JY1130102000001",
		"title": "食品经营许可证", "authority": "长安区市场监督管理局", "occurred_on": "2024-03-01", "status": "有效"})
	if rec.Code != 201 {
		t.Fatalf("add record: %d %s", rec.Code, rec.Body)
	}
	ops := auditlogtest.Ops(t, pool, cc)
	var got []string
	for _, o := range ops {
		got = append(got, o.Action)
		if o.Source != Source || o.UserID != "city-user" || o.ObjectType != "entity" || o.DistrictCode != "130102" || o.IP == "" {
			t.Errorf("%s row = %s %s %s %s %s", o.Action, o.Source, o.UserID, o.ObjectType, o.DistrictCode, o.IP)
		}
	}
	if want := "registry.entity.create,registry.entity.update,registry.record.create"; strings.Join(got, ",") != want {
		t.Fatalf("actions = %v, want %s", got, want)
	}
	if ops[0].Before != nil || auditlogtest.Field(ops[0].After, "name") != "河北恒达建材第1有限公司" {
		t.Errorf("create before/after = %s / %s", ops[0].Before, ops[0].After)
	}
	if auditlogtest.Field(ops[1].Before, "name") != "河北恒达建材第1有限公司" || auditlogtest.Field(ops[1].After, "name") != "河北恒达新材料有限公司" ||
		auditlogtest.Field(ops[1].Before, "version") != "1" || auditlogtest.Field(ops[1].After, "version") != "2" {
		t.Errorf("update before/after = %s / %s", ops[1].Before, ops[1].After)
	}
	if auditlogtest.Field(ops[2].After, "ref_no") != "JY1130102000001" {
		t.Errorf("record after = %s", ops[2].After)
	}

	// An import that fails on one row rolls back whole: no row for the
	// good rows either; a good import logs each entity.
	bad := importRow(t, 3)
	bad[7] = "130199"
	if rec := upload(t, h, "batch.csv", csvFile(t, importRow(t, 2), bad)); rec.Code != 400 {
		t.Fatalf("bad import: %d", rec.Code)
	}
	if n := len(auditlogtest.Ops(t, pool, importRow(t, 2)[0])); n != 0 {
		t.Fatalf("rolled-back import logged %d rows", n)
	}
	if rec := upload(t, h, "batch.csv", csvFile(t, importRow(t, 2), importRow(t, 4))); rec.Code != 201 {
		t.Fatalf("good import: %d %s", rec.Code, rec.Body)
	}
	for _, n := range []int{2, 4} {
		ops := auditlogtest.Ops(t, pool, importRow(t, n)[0])
		if len(ops) != 1 || ops[0].Action != "registry.entity.import" || auditlogtest.Field(ops[0].After, "credit_code") != importRow(t, n)[0] {
			t.Errorf("import row %d: %+v", n, ops)
		}
	}
}
