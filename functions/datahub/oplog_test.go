package datahub

import (
	"context"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
)

// FP-8: generating, rotating and revoking an interface and configuring a
// push each write the operation-log row with the state before and after,
// in the change's transaction; a refused change writes none.
func TestEveryChangeIsInTheOperationLog(t *testing.T) {
	h := newHarness(t, auditlogtest.Migration())
	b := districtUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "日志", Dataset: "entities", Fields: pushFields})
	if rec := h.do(t, b, "POST", "/datahub/v1/interfaces/"+itoa(c.ID)+"/rotate", nil); rec.Code != 200 {
		t.Fatalf("rotate: %d %s", rec.Code, rec.Body)
	}
	job := h.createPush(t, b, c.ID, PushInput{Name: "推送", TargetKind: "postgres", TargetDSN: h.pool.Config().ConnString(), TargetTable: "oplog_target"})
	if rec := h.do(t, b, "POST", "/datahub/v1/interfaces/"+itoa(c.ID)+"/revoke", nil); rec.Code != 204 {
		t.Fatalf("revoke: %d", rec.Code)
	}
	// Refused: an interface with no fields, and rotating a revoked one.
	if rec := h.do(t, b, "POST", "/datahub/v1/interfaces", InterfaceInput{Name: "空", Dataset: "entities"}); rec.Code != 400 {
		t.Fatalf("no fields: %d", rec.Code)
	}
	if rec := h.do(t, b, "POST", "/datahub/v1/interfaces/"+itoa(c.ID)+"/rotate", nil); rec.Code != 404 {
		t.Fatalf("rotate revoked: %d", rec.Code)
	}
	var got []string
	for _, o := range auditlogtest.Ops(t, h.pool, "") {
		if o.Source != Source || o.UserID == "" {
			t.Errorf("%s: source %q user %q", o.Action, o.Source, o.UserID)
		}
		got = append(got, o.Action+" "+o.ObjectType+":"+o.ObjectID+" "+
			auditlogtest.Field(o.Before, "status")+"/"+auditlogtest.Field(o.Before, "key_prefix")+">"+
			auditlogtest.Field(o.After, "status")+"/"+auditlogtest.Field(o.After, "key_prefix"))
	}
	var rotated string
	h.pool.QueryRow(context.Background(), `SELECT key_prefix FROM datahub.interfaces WHERE id = $1`, c.ID).Scan(&rotated)
	id := itoa(c.ID)
	want := []string{
		"datahub.interface.create datahub_interface:" + id + " />active/" + c.KeyPrefix,
		"datahub.interface.rotate datahub_interface:" + id + " active/" + c.KeyPrefix + ">active/" + rotated,
		"datahub.push.create datahub_push:" + itoa(job.ID) + " />/",
		"datahub.interface.revoke datahub_interface:" + id + " active/" + rotated + ">revoked/" + rotated,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("op log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var ops []auditlogtest.Op
	for _, o := range auditlogtest.Ops(t, h.pool, itoa(job.ID)) {
		if o.ObjectType == "datahub_push" {
			ops = append(ops, o)
		}
	}
	if len(ops) != 1 || auditlogtest.Field(ops[0].After, "target_table") != "oplog_target" {
		t.Fatalf("push rows: %d", len(ops))
	}
	if s := string(ops[0].After); strings.Contains(s, "password=") || strings.Contains(s, "target_dsn\":\"postgres://postgres:") {
		t.Errorf("the push row carries a password: %s", s)
	}
}
