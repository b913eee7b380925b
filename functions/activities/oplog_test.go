package activities

import (
	"strconv"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
)

// FP-8: creating, editing and summing up an activity leave operation-log rows naming the
// person, the activity and the changed field before and after.
func TestOpLogActivityCreateAndEdit(t *testing.T) {
	h := newHarness(t)
	a := h.published(t, time.Hour, 3, 0)
	id := strconv.FormatInt(a.ID, 10)
	in := ActivityInput{Theme: a.Theme, Place: a.Place, Organiser: a.Organiser, StartsAt: a.StartsAt, EndsAt: a.EndsAt, Capacity: 5, Version: 2}
	if rec := h.do(t, h.staff(), "PUT", "/activities/v1/activities/"+id, in); rec.Code != 200 {
		t.Fatalf("edit: %d %s", rec.Code, rec.Body)
	}
	h.now = h.now.Add(3 * time.Hour)
	if rec := h.do(t, h.staff(), "PUT", "/activities/v1/activities/"+id+"/summary", SummaryInput{Summary: "共 3 人参加。"}); rec.Code != 200 {
		t.Fatalf("summary: %d %s", rec.Code, rec.Body)
	}
	ops := auditlogtest.Ops(t, h.pool, id)
	if len(ops) != 4 {
		t.Fatalf("want create, publish, edit, summary; got %+v", ops)
	}
	c, e, s := ops[0], ops[2], ops[3]
	if s.Action != "activities.activity.summary" || s.Before == nil || auditlogtest.Field(s.Before, "summary") != "" ||
		auditlogtest.Field(s.After, "summary") != "共 3 人参加。" {
		t.Errorf("summary: %+v %s %s", s, s.Before, s.After)
	}
	if c.Action != "activities.activity.create" || c.ObjectType != "activity" || c.UserID != "city-user" || c.Before != nil ||
		auditlogtest.Field(c.After, "capacity") != "3" || auditlogtest.Field(c.After, "theme") != a.Theme {
		t.Errorf("create: %+v %s %s", c, c.Before, c.After)
	}
	if e.Action != "activities.activity.edit" || e.ObjectID != id || e.UserID != "city-user" ||
		auditlogtest.Field(e.Before, "capacity") != "3" || auditlogtest.Field(e.After, "capacity") != "5" {
		t.Errorf("edit: %+v %s %s", e, e.Before, e.After)
	}
}
