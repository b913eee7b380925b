package datahub

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
)

// TestExportCSV (FP-94): the streamed export holds every row of the
// interface for the filter, within the scope and the allow-list, masked,
// headed by the fields' Chinese titles; paging parameters are refused by
// name, and the call is in the access log with its row count.
func TestExportCSV(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "导出", Dataset: "entities",
		Fields: []string{"credit_code", "legal_rep", "district_code"}, Filter: "status=eq.active"})
	rec := call(h.f, c.Key, c.Endpoint+"/export.csv?district_code=eq.130102")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || !strings.Contains(rec.Header().Get("Content-Disposition"), ".csv") {
		t.Fatalf("export: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rec.Body.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 17 { // the header and 长安区's 16 active entities
		t.Fatalf("export has %d lines:\n%s", len(rows), rec.Body)
	}
	if strings.Join(rows[0], ",") != "统一社会信用代码,法定代表人,所属区县代码" {
		t.Errorf("header %v", rows[0])
	}
	for _, r := range rows[1:] {
		if r[2] != "130102" || outsideScope[r[0]] || len(r) != 3 {
			t.Fatalf("row outside the scope or the allow-list: %v", r)
		}
		if !strings.HasPrefix(r[1], "张*") || strings.Contains(r[1], "三丰") {
			t.Fatalf("legal_rep not masked: %q", r[1])
		}
	}
	for q, want := range map[string]string{
		"limit=10":          "请去掉参数 limit",
		"after=x":           "请去掉参数 after",
		"address=eq.x":      "不在本接口开放的字段中",
		"district_code=x.1": "未知运算符",
	} {
		if rec := call(h.f, c.Key, c.Endpoint+"/export.csv?"+q); rec.Code != 400 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d %s, want %q", q, rec.Code, rec.Body, want)
		}
	}
	if rec := call(h.f, "dh_nonsense", c.Endpoint+"/export.csv"); rec.Code != 401 {
		t.Errorf("unknown key: %d", rec.Code)
	}
	var n int
	if err := h.pool.QueryRow(context.Background(), `SELECT rows FROM datahub.access_log WHERE interface_id = $1 AND status = 200 ORDER BY id LIMIT 1`, c.ID).Scan(&n); err != nil || n != 16 {
		t.Errorf("access log of the export: %d rows (%v)", n, err)
	}
}
