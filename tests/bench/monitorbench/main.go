// Command monitorbench measures the behaviour-data search of FP-86 (issue
// 15: "search and export over 200 k entities and 500 k objects, p99 <
// 200 ms for search") against its anchor: the same predicate as bare SQL
// through pgx on crawler-shard's own tables, side by side.
//
// The search is called over HTTP (a real listener on loopback) with a
// bearer token: verification, condition parsing, the count and a page of
// 20 through crawlershard.online_objects (inlined), snippets and JSON.
// Usage:
//
//	go run ./tests/bench/monitorbench [-entities 200000] [-objects 500000] [-n 200] [-out docs/benchmarks.md]
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
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	crawlershard "github.com/sjzamr/smartreg/functions/crawler-shard"
	"github.com/sjzamr/smartreg/functions/monitor"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const dbName = "bench_monitor"

// words are the product words of the synthetic shops: each object names
// one and mentions two more, so a word is in about 3/20 of the objects.
var words = []string{"绿茶", "红茶", "普洱", "口罩", "保健", "胶囊", "蜂蜜", "核桃", "酸奶", "大米",
	"面粉", "白酒", "玩具", "手机", "充电器", "羽绒服", "运动鞋", "化妆品", "面膜", "茶具"}

var districts = []string{"长安区", "桥西区", "新华区", "裕华区", "藁城区", "鹿泉区", "栾城区", "正定县"}

func main() {
	entities := flag.Int("entities", 200_000, "online entities to load")
	objects := flag.Int("objects", 500_000, "online objects to load")
	n := flag.Int("n", 200, "requests per measure")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	reuse := flag.Bool("reuse", false, "measure the data a previous run loaded (same -entities and -objects), migrating it first")
	flag.Parse()
	if err := run(context.Background(), *admin, *entities, *objects, *n, *out, *reuse); err != nil {
		fmt.Fprintln(os.Stderr, "monitorbench:", err)
		os.Exit(1)
	}
}

func dbURL(admin, name string) string {
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func run(ctx context.Context, admin string, entities, objects, n int, out string, reuse bool) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	if !reuse {
		_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`)
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+dbName); err != nil {
			return err
		}
	}
	conn.Close(ctx)
	pool, err := store.Connect(ctx, dbURL(admin, dbName), 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append(append([]store.Migration{store.Platform()}, crawlershard.Migrations()...), monitor.Migrations()...)...); err != nil {
		return err
	}
	start := time.Now()
	var loaded int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crawlershard.objects`).Scan(&loaded); err != nil {
		return err
	}
	if reuse && loaded != objects {
		return fmt.Errorf("-reuse: the database holds %d objects, not %d", loaded, objects)
	}
	if err := load(ctx, pool, entities, objects, reuse); err != nil {
		return err
	}
	loadTime := time.Since(start)
	fmt.Printf("loaded %d entities and %d objects in %s\n", entities, objects, loadTime.Round(time.Millisecond))
	return measureAll(ctx, pool, entities, objects, n, out, loadTime)
}

