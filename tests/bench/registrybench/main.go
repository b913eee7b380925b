// Command registrybench measures the registry at full scale (1.3 M market
// entities) and writes the results into docs/benchmarks.md:
//
//   - generate + load time of the synthetic set, against the anchor of a
//     plain COPY of the very same rows from a file (what PostgreSQL alone
//     can do on this machine);
//   - name-substring search latency p50/p99 through the registry's HTTP API,
//     against the anchor of the same SQL sent straight through pgx.
//
// Usage: go run ./tests/bench/registrybench [-count 1300000] [-queries 300] [-out docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/registry"
	"github.com/sjzamr/smartreg/functions/registry/seed"
	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

func main() {
	count := flag.Int("count", 1_300_000, "entities to load")
	queries := flag.Int("queries", 300, "search queries per side")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	reuse := flag.Bool("reuse", false, "keep an already loaded bench_registry database and only measure search")
	flag.Parse()
	if err := run(context.Background(), *admin, *count, *queries, *out, *reuse); err != nil {
		fmt.Fprintln(os.Stderr, "registrybench:", err)
		os.Exit(1)
	}
}

func dbURL(admin, name string) string {
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func run(ctx context.Context, admin string, count, queries int, out string, reuse bool) error {
	if !reuse {
		if err := load(ctx, admin, count, out); err != nil {
			return err
		}
	}
	pool, err := store.Connect(ctx, dbURL(admin, "bench_registry"), 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	return search(ctx, pool, queries, out)
}

func intro(count int) string {
	return fmt.Sprintf("Run %s on %d cores (%s), database, generator and client on the same machine. "+
		"`go run ./tests/bench/registrybench -count %d`.", time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.GOARCH, count)
}

func load(ctx context.Context, admin string, count int, out string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS bench_registry WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE bench_registry`); err != nil {
		return err
	}
	conn.Close(ctx)
	pool, err := store.Connect(ctx, dbURL(admin, "bench_registry"), 8)
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
	fmt.Printf("seed: %d entities, %d records in %s\n", st.Entities, st.Records, st.Elapsed)
	anchor, err := copyAnchor(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Printf("anchor: plain COPY of the same rows + same indexes in %s\n", anchor)

	return report.Write(out, "registry-load", report.Section{
		Title: "Registry: generate + load 1.3 M entities (issue 2)",
		Intro: intro(count),
		Rows: [][]string{
			{"measure", "SmartReg", "anchor", "ratio (SmartReg ÷ anchor)", "target"},
			{fmt.Sprintf("generate + load %d entities and %d records", st.Entities, st.Records), st.Elapsed.Round(time.Millisecond).String(),
				anchor.Round(time.Millisecond).String() + " (COPY of the same rows from a file + index build)", fmt.Sprintf("%.2f", st.Elapsed.Seconds()/anchor.Seconds()), "< 5 min"},
		},
	})
}

func search(ctx context.Context, pool *pgxpool.Pool, queries int, out string) error {
	var count int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM registry.entities`).Scan(&count); err != nil {
		return err
	}
	terms, err := searchTerms(ctx, pool, queries)
	if err != nil {
		return err
	}
	api, direct, err := searchLatencies(ctx, pool, terms)
	if err != nil {
		return err
	}
	short, long := splitByLength(terms, api)
	section := report.Section{
		Title: fmt.Sprintf("Registry: name search over %d entities (issue 2)", count),
		Intro: intro(count) + " Terms are 2–4 characters cut from random names; API = HTTP through the registry handler (full rows, JSON); anchor = the same search statement sent straight through pgx, fetching code and name only.",
		Rows: [][]string{
			{"measure", "SmartReg", "anchor", "ratio (SmartReg ÷ anchor)", "target"},
			{"2-character terms p50 / p99 (API)", ms(pct(short, 50)) + " / " + ms(pct(short, 99)), "", "", "≤ 200 ms"},
			{"3–4-character terms p50 / p99 (API)", ms(pct(long, 50)) + " / " + ms(pct(long, 99)), "", "", "≤ 200 ms"},
			{"all terms p50 (" + fmt.Sprint(len(terms)) + " substrings, page of 20 + capped count)", ms(pct(api, 50)), ms(pct(direct, 50)) + " (same statement via pgx)", ratio(pct(api, 50), pct(direct, 50)), "≤ 200 ms"},
			{"all terms p99", ms(pct(api, 99)), ms(pct(direct, 99)) + " (same statement via pgx)", ratio(pct(api, 99), pct(direct, 99)), "≤ 200 ms"},
		},
	}
	return report.Write(out, "registry-search", section)
}

func splitByLength(terms []string, lat []time.Duration) (short, long []time.Duration) {
	for i, t := range terms {
		if len([]rune(t)) == 2 {
			short = append(short, lat[i])
		} else {
			long = append(long, lat[i])
		}
	}
	return short, long
}

// copyAnchor dumps the loaded rows to a file, empties the tables, and times
// PostgreSQL's own COPY FROM of that file plus rebuilding the same indexes:
// the floor any loader on this machine can reach.
func copyAnchor(ctx context.Context, pool *pgxpool.Pool) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "registrybench")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	_ = os.Chmod(dir, 0o777)
	ent, rec := filepath.Join(dir, "entities.copy"), filepath.Join(dir, "records.copy")
	steps := []string{
		fmt.Sprintf(`COPY registry.entities TO '%s'`, ent),
		// Without a column list COPY leaves out generated columns (records'
		// public_details), both ways: the anchor computes them on load too.
		fmt.Sprintf(`COPY registry.records TO '%s'`, rec),
	}
	for _, s := range steps {
		if _, err := pool.Exec(ctx, s); err != nil {
			return 0, fmt.Errorf("%s: %w (the anchor needs the server on this machine)", s, err)
		}
	}
	indexes, err := indexDefs(ctx, pool)
	if err != nil {
		return 0, err
	}
	reset := []string{`TRUNCATE registry.records, registry.entities`}
	for name := range indexes {
		reset = append(reset, `DROP INDEX registry.`+name)
	}
	for _, s := range reset {
		if _, err := pool.Exec(ctx, s); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	load := []string{fmt.Sprintf(`COPY registry.entities FROM '%s'`, ent), fmt.Sprintf(`COPY registry.records FROM '%s'`, rec)}
	for _, def := range indexes {
		load = append(load, def)
	}
	for _, s := range load {
		if _, err := pool.Exec(ctx, s); err != nil {
			return 0, fmt.Errorf("%s: %w", s, err)
		}
	}
	elapsed := time.Since(start)
	_, err = pool.Exec(ctx, `ANALYZE registry.entities; ANALYZE registry.records`)
	return elapsed, err
}

