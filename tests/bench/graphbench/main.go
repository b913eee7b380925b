// Command graphbench measures equity penetration (FP-135) for one entity
// in a synthetic network of 1.3 M entities and 3 M holdings, and writes
// the result into docs/benchmarks.md:
//
//   - SmartReg: GET /entity/v1/entities/{code}/penetration through the
//     entity-graph handler (one recursive query for the holder edges, the
//     walk in Go, parties' names, JSON with every chain);
//   - anchor: one recursive SQL query doing the same walk (every simple
//     chain up to 12 levels, the product along it, summed per holder).
//
// The network: entities on 8 levels; an entity's 1–4 holders are entities
// one level up or natural persons (the roots); level 7 is held by persons
// only; 0.5 % of holdings point down a level or more (cross-holdings and
// cycles). Generation streams rows into COPY.
//
// Usage: go run ./tests/bench/graphbench [-entities 1300000] [-queries 300] [-reuse]
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
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	entitygraph "github.com/sjzamr/smartreg/functions/entity-graph"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const levels = 8

func main() {
	entities := flag.Int("entities", 1_300_000, "entities in the network")
	queries := flag.Int("queries", 300, "penetrations per side")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	reuse := flag.Bool("reuse", false, "keep an already loaded bench_graph database")
	flag.Parse()
	if err := run(context.Background(), *admin, *entities, *queries, *out, *reuse); err != nil {
		fmt.Fprintln(os.Stderr, "graphbench:", err)
		os.Exit(1)
	}
}

