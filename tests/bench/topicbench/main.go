// Command topicbench measures the topic boards (issue 21, FP-118 许可备案,
// FP-119 行政处罚) answered from their rollups against the same numbers
// counted on the raw registry tables, and the licence list read through
// the published function. The default scale is a tenth of the issue's
// (130 000 entities, 300 000 records) so a run stays within about a minute
// on a shared machine; -count 1300000 -records 3000000 gives the full one.
// Results go to docs/benchmarks.md (bench:topicbench).
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

	"github.com/jackc/pgx/v5"

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

const dbName = "bench_topics"

func main() {
	count := flag.Int("count", 130_000, "entities to load")
	records := flag.Int("records", 300_000, "records to load")
	n := flag.Int("n", 40, "requests per measure")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	keep := flag.Bool("keep", false, "keep the database afterwards")
	flag.Parse()
	if err := run(context.Background(), *admin, *count, *records, *n, *out, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "topicbench:", err)
		os.Exit(1)
	}
}

func dbURL(admin, name string) string {
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// The raw anchors classify exactly as the dashboard does (its constants
// are unexported; these are the same CASE expressions over r.title).
const licenceCat = `CASE WHEN r.title LIKE '%特种设备%' THEN 'special_equipment' WHEN r.title LIKE '%工业产品%' THEN 'industrial'
	WHEN r.title LIKE '%药品%' OR r.title LIKE '%医疗器械%' THEN 'drug' WHEN r.title LIKE '%食品%' THEN 'food' ELSE '' END`

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
	var districts, townships []string
	for _, c := range codes.Divisions().Counties() {
		for _, t := range codes.Divisions().Townships(c.Code) {
			districts, townships = append(districts, c.Code), append(townships, t.Code)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
		registered_capital, address, district_code, township_code, industry_code, status)
		SELECT 'T' || lpad(i::text, 17, '0'), '测试' || i || '商贸有限公司',
			(ARRAY['enterprise','individual','individual','cooperative','institution'])[1 + i % 5],
			'张' || i, date '2000-01-01' + (i % 9000), i % 1000, '石家庄市某路' || i || '号',
			($2::text[])[1 + (i::bigint * 7919) % cardinality($2::text[])], ($3::text[])[1 + (i::bigint * 7919) % cardinality($3::text[])],
			'5211', (ARRAY['active','active','active','active','active','active','active','revoked','deregistered','active'])[1 + (i / 7) % 10]
		FROM generate_series(1, $1) i`, count, districts, townships); err != nil {
		return 0, fmt.Errorf("entities: %w", err)
	}
	// The seed's shares: 17 % licences, 5 % penalties, the rest other kinds.
	if _, err := pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, status, details)
		SELECT 'T' || lpad((1 + (i::bigint * 104729) % $2)::text, 17, '0'), k.kind,
			CASE k.kind WHEN 'licence' THEN (ARRAY['食品经营许可证','食品生产许可证','药品经营许可证','第二类医疗器械经营备案凭证',
				'全国工业产品生产许可证','特种设备使用登记证','烟草专卖零售许可证'])[1 + i % 7]
			WHEN 'penalty' THEN (ARRAY['销售超过保质期的食品案','未明码标价案','发布违法广告案','使用未经检定的计量器具案','销售不合格产品案',
				'特种设备未经定期检验继续使用案','销售侵犯注册商标专用权商品案','未取得许可从事经营活动案'])[1 + i % 8]
			ELSE '记录' || i END,
			date '2021-01-01' + (i % 2100),
			CASE k.kind WHEN 'licence' THEN (ARRAY['有效','有效','已过期'])[1 + i % 3] WHEN 'penalty' THEN (ARRAY['已结案','已结案','执行中'])[1 + i % 3] ELSE '' END,
			CASE k.kind WHEN 'penalty' THEN jsonb_build_object('amount', ((1 + i % 50) * 500)::text || '.00') ELSE '{}'::jsonb END
		FROM generate_series(1, $1) i,
			LATERAL (SELECT CASE WHEN i % 100 < 17 THEN 'licence' WHEN i % 100 < 22 THEN 'penalty' WHEN i % 100 < 52 THEN 'annual_report' ELSE 'inspection' END AS kind) k`,
		records, count); err != nil {
		return 0, fmt.Errorf("records: %w", err)
	}
	for _, t := range []string{"registry.entities", "registry.records"} {
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE `+t); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

type measure struct {
	name, scope string
	api, raw    func() (string, error)
}

func run(ctx context.Context, admin string, count, records, n int, out string, keep bool) error {
	loaded, err := load(ctx, admin, count, records)
	if err != nil {
		return err
	}
	fmt.Printf("loaded %d entities and %d records in %s\n", count, records, loaded.Round(time.Second))
	pool, err := store.Connect(ctx, dbURL(admin, dbName), 8)
	if err != nil {
		return err
	}
	defer func() {
		pool.Close()
		if !keep {
			if conn, err := pgx.Connect(ctx, admin); err == nil {
				_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`)
				conn.Close(ctx)
			}
		}
	}()
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
	blobs, err := blob.NewDir(os.TempDir() + "/topicbench-blobs")
	if err != nil {
		return err
	}
	// A fixed day, so the penalty board's default period and trend do not move.
	now := func() time.Time { return time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) }
	fn, err := dashboard.New(dashboard.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: now, Verifier: verifier, Blob: blobs},
		config.Defaults[dashboard.Config]())
	if err != nil {
		return err
	}
	s := time.Now()
	if err := fn.RefreshTopics(ctx); err != nil {
		return err
	}
	refresh := time.Since(s)
	var licRows, penRows int
	_ = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM dashboard.licence_rollup), (SELECT count(*) FROM dashboard.penalty_rollup)`).Scan(&licRows, &penRows)
	srv := httptest.NewServer(fn.Handler())
	defer srv.Close()
	perms := []string{dashboard.PermKPI + ":view"}
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
	licenceAPI := func(tok string) func() (string, error) {
		return func() (string, error) {
			var b dashboard.LicenceBoard
			if err := get(tok, "/dashboard/v1/topics/licences", &b); err != nil {
				return "", err
			}
			var parts []string
			for _, c := range b.Categories {
				if c.Licences > 0 {
					parts = append(parts, fmt.Sprintf("%s=%d/%d/%d/%d", c.Code, c.Licences, c.Valid, c.Expired, c.Entities))
				}
			}
			return strings.Join(parts, ","), nil
		}
	}
	licenceRaw := func(districts []string) func() (string, error) {
		return func() (string, error) {
			rows, err := pool.Query(ctx, `SELECT `+licenceCat+` AS cat, count(*), count(*) FILTER (WHERE r.status = '有效'),
				count(*) FILTER (WHERE r.status = '已过期'), count(DISTINCT r.credit_code)
				FROM registry.records r JOIN registry.entities e ON e.credit_code = r.credit_code
				WHERE r.kind = 'licence' AND r.public AND ($1::text[] IS NULL OR e.district_code::text = ANY($1))
				GROUP BY 1 HAVING `+licenceCat+` <> '' ORDER BY array_position(ARRAY['food','drug','special_equipment','industrial'], `+licenceCat+`)`, districts)
			if err != nil {
				return "", err
			}
			var parts []string
			for rows.Next() {
				var c string
				var a, v, x, e int64
				if err := rows.Scan(&c, &a, &v, &x, &e); err != nil {
					return "", err
				}
				parts = append(parts, fmt.Sprintf("%s=%d/%d/%d/%d", c, a, v, x, e))
			}
			return strings.Join(parts, ","), rows.Err()
		}
	}
	penaltyAPI := func() (string, error) {
		var b dashboard.PenaltyBoard
		if err := get(cityTok, "/dashboard/v1/topics/penalties?from=2022-01&to=2026-12", &b); err != nil {
			return "", err
		}
		var parts []string
		for _, d := range b.Districts {
			if d.Cases > 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", d.Code, d.Cases))
			}
		}
		for _, y := range b.Trend {
			parts = append(parts, fmt.Sprintf("%d=%d/%d", y.Year, y.Filed, y.Closed))
		}
		slices.Sort(parts)
		return fmt.Sprintf("%d %.0f %s", b.Totals.Cases, b.Totals.Amount, strings.Join(parts, ",")), nil
	}
	penaltyRaw := func() (string, error) {
		var cases int64
		var amount float64
		var parts []string
		rows, err := pool.Query(ctx, `SELECT e.district_code::text, count(*), sum((r.details->>'amount')::numeric)::float8
			FROM registry.records r JOIN registry.entities e ON e.credit_code = r.credit_code
			WHERE r.kind = 'penalty' AND r.public AND r.occurred_on BETWEEN '2022-01-01' AND '2026-12-31' GROUP BY 1`)
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var d string
			var c int64
			var a float64
			if err := rows.Scan(&d, &c, &a); err != nil {
				return "", err
			}
			cases, amount = cases+c, amount+a
			parts = append(parts, fmt.Sprintf("%s=%d", d, c))
		}
		rows, err = pool.Query(ctx, `SELECT extract(year FROM r.occurred_on)::int, count(*), count(*) FILTER (WHERE r.status = '已结案')
			FROM registry.records r JOIN registry.entities e ON e.credit_code = r.credit_code
			WHERE r.kind = 'penalty' AND r.public AND r.occurred_on BETWEEN '2022-01-01' AND '2026-12-31' GROUP BY 1`)
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var y int
			var f, c int64
			if err := rows.Scan(&y, &f, &c); err != nil {
				return "", err
			}
			parts = append(parts, fmt.Sprintf("%d=%d/%d", y, f, c))
		}
		slices.Sort(parts)
		return fmt.Sprintf("%d %.0f %s", cases, amount, strings.Join(parts, ",")), rows.Err()
	}
	// The detail list reads the published functions (no rollup): its
	// anchor is the same first page in bare SQL on the tables.
	itemsAPI := func() (string, error) {
		var p struct {
			Items []dashboard.LicenceRow `json:"items"`
			Total int                    `json:"total"`
		}
		if err := get(distTok, "/dashboard/v1/topics/licences/items?category=food", &p); err != nil {
			return "", err
		}
		ids := []string{fmt.Sprint(p.Total)}
		for _, x := range p.Items {
			ids = append(ids, fmt.Sprint(x.ID))
		}
		return strings.Join(ids, ","), nil
	}
	itemsRaw := func() (string, error) {
		where := ` FROM registry.records r JOIN registry.entities e ON e.credit_code = r.credit_code WHERE r.kind = 'licence' AND r.public
			AND e.district_code::text = $1 AND ` + licenceCat + ` = 'food'`
		var total int
		if err := pool.QueryRow(ctx, `SELECT count(*)`+where, district).Scan(&total); err != nil {
			return "", err
		}
		rows, err := pool.Query(ctx, `SELECT r.id`+where+` ORDER BY r.occurred_on DESC, r.id DESC LIMIT 20`, district)
		if err != nil {
			return "", err
		}
		ids := []string{fmt.Sprint(total)}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return "", err
			}
			ids = append(ids, fmt.Sprint(id))
		}
		return strings.Join(ids, ","), rows.Err()
	}
	ms := []measure{
		{"licence board (4 categories, counties, five years)", "city-wide", licenceAPI(cityTok), licenceRaw(nil)},
		{"licence board (4 categories, counties, five years)", "one district (" + district + ")", licenceAPI(distTok), licenceRaw([]string{district})},
		{"penalty board (counties, types, five-year trend), 2022-01–2026-12", "city-wide", penaltyAPI, penaltyRaw},
		{"licence detail list, food, page 1 with total (published functions, no rollup)", "one district (" + district + ")", itemsAPI, itemsRaw},
	}
	rows := [][]string{{"query", "scope", "dashboard p50", "dashboard p95", "raw tables p50", "raw tables p95", "raw ÷ dashboard (p50)", "p95 < 300 ms"}}
	for _, m := range ms {
		var ta, tb []time.Duration
		for i := range n + 3 {
			s := time.Now()
			a, err := m.api()
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
			if i >= 3 {
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
	var load1 string
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load1 = strings.Fields(string(b))[0]
	}
	return report.Write(out, "topicbench", report.Section{
		Title: "Topic boards: rollups against raw tables (issue 21, FP-118, 119)",
		Intro: fmt.Sprintf("Run %s on %d cores (%s), load average %s at the end, shared with other engineers' builds. "+
			"`go run ./tests/bench/topicbench -count %d -records %d -n %d`: %d entities over every county and township, %d records "+
			"(17 %% licences of seven permit names, 5 %% penalties of eight case types with amounts, the rest other kinds); load %s. "+
			"Dashboard = the function's HTTP API over loopback with a verified token, the boards from `dashboard.licence_rollup` (%d rows), "+
			"`licence_entities` and `penalty_rollup` (%d rows); raw tables = the same numbers in bare SQL on `registry.records` joined "+
			"to `registry.entities`, no HTTP. Both answers are compared on every call. Rebuilding the three topic rollups (added to the "+
			"`dashboard-rollup` tick): %s.",
			time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.GOARCH, load1, count, records, n, count, records,
			loaded.Round(time.Second), licRows, penRows, refresh.Round(time.Millisecond)),
		Rows: rows,
	})
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms2(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
