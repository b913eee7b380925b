package audit

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// FP-9, 三员分立: the audit administrator, and only the audit
// administrator, reads and exports the logs — a system administrator who
// holds the permissions is refused, as is an auditor without the export
// permission; alerts are the security administrator's alone.
func TestOnlyTheAuditorReadsAndExportsTheLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now, nil)
	e.login(auditlog.Login{UserID: "u1", Username: "zhang", IP: "10.0.0.1", Result: auditlog.ResultSuccess})
	e.op(auditlog.Operation{UserID: "u1", Username: "zhang", Action: "user.edit", ObjectType: "user", ObjectID: "u2"})
	noRole := sysadminP
	noRole.Roles = nil
	for _, c := range []struct {
		name   string
		p      *auth.Principal
		target string
		status int
	}{
		{"anonymous", nil, "/audit/v1/logs/login", 401},
		{"sysadmin-with-permission", &sysadminP, "/audit/v1/logs/login", 403},
		{"sysadmin-export", &sysadminP, "/audit/v1/logs/operation/export", 403},
		{"no-role", &noRole, "/audit/v1/logs/operation", 403},
		{"secadmin", &secadminP, "/audit/v1/logs/operation", 403},
		{"viewer-export", &viewerP, "/audit/v1/logs/login/export", 403},
		{"auditor-alerts", &auditorP, "/audit/v1/alerts", 403},
		{"sysadmin-alerts", &sysadminP, "/audit/v1/alerts", 403},
		{"auditor-login", &auditorP, "/audit/v1/logs/login", 200},
		{"auditor-operation", &auditorP, "/audit/v1/logs/operation", 200},
		{"auditor-login-export", &auditorP, "/audit/v1/logs/login/export", 200},
		{"auditor-operation-export", &auditorP, "/audit/v1/logs/operation/export?format=csv", 200},
		{"auditor-archives", &auditorP, "/audit/v1/logs/archives", 200},
		{"viewer-login", &viewerP, "/audit/v1/logs/login", 200},
		{"secadmin-alerts", &secadminP, "/audit/v1/alerts", 200},
	} {
		if rec := e.get(c.p, c.target); rec.Code != c.status {
			t.Errorf("%s: GET %s = %d, want %d: %s", c.name, c.target, rec.Code, c.status, rec.Body)
		}
	}
}

