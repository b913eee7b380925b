package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/outbox"
)

type publicProfile struct {
	CreditCode string `json:"credit_code"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Sections   []struct {
		Kind    string `json:"kind"`
		Records []struct {
			Title   string          `json:"title"`
			Details json.RawMessage `json:"details"`
		} `json:"records"`
	} `json:"sections"`
}

func TestPublicProfileExcludesNonPublic(t *testing.T) {
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
	var raw []byte
	if err := pool.QueryRow(context.Background(), `SELECT registry.public_profile($1)`, cc).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var p publicProfile
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.CreditCode != cc || p.Name != in["name"] || p.Status != "active" {
		t.Errorf("profile head = %+v", p)
	}
	var kinds []string
	for _, s := range p.Sections {
		kinds = append(kinds, s.Kind)
	}
	if !slices.Equal(kinds, recordKindOrder) {
		t.Errorf("sections %v, want every kind in order %v", kinds, recordKindOrder)
	}
	text := string(raw)
	if strings.Contains(text, "SECRET-REVENUE") || strings.Contains(text, "营业总收入") {
		t.Error("a non-public annual-report item is in the public profile")
	}
	if strings.Contains(text, "不公示的处罚") {
		t.Error("a non-public record is in the public profile")
	}
	for _, want := range []string{"从业人数", "公示的行政处罚", "食品经营许可证"} {
		if !strings.Contains(text, want) {
			t.Errorf("public profile lacks %q", want)
		}
	}
	var missing *string
	if err := pool.QueryRow(context.Background(), `SELECT registry.public_profile('91130102MA0000000X')::text`).Scan(&missing); err != nil || missing != nil {
		t.Errorf("unknown code: %v, %v; want NULL", missing, err)
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
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT registry.public_profile($1)`, cc).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "现场抽查检查") || !strings.Contains(string(raw), "合理缺项") {
		t.Errorf("public profile lacks the inspection: %s", raw)
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
func TestPublicProfileUsesTheIndexForAnyCollation(t *testing.T) {
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
	if err := tx.QueryRow(ctx, `SELECT registry.public_profile($1::text COLLATE "C") ->> 'name'`, in["credit_code"]).Scan(&name); err != nil {
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
		t.Fatalf("public_profile scanned registry.entities sequentially %d time(s)", seq)
	}
}
