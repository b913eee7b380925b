// Command provsync measures provincial-sync's initial pull (issue 19:
// 100 000 instruments in under 60 s against the simulator) and writes the
// result into docs/benchmarks.md:
//
//   - sync: provincial-sync's first run against tests/sim/province served
//     over loopback HTTP (pages of PROVINCE_PAGE_SIZE, tokens, JSON,
//     mapping, hashing, the staged upserts, one interaction-log line per
//     record, the watermark per page);
//   - bare COPY: the same rows, already mapped, COPYed into a table of the
//     same shape in one statement: the floor any loader pays; ratio =
//     sync time / COPY time;
//   - re-run: the second run over the same data (all unchanged), which
//     must write nothing.
//
// Usage: go run ./tests/bench/provsync [-n 100000] [-page 1000] [-out docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	provincialsync "github.com/sjzamr/smartreg/functions/provincial-sync"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
	provincesim "github.com/sjzamr/smartreg/tests/sim/province"
)

func main() {
	n := flag.Int("n", 100000, "instruments")
	page := flag.Int("page", 1000, "page size")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL admin URL")
	flag.Parse()
	if err := run(*n, *page, *out, *admin); err != nil {
		fmt.Fprintln(os.Stderr, "provsync:", err)
		os.Exit(1)
	}
}

type noVerifier struct{}

func (noVerifier) Middleware(h http.Handler) http.Handler { return h }

var categories = []struct{ code, name string }{{"0101", "电子计价秤"}, {"0401", "燃油加油机"}, {"1101", "弹簧管式一般压力表"}, {"1201", "无创自动测量血压计"}}
var districts = []string{"130102", "130104", "130105", "130108", "130109", "130110", "130111", "130123"}

// instruments are n province instrument records, 100 per second of change
// time (the watermark's boundary is crowded, as the province's is).
func instruments(n int, base time.Time) []provincesim.Record {
	out := make([]provincesim.Record, n)
	for i := range out {
		c, d := categories[i%len(categories)], districts[(i/10)%len(districts)]
		out[i] = provincesim.Record{"id": fmt.Sprintf("Q%08d", i), "tyshxydm": fmt.Sprintf("91%sPV%07dX", d, i/10), "xzqhdm": d, "qjmc": c.name,
			"ggxh": fmt.Sprintf("XH-%d", i%50), "ccbh": fmt.Sprintf("CC%08d", i), "zzdw": "某计量器具制造有限公司", "qjzl": c.code, "syzt": "in_use",
			"yxqz": time.Date(2026, 1+time.Month(i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			"gxsj": base.Add(time.Duration(i/100) * time.Second).Format(time.RFC3339Nano)}
	}
	return out
}

func database(ctx context.Context, admin, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, err
	}
	_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return "", nil, err
	}
	return strings.Replace(admin, "/postgres?", "/"+name+"?", 1), func() {
		_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		conn.Close(ctx)
	}, nil
}

