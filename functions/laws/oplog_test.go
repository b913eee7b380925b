package laws

import (
	"strconv"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
)

// FP-8: entering and editing a regulation by hand leave operation-log rows
// naming the person, the document and the title before and after.
func TestOpLogDocumentCreateAndEdit(t *testing.T) {
	h := newHarness(t)
	d := decode[Document](t, h.do(t, h.admin(), "POST", "/laws/v1/documents", hebeiRegulation))
	id := strconv.FormatInt(d.ID, 10)
	edit := hebeiRegulation
	edit.Title, edit.Version = "石家庄市示例食品小作坊条例（示例）", d.Version
	if rec := h.do(t, h.admin(), "PUT", "/laws/v1/documents/"+id, edit); rec.Code != 200 {
		t.Fatalf("edit: %d %s", rec.Code, rec.Body)
	}
	ops := auditlogtest.Ops(t, h.pool, id)
	if len(ops) != 2 {
		t.Fatalf("want create and edit; got %+v", ops)
	}
	c, e := ops[0], ops[1]
	if c.Action != "laws.document.create" || c.ObjectType != "law_document" || c.UserID != "city-user" || c.Before != nil ||
		auditlogtest.Field(c.After, "title") != hebeiRegulation.Title {
		t.Errorf("create: %+v %s", c, c.After)
	}
	if e.Action != "laws.document.edit" || e.ObjectID != id || e.UserID != "city-user" ||
		auditlogtest.Field(e.Before, "title") != hebeiRegulation.Title || auditlogtest.Field(e.After, "title") != edit.Title {
		t.Errorf("edit: %+v %s %s", e, e.Before, e.After)
	}
}
