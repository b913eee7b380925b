package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// testAuth is the token issuer and verifier of this package's tests: one
// key for all of them, so do() can attach a token without knowing which
// test's function it calls.
var testAuth = sync.OnceValues(func() (*auth.Issuer, *auth.Verifier) {
	k, err := auth.GenerateKey()
	if err != nil {
		panic(err)
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: authtest.IssuerName, Audience: authtest.Audience, Key: k})
	if err != nil {
		panic(err)
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: authtest.IssuerName, Audience: authtest.Audience})
	if err != nil {
		panic(err)
	}
	return iss, v
})

// allPerms is every registry permission.
var allPerms = []string{"registry.entity:view", "registry.entity:create", "registry.entity:edit", "registry.entity:export",
	"registry.import:create"}

// tokenFor signs an access token for p with the package's test key.
func tokenFor(t *testing.T, p auth.Principal) string {
	t.Helper()
	iss, _ := testAuth()
	if p.UserID == "" {
		p.UserID = "test-user"
	}
	raw, _, err := iss.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newFunction(t *testing.T) (*Function, *pgxpool.Pool) {
	t.Helper()
	pool := storetest.New(t, append(Migrations(), auditlogtest.Migration())...)
	_, v := testAuth()
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: time.Now, Verifier: v}, config.Defaults[Config]())
	if err != nil {
		t.Fatal(err)
	}
	return f, pool
}

func TestNewRequiresEachDependency(t *testing.T) {
	pool := &pgxpool.Pool{}
	log := httpx.NewLogger(io.Discard, "error")
	_, v := testAuth()
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Now: time.Now, Verifier: v},
		"pool":     {Logger: log, Now: time.Now, Verifier: v},
		"now":      {Logger: log, Pool: pool, Verifier: v},
		"verifier": {Logger: log, Pool: pool, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: v}, Config{}); err == nil {
		t.Error("a zero export limit accepted")
	}
	if _, err := New(Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: v}, def); err != nil {
		t.Errorf("complete deps refused: %v", err)
	}
}