func indexDefs(ctx context.Context, pool *pgxpool.Pool) (map[string]string, error) {
	rows, err := pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'registry'
		AND tablename IN ('entities', 'records') AND indexname NOT LIKE '%_pkey'`)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			return nil, err
		}
		out[n] = d
	}
	return out, rows.Err()
}

// searchTerms draws substrings a clerk would type: 2 to 4 characters cut
// from random real names.
func searchTerms(ctx context.Context, pool *pgxpool.Pool, n int) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT name FROM registry.entities TABLESAMPLE SYSTEM (1) LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(7, 7))
	var terms []string
	for _, name := range names {
		rs := []rune(name)
		l := 2 + r.IntN(3)
		if len(rs) <= l {
			continue
		}
		i := r.IntN(len(rs) - l)
		terms = append(terms, string(rs[i:i+l]))
	}
	return terms, nil
}

func searchLatencies(ctx context.Context, pool *pgxpool.Pool, terms []string) (api, direct []time.Duration, err error) {
	// The API is measured as production runs it: behind token verification,
	// as a city-wide user (the widest search).
	key, err := auth.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: "http://localhost:8080/identity/oidc", Audience: "smartreg", Key: key})
	if err != nil {
		return nil, nil, err
	}
	verifier, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		return nil, nil, err
	}
	defer verifier.Close()
	token, _, err := iss.Issue(auth.Principal{UserID: "registrybench", Username: "registrybench",
		Perms: []string{"registry.entity:view"}, Scope: auth.All()})
	if err != nil {
		return nil, nil, err
	}
	fn, err := registry.New(registry.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: time.Now, Verifier: verifier}, config.Defaults[registry.Config]())
	if err != nil {
		return nil, nil, err
	}
	srv := httptest.NewServer(fn.Handler())
	defer srv.Close()
	client := srv.Client()
	for _, term := range terms { // interleaved, so both sides see the same cache state
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/registry/v1/entities?name="+url.QueryEscape(term), nil)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, nil, fmt.Errorf("search %q: %d", term, resp.StatusCode)
		}
		api = append(api, time.Since(start))
		start = time.Now()
		if err := directSearch(ctx, pool, term); err != nil {
			return nil, nil, err
		}
		direct = append(direct, time.Since(start))
	}
	return api, direct, nil
}

// directSearch sends the registry's search statement (functions/registry
// store.go, searchEntities) straight through pgx: the floor the API sits on.
func directSearch(ctx context.Context, pool *pgxpool.Pool, term string) error {
	term = registry.NormalizeName(term)
	where, args := ` WHERE name_norm LIKE $1`, []any{"%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(term) + "%"}
	if len([]rune(term)) == 2 {
		where += ` AND registry.bigrams(name_norm) @> ARRAY[$2]::text[]`
		args = append(args, term)
	}
	n := len(args)
	rows, err := pool.Query(ctx, fmt.Sprintf(`WITH m AS MATERIALIZED (SELECT credit_code FROM registry.entities%s LIMIT 10001)
		SELECT credit_code, name, (SELECT count(*) FROM m) FROM registry.entities
		WHERE credit_code IN (SELECT credit_code FROM m ORDER BY credit_code LIMIT $%d OFFSET $%d)
		ORDER BY credit_code`, where, n+1, n+2), append(args, 20, 0)...)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

func pct(d []time.Duration, p int) time.Duration { return report.Percentile(d, float64(p)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}
