package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// publicPage is a row of registry.public_page.
type publicPage struct {
	CreditCode, Name, Status string
	Records                  []struct {
		Kind       string          `json:"kind"`
		Title      string          `json:"title"`
		OccurredOn string          `json:"occurred_on"`
		Details    json.RawMessage `json:"details"`
	}
	raw string // the records as sent
}

// readPublicPage calls the published function the way scan-resolve does;
// ok is false when it returns no row.
func readPublicPage(t *testing.T, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, code string) (p publicPage, ok bool) {
	t.Helper()
	var recs []byte
	err := q.QueryRow(context.Background(), `SELECT credit_code, name, status, records FROM registry.public_page($1)`, code).
		Scan(&p.CreditCode, &p.Name, &p.Status, &recs)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if recs != nil {
		if err := json.Unmarshal(recs, &p.Records); err != nil {
			t.Fatal(err)
		}
	}
	p.raw = string(recs)
	return p, true
}

func TestPublicPageExcludesNonPublic(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	in := validInput(t, 41)
	cc := in["credit_code"].(string)
	if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	for _, r := range []map[string]any{
		{"kind": "annual_report", "title": "2024年度报告", "occurred_on": "2025-03-01", "details": map[string]any{"year": 2024,
			"items": []map[string]any{
				{"name": "从业人数", "value": "12", "public": true},
				{"name": "营业总收入", "value": "SECRET-REVENUE", "public": false},
			}}},
		{"kind": "penalty", "title": "不公示的处罚", "occurred_on": "2025-01-01", "public": false},
		{"kind": "penalty", "title": "公示的行政处罚", "occurred_on": "2025-02-01"},
		{"kind": "licence", "title": "食品经营许可证", "occurred_on": "2024-02-01"},
	} {
		if rec := do(t, h, "POST", "/registry/v1/entities/"+cc+"/records", r); rec.Code != http.StatusCreated {
			t.Fatalf("add record: %d %s", rec.Code, rec.Body)
		}
	}
	p, ok := readPublicPage(t, pool, cc)
	if !ok || p.CreditCode != cc || p.Name != in["name"] || p.Status != "active" {
		t.Errorf("public page head = %+v (found %v)", p, ok)
	}
	var titles []string
	for _, r := range p.Records {
		titles = append(titles, r.Title)
	}
	// Newest first: the caller groups by kind and keeps this order.
	if want := []string{"2024年度报告", "公示的行政处罚", "食品经营许可证"}; !slices.Equal(titles, want) {
		t.Errorf("records %v, want %v", titles, want)
	}
	text := p.raw
	if strings.Contains(text, "SECRET-REVENUE") || strings.Contains(text, "营业总收入") {
		t.Error("a non-public annual-report item is in the public page")
	}
	if strings.Contains(text, "不公示的处罚") {
		t.Error("a non-public record is in the public page")
	}
	for _, want := range []string{"从业人数", "公示的行政处罚", "食品经营许可证"} {
		if !strings.Contains(text, want) {
			t.Errorf("public page lacks %q", want)
		}
	}
	if _, ok := readPublicPage(t, pool, "91130102MA0000000X"); ok {
		t.Error("an unknown code has a public page")
	}
}

func TestReceiveInspectionAddsRecordOnce(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	in := validInput(t, 42)
	cc := in["credit_code"].(string)
	if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	e, err := outbox.NewEvent("/functions/scan-resolve", events.ScanInspectionRecorded, cc, events.ScanInspectionRecordedData{
		InspectionID: "0190b6a4-1f2e-7c3d-8e4f-5a6b7c8d9e0f", CreditCode: cc, Token: "t", Kind: "spot_check",
		Title: "现场抽查检查", Authority: "长安区市场监督管理局", InspectedOn: time.Now().Format(time.DateOnly),
		Items:      []events.InspectionItem{{Name: "证照公示", Result: "合格"}, {Name: "冷链", Result: "合理缺项", Reason: "不经营"}},
		Conclusion: "合格", InspectorID: "u1", RecordedAt: time.Now()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // redelivery is a no-op
		if _, err := f.Receive(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	var n, version, updates int
	ctx := context.Background()
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM registry.records WHERE credit_code = $1 AND kind = 'spot_check'`, cc).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT version FROM registry.entities WHERE credit_code = $1`, cc).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM platform.outbox WHERE event_type = $1 AND subject = $2`, events.EntityUpdated, cc).Scan(&updates); err != nil {
		t.Fatal(err)
	}
	if n != 1 || version != 2 || updates != 1 {
		t.Errorf("records=%d version=%d entity.updated=%d, want 1, 2, 1", n, version, updates)
	}
	// FP-8: the event-driven change is logged once, by the system actor.
	var sys []string
	for _, o := range auditlogtest.Ops(t, pool, cc) {
		if o.Action == "registry.record.create" {
			sys = append(sys, o.Username+" "+auditlogtest.Field(o.After, "kind"))
		}
	}
	if len(sys) != 1 || sys[0] != "system:registry spot_check" {
		t.Errorf("inspection op-log rows = %v", sys)
	}
	if p, _ := readPublicPage(t, pool, cc); !strings.Contains(p.raw, "现场抽查检查") || !strings.Contains(p.raw, "合理缺项") {
		t.Errorf("public page lacks the inspection: %s", p.raw)
	}

	bad := event.New()
	bad.SetID("x")
	bad.SetSource("/functions/scan-resolve")
	bad.SetType(events.ScanInspectionRecorded)
	_ = bad.SetData(event.ApplicationJSON, map[string]any{"credit_code": "91130102MA0000000X", "kind": "inspection",
		"title": "检查", "inspected_on": "2025-01-01", "conclusion": "合格"})
	if _, err := f.Receive(ctx, bad); err == nil {
		t.Error("an inspection of an unknown entity was accepted")
	}
}

// Callers pass credit codes from "C"-collated columns (qr.codes); the
// lookup must still use the primary key, not scan every entity.
func TestPublicPageUsesTheIndexForAnyCollation(t *testing.T) {
	f, pool := newFunction(t)
	in := validInput(t, 42)
	if rec := do(t, f.Handler(), "POST", "/registry/v1/entities", in); rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// Small tables favour sequential scans whatever the index; forbid them
	// so that only an unusable index can produce one.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := tx.QueryRow(ctx, `SELECT name FROM registry.public_page($1::text COLLATE "C")`, in["credit_code"]).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != in["name"] {
		t.Fatalf("name %q, want %q", name, in["name"])
	}
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT seq_scan FROM pg_stat_xact_user_tables WHERE schemaname = 'registry' AND relname = 'entities'`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if seq != 0 {
		t.Fatalf("public_page scanned registry.entities sequentially %d time(s)", seq)
	}
}
