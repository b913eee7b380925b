package seed

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// newDB returns a fresh database with the platform and registry migrations,
// dropped when the test ends.
func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return storetest.New(t, store.Migration{Component: "registry", FS: os.DirFS("../migrations"), Dir: "."})
}

func mustLoad(t *testing.T, pool *pgxpool.Pool, opts Options) Stats {
	t.Helper()
	st, err := Load(context.Background(), pool, opts)
	if err != nil {
		t.Fatalf("Load(%+v): %v", opts, err)
	}
	return st
}

func TestLoadGeneratesValidRealisticEntities(t *testing.T) {
	ctx := context.Background()
	pool := newDB(t)
	st := mustLoad(t, pool, Options{Count: 2000, Seed: 42})
	if st.Entities != 2000 {
		t.Fatalf("Stats.Entities = %d, want 2000", st.Entities)
	}
	if st.Records < 5000 || st.Records > 7000 {
		t.Errorf("Stats.Records = %d, want about 3 per entity", st.Records)
	}

	rows, err := pool.Query(ctx, `SELECT credit_code, name, entity_type, legal_rep, district_code, township_code,
		industry_code, status, address, registered_capital::text, ST_X(location::geometry), ST_Y(location::geometry)
		FROM registry.entities`)
	if err != nil {
		t.Fatal(err)
	}
	types, statuses := map[string]int{}, map[string]int{}
	prefix := map[string]string{"enterprise": "91", "individual": "92", "cooperative": "93", "institution": "12", "non_enterprise": "52"}
	n := 0
	for rows.Next() {
		var code, name, typ, rep, district, township, industry, status, address, capital string
		var lon, lat float64
		if err := rows.Scan(&code, &name, &typ, &rep, &district, &township, &industry, &status, &address, &capital, &lon, &lat); err != nil {
			t.Fatal(err)
		}
		n++
		if err := codes.CheckCreditCode(code); err != nil {
			t.Errorf("%s %s: %v", code, name, err)
		}
		if code[:2] != prefix[typ] {
			t.Errorf("%s is %s but starts %s", code, typ, code[:2])
		}
		if code[2:8] != district {
			t.Errorf("%s: positions 3-8 are not its district %s", code, district)
		}
		if err := codes.CheckDistrict(district); err != nil {
			t.Errorf("%s: %v", code, err)
		}
		if err := codes.CheckTownship(district, township); err != nil || township == "" {
			t.Errorf("%s: township %q: %v", code, township, err)
		}
		if err := codes.CheckIndustry(industry); err != nil {
			t.Errorf("%s: %v", code, err)
		}
		if d, _ := codes.Divisions().Lookup(district); !strings.Contains(address, strings.TrimPrefix(d.Name, "石家庄")) {
			t.Errorf("%s: address %q is not in %s", code, address, d.Name)
		}
		if tw, _ := codes.Divisions().Lookup(township); !strings.Contains(address, tw.Name) {
			t.Errorf("%s: address %q does not name township %s", code, address, tw.Name)
		}
		if lon < 113.5 || lon > 115.5 || lat < 37.4 || lat > 38.8 {
			t.Errorf("%s: location %f,%f outside Shijiazhuang", code, lon, lat)
		}
		if r := []rune(rep); len(r) < 2 || len(r) > 3 {
			t.Errorf("%s: legal representative %q", code, rep)
		}
		if capital == "" || strings.HasPrefix(capital, "-") {
			t.Errorf("%s: registered capital %q", code, capital)
		}
		types[typ]++
		statuses[status]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 2000 {
		t.Fatalf("rows = %d, want 2000", n)
	}
	t.Logf("types %v, statuses %v", types, statuses)
	within := func(what string, got int, lo, hi float64) {
		if f := float64(got) / float64(n); f < lo || f > hi {
			t.Errorf("%s = %.3f of entities, want %.2f–%.2f", what, f, lo, hi)
		}
	}
	within("individual", types["individual"], 0.60, 0.70)
	within("enterprise", types["enterprise"], 0.25, 0.35)
	for _, small := range []string{"cooperative", "institution", "non_enterprise"} {
		within(small, types[small], 0.002, 0.05)
	}
	within("active", statuses["active"], 0.80, 0.92)
	within("revoked", statuses["revoked"], 0.01, 0.08)
	within("deregistered", statuses["deregistered"], 0.05, 0.15)

	// Records: every kind appears, none predates its entity, annual reports
	// carry the year and items the public page shows.
	kinds := map[string]int{}
	krows, err := pool.Query(ctx, `SELECT kind, count(*) FROM registry.records GROUP BY kind`)
	if err != nil {
		t.Fatal(err)
	}
	for krows.Next() {
		var k string
		var c int
		if err := krows.Scan(&k, &c); err != nil {
			t.Fatal(err)
		}
		kinds[k] = c
	}
	t.Logf("record kinds %v", kinds)
	for _, k := range []string{"licence", "annual_report", "penalty", "inspection", "random_check", "spot_check", "complaint", "abnormal_list", "honour"} {
		if kinds[k] == 0 {
			t.Errorf("no %s records", k)
		}
	}
	var early, blank int
	if err := pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE r.occurred_on < e.established_on),
		count(*) FILTER (WHERE r.title = '' OR r.authority = '' OR r.ref_no = '' OR r.status = '')
		FROM registry.records r JOIN registry.entities e USING (credit_code)`).Scan(&early, &blank); err != nil {
		t.Fatal(err)
	}
	if early != 0 || blank != 0 {
		t.Errorf("%d records before their entity was established, %d with blank fields", early, blank)
	}
	var details []byte
	var ref string
	if err := pool.QueryRow(ctx, `SELECT ref_no, details FROM registry.records WHERE kind = 'annual_report' LIMIT 1`).Scan(&ref, &details); err != nil {
		t.Fatal(err)
	}
	var report struct {
		Year  int `json:"year"`
		Items []struct {
			Name, Value string
			Public      bool
		} `json:"items"`
	}
	if err := json.Unmarshal(details, &report); err != nil || report.Year < 1980 || len(report.Items) < 3 || !strings.HasPrefix(ref, "20") {
		t.Errorf("annual report %s details %s: %v", ref, details, err)
	}
	var dupYears int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT credit_code, ref_no FROM registry.records
		WHERE kind = 'annual_report' GROUP BY 1, 2 HAVING count(*) > 1) d`).Scan(&dupYears); err != nil || dupYears != 0 {
		t.Errorf("entities with two reports for one year: %d, %v", dupYears, err)
	}
	var penaltyRef string
	if err := pool.QueryRow(ctx, `SELECT ref_no FROM registry.records WHERE kind = 'penalty' LIMIT 1`).Scan(&penaltyRef); err != nil ||
		!strings.Contains(penaltyRef, "市监罚〔") || !strings.HasSuffix(penaltyRef, "号") {
		t.Errorf("penalty ref_no %q, %v; want like 石长市监罚〔2024〕123号", penaltyRef, err)
	}
}

