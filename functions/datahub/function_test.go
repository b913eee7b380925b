package datahub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/functions/datahub/contractstub"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

type harness struct {
	f    *Function
	iss  *authtest.Issuer
	pool *pgxpool.Pool
	rdb  *redis.Client
	now  time.Time
}

func testRedis(t testing.TB) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 12})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// newHarness builds datahub over the registry's contract stubs, filled
// with entities in 长安区 (130102, inside the district user's scope) and
// 桥西区 (130104, outside it), and their records.
func newHarness(t testing.TB, extra ...store.Migration) *harness {
	t.Helper()
	h := &harness{iss: authtest.NewIssuer(t), rdb: testRedis(t), now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	h.pool = storetest.New(t, slices.Concat(contractstub.Migrations(), Migrations(), extra)...)
	h.f = h.replica(t)
	seed(t, h.pool)
	return h
}

// replica is another instance of the function sharing the database and
// Redis, as a second Knative pod would.
func (h *harness) replica(t testing.TB) *Function {
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: h.pool, Redis: h.rdb,
		Now: func() time.Time { return h.now }, Verifier: h.iss.Verifier()}, config.Defaults[Config]())
	if err != nil {
		t.Fatal(err)
	}
	if h.f != nil {
		f.rprefix = h.f.rprefix
	} else {
		f.rprefix = fmt.Sprintf("datahubtest:%d:", rand.Int64())
	}
	return f
}

func seed(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for i := range 40 {
		district, town := "130102", "130102001"
		if i%2 == 1 {
			district, town = "130104", "130104002"
		}
		code := codeOf(i)
		if _, err := pool.Exec(ctx, `INSERT INTO registry.stub_datahub_entities (credit_code, name, entity_type, legal_rep,
			established_on, registered_capital, address, district_code, township_code, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, code, fmt.Sprintf("测试%02d超市有限公司", i),
			[]string{"enterprise", "individual"}[i%4/2], "张三丰"+fmt.Sprint(i), time.Date(2015+i%10, 3, 1, 0, 0, 0, 0, time.UTC),
			float64(i*10), "石家庄市长安区中山东路"+fmt.Sprint(i)+"号", district, town, []string{"active", "revoked"}[i%5/4]); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO registry.stub_datahub_records (id, credit_code, entity_name, kind, ref_no, title,
			occurred_on, district_code, township_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			i+1, code, fmt.Sprintf("测试%02d超市有限公司", i), []string{"licence", "penalty", "inspection"}[i%3],
			fmt.Sprintf("石市监罚〔2025〕%d号", i), "食品经营", time.Date(2025, 1, 1+i, 0, 0, 0, 0, time.UTC), district, town); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO registry.stub_datahub_persons (id, credit_code, entity_name, name, id_number,
			district_code, township_code) VALUES ($1, $2, $3, $4, $5, $6, $7)`, i+1, code, fmt.Sprintf("测试%02d超市有限公司", i),
			"张三丰"+fmt.Sprint(i), idNumberOf(district, i), district, town); err != nil {
			t.Fatal(err)
		}
	}
}

// idNumberOf is a valid resident ID number (GB 11643) born in district.
func idNumberOf(district string, i int) string {
	first := fmt.Sprintf("%s1990%02d%02d%03d", district, 1+i%12, 1+i%28, 100+i)
	c, err := codes.IDCheckChar(first)
	if err != nil {
		panic(err)
	}
	return first + string(c)
}

func (h *harness) do(t testing.TB, bearer, method, path string, body any) *httptest.ResponseRecorder {
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

// call calls a generated interface on replica f with key.
func call(f *Function, key, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	rec := httptest.NewRecorder()
	f.Handler().ServeHTTP(rec, req)
	return rec
}

var allPerms = []string{"datahub.catalogue:view", "datahub.interface:view", "datahub.interface:create",
	"datahub.interface:edit", "datahub.accesslog:view", "datahub.accesslog:export", "registry.entity:view"}

func districtUser(h *harness) string {
	return h.iss.Bearer(authtest.InDistricts(allPerms, "130102"))
}

// generate makes an interface as bearer and returns it with its key.
func (h *harness) generate(t testing.TB, bearer string, in InterfaceInput) Created {
	t.Helper()
	rec := h.do(t, bearer, "POST", "/datahub/v1/interfaces", in)
	if rec.Code != http.StatusCreated {
		t.Fatalf("generate: %d %s", rec.Code, rec.Body)
	}
	var c Created
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss, rdb := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t), redis.NewClient(&redis.Options{})
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Redis: rdb, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Redis: rdb, Now: time.Now, Verifier: iss.Verifier()},
		"redis":    {Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Redis: rdb, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Redis: rdb, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(Deps{Logger: log, Pool: pool, Redis: rdb, Now: time.Now, Verifier: iss.Verifier()}, Config{}); err == nil {
		t.Error("an invalid Config accepted")
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

func codeOf(i int) string { return fmt.Sprintf("91130100MA%07dX", i) }
