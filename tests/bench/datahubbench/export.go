package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

// exportBench streams every loaded entity through a city-wide interface's
// export.csv (over loopback HTTP, 7 fields, the legal representative
// masked) and, as the anchor, through bare pgx COPY … TO STDOUT (CSV) of
// the same columns: rows/s, and the heap the process held at most above
// its level before the export (sampled every 10 ms), for a tenth of the
// rows and for all of them, so a growing heap would show.
func exportBench(ctx context.Context, pool *pgxpool.Pool, iss *auth.Issuer, base string, count int, out string) error {
	created, err := generate(iss, base, auth.Scope{Kind: auth.ScopeAll}, "bench-city")
	if err != nil {
		return err
	}
	tenth := fmt.Sprintf("B%017d", count/10) // codes are ordered: the first tenth of the rows
	api := func(filter string) (int, error) {
		req, _ := http.NewRequest("GET", base+created.Endpoint+"/export.csv?"+filter, nil)
		req.Header.Set("X-API-Key", created.Key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			b, _ := io.ReadAll(res.Body)
			return 0, fmt.Errorf("export: %d %s", res.StatusCode, b)
		}
		lines, err := countLines(res.Body)
		return lines - 1, err // the header
	}
	cols := `credit_code::text, name, entity_type, legal_rep, established_on, registered_capital, district_code::text`
	anchor := func(filter string) (int, error) {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return 0, err
		}
		defer conn.Release()
		where := ""
		if filter != "" {
			where = " WHERE credit_code::text <= '" + tenth + "'" // a constant of ours, not input
		}
		pr, pw := io.Pipe()
		var lines int
		var cerr error
		done := make(chan struct{})
		go func() { lines, cerr = countLines(pr); close(done) }()
		_, err = conn.Conn().PgConn().CopyTo(ctx, pw, `COPY (SELECT `+cols+` FROM registry.entities`+where+` ORDER BY credit_code) TO STDOUT WITH (FORMAT csv, HEADER)`)
		pw.CloseWithError(err)
		<-done
		if err == nil {
			err = cerr
		}
		return lines - 1, err
	}
	type result struct {
		rows int
		dur  time.Duration
		heap uint64
	}
	measure := func(f func(string) (int, error), filter string) (result, error) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > before && m.HeapAlloc-before > peak.Load() {
						peak.Store(m.HeapAlloc - before)
					}
				}
			}
		}()
		t0 := time.Now()
		n, err := f(filter)
		d := time.Since(t0)
		close(stop)
		wg.Wait()
		return result{n, d, peak.Load()}, err
	}
	var rows [][]string
	for _, part := range []struct{ name, filter string }{{"a tenth", "credit_code=lte." + tenth}, {"all", ""}} {
		a, err := measure(api, part.filter)
		if err != nil {
			return err
		}
		b, err := measure(anchor, part.filter)
		if err != nil {
			return err
		}
		if a.rows != b.rows {
			return fmt.Errorf("export of %s: the interface gave %d rows, the anchor %d", part.name, a.rows, b.rows)
		}
		rate := func(r result) string { return fmt.Sprintf("%.0f", float64(r.rows)/r.dur.Seconds()) }
		mb := func(r result) string { return fmt.Sprintf("%.1f MiB", float64(r.heap)/(1<<20)) }
		rows = append(rows, []string{fmt.Sprintf("%s (%d rows)", part.name, a.rows), fmt.Sprintf("%.1f s", a.dur.Seconds()), rate(a), mb(a),
			fmt.Sprintf("%.1f s", b.dur.Seconds()), rate(b), mb(b), fmt.Sprintf("%.2f", a.dur.Seconds()/b.dur.Seconds())})
		fmt.Printf("export %s: interface %s rows/s, peak heap %s; anchor %s rows/s\n", part.name, rate(a), mb(a), rate(b))
	}
	var load string
	if lb, err := os.ReadFile("/proc/loadavg"); err == nil && len(lb) > 14 {
		load = string(lb[:14])
	}
	return report.Write(out, "datahub-export", report.Section{
		Title: "Data hub: a 1-million-row CSV export (issue 20, FP-94)",
		Intro: fmt.Sprintf("Run %s on %d cores, `go run ./tests/bench/datahubbench -only export -count %d`. Interface = "+
			"`GET /datahub/v1/data/{id}/export.csv` over loopback HTTP with its access key, a city-wide interface over 7 fields (legal "+
			"representative masked), one statement read row by row and written as CSV as it is read; the client counts lines. "+
			"Anchor = bare pgx `COPY (SELECT the same columns … ORDER BY credit_code) TO STDOUT WITH (FORMAT csv, HEADER)`, PostgreSQL "+
			"writing the CSV itself (no masking, no Go-side encoding). Heap = the most the bench process (function, server and client "+
			"together) held above its level before the export, sampled every 10 ms: the same for a tenth of the rows and for all of "+
			"them means flat memory. Load average at the end: %s.", time.Now().Format("2006-01-02"), runtime.NumCPU(), count, load),
		Rows: append([][]string{{"export", "interface time", "interface rows/s", "interface heap", "anchor time", "anchor rows/s", "anchor heap", "time ratio"}}, rows...),
	})
}

func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
