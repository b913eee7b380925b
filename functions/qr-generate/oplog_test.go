package qrgenerate

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// FP-8: each change of a code writes the platform operation-log row with
// the code's state before and after, in the change's transaction; a
// refused change leaves a failure row without state, never a success.
func TestEveryChangeIsInTheOperationLog(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, storetest.New(t, append(Migrations(), auditlogtest.Migration())...))
	c := e.register(entity(t, "enterprise", "130102"))
	p := admin()
	if rec := e.do(&p, "POST", "/qr/v1/codes/"+c.Token+"/invalidate", map[string]string{"reason": "旧码作废"}); rec.Code != http.StatusOK {
		t.Fatalf("invalidate: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(&p, "POST", "/qr/v1/codes/"+c.Token+"/invalidate", map[string]string{"reason": "再次作废"}); rec.Code != http.StatusConflict {
		t.Fatalf("second invalidate: %d", rec.Code)
	}
	if rec := e.do(&p, "POST", "/qr/v1/codes/"+c.Token+"/reactivate", map[string]string{"reason": "误操作"}); rec.Code != http.StatusOK {
		t.Fatalf("reactivate: %d %s", rec.Code, rec.Body)
	}
	var got []string
	ops := auditlogtest.Ops(t, e.pool, c.Token)
	for _, o := range ops {
		st := auditlogtest.Field(o.Before, "status") + ">" + auditlogtest.Field(o.After, "status")
		got = append(got, o.Action+" "+o.Username+" "+st)
		if o.Source != Source || o.ObjectType != "qr_code" || o.DistrictCode != "130102" {
			t.Errorf("%s: source %s type %s district %s", o.Action, o.Source, o.ObjectType, o.DistrictCode)
		}
	}
	want := []string{"qr.issue system >active", "qr.invalidate city（市局用户） active>invalid",
		"qr.invalidate city（市局用户） >", "qr.reactivate city（市局用户） invalid>active"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("op log = %q, want %q", got, want)
	}
	if ops[1].IP == "" || ops[1].UserID != p.UserID || auditlogtest.Field(ops[1].After, "invalidate_reason") != "旧码作废" {
		t.Errorf("invalidate row: ip %q user %q after %s", ops[1].IP, ops[1].UserID, ops[1].After)
	}
	var failed int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM recorded.op_log WHERE object_id = $1 AND result = 'failure'`, c.Token).Scan(&failed); err != nil || failed != 1 {
		t.Errorf("failure rows = %d, %v", failed, err)
	}
}