func code(t *testing.T, prefix, district string, n int) string {
	t.Helper()
	c, err := codes.MakeCreditCode(prefix, district, fmt.Sprintf("MA%06d", n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func validInput(t *testing.T, n int) map[string]any {
	return map[string]any{
		"credit_code": code(t, "91", "130102", n), "name": fmt.Sprintf("河北恒达建材第%d有限公司", n), "entity_type": "enterprise",
		"legal_rep": "张建国", "established_on": "2019-05-20", "registered_capital": 500.5, "business_scope": "建材销售",
		"address": "石家庄市长安区建设北大街1号", "district_code": "130102", "industry_code": "5164",
		"longitude": 114.52, "latitude": 38.05,
	}
}

// do calls the API as a city-wide user holding every registry permission.
func do(t *testing.T, h http.Handler, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	return doAs(t, h, tokenFor(t, authtest.CityWide(allPerms...)), method, path, body)
}

// doAs calls the API with the given access token ("" for none).
func doAs(t *testing.T, h http.Handler, token, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func outboxTypes(t *testing.T, pool *pgxpool.Pool, subject string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT event_type FROM platform.outbox WHERE subject = $1 ORDER BY seq`, subject)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func errorFields(t *testing.T, rec *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	var body httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	out := map[string]string{}
	for _, f := range body.Error.Fields {
		out[f.Field] = f.Message
	}
	return out
}

func TestCreateValidatesEveryField(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	cases := []struct {
		name   string
		change map[string]any
		field  string
	}{
		{"bad-check-digit", map[string]any{"credit_code": "91130102MA0000001X"}, "credit_code"},
		{"prefix-mismatch", map[string]any{"entity_type": "individual"}, "credit_code"},
		{"unknown-district", map[string]any{"district_code": "130199"}, "district_code"},
		{"township-elsewhere", map[string]any{"township_code": "130104001"}, "township_code"},
		{"unknown-industry", map[string]any{"industry_code": "9999"}, "industry_code"},
		{"future-date", map[string]any{"established_on": "2999-01-01"}, "established_on"},
		{"negative-capital", map[string]any{"registered_capital": -1}, "registered_capital"},
		{"empty-name", map[string]any{"name": ""}, "name"},
		{"outside-hebei", map[string]any{"longitude": 100.0}, "longitude"},
	}
	for i, c := range cases {
		t.Run("create-400-"+c.name, func(t *testing.T) {
			in := validInput(t, 100+i)
			for k, v := range c.change {
				in[k] = v
			}
			rec := do(t, h, "POST", "/registry/v1/entities", in)
			if rec.Code != 400 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if msg := errorFields(t, rec)[c.field]; msg == "" || !containsHan(msg) {
				t.Fatalf("no Chinese message for %s: %s", c.field, rec.Body)
			}
		})
	}
	var n int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.outbox`).Scan(&n)
	if n != 0 {
		t.Fatalf("rejected input left %d outbox rows", n)
	}
}

func containsHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// FP-17: the entity base.
func TestCreateGetUpdateEmitsEvents(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	in := validInput(t, 1)
	rec := do(t, h, "POST", "/registry/v1/entities", in)
	if rec.Code != 201 {
		t.Fatalf("create-201: %d %s", rec.Code, rec.Body)
	}
	var e Entity
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if e.DistrictName != "长安区" || e.RegisteredCapital != "500.5" || e.Version != 1 || e.Latitude == nil {
		t.Fatalf("created entity = %+v", e)
	}
	if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != 409 {
		t.Fatalf("create-409: %d", rec.Code)
	}
	if rec := do(t, h, "GET", "/registry/v1/entities/"+strings.ToLower(e.CreditCode), nil); rec.Code != 200 {
		t.Fatalf("get-200 (lower-case code): %d", rec.Code)
	}
	if rec := do(t, h, "GET", "/registry/v1/entities/"+code(t, "91", "130102", 999), nil); rec.Code != 404 {
		t.Fatalf("get-404: %d", rec.Code)
	}
	in["status"], in["version"] = "revoked", 1
	delete(in, "credit_code")
	if rec := do(t, h, "PUT", "/registry/v1/entities/"+e.CreditCode, in); rec.Code != 200 {
		t.Fatalf("update-200: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, "PUT", "/registry/v1/entities/"+e.CreditCode, in); rec.Code != 409 {
		t.Fatalf("update-409 with stale version: %d", rec.Code)
	}
	want := []string{events.EntityRegistered, events.EntityUpdated, events.EntityDeregistered}
	if got := outboxTypes(t, pool, e.CreditCode); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("outbox = %v, want %v", got, want)
	}
}

// FP-99: one household, one file.
func TestSearchAndProfile(t *testing.T) {
	f, _ := newFunction(t)
	h := f.Handler()
	for i := range 3 {
		in := validInput(t, i+1)
		if i == 2 {
			in["name"] = "桥西区阳光养老服务中心"
			in["credit_code"] = code(t, "52", "130104", 3)
			in["entity_type"] = "non_enterprise"
			in["district_code"] = "130104"
		}
		if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != 201 {
			t.Fatalf("seed %d: %s", i, rec.Body)
		}
	}
	var res SearchResult
	rec := do(t, h, "GET", "/registry/v1/entities?name=恒达&page_size=1", nil)
	_ = json.Unmarshal(rec.Body.Bytes(), &res)
	if rec.Code != 200 || res.Total != 2 || len(res.Items) != 1 || !res.TotalExact {
		t.Fatalf("name search: %d %+v", rec.Code, res)
	}
	rec = do(t, h, "GET", "/registry/v1/entities?district=130104&type=non_enterprise", nil)
	_ = json.Unmarshal(rec.Body.Bytes(), &res)
	if res.Total != 1 || res.Items[0].Name != "桥西区阳光养老服务中心" {
		t.Fatalf("district+type search: %+v", res)
	}
	if rec := do(t, h, "GET", "/registry/v1/entities?name=恒", nil); rec.Code != 400 {
		t.Fatalf("one-character name search accepted: %d", rec.Code)
	}
	rec = do(t, h, "GET", "/registry/v1/entities?name=恒达&page=5", nil)
	_ = json.Unmarshal(rec.Body.Bytes(), &res)
	if rec.Code != 200 || res.Total != 2 || len(res.Items) != 0 {
		t.Fatalf("page past the end: %d %+v", rec.Code, res)
	}
	if rec := do(t, h, "GET", "/registry/v1/entities?page_size=500", nil); rec.Code != 400 {
		t.Fatalf("page_size 500 accepted: %d", rec.Code)
	}
	c := code(t, "91", "130102", 1)
	rec = do(t, h, "POST", "/registry/v1/entities/"+c+"/records", map[string]any{
		"kind": "annual_report", "title": "2023年度报告", "occurred_on": "2024-03-01",
		"details": map[string]any{"year": 2023, "items": []map[string]any{{"name": "资产总额", "value": "120万元", "public": false}}},
	})
	if rec.Code != 201 {
		t.Fatalf("add record: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, h, "POST", "/registry/v1/entities/"+c+"/records", map[string]any{
		"kind": "annual_report", "title": "2023年度报告", "occurred_on": "2024-03-01", "details": map[string]any{"year": 2023, "items": []map[string]any{{"name": "资产总额"}}},
	})
	if rec.Code != 400 {
		t.Fatalf("annual report item without public flag accepted: %d", rec.Code)
	}
	var p Profile
	rec = do(t, h, "GET", "/registry/v1/entities/"+c+"/profile", nil)
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != 200 || len(p.Sections) != len(recordKinds) || p.Counts["annual_report"] != 1 || p.Entity.Version != 2 {
		t.Fatalf("profile: %d %+v", rec.Code, p)
	}
}

func csvFile(t *testing.T, rows ...[]string) []byte {
	var b bytes.Buffer
	b.WriteString("统一社会信用代码,主体名称,主体类型,法定代表人,成立日期,注册资本（万元）,住所,行政区划代码,乡镇街道代码,行业代码,登记状态\n")
	for _, r := range rows {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	return b.Bytes()
}

func importRow(t *testing.T, n int) []string {
	return []string{code(t, "92", "130105", n), fmt.Sprintf("新华区张记面馆%d", n), "个体工商户", "张三", "2021/3/4", "5",
		"石家庄市新华区中华北大街8号", "130105", "", "6210", "存续"}
}

func upload(t *testing.T, h http.Handler, name string, data []byte) *httptest.ResponseRecorder {
	return uploadAs(t, h, tokenFor(t, authtest.CityWide(allPerms...)), name, data)
}

func uploadAs(t *testing.T, h http.Handler, token, name string, data []byte) *httptest.ResponseRecorder {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	_ = w.Close()
	req := httptest.NewRequest("POST", "/registry/v1/imports", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FP-18: bulk import.
func TestImportIsAllOrNothing(t *testing.T) {
	f, pool := newFunction(t)
	h := f.Handler()
	bad := importRow(t, 3)
	bad[7] = "130199" // unknown district
	rec := upload(t, h, "batch.csv", csvFile(t, importRow(t, 1), importRow(t, 2), bad, importRow(t, 1)))
	if rec.Code != 400 {
		t.Fatalf("import with a bad row: %d %s", rec.Code, rec.Body)
	}
	var body httpx.ErrorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	rows := map[int]string{}
	for _, fe := range body.Error.Fields {
		rows[fe.Row] = fe.Field
	}
	if rows[4] != "district_code" || rows[5] != "credit_code" || len(rows) != 2 {
		t.Fatalf("row report = %+v", body.Error.Fields)
	}
	var n int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM registry.entities`).Scan(&n)
	if n != 0 {
		t.Fatalf("failed import wrote %d entities", n)
	}
	if rec := upload(t, h, "batch.csv", []byte("统一社会信用代码,\"名称\n")); rec.Code != 400 {
		t.Fatalf("malformed CSV: %d", rec.Code)
	}
	rec = upload(t, h, "batch.csv", csvFile(t, importRow(t, 1), importRow(t, 2)))
	if rec.Code != 201 {
		t.Fatalf("good import: %d %s", rec.Code, rec.Body)
	}
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.outbox WHERE event_type = $1`, events.EntityRegistered).Scan(&n)
	if n != 2 {
		t.Fatalf("import emitted %d registered events, want 2", n)
	}
}

func TestImportXLSX(t *testing.T) {
	f, _ := newFunction(t)
	x := excelize.NewFile()
	header := strings.Split("统一社会信用代码,主体名称,主体类型,法定代表人,成立日期,注册资本（万元）,住所,行政区划代码,乡镇街道代码,行业代码,登记状态", ",")
	for i, row := range [][]string{header, importRow(t, 7)} {
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		_ = x.SetSheetRow("Sheet1", cell, &vals)
	}
	var buf bytes.Buffer
	_ = x.Write(&buf)
	if rec := upload(t, f.Handler(), "batch.xlsx", buf.Bytes()); rec.Code != 201 {
		t.Fatalf("xlsx import: %d %s", rec.Code, rec.Body)
	}
	rec := do(t, f.Handler(), "GET", "/registry/v1/entities/export?format=xlsx&district=130105", nil)
	xf, err := excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatalf("export is not xlsx: %v", err)
	}
	rows, _ := xf.GetRows("Sheet1")
	if len(rows) != 2 || rows[1][1] != "新华区张记面馆7" || rows[1][2] != "个体工商户" {
		t.Fatalf("export rows = %v", rows)
	}
}

func TestNightlyPingRefreshesStatsOnce(t *testing.T) {
	f, pool := newFunction(t)
	if rec := do(t, f.Handler(), "POST", "/registry/v1/entities", validInput(t, 1)); rec.Code != 201 {
		t.Fatal(rec.Body)
	}
	e := event.New()
	e.SetID("ping-1")
	e.SetType(events.Ping)
	e.SetSource("/apis/v1/namespaces/smartreg/pingsources/registry-nightly")
	_ = e.SetData(event.ApplicationJSON, map[string]string{"task": "refresh-stats"})
	for range 2 {
		if _, err := f.Receive(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	_ = pool.QueryRow(context.Background(), `SELECT sum(entities) FROM registry.stats`).Scan(&n)
	var seen int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.inbox WHERE event_id = 'ping-1'`).Scan(&seen)
	if n != 1 || seen != 1 {
		t.Fatalf("stats total %d, inbox rows %d", n, seen)
	}
}
