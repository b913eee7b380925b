package policymatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/policy-match/contractstub"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// testNow is the clock of every test: 2025-06-30 10:00 in Shijiazhuang.
var testNow = time.Date(2025, 6, 30, 2, 0, 0, 0, time.UTC)

// testSeg is one segmenter for the whole test binary: loading the
// dictionary is the slowest thing a test would otherwise repeat.
var testSeg = &Segmenter{}

type harness struct {
	f    *Function
	pool *pgxpool.Pool
	iss  *authtest.Issuer
}

// fetchFunc is a Fetcher from a function (the tests' stand-in for the
// network is the government-site simulator; see importer_test.go).
type fetchFunc func(ctx context.Context, url string) ([]byte, string, error)

func (f fetchFunc) Fetch(ctx context.Context, url string) ([]byte, string, error) { return f(ctx, url) }

var noFetch = fetchFunc(func(context.Context, string) ([]byte, string, error) {
	return nil, "", fmt.Errorf("no network in this test")
})

func newHarnessWith(t *testing.T, fetch Fetcher) harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	pool := storetest.New(t, append(append(contractstub.Migrations(), Migrations()...), auditlogtest.Migration())...)
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: func() time.Time { return testNow },
		Verifier: iss.Verifier(), Fetcher: fetch}, config.Defaults[Config]())
	if err != nil {
		t.Fatal(err)
	}
	f.seg = testSeg
	f.industry = &IndustryModel{seg: testSeg, lexicon: true}
	return harness{f: f, pool: pool, iss: iss}
}

func newHarness(t *testing.T) harness { return newHarnessWith(t, noFetch) }

func (h harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

// entity is a stub registry row; zero fields take the stub's defaults.
type entity struct {
	code, name, typ, district, industry, established, scope, status string
	capital                                                         float64
	abnormal, serious, blacklisted                                  bool
	lastPenalty                                                     string
	year, employees                                                 int
	revenue, assets                                                 float64
}

var codeSeq int

// makeCode makes a valid credit code of the type's prefix in the district.
func makeCode(t testing.TB, typ, district string) string {
	t.Helper()
	prefix := map[string]string{"enterprise": "91", "individual": "92", "cooperative": "93", "institution": "12", "non_enterprise": "52"}[typ]
	codeSeq++
	c, err := codes.MakeCreditCode(prefix, district, fmt.Sprintf("MA%06d", codeSeq))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h harness) addEntity(t testing.TB, e entity) string {
	t.Helper()
	if e.typ == "" {
		e.typ = "enterprise"
	}
	if e.district == "" {
		e.district = "130102"
	}
	if e.code == "" {
		e.code = makeCode(t, e.typ, e.district)
	}
	if e.name == "" {
		e.name = "测试" + e.code[12:] + "有限公司"
	}
	if e.industry == "" {
		e.industry = "1311"
	}
	if e.established == "" {
		e.established = "2020-01-01"
	}
	if e.status == "" {
		e.status = "active"
	}
	if e.capital == 0 {
		e.capital = 100
	}
	var pen, yr, emp, rev, assets any
	if e.lastPenalty != "" {
		pen = e.lastPenalty
	}
	if e.year != 0 {
		yr, emp, rev, assets = e.year, e.employees, e.revenue, e.assets
	}
	_, err := h.pool.Exec(context.Background(), `INSERT INTO registry.stub_policy_subjects (credit_code, name, entity_type, district_code,
		industry_code, established_on, registered_capital, business_scope, status, abnormal, serious_illegal, blacklisted, last_penalty_on,
		report_year, employees, revenue, assets) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
		e.code, e.name, e.typ, e.district, e.industry, e.established, e.capital, e.scope, e.status, e.abnormal, e.serious, e.blacklisted,
		pen, yr, emp, rev, assets)
	if err != nil {
		t.Fatal(err)
	}
	h.copySubject(t, e.code)
	return e.code
}

// copySubject does to policy.subjects and the facts what the entity's
// entity.registered or entity.updated event does (rematch), without the
// announcements.
func (h harness) copySubject(t testing.TB, code string) {
	t.Helper()
	ctx := context.Background()
	p, err := h.f.profile(ctx, h.pool, code)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.f.refreshFacts(ctx, h.pool, p); err != nil {
		t.Fatal(err)
	}
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Now: time.Now, Verifier: iss.Verifier(), Fetcher: noFetch},
		"pool":     {Logger: log, Now: time.Now, Verifier: iss.Verifier(), Fetcher: noFetch},
		"now":      {Logger: log, Pool: pool, Verifier: iss.Verifier(), Fetcher: noFetch},
		"verifier": {Logger: log, Pool: pool, Now: time.Now, Fetcher: noFetch},
		"fetcher":  {Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	full := Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier(), Fetcher: noFetch}
	if _, err := New(full, def); err != nil {
		t.Fatalf("complete deps refused: %v", err)
	}
	for name, mod := range map[string]func(*Config){
		"expiring days":  func(c *Config) { c.SoonExpiringDays = -1 },
		"effective days": func(c *Config) { c.SoonEffectiveDays = 400 },
		"batch":          func(c *Config) { c.FanoutBatch = 0 },
		"export rows":    func(c *Config) { c.MaxExportRows = 0 },
		"pdftotext":      func(c *Config) { c.PDFToText = "" },
		"timeout":        func(c *Config) { c.FetchTimeout = 0 },
	} {
		c := def
		mod(&c)
		if _, err := New(full, c); err == nil {
			t.Errorf("an invalid Config (%s) accepted", name)
		}
	}
}

// Every setting is documented where operators look (docs/operations.md,
// generated by the platform's settings test).
func TestConfigIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range config.Describe(Config{}) {
		if f.Help == "" || !strings.Contains(string(doc), "`"+f.Env+"`") {
			t.Errorf("%s lacks help text or is not in docs/operations.md (go test ./infra/local/platform -run Settings -update)", f.Env)
		}
	}
}

// tableEmpty reports whether a policy table holds no row (nothing
// half-written).
func tableCount(t *testing.T, q store.Querier, table string) int {
	t.Helper()
	var n int
	if err := q.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