// dump is a fingerprint of everything Load wrote, independent of ids and
// insertion time.
func dump(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var e, r string
	if err := pool.QueryRow(context.Background(), `SELECT
		(SELECT md5(string_agg(concat_ws('|', credit_code, name, entity_type, legal_rep, established_on, registered_capital,
			business_scope, address, district_code, township_code, industry_code, status, ST_AsText(location)), E'\n' ORDER BY credit_code))
		 FROM registry.entities),
		(SELECT md5(string_agg(concat_ws('|', credit_code, kind, ref_no, title, authority, occurred_on, valid_until, status, public, details::text),
			E'\n' ORDER BY credit_code, kind, occurred_on, ref_no, title))
		 FROM registry.records)`).Scan(&e, &r); err != nil {
		t.Fatal(err)
	}
	return e + r
}

func TestLoadIsDeterministicForASeed(t *testing.T) {
	a, b, c := newDB(t), newDB(t), newDB(t)
	mustLoad(t, a, Options{Count: 800, Seed: 7})
	mustLoad(t, b, Options{Count: 800, Seed: 7})
	mustLoad(t, c, Options{Count: 800, Seed: 8})
	if dump(t, a) != dump(t, b) {
		t.Error("two loads with seed 7 differ")
	}
	if dump(t, a) == dump(t, c) {
		t.Error("seeds 7 and 8 gave the same rows")
	}
}

func TestLoadAppendsAndRejectsTheSameSeedTwice(t *testing.T) {
	ctx := context.Background()
	pool := newDB(t)
	mustLoad(t, pool, Options{Count: 300, Seed: 1})
	before := dump(t, pool)

	_, err := Load(ctx, pool, Options{Count: 300, Seed: 1})
	e := errs.As(err)
	if e == nil || e.Code != errs.Conflict || !strings.Contains(e.Message, "已存在") || !strings.Contains(e.Message, "回滚") {
		t.Fatalf("second load with the same seed: %v; want a conflict naming the duplicate code", err)
	}
	if code := strings.Fields(e.Message)[1]; codes.CheckCreditCode(code) != nil {
		t.Errorf("message %q does not name the duplicate credit code", e.Message)
	}
	if dump(t, pool) != before {
		t.Error("the failed load left rows behind")
	}

	mustLoad(t, pool, Options{Count: 300, Seed: 2, RecordsPerEntity: 1})
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM registry.entities`).Scan(&n); err != nil || n != 600 {
		t.Errorf("entities after a second seed = %d, %v; want 600", n, err)
	}
}

// schema lists the indexes and constraints of the registry tables.
func schema(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), `SELECT
		(SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'registry' AND tablename IN ('entities', 'records'))
		|| E'\n' ||
		(SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conname) FROM pg_constraint
		 WHERE conrelid IN ('registry.entities'::regclass, 'registry.records'::regclass))`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBulkLoadRestoresIndexesAndForeignKey(t *testing.T) {
	ctx := context.Background()
	pool := newDB(t)
	before := schema(t, pool)
	if !strings.Contains(before, "entities_name_norm_trgm") || !strings.Contains(before, "FOREIGN KEY") {
		t.Fatalf("unexpected schema before the load:\n%s", before)
	}
	st, err := load(ctx, pool, Options{Count: 1500, Seed: 3}, true)
	if err != nil {
		t.Fatal(err)
	}
	if after := schema(t, pool); after != before {
		t.Errorf("schema after a bulk load:\n%s\nwant:\n%s", after, before)
	}
	// The rebuilt indexes are usable and complete.
	var n int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM registry.records r JOIN registry.entities e USING (credit_code)`).Scan(&n); err != nil || n != st.Records {
		t.Errorf("records joined to entities = %d, %v; want %d", n, err, st.Records)
	}
	// A failed bulk load puts the indexes back too: the transaction rolls back the drops.
	if _, err := load(ctx, pool, Options{Count: 1500, Seed: 3}, true); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("repeated bulk load: %v, want conflict", err)
	}
	if after := schema(t, pool); after != before {
		t.Errorf("schema after a failed bulk load:\n%s", after)
	}
}

func TestLoadRejectsBadOptions(t *testing.T) {
	pool := newDB(t)
	for _, opts := range []Options{{Count: 0}, {Count: -1}, {Count: MaxCount + 1}, {Count: 10, RecordsPerEntity: -1}} {
		if _, err := Load(context.Background(), pool, opts); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("Load(%+v) = %v, want invalid", opts, err)
		}
	}
}
