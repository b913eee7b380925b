package policymatch

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

// FP-8: creating a policy, saving it again under the same title and number,
// and editing it leave operation-log rows naming the person, the policy and
// the issuer before and after.
func TestOpLogPolicyCreateAndEdit(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	in := map[string]any{"title": "软件企业研发投入奖补办法", "doc_no": "石科〔2026〕1号", "issuer": "石家庄市科学技术局",
		"condition": map[string]any{"industries": []string{"65"}}}
	p := h.createPolicy(t, bearer, in, false)
	id := strconv.FormatInt(p.ID, 10)
	in["issuer"] = "石家庄市工业和信息化局"
	if rec := h.do(t, bearer, "POST", "/policy/v1/policies", in); rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
		t.Fatalf("save again: %d %s", rec.Code, rec.Body)
	}
	in["issuer"] = "石家庄市发展和改革委员会"
	if rec := h.do(t, bearer, "PUT", "/policy/v1/policies/"+id, in); rec.Code != 200 {
		t.Fatalf("edit: %d %s", rec.Code, rec.Body)
	}
	ops := auditlogtest.Ops(t, h.pool, id)
	if len(ops) != 3 {
		t.Fatalf("want create, save, edit; got %+v", ops)
	}
	if c := ops[0]; c.Action != "policy.create" || c.ObjectType != "policy" || c.UserID != "city-user" || c.Before != nil ||
		auditlogtest.Field(c.After, "issuer") != "石家庄市科学技术局" {
		t.Errorf("create: %+v %s", c, c.After)
	}
	for i, want := range [][2]string{1: {"石家庄市科学技术局", "石家庄市工业和信息化局"}, 2: {"石家庄市工业和信息化局", "石家庄市发展和改革委员会"}} {
		if i == 0 {
			continue
		}
		o := ops[i]
		if o.Action != "policy.update" || o.ObjectID != id || o.UserID != "city-user" ||
			auditlogtest.Field(o.Before, "issuer") != want[0] || auditlogtest.Field(o.After, "issuer") != want[1] {
			t.Errorf("update %d: %+v %s %s", i, o, o.Before, o.After)
		}
	}
}
