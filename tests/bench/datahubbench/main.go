// Command datahubbench measures the data hub's generated interfaces
// (issue 20, FP-95) against the PostgREST-style anchor: the same
// statement run as bare SQL through pgx on the same data, side by side.
//
//   - single-row read by key (credit_code=eq.X);
//   - a filtered page of 100 rows.
//
// The interface is called over HTTP (a real listener on loopback) with
// its access key, as a consumer would: key lookup (cached), Redis rate
// and revocation check, the grammar, the statement over the registry's
// published read function with the creator's data scope, masking, JSON,
// and the access-log insert. Usage:
//
//	go run ./tests/bench/datahubbench [-count 200000] [-n 500] [-out docs/benchmarks.md]
package main

import (
	"bytes"
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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/functions/datahub"
	"github.com/sjzamr/smartreg/functions/registry"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const dbName = "bench_datahub"

func main() {
	count := flag.Int("count", 200_000, "entities to load")
	n := flag.Int("n", 500, "requests per measure")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	only := flag.String("only", "", "run one part: interfaces or export (the export exports every loaded entity)")
	flag.Parse()
	if err := run(context.Background(), *admin, *count, *n, *out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "datahubbench:", err)
		os.Exit(1)
	}
}

func dbURL(admin, name string) string {
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func run(ctx context.Context, admin string, count, n int, out, only string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+dbName); err != nil {
		return err
	}
	conn.Close(ctx)
	pool, err := store.Connect(ctx, dbURL(admin, dbName), 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append(append([]store.Migration{store.Platform()}, registry.Migrations()...), datahub.Migrations()...)...); err != nil {
		return err
	}
	// The loader writes the registry's table directly: it is the test
	// data's source, not a reader.
	if _, err := pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
		registered_capital, address, district_code, township_code, industry_code)
		SELECT 'B' || lpad(i::text, 17, '0'), '测试' || i || '商贸有限公司', (ARRAY['enterprise','individual'])[1 + i % 2],
			'张' || i, date '2000-01-01' + (i % 9000), i % 1000, '石家庄市某路' || i || '号',
			(ARRAY['130102','130104','130105','130108'])[1 + i % 4], '', '5211'
		FROM generate_series(1, $1) i`, count); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE registry.entities`); err != nil {
		return err
	}
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
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 13})
	defer rdb.Close()
	cfg := config.Defaults[datahub.Config]()
	cfg.DefaultRatePerMin, cfg.DefaultQuotaPerDay = 100_000, 100_000_000
	fn, err := datahub.New(datahub.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Redis: rdb, Now: time.Now, Verifier: verifier}, cfg)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(fn.Handler())
	defer srv.Close()
	scope := auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}
	created, err := generate(iss, srv.URL, scope, "bench")
	if err != nil {
		return err
	}
	if only == "export" {
		return exportBench(ctx, pool, iss, srv.URL, count, out)
	}
	call := func(q string) (int, error) {
		req, _ := http.NewRequest("GET", srv.URL+created.Endpoint+"?"+q, nil)
		req.Header.Set("X-API-Key", created.Key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var rows []map[string]any
		if err := json.NewDecoder(res.Body).Decode(&rows); err != nil || res.StatusCode != 200 {
			return 0, fmt.Errorf("call %s: %d %v", q, res.StatusCode, err)
		}
		return len(rows), nil
	}
	// The anchor: PostgREST-style bare SQL with the same scope predicate.
	cols := `credit_code::text, name, entity_type, legal_rep, established_on, registered_capital, district_code::text`
	bare := func(sql string, args ...any) (int, error) {
		rows, err := pool.Query(ctx, sql, args...)
		if err != nil {
			return 0, err
		}
		m, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (map[string]any, error) { return pgx.RowToMap(r) })
		if err != nil {
			return 0, err
		}
		b, _ := json.Marshal(m)
		_ = b
		return len(m), nil
	}
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("B%017d", 4*rand.IntN(count/4)+1) // 1 + 4k is in 130102
	}
	var rowsOut [][]string
	measure := func(name string, api, anchor func(i int) (int, error)) error {
		for i := range 20 { // warm-up
			if _, err := api(i); err != nil {
				return err
			}
			if _, err := anchor(i); err != nil {
				return err
			}
		}
		var ta, tb []time.Duration
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
				return fmt.Errorf("%s: the interface answered %d rows, the anchor %d", name, ra, rb)
			}
		}
		pa, pb := pct(ta, 50), pct(tb, 50)
		rowsOut = append(rowsOut, []string{name, us(pa), us(pct(ta, 99)), rps(ta), us(pb), us(pct(tb, 99)), rps(tb),
			fmt.Sprintf("%.2f", float64(pa)/float64(pb))})
		fmt.Printf("%s: interface p50 %s, anchor p50 %s\n", name, us(pa), us(pb))
		return nil
	}
	if err := measure("single row by key", func(i int) (int, error) {
		return call("credit_code=eq." + codes[i%len(codes)])
	}, func(i int) (int, error) {
		return bare(`SELECT `+cols+` FROM registry.entities WHERE credit_code = $1 AND district_code::text = ANY($2::text[])`,
			codes[i%len(codes)], []string{"130102"})
	}); err != nil {
		return err
	}
	if err := measure("filtered page of 100", func(i int) (int, error) {
		return call(fmt.Sprintf("entity_type=eq.individual&registered_capital=gte.%d&order=credit_code&limit=100&offset=%d", i%500, (i%20)*100))
	}, func(i int) (int, error) {
		return bare(`SELECT `+cols+` FROM registry.entities WHERE district_code::text = ANY($1::text[]) AND entity_type = $2
			AND registered_capital >= $3 ORDER BY credit_code LIMIT 100 OFFSET $4`, []string{"130102"}, "individual", i%500, (i%20)*100)
	}); err != nil {
		return err
	}
	return report.Write(out, "datahub-interfaces", report.Section{
		Title: "Data hub: generated interfaces against bare SQL (issue 20, FP-95)",
		Intro: fmt.Sprintf("Run %s on %d cores (%s), PostgreSQL, Redis, the function and the client on one machine, %d synthetic entities "+
			"(a quarter in 长安区). `go run ./tests/bench/datahubbench -count %d -n %d`. Interface = `GET /datahub/v1/data/{id}` over loopback HTTP "+
			"with its access key, the interface generated by a 长安区 user over 7 fields (legal representative masked): key (cached), Redis rate/quota/revocation "+
			"pipeline, grammar, one statement over `registry.datahub_entities()` with the scope, JSON, and the access-log insert. "+
			"Anchor = the same statement as PostgREST would issue, bare SQL through pgx on `registry.entities`, rows to JSON, no HTTP. "+
			"Both sides must return the same row count; %d requests each, interleaved. PostgREST's own published figure is about 2 600 req/s on 2 vCPU "+
			"for a simple read. The machine is shared with other engineers' builds.",
			time.Now().Format("2006-01-02"), runtime.NumCPU(), runtime.GOARCH, count, count, n, n),
		Rows: append([][]string{{"measure", "interface p50", "interface p99", "interface req/s (sequential)", "anchor p50", "anchor p99", "anchor req/s", "p50 ratio"}}, rowsOut...),
	})
}

func pct(d []time.Duration, p int) time.Duration { return report.Percentile(d, float64(p)) }

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

func rps(d []time.Duration) string {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return fmt.Sprintf("%.0f", float64(len(d))/sum.Seconds())
}

// benchFields are the 7 fields both parts read (the legal representative masked).
var benchFields = []string{"credit_code", "name", "entity_type", "legal_rep", "established_on", "registered_capital", "district_code"}

// generate makes an interface over benchFields as a user with scope.
func generate(iss *auth.Issuer, base string, scope auth.Scope, name string) (datahub.Created, error) {
	var created datahub.Created
	token, _, err := iss.Issue(auth.Principal{UserID: name, Username: name, Scope: scope,
		Perms: []string{"datahub.interface:create", "registry.entity:view"}})
	if err != nil {
		return created, err
	}
	body, _ := json.Marshal(datahub.InterfaceInput{Name: name, Dataset: "entities", Fields: benchFields})
	req, _ := http.NewRequest("POST", base+"/datahub/v1/interfaces", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return created, err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil || created.Key == "" {
		return created, fmt.Errorf("generate: %d %v", res.StatusCode, err)
	}
	return created, nil
}
