package datahub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/netguard"
	"github.com/sjzamr/smartreg/tests/sim/jjj"
)

const jjjSecret = "chaoyang-shared-secret-0123456789abcdef"

type jjjHarness struct {
	*harness
	sim     *jjj.Simulator
	simURL  string
	admin   string
	partner PartnerCreated
}

// newJJJHarness adds key-industry entities to the registry stub and
// registers 朝阳区 (110105) as a partner with food and drug opened,
// its side being the simulator.
func newJJJHarness(t *testing.T) *jjjHarness {
	h := &jjjHarness{harness: newHarness(t)}
	ctx := context.Background()
	for i, ind := range []string{"1411", "1422", "1511", "2710", "2614", "3581"} {
		if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_datahub_entities (credit_code, name, legal_rep, district_code, industry_code, updated_at)
			VALUES ($1, $2, '王小明', '130102', $3, $4)`, fmt.Sprintf("92130102MA%07dY", i), fmt.Sprintf("重点%d有限公司", i), ind,
			time.Date(2026, 11, 1+i, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	h.sim = jjj.New("110105", "sjz-bj-chaoyang", jjjSecret)
	h.sim.Now = func() time.Time { return h.now }
	srv := httptest.NewServer(h.sim)
	t.Cleanup(srv.Close)
	h.simURL = srv.URL
	h.f.plat.allow = netguard.Allow{netip.MustParsePrefix("127.0.0.0/8")}
	h.admin = h.iss.Bearer(authtest.InDistricts([]string{"datahub.exchange:view", "datahub.exchange:edit"}, "130102"))
	rec := h.do(t, h.admin, "POST", "/datahub/v1/jjj/partners", PartnerInput{Name: "北京市朝阳区市场监督管理局", RegionCode: "110105",
		KeyID: "sjz-bj-chaoyang", Secret: jjjSecret, BaseURL: h.simURL, Industries: []string{"food", "drug"}})
	if rec.Code != 201 {
		t.Fatalf("partner: %d %s", rec.Code, rec.Body)
	}
	json.Unmarshal(rec.Body.Bytes(), &h.partner)
	return h
}

type jjjAnswer struct {
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	RequestID string   `json:"request_id"`
	Data      *JJJPage `json:"data"`
}

// call is the partner calling our side, signing with the simulator's
// signer (written from docs/jjj-exchange.md, not from sign.go).
func (h *jjjHarness) call(t *testing.T, query, secret, nonce string, at time.Time) (int, jjjAnswer) {
	t.Helper()
	req, err := jjj.SignedRequest("http://smartreg.example/datahub/v1/jjj/enterprises"+query, "sjz-bj-chaoyang", secret, nonce, at)
	if err != nil {
		t.Fatal(err)
	}
	return h.serve(t, req)
}

func (h *jjjHarness) serve(t *testing.T, req *http.Request) (int, jjjAnswer) {
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	var a jjjAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("not the envelope: %d %s", rec.Code, rec.Body)
	}
	return rec.Code, a
}

// FP-126: our side serves only the key industries opened to the signed
// partner, paged and masked; every refusal has its code, status and
// Chinese message; a replayed nonce is refused.
func TestJJJServeScopeSignatureReplay(t *testing.T) {
	h := newJJJHarness(t)
	if len(h.partner.Secret) < 32 || h.partner.RegionName != "朝阳区" {
		t.Fatalf("created partner: %+v", h.partner)
	}
	var got []JJJEnterprise
	query := "?limit=2"
	for pages := 0; ; pages++ {
		st, a := h.call(t, query, jjjSecret, "", h.now)
		if st != 200 || a.Code != "0" || a.Data == nil || a.Data.Region != "130100" {
			t.Fatalf("page %d: %d %+v", pages, st, a)
		}
		got = append(got, a.Data.Items...)
		if a.Data.NextCursor == "" {
			break
		}
		query = "?limit=2&cursor=" + a.Data.NextCursor
		if pages > 5 {
			t.Fatal("no end")
		}
	}
	// food (1411, 1422, 1511) and drug (2710); chemical 2614 and device 3581 are not opened, 5211 is not a key industry.
	if len(got) != 4 {
		t.Fatalf("rows %d: %+v", len(got), got)
	}
	for _, e := range got {
		if (e.KeyIndustry != "food" && e.KeyIndustry != "drug") || e.LegalRep != "王**" || e.DistrictCode != "130102" {
			t.Errorf("row outside the contract: %+v", e)
		}
	}
	if st, a := h.call(t, "?industry=drug&updated_since=2026-11-01T00:00:00Z", jjjSecret, "", h.now); st != 200 || len(a.Data.Items) != 1 || a.Data.Items[0].IndustryCode != "2710" {
		t.Errorf("one industry: %d %+v", st, a)
	}
	if st, a := h.call(t, "?updated_since=2026-11-03T00:00:00%2B00:00", jjjSecret, "", h.now); st != 200 || len(a.Data.Items) != 2 {
		t.Errorf("updated_since: %d %+v", st, a)
	}
	nonce := "replayed-nonce-0001"
	if st, _ := h.call(t, "", jjjSecret, nonce, h.now); st != 200 {
		t.Fatalf("first use of a nonce: %d", st)
	}
	for name, c := range map[string]struct {
		query, secret, nonce string
		at                   time.Time
		status               int
		code, msg            string
	}{
		"replay":    {"", jjjSecret, nonce, h.now, 401, "JJJ-1005", "随机数已使用，疑似重放请求"},
		"signature": {"", "not-the-secret-of-this-partner-000000", "", h.now, 401, "JJJ-1004", "签名不正确"},
		"clock":     {"", jjjSecret, "", h.now.Add(-6 * time.Minute), 401, "JJJ-1003", "时间戳超出允许范围，请校准时钟"},
		"nonce":     {"", jjjSecret, "short", h.now, 401, "JJJ-1006", "随机数格式不正确（16–64 位字母、数字、-、_）"},
		"industry":  {"?industry=chemical", jjjSecret, "", h.now, 403, "JJJ-2002", "所请求的行业不在重点行业范围内或未向贵方开放：chemical"},
		"limit":     {"?limit=501", jjjSecret, "", h.now, 400, "JJJ-2001", "参数错误：limit 应为 1 至 500"},
		"param":     {"?district=130102", jjjSecret, "", h.now, 400, "JJJ-2001", "参数错误：不支持的参数 district"},
		"since":     {"?updated_since=2026-11-01", jjjSecret, "", h.now, 400, "JJJ-2001", "参数错误：updated_since 应为 RFC 3339 时间，如 2026-01-01T00:00:00+08:00"},
	} {
		if st, a := h.call(t, c.query, c.secret, c.nonce, c.at); st != c.status || a.Code != c.code || a.Message != c.msg || a.RequestID == "" || a.Data != nil {
			t.Errorf("%s: %d %+v", name, st, a)
		}
	}
	// A query changed after signing fails the signature.
	req, _ := jjj.SignedRequest("http://smartreg.example/datahub/v1/jjj/enterprises?industry=food", "sjz-bj-chaoyang", jjjSecret, "", h.now)
	req.URL.RawQuery = "industry=drug"
	if st, a := h.serve(t, req); st != 401 || a.Code != "JJJ-1004" {
		t.Errorf("tampered query: %d %+v", st, a)
	}
	req, _ = jjj.SignedRequest("http://smartreg.example/datahub/v1/jjj/enterprises", "someone-else", jjjSecret, "", h.now)
	if st, a := h.serve(t, req); st != 401 || a.Code != "JJJ-1002" {
		t.Errorf("unknown key: %d %+v", st, a)
	}
	if st, a := h.serve(t, httptest.NewRequest("GET", "/datahub/v1/jjj/enterprises", nil)); st != 401 || a.Code != "JJJ-1001" {
		t.Errorf("unsigned: %d %+v", st, a)
	}
	in := PartnerInput{Name: h.partner.Name, BaseURL: h.simURL, Industries: []string{"food"}, State: "disabled"}
	if rec := h.do(t, h.admin, "PUT", "/datahub/v1/jjj/partners/"+strconv.FormatInt(h.partner.ID, 10), in); rec.Code != 200 {
		t.Fatalf("disable: %d %s", rec.Code, rec.Body)
	}
	if st, a := h.call(t, "", jjjSecret, "", h.now); st != 403 || a.Code != "JJJ-1101" {
		t.Errorf("disabled partner: %d %+v", st, a)
	}
	var log struct {
		Items []ExchangeLog
		Total int
	}
	rec := h.do(t, h.admin, "GET", "/datahub/v1/jjj/log?page_size=200", nil)
	json.Unmarshal(rec.Body.Bytes(), &log)
	refused := 0
	for _, l := range log.Items {
		if l.Direction == "serve" && l.Status != 200 {
			refused++
		}
	}
	if log.Total != 17 || refused != 12 {
		t.Errorf("exchange log: %d rows, %d refusals", log.Total, refused)
	}
	// The partner must be a district of Beijing or Tianjin, with key industries only.
	rec = h.do(t, h.admin, "POST", "/datahub/v1/jjj/partners", PartnerInput{Name: "x", RegionCode: "130102", KeyID: "k", Industries: []string{"tobacco"}})
	fe := fieldErrors(t, rec.Body)
	if rec.Code != 400 || !strings.Contains(fe["region_code"], "北京市或天津市的区") || !strings.Contains(fe["industries"], "“tobacco”不是重点行业") || !strings.Contains(fe["key_id"], "4–64") {
		t.Errorf("bad partner: %d %v", rec.Code, fe)
	}
}

func bjRow(i int, district, industry string) jjj.Enterprise {
	code, _ := codes.MakeCreditCode("91", "110105", fmt.Sprintf("MA%06d", i))
	capital := float64(100 + i)
	return jjj.Enterprise{CreditCode: code, Name: fmt.Sprintf("北京朝阳%d食品有限公司", i), LegalRep: "刘*", EstablishedOn: "2018-01-01",
		RegisteredCapital: &capital, DistrictCode: district, IndustryCode: industry, KeyIndustry: keyIndustryOf(industry), Status: "active",
		UpdatedAt: time.Date(2026, 11, 10+i, 0, 0, 0, 0, time.UTC)}
}

// FP-126: we pull the partner's side signed as its simulator checks,
// cursor page by page; only rows of the partner's region that keep the
// field contract are written; a second pull asks from the watermark less
// the overlap and writes nothing; partner errors and SSRF are reported.
func TestJJJPull(t *testing.T) {
	h := newJJJHarness(t)
	h.f.plat.pullLimit = 2
	bad := bjRow(4, "110105", "1411")
	bad.CreditCode = "91110105MA0000041X"
	h.sim.SetRows([]jjj.Enterprise{bjRow(0, "110105", "1411"), bjRow(1, "110105", "2710"), bjRow(2, "110105", "1511"),
		bjRow(3, "120101", "1411"), bad, bjRow(5, "110105", "5211")})
	pull := func() PullResult {
		t.Helper()
		rec := h.do(t, h.admin, "POST", "/datahub/v1/jjj/partners/"+strconv.FormatInt(h.partner.ID, 10)+"/pull", nil)
		var r PullResult
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &r) != nil {
			t.Fatalf("pull: %d %s", rec.Code, rec.Body)
		}
		return r
	}
	r := pull()
	if !r.OK || r.Pages != 3 || r.RowsRead != 6 || r.RowsWritten != 3 || r.Rejected != 3 {
		t.Fatalf("pull: %+v", r)
	}
	var n int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM datahub.ingested_rows WHERE dataset = 'jjj_enterprises' AND source_kind = 'exchange'
		AND data->>'source_region' = '110105'`).Scan(&n)
	if n != 3 {
		t.Errorf("ingested %d", n)
	}
	if r := pull(); !r.OK || r.RowsWritten != 0 {
		t.Errorf("second pull wrote: %+v", r)
	}
	last := h.sim.Requests[len(h.sim.Requests)-1]
	// The newest pulled row (bjRow(2)) was updated 2026-11-12; less the 10-minute overlap.
	if last.Get("updated_since") != "2026-11-11T23:50:00Z" || last.Get("limit") != "2" {
		t.Errorf("second pull asked %v", last)
	}
	h.sim.FailNext(1)
	if r := pull(); r.OK || !strings.Contains(r.Message, "JJJ-5031") {
		t.Errorf("partner failure: %+v", r)
	}
	h.f.plat.allow = nil
	if r := pull(); r.OK || !strings.Contains(r.Message, "拒绝访问内部网络地址") {
		t.Errorf("SSRF: %+v", r)
	}
	var list struct{ Items []Partner }
	json.Unmarshal(h.do(t, h.admin, "GET", "/datahub/v1/jjj/partners", nil).Body.Bytes(), &list)
	if len(list.Items) != 1 || list.Items[0].Watermark == nil || !strings.Contains(list.Items[0].LastMessage, "拒绝访问") {
		t.Errorf("partner after pulls: %+v", list.Items)
	}
	if strings.Contains(h.do(t, h.admin, "GET", "/datahub/v1/jjj/partners", nil).Body.String(), jjjSecret) {
		t.Error("the shared secret is in the list")
	}
}

// FP-126: docs/jjj-exchange.md's error table and the partner-facing
// OpenAPI document carry exactly the code's error model.
func TestJJJDocumentListsEveryError(t *testing.T) {
	doc, err := os.ReadFile("../../docs/jjj-exchange.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range JJJErrors {
		row := fmt.Sprintf("| `%s` | %d | %s |", e.Code, e.Status, e.Message)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/jjj-exchange.md lacks %s", row)
		}
		if !strings.Contains(string(jjjOpenAPI), e.Code) {
			t.Errorf("jjj-openapi.yaml lacks %s", e.Code)
		}
	}
	if n := strings.Count(string(doc), "| `JJJ-"); n != len(JJJErrors) {
		t.Errorf("the document lists %d codes, the code %d", n, len(JJJErrors))
	}
	rec := httptest.NewRecorder()
	newHarness(t).f.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/datahub/v1/jjj/openapi.yaml", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "京津冀重点行业企业数据交换接口") {
		t.Errorf("served document: %d", rec.Code)
	}
}
