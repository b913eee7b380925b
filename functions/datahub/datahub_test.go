package datahub

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// FP-93: the catalogue lists datasets with their fields and sensitivity,
// searchable and filtered by classification.
func TestCatalogue(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	var list struct{ Items []Dataset }
	rec := h.do(t, b, "GET", "/datahub/v1/datasets?classification="+"监管信息", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 || len(list.Items) != 2 {
		t.Fatalf("by classification: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, b, "GET", "/datahub/v1/datasets?q=法定代表人", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Items) != 2 || list.Items[0].ID != "entities" || list.Items[1].ID != "persons" {
		t.Fatalf("by field title: %s", rec.Body)
	}
	var ds Dataset
	rec = h.do(t, b, "GET", "/datahub/v1/datasets/entities", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &ds); err != nil {
		t.Fatal(err)
	}
	if f, _ := ds.field("legal_rep"); f.Sensitivity != Personal {
		t.Errorf("legal_rep sensitivity %q", f.Sensitivity)
	}
	if rec := h.do(t, b, "GET", "/datahub/v1/datasets/nope", nil); rec.Code != 404 {
		t.Errorf("unknown dataset: %d", rec.Code)
	}
}

// FP-95: a district user's interface serves only their district, only the
// chosen fields, with personal information masked; every call is logged.
func TestInterfaceScopeFieldsMaskingAndLog(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "长安区在业主体", Dataset: "entities",
		Fields: []string{"credit_code", "name", "legal_rep", "district_code", "established_on", "registered_capital"},
		Filter: "status=eq.active"})
	if !strings.HasPrefix(c.Key, "dh_") || c.KeyPrefix != c.Key[:keyPrefixLen] || c.Unmask {
		t.Fatalf("created: %+v", c)
	}
	var stored []byte
	if err := h.pool.QueryRow(context.Background(), `SELECT key_hash FROM datahub.interfaces WHERE id = $1`, c.ID).Scan(&stored); err != nil ||
		string(stored) == c.Key || string(stored) != string(hashKey(c.Key)) {
		t.Fatalf("the key is not stored hashed: %v", err)
	}
	rec := call(h.f, c.Key, c.Endpoint+"?limit=1000")
	var rows []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), reset(&rows)); err != nil || rec.Code != 200 {
		t.Fatalf("call: %d %s", rec.Code, rec.Body)
	}
	if len(rows) != 16 { // 20 in 长安区, 4 of them revoked
		t.Errorf("rows = %d, want 16", len(rows))
	}
	for _, r := range rows {
		if r["district_code"] != "130102" || len(r) != 6 {
			t.Fatalf("row outside scope or allow-list: %v", r)
		}
		if lr := r["legal_rep"].(string); !strings.HasPrefix(lr, "张*") || strings.Contains(lr, "三丰") {
			t.Fatalf("legal_rep not masked: %q", lr)
		}
	}
	// The consumer's filters narrow further, PostgREST style.
	rec = call(h.f, c.Key, c.Endpoint+"?established_on=gte.2020-01-01&or=(registered_capital.lt.50,name.like.*18*)&order=registered_capital.desc&select=credit_code,registered_capital")
	if err := json.Unmarshal(rec.Body.Bytes(), reset(&rows)); err != nil || rec.Code != 200 {
		t.Fatalf("filtered: %d %s", rec.Code, rec.Body)
	}
	// in 长安区 (even i), active (i%5 != 4), established 2020+ (i%10 >= 5): i = 6, 8, 16, 18;
	// capital < 50 or name contains 18: 18 only.
	if len(rows) != 1 || rows[0]["registered_capital"].(float64) != 180 || len(rows[0]) != 2 {
		t.Errorf("filtered rows %v", rows)
	}
	// Keyset paging walks every row exactly once.
	seen, after := map[string]bool{}, ""
	for range 10 {
		path := c.Endpoint + "?limit=5&select=credit_code"
		if after != "" {
			path += "&after=" + after
		}
		rec = call(h.f, c.Key, path)
		_ = json.Unmarshal(rec.Body.Bytes(), reset(&rows))
		for _, r := range rows {
			code := r["credit_code"].(string)
			if seen[code] {
				t.Fatalf("keyset page repeated %s", code)
			}
			seen[code] = true
		}
		if after = rec.Header().Get("X-Next-After"); after == "" {
			break
		}
	}
	if len(seen) != 16 {
		t.Errorf("keyset walked %d rows", len(seen))
	}
	// A bad query names its part, in Chinese.
	for q, want := range map[string]string{
		"address=eq.x":                 "不在本接口开放的字段中",
		"nosuch=eq.1":                  "未知字段“nosuch”",
		"registered_capital=like.*1*":  "不能用运算符 like",
		"established_on=gte.2020-13-1": "日期“2020-13-1”格式不正确",
		"limit=5000":                   "limit 超过上限 1000",
	} {
		rec := call(h.f, c.Key, c.Endpoint+"?"+q)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d %s, want %q", q, rec.Code, rec.Body, want)
		}
	}
	// The same page as a file (FP-94): Chinese headers, masked.
	req := httptest.NewRequest("GET", c.Endpoint+"?limit=3&order=credit_code", nil)
	req.Header.Set("X-API-Key", c.Key)
	req.Header.Set("Accept", "text/csv")
	frec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(frec, req)
	if csv := frec.Body.String(); frec.Code != 200 || !strings.Contains(csv, "统一社会信用代码,主体名称,法定代表人") ||
		strings.Count(csv, "\n") != 4 || strings.Contains(csv, "三丰") {
		t.Errorf("csv: %d %q", frec.Code, csv)
	}
	// The generated document describes the interface's own fields.
	var doc map[string]any
	rec = h.do(t, b, "GET", c.OpenAPI, nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || !strings.Contains(rec.Body.String(), "个人信息，已脱敏") ||
		strings.Contains(rec.Body.String(), `"address"`) {
		t.Errorf("doc: %d %s", rec.Code, rec.Body)
	}
	// Every call is in the access log, searchable and exportable.
	var page httpx.PageOf[AccessEntry]
	rec = h.do(t, b, "GET", "/datahub/v1/access-log?status=400&q=nosuch", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || page.Total != 1 || !strings.Contains(page.Items[0].Message, "未知字段") {
		t.Fatalf("access log search: %s", rec.Body)
	}
	rec = h.do(t, b, "GET", "/datahub/v1/access-log?page_size=200", nil)
	_ = json.Unmarshal(rec.Body.Bytes(), &page)
	if page.Total < 10 || page.Items[0].KeyPrefix != c.KeyPrefix {
		t.Errorf("access log: %d entries, %+v", page.Total, page.Items[:1])
	}
	rec = h.do(t, b, "GET", "/datahub/v1/access-log?format=csv", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), c.KeyPrefix) || strings.Contains(rec.Body.String(), c.Key) {
		t.Errorf("export: %d", rec.Code)
	}
	// Another user sees neither the interface nor its log.
	other := h.iss.Bearer(authtest.CityWide(allPerms...))
	if rec := h.do(t, other, "GET", c.OpenAPI, nil); rec.Code != 404 {
		t.Errorf("another's doc: %d", rec.Code)
	}
	rec = h.do(t, other, "GET", "/datahub/v1/access-log", nil)
	if _ = json.Unmarshal(rec.Body.Bytes(), &page); page.Total != 0 {
		t.Errorf("another sees %d log entries", page.Total)
	}
}

