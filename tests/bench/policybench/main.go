// Command policybench measures policy-match at full scale and writes the
// results into docs/benchmarks.md (issue 13):
//
//   - policy → entities (FP-63) over 1.3 M entities: the function's answer
//     (counts per district and industry division plus the first page,
//     through its HTTP API and the registry's published read function)
//     against the anchor of a bare SQL scan of the registry's own tables
//     with the same predicates, run side by side;
//   - entity → policies (FP-62) over 1 000 published policies: p50/p99
//     through the HTTP API, against the anchor of the entity's read alone
//     (the same statement through pgx);
//   - enterprise-side accuracy (FP-54, 55) on held-out registry entities
//     whose codes are known: industry per level (section, division, class)
//     for the classifier with and without its lexicon, and the type read
//     from the name.
//
// The entities are the registry's synthetic seed (functions/registry/seed),
// loaded into a database of its own. Usage:
//
//	go run ./tests/bench/policybench [-count 1300000] [-reuse] [-out docs/benchmarks.md]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	policymatch "github.com/sjzamr/smartreg/functions/policy-match"
	"github.com/sjzamr/smartreg/functions/registry/seed"
	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const dbName = "bench_policy"

// only names the one part to run ("" for all).
var only string

// backfill is how long BackfillFacts took in this run (0: not run).
var backfill time.Duration

func main() {
	count := flag.Int("count", 1_300_000, "entities to load")
	policies := flag.Int("policies", 1000, "published policies for entity → policies")
	lookups := flag.Int("lookups", 300, "entity → policies requests")
	heldOut := flag.Int("heldout", 20000, "held-out entities for the accuracy measure")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	reuse := flag.Bool("reuse", false, "keep an already loaded bench_policy database")
	flag.StringVar(&only, "only", "", "run one part: entities, policies or accuracy")
	flag.Parse()
	if err := run(context.Background(), *admin, *count, *policies, *lookups, *heldOut, *out, *reuse); err != nil {
		fmt.Fprintln(os.Stderr, "policybench:", err)
		os.Exit(1)
	}
}

