package dashboard

import (
	"context"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reaches an entity outside the
// caller's data scope. Extend the scope fixture as routes that touch
// entity data are added.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	seed(t, h)
	// Report 1 and its delivery 1 to the fixture's district user.
	bearer := h.iss.Bearer(authtest.InDistricts(conformance.Permissions(h.f.Handler()), "130102"))
	createReport(t, h, map[string]any{"title": "月报", "dimensions": []string{"district"}, "period": "month"})
	if rec := h.do(t, bearer, "PUT", "/dashboard/v1/reports/1/subscription", nil); rec.Code != 200 {
		t.Fatalf("subscribe: %d %s", rec.Code, rec.Body)
	}
	if n, err := h.f.Deliver(context.Background()); err != nil || n != 1 {
		t.Fatalf("deliver: %d %v", n, err)
	}
	// Topic boards (FP-118, FP-120): a licence and an online shop of the
	// inside entity 0 and of the foreign entities 6 and 10.
	for _, code := range []string{"91130100MA00000000", "91130100MA00000006", "91130100MA00000010"} {
		if _, err := h.pool.Exec(context.Background(), `INSERT INTO registry.stub_dashboard_record_details (credit_code, kind, title, occurred_on, status)
			VALUES ($1, 'licence', '食品经营许可证', '2024-01-01', '有效')`, code); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO monitor.stub_dashboard_online (presence, form, entity_name, credit_code, district_code) VALUES
		('web:in.test', '网店', '甲', '91130100MA00000000', '130102'), ('web:out.test', '网店', '乙', '91130100MA00000006', '130104')`); err != nil {
		t.Fatal(err)
	}
	// Anomalies (FP-102): the seeded codes fail their check characters.
	if _, err := h.f.DetectAnomalies(context.Background()); err != nil {
		t.Fatal(err)
	}
	var inside, foreign string
	if err := h.pool.QueryRow(context.Background(), `SELECT (SELECT min(id) FROM dashboard.anomalies WHERE credit_code = '91130100MA00000000')::text,
		(SELECT min(id) FROM dashboard.anomalies WHERE credit_code = '91130100MA00000006')::text`).Scan(&inside, &foreign); err != nil {
		t.Fatal(err)
	}
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.f.Handler())
	conformance.Scope(t, h.f.Handler(), conformance.ScopeFixture{
		Bearer: bearer,
		// Indicator 1 is the seeded 在业企业: its roster and export list
		// entity 0 (长安区, inside) and never entity 6 (桥西区).
		Params: map[string]string{"id": "1"},
		Queries: map[string]string{"GET /dashboard/v1/indicators/{id}/export": "format=csv",
			"GET /dashboard/v1/topics/licences/export": "format=csv",
			"GET /dashboard/v1/anomalies/export":       "what=list&format=csv"},
		Inside:         map[string]string{"anomaly": inside},
		Foreign:        map[string]string{"anomaly": foreign},
		Bodies:         map[string]string{"POST /dashboard/v1/anomalies/{anomaly}/actions": `{"action":"opinion","opinion":"已核查"}`},
		InsideMarkers:  []string{"91130100MA00000000"},
		ForeignMarkers: []string{"91130100MA00000006", "91130100MA00000010"},
		// PDFs: their text is in compressed streams, so no marker shows in
		// the bytes; TestSubscriptionPerRecipientScope reads them with
		// pdftotext and checks each recipient's scope.
		EmptyListings: []string{"GET /dashboard/v1/reports/{id}/pdf", "GET /dashboard/v1/deliveries/{id}/pdf"},
	})
}