// FP-95: with datahub.personal:view the creator's interface shows personal
// fields as they are; without a dataset's permission nothing is generated.
func TestUnmaskAndDatasetPermission(t *testing.T) {
	h := newHarness(t)
	c := h.generate(t, h.iss.Bearer(authtest.CityWide(append(allPerms, "datahub.personal:view")...)),
		InterfaceInput{Name: "全市", Dataset: "entities", Fields: []string{"legal_rep"}})
	rec := call(h.f, c.Key, c.Endpoint+"?limit=1")
	if !strings.Contains(rec.Body.String(), "张三丰") {
		t.Errorf("unmasked: %s", rec.Body)
	}
	noEntity := h.iss.Bearer(authtest.CityWide("datahub.interface:create"))
	if rec := h.do(t, noEntity, "POST", "/datahub/v1/interfaces", InterfaceInput{Name: "x", Dataset: "entities", Fields: []string{"name"}}); rec.Code != 403 {
		t.Errorf("without registry.entity:view: %d", rec.Code)
	}
	for name, in := range map[string]InterfaceInput{
		"unknown-field":  {Name: "x", Dataset: "entities", Fields: []string{"id_card"}},
		"bad-filter":     {Name: "x", Dataset: "entities", Fields: []string{"name"}, Filter: "established_on=gt.yesterday"},
		"no-fields":      {Name: "x", Dataset: "entities"},
		"unknown-set":    {Name: "x", Dataset: "nope", Fields: []string{"name"}},
		"blank-name-400": {Dataset: "entities", Fields: []string{"name"}},
	} {
		if rec := h.do(t, districtUser(h), "POST", "/datahub/v1/interfaces", in); rec.Code != 400 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}

// The records datasets are confined to their kind and the scope.
func TestRecordDatasets(t *testing.T) {
	h := newHarness(t)
	c := h.generate(t, districtUser(h), InterfaceInput{Name: "处罚", Dataset: "penalties", Fields: []string{"id", "ref_no", "district_code", "occurred_on"}})
	var rows []map[string]any
	rec := call(h.f, c.Key, c.Endpoint+"?occurred_on=lt.2025-02-01")
	if err := json.Unmarshal(rec.Body.Bytes(), reset(&rows)); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// penalties: i%3 == 1; 长安区: i even → i = 4, 10, 16, 22, 28 (occurred 2025-01-05 … 01-29)
	if len(rows) != 5 {
		t.Errorf("penalties %v", rows)
	}
	for _, r := range rows {
		if r["district_code"] != "130102" || int(r["id"].(float64))%3 != 2 {
			t.Errorf("row %v", r)
		}
	}
}

// FP-95: a revoked key is refused on every replica within seconds (here:
// at once, through Redis, though the other replica cached the key); a
// rotated key's old value stops and the new one works.
func TestRevocationAcrossReplicas(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "x", Dataset: "entities", Fields: []string{"name"}})
	other := h.replica(t)
	if rec := call(other, c.Key, c.Endpoint); rec.Code != 200 {
		t.Fatalf("replica: %d", rec.Code)
	}
	if rec := h.do(t, b, "POST", c.Endpoint[:len("/datahub/v1/")]+"interfaces/"+itoa(c.ID)+"/rotate", nil); rec.Code != 200 {
		t.Fatalf("rotate: %d %s", rec.Code, rec.Body)
	} else {
		var n Created
		_ = json.Unmarshal(rec.Body.Bytes(), &n)
		if rec := call(other, c.Key, c.Endpoint); rec.Code != 401 {
			t.Errorf("old key after rotation on the other replica: %d", rec.Code)
		}
		if rec := call(other, n.Key, c.Endpoint); rec.Code != 200 {
			t.Errorf("new key: %d", rec.Code)
		}
		c.Key = n.Key
	}
	if rec := h.do(t, b, "POST", "/datahub/v1/interfaces/"+itoa(c.ID)+"/revoke", nil); rec.Code != 204 {
		t.Fatalf("revoke: %d", rec.Code)
	}
	for _, f := range []*Function{other, h.f} {
		if rec := call(f, c.Key, c.Endpoint); rec.Code != 401 || !strings.Contains(rec.Body.String(), "已吊销") {
			t.Errorf("revoked key answered %d %s", rec.Code, rec.Body)
		}
	}
	if rec := call(h.f, "dh_nonsense", c.Endpoint); rec.Code != 401 {
		t.Errorf("unknown key: %d", rec.Code)
	}
	if rec := call(h.f, "", c.Endpoint); rec.Code != 401 {
		t.Errorf("no key: %d", rec.Code)
	}
}

