// Command dashbench measures the KPI board's queries (issue 21, FP-110–114,
// 130) answered from the pre-aggregated rollup against the same queries on
// the raw registry tables, at the issue's scale (1.3 M entities, 3 M
// records by default), and the cost of keeping the rollup current (one
// entity event). Results go to docs/benchmarks.md (bench:dashbench).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/dashboard"
	"github.com/sjzamr/smartreg/functions/registry"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const dbName = "bench_dashboard"

func main() {
	count := flag.Int("count", 1_300_000, "entities to load")
	records := flag.Int("records", 3_000_000, "records to load")
	n := flag.Int("n", 200, "requests per measure")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	reuse := flag.Bool("reuse", false, "keep the database of an earlier run (same -count and -records)")
	flag.Parse()
	if err := run(context.Background(), *admin, *count, *records, *n, *out, *reuse); err != nil {
		fmt.Fprintln(os.Stderr, "dashbench:", err)
		os.Exit(1)
	}
}

func dbURL(admin, name string) string {
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func load(ctx context.Context, admin string, count, records int) (time.Duration, error) {
	start := time.Now()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return 0, err
	}
	_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+dbName); err != nil {
		return 0, err
	}
	conn.Close(ctx)
	pool, err := store.Connect(ctx, dbURL(admin, dbName), 4)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append(append([]store.Migration{store.Platform()}, registry.Migrations()...), dashboard.Migrations()...)...); err != nil {
		return 0, err
	}
	// Every county of the city with its real townships, so the rollup has
	// its real width (district × township × type × status).
	var districts, townships []string
	for _, c := range codes.Divisions().Counties() {
		for _, t := range codes.Divisions().Townships(c.Code) {
			districts, townships = append(districts, c.Code), append(townships, t.Code)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
		registered_capital, address, district_code, township_code, industry_code, status)
		SELECT 'D' || lpad(i::text, 17, '0'), '测试' || i || '商贸有限公司',
			(ARRAY['enterprise','individual','individual','cooperative','institution'])[1 + i % 5],
			'张' || i, date '2000-01-01' + (i % 9000), i % 1000, '石家庄市某路' || i || '号',
			($2::text[])[1 + (i::bigint * 7919) % cardinality($2::text[])], ($3::text[])[1 + (i::bigint * 7919) % cardinality($3::text[])],
			(ARRAY['5211','5212','6210','0111','7212'])[1 + i % 5],
			(ARRAY['active','active','active','active','active','active','active','revoked','deregistered','active'])[1 + (i / 7) % 10]
		FROM generate_series(1, $1) i`, count, districts, townships); err != nil {
		return 0, fmt.Errorf("entities: %w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, status)
		SELECT 'D' || lpad((1 + (i::bigint * 104729) % $2)::text, 17, '0'),
			(ARRAY['licence','annual_report','penalty','inspection','complaint','annual_report'])[1 + i % 6], '记录' || i,
			date '2020-01-01' + (i % 2000), ''
		FROM generate_series(1, $1) i`, records, count); err != nil {
		return 0, fmt.Errorf("records: %w", err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE registry.entities`); err != nil {
		return 0, err
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE registry.records`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

type measure struct {
	name, scope string
	rollup, raw func() (string, error) // each returns its answer, compared
}

func run(ctx context.Context, admin string, count, records, n int, out string, reuse bool) error {
	var loaded time.Duration
	if !reuse {
		var err error
		if loaded, err = load(ctx, admin, count, records); err != nil {
			return err
		}
		fmt.Printf("loaded %d entities and %d records in %s\n", count, records, loaded.Round(time.Second))
	}
	pool, err := store.Connect(ctx, dbURL(admin, dbName), 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	key, err := auth.GenerateKey()
	if err != nil {
		return err
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: "http://localhost:8080/identity/oidc", Audience: "smartreg", Key: key})
	if err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		return err
	}
	blobs, err := blob.NewDir(os.TempDir() + "/dashbench-blobs")
	if err != nil {
		return err
	}
	fn, err := dashboard.New(dashboard.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: time.Now, Verifier: verifier, Blob: blobs},
		config.Defaults[dashboard.Config]())
	if err != nil {
		return err
	}
	s := time.Now()
	if err := fn.RefreshAll(ctx); err != nil {
		return err
	}
	full := time.Since(s)
	var rollupRows int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM dashboard.rollup`).Scan(&rollupRows)
	var recordRows int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM dashboard.record_rollup`).Scan(&recordRows)
	srv := httptest.NewServer(fn.Handler())
	defer srv.Close()
	perms := []string{dashboard.PermKPI + ":view", dashboard.PermKPI + ":manage"}
	cityTok, _, err := iss.Issue(auth.Principal{UserID: "b", Username: "bench", Perms: perms, Scope: auth.All()})
	if err != nil {
		return err
	}
	district := "130102"
	distTok, _, err := iss.Issue(auth.Principal{UserID: "b", Username: "bench", Perms: perms,
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{district}}})
	if err != nil {
		return err
	}
	get := func(tok, path string, v any) error {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			b, _ := io.ReadAll(res.Body)
			return fmt.Errorf("%s: %d %s", path, res.StatusCode, b)
		}
		return json.NewDecoder(res.Body).Decode(v)
	}
	// The seeded board's five basic indicators, as the raw-table anchor
	// counts them: the same predicates straight on registry.entities.
	basic := [][2]string{{"enterprise", "active"}, {"individual", "active"}, {"cooperative", "active"}, {"", "revoked"}, {"", "deregistered"}}
	boardAPI := func(tok string) func() (string, error) {
		return func() (string, error) {
			var b dashboard.Board
			if err := get(tok, "/dashboard/v1/indicators", &b); err != nil {
				return "", err
			}
			vals := map[string]int64{}
			for _, it := range b.Items {
				if !it.FromRollup || it.Value == nil {
					return "", fmt.Errorf("%s not from the rollup", it.Name)
				}
				vals[it.Name] = *it.Value
			}
			return fmt.Sprint(vals["在业企业"], vals["在业个体工商户"], vals["在业农民专业合作社"], vals["吊销主体"], vals["注销主体"]), nil
		}
	}
	boardRaw := func(districts []string) func() (string, error) {
		return func() (string, error) {
			var vals []string
			for _, b := range basic {
				var c int64
				err := pool.QueryRow(ctx, `SELECT count(*) FROM registry.entities WHERE ($1::text[] IS NULL OR district_code::text = ANY($1))
					AND ($2 = '' OR entity_type = $2) AND status = $3`, districts, b[0], b[1]).Scan(&c)
				if err != nil {
					return "", err
				}
				vals = append(vals, fmt.Sprint(c))
			}
			return strings.Join(vals, " "), nil
		}
	}
	countiesAPI := func(id int) func() (string, error) {
		return func() (string, error) {
			var c dashboard.Counties
			if err := get(cityTok, fmt.Sprintf("/dashboard/v1/indicators/%d/counties", id), &c); err != nil {
				return "", err
			}
			var parts []string
			for _, x := range c.Items {
				parts = append(parts, fmt.Sprintf("%s=%d", x.DistrictCode, x.Count))
			}
			slices.Sort(parts)
			return strings.Join(parts, ","), nil
		}
	}
	countiesRaw := func(sql string) func() (string, error) {
		return func() (string, error) {
			rows, err := pool.Query(ctx, sql)
			if err != nil {
				return "", err
			}
			var parts []string
			for rows.Next() {
				var d string
				var c int64
				if err := rows.Scan(&d, &c); err != nil {
					return "", err
				}
				parts = append(parts, fmt.Sprintf("%s=%d", d, c))
			}
			slices.Sort(parts)
			return strings.Join(parts, ","), rows.Err()
		}
	}
	// An advanced indicator with a record condition: active enterprises
	// with a public penalty, by county, hidden from the board, answered
	// from dashboard.record_rollup; the anchor is the same EXISTS in bare
	// SQL on the raw tables.
	var adv dashboard.Indicator
	if err := pool.QueryRow(ctx, `INSERT INTO dashboard.indicators (category_id, name, kind, visible, conditions)
		VALUES (2, '受处罚在业企业', 'advanced', false, '[{"field":"entity_type","op":"eq","value":"enterprise"},{"field":"status","op":"eq","value":"active"},{"field":"record_kind","op":"has","value":"penalty"}]')
		ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind RETURNING id`).Scan(&adv.ID); err != nil {
		return err
	}
	// The big screen: one call, every number from the rollups; the anchor
	// computes the same totals, per-district active counts and record
	// shares on the raw tables.
	screenAPI := func() (string, error) {
		var sc dashboard.Screen
		if err := get(cityTok, "/dashboard/v1/screen", &sc); err != nil {
			return "", err
		}
		var parts []string
		for _, d := range sc.Districts {
			if d.Total > 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", d.Code, d.Active))
			}
		}
		for _, r := range sc.Records {
			parts = append(parts, fmt.Sprintf("%s=%d", r.Code, r.Count))
		}
		slices.Sort(parts)
		return fmt.Sprint(sc.Totals.Entities, " ", sc.Totals.Active, " ", strings.Join(parts, ",")), nil
	}
	screenRaw := func() (string, error) {
		var total, active int64
		var parts []string
		rows, err := pool.Query(ctx, `SELECT district_code::text, count(*), count(*) FILTER (WHERE status = 'active') FROM registry.entities GROUP BY 1`)
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var d string
			var n, a int64
			if err := rows.Scan(&d, &n, &a); err != nil {
				return "", err
			}
			total, active = total+n, active+a
			parts = append(parts, fmt.Sprintf("%s=%d", d, a))
		}
		rows, err = pool.Query(ctx, `SELECT r.kind, count(DISTINCT r.credit_code) FROM registry.records r
			JOIN registry.entities e ON e.credit_code = r.credit_code WHERE r.public GROUP BY 1`)
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				return "", err
			}
			parts = append(parts, fmt.Sprintf("%s=%d", k, n))
		}
		slices.Sort(parts)
		return fmt.Sprint(total, " ", active, " ", strings.Join(parts, ",")), rows.Err()
	}
	ms := []measure{
		{"board, 5 basic indicators", "city-wide", boardAPI(cityTok), boardRaw(nil)},
		{"board, 5 basic indicators", "one district (" + district + ")", boardAPI(distTok), boardRaw([]string{district})},
		{"county ranking, 在业企业", "city-wide", countiesAPI(1), countiesRaw(`SELECT district_code::text, count(*) FROM registry.entities
			WHERE entity_type = 'enterprise' AND status = 'active' GROUP BY 1`)},
		{"county ranking, 受处罚在业企业 (advanced, record condition, record rollup)", "city-wide", countiesAPI(int(adv.ID)), countiesRaw(`SELECT e.district_code::text, count(*)
			FROM registry.entities e WHERE e.entity_type = 'enterprise' AND e.status = 'active' AND EXISTS (SELECT 1 FROM registry.records r
			WHERE r.credit_code = e.credit_code AND r.kind = 'penalty' AND r.public) GROUP BY 1`)},
		{"big screen (totals, 24 counties, type and record shares, rolled-up indicators)", "city-wide", screenAPI, screenRaw},
	}
	rows := [][]string{{"query", "scope", "dashboard p50", "dashboard p95", "raw tables p50", "raw tables p95", "raw ÷ dashboard (p50)", "p95 < 300 ms"}}
	for _, m := range ms {
		reps := n
		if strings.HasPrefix(m.name, "big screen") {
			reps = max(n/10, 20) // its raw side takes seconds a call
		}
		var ta, tb []time.Duration
		for i := range reps + 3 {
			s := time.Now()
			a, err := m.rollup()
			da := time.Since(s)
			if err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			s = time.Now()
			b, err := m.raw()
			db := time.Since(s)
			if err != nil {
				return fmt.Errorf("%s raw: %w", m.name, err)
			}
			if a != b {
				return fmt.Errorf("%s: the dashboard answered %s, the raw tables %s", m.name, a, b)
			}
			if i >= 3 { // warm-up
				ta, tb = append(ta, da), append(tb, db)
			}
		}
		p95 := pct(ta, 95)
		verdict := "meets"
		if p95 >= 300*time.Millisecond {
			verdict = "**misses**"
		}
		rows = append(rows, []string{m.name, m.scope, ms2(pct(ta, 50)), ms2(p95), ms2(pct(tb, 50)), ms2(pct(tb, 95)),
			fmt.Sprintf("%.1f×", float64(pct(tb, 50))/float64(pct(ta, 50))), verdict})
		fmt.Println(strings.Join(rows[len(rows)-1], " | "))
	}
	// Keeping it current: one entity event recomputes its district.
	var ev []time.Duration
	for i := range 20 {
		code := fmt.Sprintf("E%017d", i)
		if _, err := pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on, address,
			district_code, township_code, industry_code) VALUES ($1, '新登记公司', 'enterprise', '李', '2026-01-01', '某路', $2, '', '5211')
			ON CONFLICT DO NOTHING`, code, district); err != nil {
			return err
		}
		e := cloudevents.New()
		e.SetID(fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i))
		e.SetType(events.EntityRegistered)
		e.SetSource("/functions/registry")
		_ = e.SetData("application/json", events.EntityRegisteredData{Entity: events.Entity{CreditCode: code, DistrictCode: district,
			EntityType: "enterprise", Status: "active", Version: 1}, RegisteredAt: time.Now()})
		s := time.Now()
		if _, err := fn.Receive(ctx, e); err != nil {
			return err
		}
		ev = append(ev, time.Since(s))
	}
	if a, err := boardAPI(distTok)(); err != nil {
		return err
	} else if b, err := boardRaw([]string{district})(); err != nil || a != b {
		return fmt.Errorf("after the events the rollup says %s, the raw tables %s (%v)", a, b, err)
	}
	_, _ = pool.Exec(ctx, `DELETE FROM registry.entities WHERE credit_code LIKE 'E%'`)
	var load1 string
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load1 = strings.Fields(string(b))[0]
	}
	loadNote := "not measured (reused database)"
	if loaded > 0 {
		loadNote = loaded.Round(time.Second).String()
	}
	return report.Write(out, "dashbench", report.Section{
		Title: "KPI board: rollups against raw tables (issue 21, FP-110–114, 130)",
		Intro: fmt.Sprintf("Run %s on %d cores (%s), load average %s at the end, shared with other engineers' builds. "+
			"`go run ./tests/bench/dashbench -count %d -records %d -n %d`: %d entities over every county and township of the city, %d records; "+
			"load %s. Dashboard = the function's HTTP API over loopback with a verified token (the board: `GET /dashboard/v1/indicators`, "+
			"five basic indicators each one `sum` over `dashboard.rollup`, %d rows; rankings: `GET …/indicators/{id}/counties`; "+
			"the advanced indicator's record condition over `dashboard.record_rollup`, %d rows). "+
			"Raw tables = the same counts in bare SQL on `registry.entities` / `registry.records` through pgx, no HTTP. "+
			"Both answers are compared on every call. Full rollup rebuild (the PingSource's work): %s. "+
			"One `entity.registered` event recomputing its district (about %d entities): p50 %s, max %s; the board then agrees with the raw count.",
			time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.GOARCH, load1, count, records, n, count, records, loadNote, rollupRows, recordRows,
			full.Round(time.Millisecond), count/len(codes.Divisions().Counties()), ms2(pct(ev, 50)), ms2(slices.Max(ev))),
		Rows: rows,
	})
}

func pct(d []time.Duration, p int) time.Duration { return report.Percentile(d, float64(p)) }

func ms2(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
