package monitor

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

type harness struct {
	f   *Function
	iss *authtest.Issuer
}

func newHarness(t *testing.T) harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: storetest.New(t, append(Migrations(), auditlogtest.Migration())...), Now: time.Now,
		Verifier: iss.Verifier()}, config.Defaults[Config]())
	if err != nil {
		t.Fatal(err)
	}
	return harness{f: f, iss: iss}
}

func (h harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()}, Config{}); err == nil {
		t.Error("an invalid Config accepted")
	}
}

// contractStub stands in for crawler-shard's published read function
// crawlershard.online_objects (same signature) over a table shaped as its
// result, named like no real table, and its search helper text_bigrams
// (the same definition: TestContractMatchesCrawlerShard compares them).
const contractStub = `CREATE SCHEMA IF NOT EXISTS crawlershard;
CREATE TABLE crawlershard.stub_online_objects (object_id bigint, url text, kind text, name text, price numeric, text text,
	entity_name text, credit_code text, district text, platform text, has_licence boolean, updated_at timestamptz);
CREATE FUNCTION crawlershard.online_objects(since timestamptz)
RETURNS TABLE (object_id bigint, url text, kind text, name text, price numeric, text text,
	entity_name text, credit_code text, district text, platform text, has_licence boolean, updated_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT * FROM crawlershard.stub_online_objects WHERE updated_at >= since $$;
CREATE FUNCTION crawlershard.text_bigrams(s text) RETURNS text[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
	AS $$ SELECT coalesce(array_agg(DISTINCT substr(s, i, 2)), '{}') FROM generate_series(1, char_length(s) - 1) AS i $$;`

func TestModelRunReviewExport(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	if _, err := h.f.pool.Exec(ctx, contractStub); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.pool.Exec(ctx, `INSERT INTO crawlershard.stub_online_objects VALUES
		(1, 'http://s1.farm.test/p/1', 'product', '有机绿茶', 9.9, '国家级最佳茶叶，全网销量第一。', '一号公司', '91130102100000011X', '长安区', '网店', true, now()),
		(2, 'http://s1.farm.test/p/2', 'product', '电热水壶', 19.9, '本店最低价，仅限今日（与自己此前价格相比）。', '一号公司', '91130102100000011X', '长安区', '网店', true, now()),
		(3, 'http://s2.farm.test/p/1', 'product', '象牙雕件', 99, '天然象牙手工雕刻摆件。', '二号公司', '', '桥西区', '网站', false, now()),
		(4, 'http://s3.farm.test/p/1', 'product', '保健胶囊', 99, '可治疗高血压。', '三号公司', '', '新华区', '网站', true, now() - interval '40 days')`); err != nil {
		t.Fatal(err)
	}
	bearer := h.iss.Bearer(authtest.CityWide(PermModel+":view", PermModel+":create", PermClue+":view", PermClue+":review", PermClue+":export"))
	if rec := h.do(t, bearer, "POST", "/monitor/v1/models", map[string]any{"name": "", "types": []string{"x"}}); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad model: %d %s", rec.Code, rec.Body)
	}
	rec := h.do(t, bearer, "POST", "/monitor/v1/models", map[string]any{"name": "长安区桥西区广告与禁售", "districts": []string{"长安区", "桥西区"},
		"types": []string{"advertising", "prohibited", "disclosure", "claims"}, "window_days": 30})
	var m Model
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("create model: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, bearer, "POST", "/monitor/v1/models/"+strconv.FormatInt(m.ID, 10)+"/run", nil)
	var run RunResult
	json.Unmarshal(rec.Body.Bytes(), &run)
	// 国家级, 最佳, 第一 on object 1; 象牙 and the missing licence on object 3;
	// object 2 is exempt (self-comparison), object 4 out of area and window.
	if rec.Code != 200 || run.Added != 5 {
		t.Fatalf("run: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, bearer, "POST", "/monitor/v1/models/"+strconv.FormatInt(m.ID, 10)+"/run", nil)
	json.Unmarshal(rec.Body.Bytes(), &run)
	if run.Added != 0 {
		t.Fatalf("a second run added %d clues", run.Added)
	}
	rec = h.do(t, bearer, "GET", "/monitor/v1/clues?model="+strconv.FormatInt(m.ID, 10), nil)
	var page httpx.PageOf[Clue]
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || page.Total != 5 {
		t.Fatalf("clues: %d %s", rec.Code, rec.Body)
	}
	c := page.Items[0]
	if c.Article == "" || c.Snippet == "" || c.CreditCode != "91130102100000011X" || c.RuleVersion == "" {
		t.Fatalf("clue %+v", c)
	}
	id := strconv.FormatInt(c.ID, 10)
	if rec := h.do(t, bearer, "POST", "/monitor/v1/clues/"+id+"/review", map[string]string{"action": "dismiss"}); rec.Code != http.StatusBadRequest {
		t.Fatalf("dismiss without reason: %d", rec.Code)
	}
	if rec := h.do(t, bearer, "POST", "/monitor/v1/clues/"+id+"/review", map[string]string{"action": "dismiss", "reason": "注册商标"}); rec.Code != 200 {
		t.Fatalf("dismiss: %d %s", rec.Code, rec.Body)
	}
	id2 := strconv.FormatInt(page.Items[1].ID, 10)
	if rec := h.do(t, bearer, "POST", "/monitor/v1/clues/"+id2+"/review", map[string]string{"action": "case"}); rec.Code != 200 {
		t.Fatalf("case: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, bearer, "GET", "/monitor/v1/stats/rules", nil)
	var stats []RuleStat
	json.Unmarshal(rec.Body.Bytes(), &stats)
	for _, s := range stats {
		if s.RuleID == "absolute-terms" && (s.Precision == nil || *s.Precision != 0.5) {
			t.Fatalf("stats %+v", s)
		}
	}
	rec = h.do(t, bearer, "GET", "/monitor/v1/clues/export?model="+strconv.FormatInt(m.ID, 10), nil)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "spreadsheet") || rec.Body.Len() < 1000 {
		t.Fatalf("export: %d %s", rec.Code, rec.Header())
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermClue+":view")), "GET", "/monitor/v1/clues/export", nil); rec.Code != http.StatusForbidden {
		t.Errorf("export without permission: %d", rec.Code)
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

// The contract stub must define what crawler-shard publishes: the same
// signature of online_objects and the same text_bigrams, or the search's
// predicate would stop matching crawler-shard's index.
func TestContractMatchesCrawlerShard(t *testing.T) {
	var published strings.Builder
	for _, f := range []string{"0001_crawlershard.sql", "0010_objects_search.sql"} {
		b, err := os.ReadFile(filepath.Join("..", "crawler-shard", "migrations", f))
		if err != nil {
			t.Fatal(err)
		}
		published.Write(b)
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	pub := squash(published.String())
	for _, part := range []string{
		"CREATE FUNCTION crawlershard.online_objects(since timestamptz) RETURNS TABLE (object_id bigint, url text, kind text, name text, price numeric, text text, entity_name text, credit_code text, district text, platform text, has_licence boolean, updated_at timestamptz) LANGUAGE sql STABLE PARALLEL SAFE AS $$",
		"CREATE FUNCTION crawlershard.text_bigrams(s text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ SELECT coalesce(array_agg(DISTINCT substr(s, i, 2)), '{}') FROM generate_series(1, char_length(s) - 1) AS i $$;",
	} {
		if !strings.Contains(pub, part) {
			t.Errorf("crawler-shard does not publish: %s", part)
		}
		if !strings.Contains(squash(contractStub), part) {
			t.Errorf("the stub does not define: %s", part)
		}
	}
}