// FP-95: the per-key rate and quota are shared by replicas; an exhausted
// one answers 429 with Retry-After.
func TestRateLimitAndQuota(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "x", Dataset: "entities", Fields: []string{"name"}, RatePerMin: 3, QuotaPerDay: 5})
	other := h.replica(t)
	h.now = time.Date(2026, 12, 2, 10, 0, 15, 0, time.UTC)
	for i, f := range []*Function{h.f, other, h.f} {
		if rec := call(f, c.Key, c.Endpoint); rec.Code != 200 {
			t.Fatalf("call %d: %d", i, rec.Code)
		}
	}
	rec := call(other, c.Key, c.Endpoint)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "45" {
		t.Fatalf("over the rate: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	h.now = h.now.Add(time.Minute) // the next minute: 1 more of the day's 5 left after 4 counted
	if rec := call(h.f, c.Key, c.Endpoint); rec.Code != 200 {
		t.Fatalf("next minute: %d", rec.Code)
	}
	rec = call(h.f, c.Key, c.Endpoint)
	// 10:01:15 UTC is 18:01:15 in Beijing: the quota resets at midnight, 5 h 58 m 45 s away.
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "21526" {
		t.Errorf("over the quota: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// reset empties a decoding target: json.Unmarshal would merge into the
// maps of a previous answer.
func reset(rows *[]map[string]any) *[]map[string]any { *rows = nil; return rows }

func TestMask(t *testing.T) {
	for _, c := range []struct{ kind, in, want string }{
		{"id_number", "130102199001011234", "130102********1234"},
		{"phone", "13812345678", "138****5678"},
		{"name", "张三丰", "张**"},
		{"address", "石家庄市长安区中山东路1号", "石家庄市长安****"},
		{"name", "王", "*"},
	} {
		if got := Mask(c.kind, c.in); got != c.want {
			t.Errorf("Mask(%s, %s) = %s, want %s", c.kind, c.in, got, c.want)
		}
	}
}