func dbURL(admin, name string) string {
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

type env struct {
	pool  *pgxpool.Pool
	fn    *policymatch.Function
	srv   *httptest.Server
	token string
}

func run(ctx context.Context, admin string, count, policies, lookups, heldOut int, out string, reuse bool) error {
	if !reuse {
		if err := load(ctx, admin, count); err != nil {
			return err
		}
	}
	pool, err := store.Connect(ctx, dbURL(admin, dbName), 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	e, err := newEnv(ctx, pool)
	if err != nil {
		return err
	}
	defer e.srv.Close()
	var copied int
	if reuse { // a database loaded by an older build: its newer migrations
		if err := platform.Migrate(ctx, pool); err != nil {
			return err
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM policy.subjects`).Scan(&copied); err != nil {
			return err
		}
	}
	if copied == 0 {
		start := time.Now()
		n, err := e.fn.BackfillFacts(ctx)
		if err != nil {
			return err
		}
		backfill = time.Since(start)
		fmt.Printf("facts and policy.subjects for %d entities in %s\n", n, backfill.Round(time.Millisecond))
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE policy.entity_facts, policy.subjects`); err != nil {
			return err
		}
	}
	if !reuse {
		if err := addPolicies(ctx, e, policies); err != nil {
			return err
		}
	}
	var entities int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM registry.entities`).Scan(&entities); err != nil {
		return err
	}
	intro := fmt.Sprintf("Run %s on %d cores (%s), PostgreSQL, the function and the client on the same machine, %d entities of the registry's synthetic seed "+
		"(seed 1, 2 records each on average), VACUUM ANALYZE after loading. `go run ./tests/bench/policybench -count %d`.",
		time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.GOARCH, entities, count)
	if only == "" || only == "entities" {
		if err := policyToEntities(ctx, e, intro, out); err != nil {
			return err
		}
	}
	if only == "" || only == "policies" {
		if err := entityToPolicies(ctx, e, lookups, intro, out); err != nil {
			return err
		}
	}
	if only == "" || only == "accuracy" {
		return accuracy(ctx, e, heldOut, intro, out)
	}
	return nil
}

func load(ctx context.Context, admin string, count int) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+dbName); err != nil {
		return err
	}
	conn.Close(ctx)
	pool, err := store.Connect(ctx, dbURL(admin, dbName), 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := platform.Migrate(ctx, pool); err != nil {
		return err
	}
	fmt.Printf("loading %d entities…\n", count)
	st, err := seed.Load(ctx, pool, seed.Options{Count: count, Seed: 1, RecordsPerEntity: 2})
	if err != nil {
		return err
	}
	fmt.Printf("seed: %d entities, %d records in %s\n", st.Entities, st.Records, st.Elapsed.Round(time.Millisecond))
	// As autovacuum would after a bulk load: the visibility map lets the
	// credit-state join read its partial index alone.
	_, err = pool.Exec(ctx, `VACUUM ANALYZE registry.entities, registry.records`)
	return err
}

func newEnv(ctx context.Context, pool *pgxpool.Pool) (*env, error) {
	key, err := auth.GenerateKey()
	if err != nil {
		return nil, err
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: "http://localhost:8080/identity/oidc", Audience: "smartreg", Key: key})
	if err != nil {
		return nil, err
	}
	verifier, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		return nil, err
	}
	token, _, err := iss.Issue(auth.Principal{UserID: "policybench", Username: "policybench",
		Perms: []string{"policy.policy:view", "policy.policy:create", "policy.policy:publish", "policy.match:view"}, Scope: auth.All()})
	if err != nil {
		return nil, err
	}
	fn, err := policymatch.New(policymatch.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: time.Now, Verifier: verifier,
		Fetcher: policymatch.NewHTTPFetcher()}, config.Defaults[policymatch.Config]())
	if err != nil {
		return nil, err
	}
	if err := fn.Start(ctx); err != nil {
		return nil, err
	}
	return &env{pool: pool, fn: fn, srv: httptest.NewServer(fn.Handler()), token: token}, nil
}

// addPolicies publishes the demo library and synthetic policies up to n,
// their conditions drawn over every condition type.
func addPolicies(ctx context.Context, e *env, n int) error {
	if _, err := e.fn.SeedDemo(ctx); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(13, 13))
	divisions := []string{"13", "14", "51", "52", "62", "65", "C", "F", "H", "I", "A", "E", "70", "72", "80"}
	var have int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM policy.policies`).Scan(&have); err != nil {
		return err
	}
	counties := codes.Divisions().Counties()
	a := policymatch.Actor{Username: "policybench"}
	for i := have; i < n; i++ {
		c := policymatch.Condition{}
		if r.IntN(2) == 0 {
			c.Industries = []string{divisions[r.IntN(len(divisions))]}
		}
		if r.IntN(3) == 0 {
			c.EntityTypes = []string{[]string{"enterprise", "individual", "cooperative"}[r.IntN(3)]}
		}
		if r.IntN(3) == 0 {
			c.Sizes = []string{"small", "micro"}
		}
		if r.IntN(3) == 0 {
			c.Districts = []string{counties[r.IntN(len(counties))].Code}
		}
		if r.IntN(4) == 0 {
			c.MaxAgeYears = 1 + r.IntN(10)
		}
		if r.IntN(5) == 0 {
			v := float64(10 * (1 + r.IntN(100)))
			c.CapitalMin = &v
		}
		c.NotAbnormal = r.IntN(2) == 0
		c.NotSeriousIllegal = r.IntN(3) == 0
		if r.IntN(4) == 0 {
			c.NoPenaltyYears = 3
		}
		in := policymatch.PolicyInput{Title: fmt.Sprintf("基准测试政策第%04d号（示例）", i), Issuer: "石家庄市人民政府", Sample: true,
			Body: "基准测试用示例政策。", Condition: &c}
		p, _, err := e.fn.Save(ctx, a, "manual", in)
		if err != nil {
			return err
		}
		if _, err := e.fn.SetStatus(ctx, a, p.ID, "published"); err != nil {
			return err
		}
	}
	// The fan-out events these publishes recorded are not the benchmark's.
	_, err := e.pool.Exec(ctx, `DELETE FROM platform.outbox`)
	return err
}

func (e *env) get(ctx context.Context, path string) (time.Duration, []byte, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return time.Since(start), body, nil
}

// scenario is one policy → entities query, with its anchor: the same
// predicates written straight over registry.entities and registry.records.
type scenario struct {
	name   string
	cond   policymatch.Condition
	anchor string // WHERE over e (entities), c (credit state), f (facts)
	facts  bool
}

var year3 = func() string { return time.Now().AddDate(-3, 0, 0).Format(time.DateOnly) }()

func scenarios() []scenario {
	return []scenario{
		{"every entity in business (no condition)", policymatch.Condition{}, `e.status = 'active'`, false},
		{"小微企业，未列入经营异常名录", policymatch.Condition{Sizes: []string{"small", "micro"}, NotAbnormal: true},
			`e.status = 'active' AND NOT COALESCE(c.abnormal, false) AND f.size = ANY('{small,micro}')`, true},
		{"制造业（门类 C），未列入严重违法失信名单，近 3 年无处罚", policymatch.Condition{Industries: []string{"C"}, NotSeriousIllegal: true, NoPenaltyYears: 3},
			`e.status = 'active' AND left(e.industry_code, 2) BETWEEN '13' AND '43' AND NOT COALESCE(c.serious_illegal, false) AND (c.last_penalty_on IS NULL OR c.last_penalty_on < '` + year3 + `')`, false},
		{"个体工商户，长安区，成立不满 3 年", policymatch.Condition{EntityTypes: []string{"individual"}, Districts: []string{"130102"}, MaxAgeYears: 3},
			`e.status = 'active' AND e.entity_type = 'individual' AND e.district_code = '130102' AND e.established_on > '` + year3 + `'`, false},
	}
}

const anchorCredit = `LEFT JOIN (SELECT r.credit_code, bool_or(r.kind = 'abnormal_list' AND r.status <> '已移出') AS abnormal,
		bool_or(r.kind = 'serious_illegal' AND r.status <> '已移出') AS serious_illegal, max(r.occurred_on) FILTER (WHERE r.kind = 'penalty') AS last_penalty_on
	FROM registry.records r WHERE r.kind IN ('abnormal_list', 'serious_illegal', 'blacklist', 'penalty') GROUP BY r.credit_code) c ON c.credit_code = e.credit_code`

func (s scenario) anchorSQL() (counts, page string) {
	from := ` FROM registry.entities e ` + anchorCredit
	if s.facts {
		from += ` JOIN policy.entity_facts f ON f.credit_code = e.credit_code::text`
	}
	counts = `SELECT e.district_code, left(e.industry_code, 2), count(*)` + from + ` WHERE ` + s.anchor + ` GROUP BY 1, 2`
	page = `SELECT e.credit_code` +
		from + ` WHERE ` + s.anchor + ` ORDER BY reverse(e.credit_code::text) LIMIT 20`
	return counts, page
}

func policyToEntities(ctx context.Context, e *env, intro, out string) error {
	rows := [][]string{{"condition", "matching entities", "SmartReg (API: counts + first page)", "anchor (bare SQL, same predicates)", "ratio", "target"}}
	a := policymatch.Actor{Username: "policybench"}
	for _, s := range scenarios() {
		c := s.cond
		p, _, err := e.fn.Save(ctx, a, "manual", policymatch.PolicyInput{Title: "基准场景：" + s.name, Condition: &c, Sample: true})
		if err != nil {
			return err
		}
		counts, page := s.anchorSQL()
		var api, anchor []time.Duration
		var total int64
		for i := range 3 { // interleaved; the first round warms the caches of both
			d, body, err := e.get(ctx, "/policy/v1/policies/"+strconv.FormatInt(p.ID, 10)+"/entities")
			if err != nil {
				return err
			}
			if i > 0 {
				api = append(api, d)
			}
			start := time.Now()
			var n int64
			byDistrict, byIndustry := map[string]int64{}, map[string]int64{}
			var codes []string
			// The same working memory the function gave its scan before.
			err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '128MB'`); err != nil {
					return err
				}
				rs, err := tx.Query(ctx, counts)
				if err != nil {
					return fmt.Errorf("anchor %s: %w", s.name, err)
				}
				for rs.Next() {
					var d, ind string
					var k int64
					if err := rs.Scan(&d, &ind, &k); err != nil {
						return err
					}
					n += k
					byDistrict[d] += k
					byIndustry[ind] += k
				}
				rs.Close()
				rs, err = tx.Query(ctx, page)
				if err != nil {
					return err
				}
				for rs.Next() {
					var code string
					if err := rs.Scan(&code); err != nil {
						return err
					}
					codes = append(codes, strings.TrimSpace(code))
				}
				rs.Close()
				return rs.Err()
			})
			if err != nil {
				return err
			}
			if i > 0 {
				anchor = append(anchor, time.Since(start))
			}
			total = n
			if err := sameAnswer(body, n, byDistrict, byIndustry, codes); err != nil {
				return fmt.Errorf("%s: the API and the anchor disagree: %w", s.name, err)
			}
		}
		ma, mb := best(api), best(anchor)
		rows = append(rows, []string{s.name, strconv.FormatInt(total, 10), ms(ma), ms(mb), fmt.Sprintf("%.2f", ma.Seconds()/mb.Seconds()), "< 2 s"})
		fmt.Printf("policy → entities, %s: %d matches, API %s, anchor %s\n", s.name, total, ms(ma), ms(mb))
	}
	return report.Write(out, "policy-entities", report.Section{
		Title: "Policy match: policy → entities over the register (issue 13, FP-63)",
		Intro: intro + " SmartReg = `GET /policy/v1/policies/{id}/entities` as a city-wide user: one scan of `policy.subjects` (policy-match's copy of " +
			"`registry.policy_subjects()` with the size, kept by the entity events) grouped by district and by industry division, then the first page of 20 " +
			"(in reversed credit-code order, partial index `subjects_active_reversed`) with its names through `registry.policy_subject(code)`. " +
			"Anchor = the same two statements written over `registry.entities`, `registry.records` and `policy.entity_facts` directly (what the function scanned before the copy), " +
			"with 128 MB of `work_mem` and the server's default parallelism. Best of two runs after a warm-up; both sides must agree on the total, on the count of every district and " +
			"industry division and on the first page. " + backfillNote() + "The machine is shared: the load average during the run is given below the table.",
		Rows: append(rows, []string{"load average (1, 5, 15 min) at the end", loadAvg(), "", "", "", ""}),
	})
}

// sameAnswer checks the API's answer against the anchor's: the total, the
// count of every district and industry division, and the first page.
func sameAnswer(body []byte, total int64, byDistrict, byIndustry map[string]int64, page []string) error {
	var got struct {
		Total      int64               `json:"total"`
		ByDistrict []policymatch.Count `json:"by_district"`
		ByIndustry []policymatch.Count `json:"by_industry"`
		Items      []struct {
			CreditCode string `json:"credit_code"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return err
	}
	if got.Total != total {
		return fmt.Errorf("total %d, anchor %d", got.Total, total)
	}
	for name, pair := range map[string]struct {
		api    []policymatch.Count
		anchor map[string]int64
	}{"district": {got.ByDistrict, byDistrict}, "industry": {got.ByIndustry, byIndustry}} {
		if len(pair.api) != len(pair.anchor) {
			return fmt.Errorf("%d %s groups, anchor %d", len(pair.api), name, len(pair.anchor))
		}
		for _, c := range pair.api {
			if pair.anchor[c.Code] != c.Count {
				return fmt.Errorf("%s %s: %d, anchor %d", name, c.Code, c.Count, pair.anchor[c.Code])
			}
		}
	}
	if len(got.Items) != len(page) {
		return fmt.Errorf("page of %d, anchor %d", len(got.Items), len(page))
	}
	for i, it := range got.Items {
		if it.CreditCode != page[i] {
			return fmt.Errorf("page row %d: %s, anchor %s", i, it.CreditCode, page[i])
		}
	}
	return nil
}

func entityToPolicies(ctx context.Context, e *env, n int, intro, out string) error {
	var published int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM policy.policies WHERE status = 'published'`).Scan(&published); err != nil {
		return err
	}
	rs, err := e.pool.Query(ctx, `SELECT credit_code FROM registry.entities TABLESAMPLE SYSTEM (0.1) LIMIT $1`, n)
	if err != nil {
		return err
	}
	sample, err := pgx.CollectRows(rs, pgx.RowTo[string])
	if err != nil {
		return err
	}
	var api, anchor []time.Duration
	matched := 0
	for _, code := range sample {
		d, body, err := e.get(ctx, "/policy/v1/entities/"+strings.TrimSpace(code)+"/policies")
		if err != nil {
			return err
		}
		api = append(api, d)
		var m struct {
			Matched int `json:"matched"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		matched += m.Matched
		start := time.Now()
		var x string
		if err := e.pool.QueryRow(ctx, `SELECT s.credit_code FROM registry.policy_subject($1) s LEFT JOIN registry.policy_figure($1) f ON true`, code).Scan(&x); err != nil {
			return err
		}
		anchor = append(anchor, time.Since(start))
	}
	fmt.Printf("entity → policies over %d policies: p50 %s p99 %s (anchor p99 %s)\n", published, ms(pct(api, 50)), ms(pct(api, 99)), ms(pct(anchor, 99)))
	return report.Write(out, "policy-policies", report.Section{
		Title: fmt.Sprintf("Policy match: entity → policies over %d published policies (issue 13, FP-62)", published),
		Intro: intro + fmt.Sprintf(" SmartReg = `GET /policy/v1/entities/{code}/policies` for %d random entities: the entity and its latest annual figures through "+
			"`registry.policy_subject`/`policy_figure`, the published policies, every condition evaluated with its reason, ranked, as JSON (%.1f matches per entity on average). "+
			"Anchor = the entity's read alone through pgx, the floor of any answer.", len(sample), float64(matched)/float64(max(1, len(sample)))),
		Rows: [][]string{
			{"measure", "SmartReg", "anchor", "ratio", "target"},
			{"p50", ms(pct(api, 50)), ms(pct(anchor, 50)), fmt.Sprintf("%.1f", pct(api, 50).Seconds()/pct(anchor, 50).Seconds()), ""},
			{"p99", ms(pct(api, 99)), ms(pct(anchor, 99)), fmt.Sprintf("%.1f", pct(api, 99).Seconds()/pct(anchor, 99).Seconds()), "< 50 ms"},
			{"load average (1, 5, 15 min) at the end", loadAvg(), "", "", ""},
		},
	})
}

// accuracy classifies held-out entities: every entity whose credit code
// hashes into one bucket of 65, never looked at while the rules were
// written (the rules come from the GB/T 4754 class names and the lexicon in
// enterprise.go).
func accuracy(ctx context.Context, e *env, n int, intro, out string) error {
	rs, err := e.pool.Query(ctx, `SELECT name, business_scope, industry_code, entity_type FROM registry.policy_subjects()
		WHERE abs(hashtext(credit_code)) % 65 = 7 LIMIT $1`, n)
	if err != nil {
		return err
	}
	type ent struct{ name, scope, industry, typ string }
	var list []ent
	for rs.Next() {
		var x ent
		if err := rs.Scan(&x.name, &x.scope, &x.industry, &x.typ); err != nil {
			return err
		}
		list = append(list, x)
	}
	rs.Close()
	seg := &policymatch.Segmenter{}
	models := []struct {
		name string
		m    *policymatch.IndustryModel
	}{{"classifier with lexicon (as deployed)", policymatch.NewIndustryModel(seg, true)}, {"class names only (baseline)", policymatch.NewIndustryModel(seg, false)}}
	rows := [][]string{{"measure", "entities", "section (门类)", "division (大类)", "class (小类)", "mean confidence right / wrong"}}
	for _, m := range models {
		var sec, div, cls int
		var confRight, confWrong float64
		var nr, nw int
		for _, x := range list {
			g := m.m.Guess(x.name, x.scope)
			s1, _ := codes.Industries().Section(x.industry)
			s2, _ := codes.Industries().Section(g.Code)
			if g.Code != "" && s1.Code == s2.Code {
				sec++
			}
			if len(g.Code) == 4 && g.Code[:2] == x.industry[:2] {
				div++
			}
			if g.Code == x.industry {
				cls++
				confRight += g.Confidence
				nr++
			} else {
				confWrong += g.Confidence
				nw++
			}
		}
		t := float64(len(list))
		rows = append(rows, []string{"industry: " + m.name, strconv.Itoa(len(list)), pctf(sec, t), pctf(div, t), pctf(cls, t),
			fmt.Sprintf("%.2f / %.2f", confRight/float64(max(1, nr)), confWrong/float64(max(1, nw)))})
	}
	var typeOK int
	conf := map[string]map[string]int{}
	for _, x := range list {
		got, _ := policymatch.TypeFromName(x.name)
		if got == x.typ {
			typeOK++
		}
		if conf[x.typ] == nil {
			conf[x.typ] = map[string]int{}
		}
		conf[x.typ][got]++
	}
	var per []string
	for _, typ := range slices.Sorted(func(yield func(string) bool) {
		for k := range conf {
			if !yield(k) {
				return
			}
		}
	}) {
		tot := 0
		for _, v := range conf[typ] {
			tot += v
		}
		per = append(per, fmt.Sprintf("%s %s", typ, pctf(conf[typ][typ], float64(tot))))
	}
	rows = append(rows, []string{"type from the name (TypeFromName)", strconv.Itoa(len(list)), pctf(typeOK, float64(len(list))) + " overall", strings.Join(per, "; "), "", ""})
	fmt.Printf("accuracy on %d held-out entities: %v\n", len(list), rows[1:])
	return report.Write(out, "policy-accuracy", report.Section{
		Title: "Policy match: enterprise-side accuracy on held-out entities (issue 13, FP-54, 55)",
		Intro: intro + fmt.Sprintf(" Held out: the %d entities whose credit code hashes into bucket 7 of 65, none of them used while the rules were written. "+
			"Truth = the registered GB/T 4754 class and entity type. Caveat: the synthetic seed draws names and scopes from a fixed vocabulary per class "+
			"(functions/registry/seed/words.go), and the lexicon was written knowing the common trade words, so the lexicon row overstates what real "+
			"registrations would give; the class-names-only row does not use the lexicon at all.", len(list)),
		Rows: rows,
	})
}

// backfillNote says what building the copy cost, when this run built it.
func backfillNote() string {
	if backfill == 0 {
		return ""
	}
	return fmt.Sprintf("Building `policy.entity_facts` and `policy.subjects` for every entity (`BackfillFacts`, after the seed's COPY) took %s. ", backfill.Round(time.Second))
}

// loadAvg is the machine's load while a section ran (others share it).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func best(ds []time.Duration) time.Duration { return slices.Min(ds) }

func pct(d []time.Duration, p int) time.Duration { return report.Percentile(d, float64(p)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func pctf(k int, n float64) string { return fmt.Sprintf("%.1f %%", 100*float64(k)/n) }