func dbURL(admin, name string) string {
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func entityID(i int) string { return fmt.Sprintf("E%08d", i) }
func personID(i int) string { return fmt.Sprintf("P%08d", i) }

func run(ctx context.Context, admin string, n, queries int, out string, reuse bool) error {
	var loadTime time.Duration
	var holdings int64
	if !reuse {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS bench_graph WITH (FORCE)`)
		if _, err := conn.Exec(ctx, `CREATE DATABASE bench_graph`); err != nil {
			return err
		}
		conn.Close(ctx)
	}
	pool, err := store.Connect(ctx, dbURL(admin, "bench_graph"), 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	if !reuse {
		if err := store.Migrate(ctx, pool, entitygraph.Migrations()...); err != nil {
			return err
		}
		start := time.Now()
		if holdings, err = generate(ctx, pool, n); err != nil {
			return err
		}
		loadTime = time.Since(start)
		fmt.Printf("generated %d entities, %d holdings in %s\n", n, holdings, loadTime)
	} else if err := pool.QueryRow(ctx, `SELECT count(*) FROM graph.holdings`).Scan(&holdings); err != nil {
		return err
	}
	f, err := entitygraph.New(entitygraph.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: time.Now,
		Verifier: cityWide{}}, config.Defaults[entitygraph.Config]())
	if err != nil {
		return err
	}
	h := f.Handler()
	r := rand.New(rand.NewPCG(7, 7))
	var targets []string
	for range queries {
		targets = append(targets, entityID(r.IntN(n/levels)*levels)) // level 0: the deepest ancestry
	}
	var api, anchor []time.Duration
	var chains int
	for _, t := range targets {
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/entity/v1/entities/"+t+"/penetration", nil))
		api = append(api, time.Since(start))
		if rec.Code != http.StatusOK {
			return fmt.Errorf("penetration %s: %d %s", t, rec.Code, rec.Body)
		}
		start = time.Now()
		var holders, c int
		if err := pool.QueryRow(ctx, anchorSQL, t).Scan(&holders, &c); err != nil {
			return err
		}
		anchor = append(anchor, time.Since(start))
		chains += c
	}
	slices.Sort(api)
	slices.Sort(anchor)
	rows := [][]string{{"measure", "SmartReg", "anchor", "ratio (SmartReg ÷ anchor)", "target"}}
	if loadTime > 0 {
		rows = append(rows, []string{fmt.Sprintf("generate + COPY %d entities, %d holdings", n, holdings), loadTime.Round(time.Millisecond).String(), "", "", ""})
	}
	rows = append(rows,
		[]string{"penetration p50", ms(pct(api, 50)), ms(pct(anchor, 50)) + " (recursive SQL)", ratio(pct(api, 50), pct(anchor, 50)), ""},
		[]string{"penetration p99", ms(pct(api, 99)), ms(pct(anchor, 99)) + " (recursive SQL)", ratio(pct(api, 99), pct(anchor, 99)), "< 200 ms"},
		[]string{"chains per entity (mean)", fmt.Sprintf("%.1f", float64(chains)/float64(len(targets))), "", "", ""},
	)
	fmt.Println(rows)
	return report.Write(out, "graph-penetration", report.Section{
		Title: fmt.Sprintf("entity-graph: equity penetration in %d entities / %d holdings (issue 22)", n, holdings),
		Intro: fmt.Sprintf("%d penetrations of random level-0 entities (the deepest ancestry: up to 7 levels of entity holders, natural-person roots, 0.5 %% cross-holdings and cycles). SmartReg = the HTTP route (one recursive query fetching the holder edges, the walk in Go, names, JSON with every chain); anchor = one recursive SQL query enumerating the same simple chains up to 12 levels and summing per holder, returning only the counts. 2 shared cores.", len(targets)),
		Rows:  rows,
	})
}

// anchorSQL is the walk as one recursive query: every simple chain (no
// party twice) ending at $1, at most 12 holdings long, its product, summed
// per holder.
const anchorSQL = `WITH RECURSIVE walk(holder, path, share, depth) AS (
	SELECT holder_id, ARRAY[held_id, holder_id], pct::float8 / 100, 1 FROM graph.holdings WHERE held_id = $1
	UNION ALL
	SELECT h.holder_id, w.path || h.holder_id, w.share * h.pct::float8 / 100, w.depth + 1
	FROM walk w JOIN graph.holdings h ON h.held_id = w.holder
	WHERE h.holder_id <> ALL (w.path) AND w.depth < 12
)
SELECT count(DISTINCT holder)::int, count(*)::int FROM (SELECT holder, sum(share) OVER (PARTITION BY holder) FROM walk) s`

func generate(ctx context.Context, pool *pgxpool.Pool, n int) (int64, error) {
	persons := n / 3
	r := rand.New(rand.NewPCG(1, 2))
	i := 0
	parties := pgx.CopyFromFunc(func() ([]any, error) {
		switch {
		case i < n:
			i++
			return []any{entityID(i - 1), "entity", fmt.Sprintf("石家庄第%d号企业有限公司", i-1), "130102"}, nil
		case i < n+persons:
			i++
			return []any{personID(i - 1 - n), "person", fmt.Sprintf("自然人%d", i-1-n), ""}, nil
		}
		return nil, nil
	})
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"graph", "parties"}, []string{"id", "kind", "name", "district_code"}, parties); err != nil {
		return 0, err
	}
	// Holdings: entity e at level e % 8 has 1–4 holders (mean ≈ 2.3).
	held, pending := 0, [][]any{}
	seen := map[string]bool{}
	next := func() ([]any, error) {
		for len(pending) == 0 {
			if held >= n {
				return nil, nil
			}
			e, level := held, held%levels
			held++
			holders := 1 + r.IntN(3)
			if r.IntN(10) < 3 {
				holders++
			}
			clear(seen)
			left := 100.0
			for h := range holders {
				var id string
				switch {
				case r.IntN(1000) < 5 && e >= levels: // a cross-holding down the levels: cycles
					id = entityID(r.IntN(e))
				case level < levels-1 && r.IntN(10) < 6:
					id = entityID(r.IntN(n/levels)*levels + level + 1)
				default:
					id = personID(r.IntN(persons))
				}
				if id == entityID(e) || seen[id] || id >= entityID(n) && id[0] == 'E' {
					continue
				}
				seen[id] = true
				share := left
				if h < holders-1 {
					share = float64(int(left*(0.2+0.6*r.Float64())*100)) / 100
				}
				if share <= 0 {
					continue
				}
				left -= share
				pending = append(pending, []any{entityID(e), id, share})
			}
		}
		row := pending[0]
		pending = pending[1:]
		return row, nil
	}
	c, err := pool.CopyFrom(ctx, pgx.Identifier{"graph", "holdings"}, []string{"held_id", "holder_id", "pct"}, pgx.CopyFromFunc(next))
	if err != nil {
		return 0, err
	}
	_, err = pool.Exec(ctx, `ANALYZE graph.parties; ANALYZE graph.holdings`)
	return c, err
}

// cityWide is a verifier that makes every request a city-wide holder of
// the graph permission: the bench measures the walk, not token checks.
type cityWide struct{}

func (cityWide) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.Principal{UserID: "bench", Username: "bench", Perms: []string{"entity.graph:view"}, Scope: auth.All()}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), &p)))
	})
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", a.Seconds()/b.Seconds())
}
