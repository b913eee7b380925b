package documents

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/codes"
)

// FP-8: creating and editing a document leave operation-log rows naming the
// person, the document and the changed value before and after, with the
// contact phone masked.
func TestOpLogDocumentCreateAndEdit(t *testing.T) {
	h := newHarness(t)
	e1 := enterprise("e1")
	d := h.newRepair(t, e1, h.changan)
	v := clone(d.Values)
	v["contact"] = "王芳"
	h.must(t, 200, h.bearer(e1), "PUT", fmt.Sprintf("/docs/v1/documents/%d", d.ID), UpdateInput{Values: v, Version: d.Version, Summary: "改联系人"}, &d)
	ops := auditlogtest.Ops(t, h.pool, fmt.Sprint(d.ID))
	var c, e *auditlogtest.Op
	for i, o := range ops {
		switch o.Action {
		case "document.create":
			c = &ops[i]
		case "document.edit":
			e = &ops[i]
		}
	}
	if c == nil || e == nil {
		t.Fatalf("want document.create and document.edit; got %+v", ops)
	}
	values := func(state []byte) map[string]string {
		var s struct{ Values map[string]string }
		if err := json.Unmarshal(state, &s); err != nil {
			t.Fatal(err)
		}
		return s.Values
	}
	if c.UserID != "e1" || c.ObjectType != "document" || c.DistrictCode != "130102" || c.Before != nil || values(c.After)["contact"] != "李娜" {
		t.Errorf("create: %+v %s", *c, c.After)
	}
	if e.UserID != "e1" || values(e.Before)["contact"] != "李娜" || values(e.After)["contact"] != "王芳" ||
		auditlogtest.Field(e.Before, "version") != "1.0.0" || auditlogtest.Field(e.After, "version") == "1.0.0" {
		t.Errorf("edit: %+v %s %s", *e, e.Before, e.After)
	}
	for _, o := range ops {
		for _, s := range [][]byte{o.Before, o.After} {
			if strings.Contains(string(s), "86001234") {
				t.Errorf("%s: the phone is not masked: %s", o.Action, s)
			}
		}
	}
	if p := values(c.After)["phone"]; p != codes.MaskPhone("0311-86001234") {
		t.Errorf("masked phone %q", p)
	}
}