// load writes crawler-shard's tables directly: it stands in for the crawl,
// it is not a reader. With reuse the rows are there already.
func load(ctx context.Context, pool *pgxpool.Pool, entities, objects int, reuse bool) error {
	if reuse {
		return nil
	}
	// The loader writes crawler-shard's tables directly: it stands in for
	// the crawl, it is not a reader.
	if _, err := pool.Exec(ctx, `INSERT INTO crawlershard.online_entities (host, kind, platform, name, credit_code, district, has_licence, url, job_id, updated_at)
		SELECT 's' || i || '.farm.test', 'online_shop', (ARRAY['网店','网站','外卖平台','小程序'])[1 + i % 4], '商户' || i || '号店',
			CASE WHEN i % 3 = 0 THEN '' ELSE '91130102' || lpad(i::text, 10, '0') END, ($2::text[])[1 + i % 8], i % 7 <> 0,
			'http://s' || i || '.farm.test/', 1, now() - (i % 365) * interval '1 day'
		FROM generate_series(1, $1) i`, entities, districts); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO crawlershard.objects (url, host, kind, name, price, text, job_id, updated_at)
		SELECT 'http://s' || (1 + i % $2) || '.farm.test/p/' || i, 's' || (1 + i % $2) || '.farm.test', CASE WHEN i % 10 = 0 THEN 'page' ELSE 'product' END,
			($3::text[])[1 + i % 20] || '（' || i || '号）', (i % 500) + 0.9,
			'优质' || ($3::text[])[1 + (i / 20) % 20] || '，搭配' || ($3::text[])[1 + (i / 400) % 20] || '，产地直供，第 ' || i || ' 批，包邮。', 1,
			now() - (i % 720) * interval '1 hour'
		FROM generate_series(1, $1) i`, objects, entities, words); err != nil {
		return err
	}
	_, err := pool.Exec(ctx, `VACUUM ANALYZE crawlershard.objects, crawlershard.online_entities`)
	return err
}

func measureAll(ctx context.Context, pool *pgxpool.Pool, entities, objects, n int, out string, load time.Duration) error {

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
	fn, err := monitor.New(monitor.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: time.Now, Verifier: verifier},
		config.Defaults[monitor.Config]())
	if err != nil {
		return err
	}
	srv := httptest.NewServer(fn.Handler())
	defer srv.Close()
	token := func(scope auth.Scope) string {
		t, _, err := iss.Issue(auth.Principal{UserID: "bench", Username: "bench", Scope: scope, Perms: []string{"monitor.behaviour:view", "monitor.behaviour:export"}})
		if err != nil {
			panic(err)
		}
		return "Bearer " + t
	}
	city, changan := token(auth.All()), token(auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}})
	call := func(bearer, path string) (int, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var p struct {
			Total int `json:"total"`
		}
		if err := json.NewDecoder(res.Body).Decode(&p); err != nil || res.StatusCode != 200 {
			return 0, fmt.Errorf("%s: %d %v", path, res.StatusCode, err)
		}
		return p.Total, nil
	}
	// The anchor: the same predicate on the base tables, count and a page
	// of 20 with the same order, rows to JSON, no HTTP.
	bare := func(where string, args ...any) (int, error) {
		from := ` FROM crawlershard.objects o LEFT JOIN crawlershard.online_entities e ON e.host = o.host WHERE ` + where
		// The same capped count as the route's (2 000, then "at least").
		var total int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1`+from+` LIMIT 2001) capped`, args...).Scan(&total); err != nil {
			return 0, err
		}
		total = min(total, 2000)
		rows, err := pool.Query(ctx, `SELECT o.id, o.url, o.kind, o.name, o.price::float8, o.text, e.name, e.credit_code, e.district, e.platform, e.has_licence, o.updated_at`+
			from+` ORDER BY o.updated_at DESC, o.id DESC LIMIT 20`, args...)
		if err != nil {
			return 0, err
		}
		m, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (map[string]any, error) { return pgx.RowToMap(r) })
		if err != nil {
			return 0, err
		}
		_, _ = json.Marshal(m)
		return total, nil
	}
	q := url.QueryEscape
	var rowsOut [][]string
	measure := func(name string, api, anchor func(i int) (int, error)) error {
		for i := range 10 { // warm-up
			if _, err := api(i); err != nil {
				return err
			}
			if _, err := anchor(i); err != nil {
				return err
			}
		}
		var ta, tb []time.Duration
		var hits int
		for i := range n {
			s := time.Now()
			ra, err := api(i)
			if err != nil {
				return err
			}
			ta = append(ta, time.Since(s))
			s = time.Now()
			rb, err := anchor(i)
			if err != nil {
				return err
			}
			tb = append(tb, time.Since(s))
			if ra != rb {
				return fmt.Errorf("%s: the search counted %d hits, the anchor %d", name, ra, rb)
			}
			hits += ra
		}
		p99a, p99b := report.Percentile(ta, 99), report.Percentile(tb, 99)
		rowsOut = append(rowsOut, []string{name, fmt.Sprint(hits / n), ms(report.Percentile(ta, 50)), ms(p99a), ms(report.Percentile(tb, 50)), ms(p99b),
			fmt.Sprintf("%.2f", float64(p99a)/float64(p99b))})
		fmt.Printf("%s: search p99 %s, anchor p99 %s\n", name, ms(p99a), ms(p99b))
		return nil
	}
	if err := measure("one keyword, city-wide", func(i int) (int, error) {
		return call(city, "/monitor/v1/behaviour?q="+q(words[i%20]))
	}, func(i int) (int, error) {
		return bare(`(o.name LIKE $1 OR o.text LIKE $1)`, "%"+words[i%20]+"%")
	}); err != nil {
		return err
	}
	if err := measure("two keywords, 长安区 user", func(i int) (int, error) {
		return call(changan, "/monitor/v1/behaviour?q="+q(words[i%20]+" "+words[(i+3)%20]))
	}, func(i int) (int, error) {
		return bare(`e.district = '长安区' AND (o.name LIKE $1 OR o.text LIKE $1) AND (o.name LIKE $2 OR o.text LIKE $2)`,
			"%"+words[i%20]+"%", "%"+words[(i+3)%20]+"%")
	}); err != nil {
		return err
	}
	if err := measure("keyword + 7 days + price 100–200", func(i int) (int, error) {
		from := time.Now().AddDate(0, 0, -7).Format(time.DateOnly)
		return call(city, "/monitor/v1/behaviour?q="+q(words[i%20])+"&updated_from="+from+"&price_min=100&price_max=200")
	}, func(i int) (int, error) {
		from, _ := time.ParseInLocation(time.DateOnly, time.Now().AddDate(0, 0, -7).Format(time.DateOnly), time.FixedZone("CST", 8*3600))
		return bare(`(o.name LIKE $1 OR o.text LIKE $1) AND o.updated_at >= $2 AND o.price >= 100 AND o.price <= 200`, "%"+words[i%20]+"%", from)
	}); err != nil {
		return err
	}
	if err := measure("rare keyword (a batch number)", func(i int) (int, error) {
		return call(city, "/monitor/v1/behaviour?q="+q(fmt.Sprintf("%d", 100000+i*977%(objects-100000))))
	}, func(i int) (int, error) {
		return bare(`(o.name LIKE $1 OR o.text LIKE $1)`, fmt.Sprintf("%%%d%%", 100000+i*977%(objects-100000)))
	}); err != nil {
		return err
	}

	// Export: every hit of one keyword as CSV through the route.
	es := time.Now()
	req, _ := http.NewRequest("GET", srv.URL+"/monitor/v1/behaviour/export?format=csv&q="+q(words[0]), nil)
	req.Header.Set("Authorization", city)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	size, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	exportTime := time.Since(es)
	var exported int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM crawlershard.objects WHERE name LIKE $1 OR text LIKE $1`, "%"+words[0]+"%").Scan(&exported); err != nil || res.StatusCode != 200 {
		return fmt.Errorf("export: %d %v", res.StatusCode, err)
	}
	exported = min(exported, config.Defaults[monitor.Config]().MaxExport)
	fmt.Printf("export: %d rows, %d bytes in %s\n", exported, size, exportTime.Round(time.Millisecond))

	return report.Write(out, "monitor-behaviour", report.Section{
		Title: "Monitor: behaviour-data search over 200 000 entities and 500 000 objects (issue 15, FP-86)",
		Intro: fmt.Sprintf("Run %s on %d cores (%s), PostgreSQL and the function on one machine, shared with other engineers' builds. "+
			"`go run ./tests/bench/monitorbench -entities %d -objects %d -n %d` (loading took %s; 0 s with `-reuse`). Search = `GET /monitor/v1/behaviour` over loopback HTTP "+
			"with a bearer token: the count and the newest 20 hits through `crawlershard.online_objects` (inlined; the character-pair index of crawler-shard "+
			"migration 0010 for rare keywords, the update-time index for common ones), snippets, JSON. Anchor = the plain implementation: the same "+
			"LIKE predicate as bare SQL through pgx on crawler-shard's tables, no pair index (count + page, rows to JSON). Load average during the run: %s. "+
			"Chinese keywords are matched with LIKE (no case), others with ILIKE. Both count up to 2 000 (then the page says “at least”, `total_exact: false`) and must agree; %d requests each, interleaved. Target: search p99 < 200 ms. "+
			"Export: every hit of “%s” as CSV through `/monitor/v1/behaviour/export`: %d rows in %s (%.0f rows/s, %d bytes).",
			time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.GOARCH, entities, objects, n, load.Round(time.Second), loadAverage(), n,
			words[0], exported, exportTime.Round(time.Millisecond), float64(exported)/exportTime.Seconds(), size),
		Rows: append([][]string{{"query", "hits (mean)", "search p50", "search p99", "anchor p50", "anchor p99", "p99 ratio"}}, rowsOut...),
	})
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// loadAverage is the machine's one-minute load average, as /proc says.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
