package auditlogtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

func TestViewsShowWhatWasRecorded(t *testing.T) {
	pool := storetest.New(t, Migration())
	ctx := context.Background()
	if err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := auditlog.Record(ctx, tx, "/functions/registry", auditlog.Operation{Username: "clerk", Action: "registry.entity.update",
			ObjectType: "entity", ObjectID: "91130102MA0A1B2C2T", DistrictCode: "130102", After: map[string]string{"name": "新名称"}}); err != nil {
			return err
		}
		return auditlog.RecordLogin(ctx, tx, "/functions/identity", auditlog.Login{Username: "zhang", Result: auditlog.ResultFailure, Reason: "密码错误"})
	}); err != nil {
		t.Fatal(err)
	}
	var action, district, name, source string
	if err := pool.QueryRow(ctx, `SELECT action, district_code, after->>'name', source FROM recorded.op_log`).Scan(&action, &district, &name, &source); err != nil ||
		action != "registry.entity.update" || district != "130102" || name != "新名称" || source != "/functions/registry" {
		t.Errorf("op_log view: %q %q %q %q, %v", action, district, name, source, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM recorded.login_log WHERE username = 'zhang' AND result = 'failure' AND reason = '密码错误'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("login_log view: %d rows, %v", n, err)
	}
}
