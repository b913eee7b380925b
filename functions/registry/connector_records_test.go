package registry

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// TestReceiveConnectorRecord (FP-14, FP-15, FP-19): a pulled penalty joins
// the file and the public page once per event; the same remote record
// changed replaces it (one record, the log says update); a person stays
// off the public page; every change is in the entity's operation log.
func TestReceiveConnectorRecord(t *testing.T) {
	f, pool := newFunction(t)
	in := validInput(t, 43)
	cc := in["credit_code"].(string)
	if rec := do(t, f.Handler(), "POST", "/registry/v1/entities", in); rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	ctx := context.Background()
	send := func(d events.ConnectorRecordReceivedData) error {
		e, err := outbox.NewEvent("/functions/connectors", events.ConnectorRecordReceived, cc, d, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // a redelivery is a no-op
			if _, err := f.Receive(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}
	pen := events.ConnectorRecordReceivedData{Connector: "publicity", SourceKey: "publicity/penalty/CF-1", CreditCode: cc, Kind: "penalty",
		RefNo: "石市监罚〔2026〕7号", Title: "行政处罚：罚款", Authority: "石家庄市市场监督管理局", OccurredOn: "2026-03-01", Status: "未履行",
		Public: true, Details: map[string]any{"amount": "5000", "legal_basis": "《食品安全法》第一百二十四条"}}
	if err := send(pen); err != nil {
		t.Fatal(err)
	}
	pen.Status = "已履行"
	if err := send(pen); err != nil {
		t.Fatal(err)
	}
	person := events.ConnectorRecordReceivedData{Connector: "legalperson", SourceKey: "legalperson/P1", CreditCode: cc, Kind: "person",
		RefNo: "P1", Title: "法定代表人：王秘密", Authority: "法人库", OccurredOn: "2026-03-02", Status: "法定代表人", Public: false,
		Details: map[string]any{"id_no": "130102********1234"}}
	if err := send(person); err != nil {
		t.Fatal(err)
	}
	var n int
	var status string
	pool.QueryRow(ctx, `SELECT count(*), max(status) FROM registry.records WHERE credit_code = $1 AND kind = 'penalty'`, cc).Scan(&n, &status)
	if n != 1 || status != "已履行" {
		t.Fatalf("penalties %d with status %q, want 1 已履行", n, status)
	}
	p, _ := readPublicPage(t, pool, cc)
	if !strings.Contains(p.raw, "行政处罚：罚款") || strings.Contains(p.raw, "王秘密") {
		t.Errorf("public page: penalty shown, person hidden expected: %s", p.raw)
	}
	prof, err := f.Profile(ctx, auth.All(), cc)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range prof.Sections {
		if s.Kind == "person" && len(s.Records) == 1 && s.Name == "涉市场经营人员" {
			found = true
		}
	}
	if !found {
		t.Errorf("the one file has no person section: %+v", prof.Sections)
	}
	var actions []string
	for _, o := range auditlogtest.Ops(t, pool, cc) {
		if strings.HasPrefix(o.Username, "system:registry:") {
			actions = append(actions, o.Username+" "+o.Action)
		}
	}
	want := "system:registry:publicity registry.record.create,system:registry:publicity registry.record.update,system:registry:legalperson registry.record.create"
	if strings.Join(actions, ",") != want {
		t.Errorf("op-log %v, want %s", actions, want)
	}
	bad := pen
	bad.CreditCode, bad.SourceKey = "91130102MA0000000X", "publicity/penalty/X"
	e, _ := outbox.NewEvent("/functions/connectors", events.ConnectorRecordReceived, bad.CreditCode, bad, time.Now())
	if _, err := f.Receive(ctx, e); err == nil {
		t.Error("a record of an unknown entity was accepted")
	}
}