func TestLogAPI(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, fixed(now), nil)
	for i := range 25 {
		res := auditlog.ResultSuccess
		if i%5 == 0 {
			res = auditlog.ResultFailure
		}
		e.login(auditlog.Login{At: now.Add(-time.Duration(i) * time.Hour), UserID: fmt.Sprintf("u%d", i%3), Username: fmt.Sprintf("user%d", i%3),
			IP: fmt.Sprintf("10.0.%d.1", i), Device: "Chrome", Result: res})
	}
	e.op(auditlog.Operation{At: now, UserID: "u1", Username: "user1", Action: "user.edit", ObjectType: "user", ObjectID: "u9",
		Before: map[string]any{"phone": "13812341234", "id_number": "11010519491231002X", "note": "电话13912345678"},
		After:  map[string]any{"phone": "13812340000", "password_hash": "$argon2id$...", "name": "=HYPERLINK(\"http://evil\")"}})
	e.login(auditlog.Login{At: now.Add(-30 * time.Hour), Username: "13812345678", IP: "10.9.9.9", Result: auditlog.ResultFailure, Reason: "账号不存在"})
	for _, c := range []struct {
		name, target string
		status       int
	}{
		{"bad-sort-400", "/audit/v1/logs/login?sort=password", 400},
		{"bad-from-400", "/audit/v1/logs/login?from=yesterday", 400},
		{"bad-range-400", "/audit/v1/logs/login?from=2026-11-26&to=2026-11-25", 400},
		{"bad-result-400", "/audit/v1/logs/operation?result=maybe", 400},
		{"bad-page-400", "/audit/v1/logs/login?page_size=1000", 400},
		{"unknown-param-400", "/audit/v1/logs/login?action=user.edit", 400},
		{"bad-format-400", "/audit/v1/logs/login/export?format=pdf", 400},
		{"long-q-400", "/audit/v1/logs/login?q=" + strings.Repeat("长", 101), 400},
		{"ok-200", "/audit/v1/logs/operation?action=user&object_type=user&object_id=u9&from=2026-11-01&to=2026-11-30T00:00:00Z&sort=-action", 200},
	} {
		if rec := e.get(&auditorP, c.target); rec.Code != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, rec.Code, c.status, rec.Body)
		}
	}
	if rec := e.get(&secadminP, "/audit/v1/alerts?kind=new_place&user=zhang&ip=10.&q=x"); rec.Code != 200 {
		t.Errorf("alert filters: %d %s", rec.Code, rec.Body)
	}
	if rec := e.get(&secadminP, "/audit/v1/alerts?kind=other"); rec.Code != 400 {
		t.Errorf("unknown alert kind: %d", rec.Code)
	}

	var page httpx.PageOf[LoginRow]
	rec := e.get(&auditorP, "/audit/v1/logs/login?result=failure&sort=at&page_size=2&page=2")
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// Failures: the phone-number attempt 30 h ago, then i = 20, 15, 10, 5, 0;
	// ascending by time, page 2 holds i = 15 and 10.
	if page.Total != 6 || len(page.Items) != 2 || page.Items[0].IP != "10.0.15.1" || page.Items[1].IP != "10.0.10.1" || page.Items[0].Source != "identity" {
		t.Errorf("page = %+v", page)
	}
	rec = e.get(&auditorP, "/audit/v1/logs/login?ip=10.9.")
	if !strings.Contains(rec.Body.String(), `"username":"138****5678"`) || strings.Contains(rec.Body.String(), "13812345678") {
		t.Errorf("typed phone not masked: %s", rec.Body)
	}
	rec = e.get(&auditorP, "/audit/v1/logs/login?user=user1&from=2026-11-26&to=2026-11-26")
	_ = json.Unmarshal(rec.Body.Bytes(), &page)
	for _, it := range page.Items {
		if it.Username != "user1" || it.At.In(shanghai()).Format("2006-01-02") != "2026-11-26" {
			t.Errorf("filtered row %+v", it)
		}
	}
	if page.Total == 0 || page.Items[0].Location != "内网" {
		t.Errorf("user filter: %+v", page)
	}
	// LIKE wildcards in a filter match literally.
	if rec := e.get(&auditorP, "/audit/v1/logs/login?ip=10.0._"); !strings.Contains(rec.Body.String(), `"total":0`) {
		t.Errorf("ip=10.0._ matched as a pattern: %.200s", rec.Body)
	}

	var ops httpx.PageOf[OpRow]
	rec = e.get(&auditorP, "/audit/v1/logs/operation?action=user&q=u9")
	if err := json.Unmarshal(rec.Body.Bytes(), &ops); err != nil || ops.Total != 1 {
		t.Fatalf("ops: %s", rec.Body)
	}
	body := rec.Body.String()
	for _, secret := range []string{"13812341234", "11010519491231002X", "13912345678", "argon2id"} {
		if strings.Contains(body, secret) {
			t.Errorf("operation log shows %s: %s", secret, body)
		}
	}
	if !strings.Contains(body, "138****1234") || !strings.Contains(body, "110105********002X") {
		t.Errorf("masked values missing: %s", body)
	}

	rec = e.get(&auditorP, "/audit/v1/logs/operation/export?action=user")
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %s", rec.Code, rec.Body)
	}
	x, err := excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	xrows, _ := x.GetRows(x.GetSheetName(0))
	if len(xrows) != 2 || xrows[0][4] != "操作" || xrows[1][4] != "user.edit" || strings.Contains(strings.Join(xrows[1], ","), "13812341234") {
		t.Errorf("export rows = %q", xrows)
	}
	rec = e.get(&auditorP, "/audit/v1/logs/login/export?result=failure&format=csv")
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(rec.Body.String(), "\uFEFF")))
	r.FieldsPerRecord = -1
	crows, err := r.ReadAll()
	if err != nil || len(crows) != 7 || crows[1][5] != "失败" {
		t.Errorf("login export rows = %d (%v): %q", len(crows), err, crows)
	}
	// The exports themselves are in the operation log, by the auditor.
	if n := count(t, e.pool, `SELECT count(*) FROM audit.op_log WHERE action = 'audit.log.export' AND username = 'auditor1' AND source = 'audit'`); n != 2 {
		t.Errorf("export op rows = %d", n)
	}
	// The export limit refuses rather than cut.
	e.f.cfg.MaxExportRows = 3
	if rec := e.get(&auditorP, "/audit/v1/logs/login/export"); rec.Code != 400 || !strings.Contains(rec.Body.String(), "超过单次导出上限") {
		t.Errorf("over the export limit: %d %s", rec.Code, rec.Body)
	}
}