func run(n, pageSize int, out, admin string) error {
	ctx := context.Background()
	dsn, drop, err := database(ctx, admin, "bench_provsync")
	if err != nil {
		return err
	}
	defer drop()
	pool, err := store.Connect(ctx, dsn, 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, provincialsync.Migrations()...)...); err != nil {
		return err
	}
	sim := provincesim.New("bench", "bench-secret")
	recs := instruments(n, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	sim.Put(provincesim.Instruments, recs...)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "provsync")
	defer os.RemoveAll(dir)
	b, err := blob.Open(ctx, "file://"+dir)
	if err != nil {
		return err
	}
	cfg := config.Defaults[provincialsync.Config]()
	cfg.APIURL, cfg.AppKey, cfg.AppSecret, cfg.PageSize = srv.URL, "bench", "bench-secret", pageSize
	f, err := provincialsync.New(provincialsync.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b, HTTP: srv.Client(),
		Verifier: noVerifier{}, Now: time.Now}, cfg)
	if err != nil {
		return err
	}
	load := loadavg()
	start := time.Now()
	first, err := f.Sync(ctx, "bench")
	if err != nil {
		return err
	}
	syncTime := time.Since(start)
	if first.Inserted != int64(n) {
		return fmt.Errorf("first run inserted %d of %d", first.Inserted, n)
	}
	start = time.Now()
	second, err := f.Sync(ctx, "bench")
	if err != nil {
		return err
	}
	rerun := time.Since(start)
	if second.Inserted+second.Updated != 0 {
		return fmt.Errorf("the re-run wrote %d rows", second.Inserted+second.Updated)
	}
	// The anchor: the same rows, mapped, in one COPY.
	if _, err := pool.Exec(ctx, `CREATE TABLE copy_anchor (LIKE province.instruments)`); err != nil {
		return err
	}
	rows := make([][]any, n)
	now := time.Now()
	for i, r := range recs {
		until, _ := time.Parse(time.DateOnly, r["yxqz"].(string))
		at, _ := time.Parse(time.RFC3339Nano, r["gxsj"].(string))
		hash, _ := provincialsync.ContentHash("instruments", provincialsync.Record(r))
		rows[i] = []any{r["id"], r["tyshxydm"], r["xzqhdm"], r["qjmc"], r["ggxh"], r["ccbh"], r["zzdw"], r["qjzl"], r["syzt"], until, hash, at, now, int64(1)}
	}
	start = time.Now()
	copied, err := pool.CopyFrom(ctx, pgx.Identifier{"copy_anchor"}, []string{"source_id", "credit_code", "district_code", "name", "model", "serial_no",
		"manufacturer", "category_code", "status", "valid_until", "content_hash", "source_updated_at", "synced_at", "run_id"}, pgx.CopyFromRows(rows))
	if err != nil {
		return err
	}
	copyTime := time.Since(start)
	var equal bool
	if err := pool.QueryRow(ctx, `SELECT (SELECT md5(string_agg(source_id || content_hash, ',' ORDER BY source_id)) FROM province.instruments) =
		(SELECT md5(string_agg(source_id || content_hash, ',' ORDER BY source_id)) FROM copy_anchor)`).Scan(&equal); err != nil || !equal {
		return fmt.Errorf("the synced rows differ from the anchor's (%v)", err)
	}
	fmt.Printf("sync %d instruments in %s (%.0f/s), bare COPY %d in %s, ratio %.1f; re-run %s\n", n, syncTime.Round(time.Millisecond),
		float64(n)/syncTime.Seconds(), copied, copyTime.Round(time.Millisecond), syncTime.Seconds()/copyTime.Seconds(), rerun.Round(time.Millisecond))
	return report.Write(out, "provsync", report.Section{
		Title: "Provincial sync: initial pull of 100 000 instruments vs a bare COPY",
		Intro: fmt.Sprintf("`go run ./tests/bench/provsync` on %d CPUs: provincial-sync's first run against tests/sim/province over loopback HTTP "+
			"(%d pages of %d, bearer token, JSON, field mapping, content hash, staged upsert, one interaction-log line per record, watermark per page), "+
			"then a re-run over the unchanged data, then the anchor: the same %d rows, already mapped and hashed, COPYed into a table of the same shape "+
			"in one statement. The simulator, PostgreSQL and the sync share the machine. Target: the initial sync under 60 s. "+
			"Load average (1 min) at the start / end: %s / %s.", runtime.NumCPU(), first.Pages, pageSize, n, load, loadavg()),
		Rows: [][]string{{"side", "time", "rows/s", "ratio to COPY"},
			{"initial sync (100 000 instruments)", syncTime.Round(time.Millisecond).String(), fmt.Sprintf("%.0f", float64(n)/syncTime.Seconds()),
				fmt.Sprintf("%.1f", syncTime.Seconds()/copyTime.Seconds())},
			{"bare COPY of the same rows", copyTime.Round(time.Millisecond).String(), fmt.Sprintf("%.0f", float64(n)/copyTime.Seconds()), "1.0"},
			{"re-run, nothing changed (0 rows written)", rerun.Round(time.Millisecond).String(), fmt.Sprintf("%.0f", float64(n)/rerun.Seconds()),
				fmt.Sprintf("%.1f", rerun.Seconds()/copyTime.Seconds())}},
	})
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
