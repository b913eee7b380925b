// Command auditbench measures how fast the audit function ingests
// operation-log events (issue 23) and writes the result into
// docs/benchmarks.md: N operation events, as every function records them
// (shared/auditlog: a realistic before/after state), delivered the way the
// local broker delivers them — a CloudEvent HTTP request to audit's
// in-process event receiver (runtime.Events), decoded, checked, the month's
// partition made sure of, the row inserted under its inbox mark
// (outbox.Once) and committed — by 1 and by 20 concurrent deliverers (the
// broker's default workers). The anchor is a bare COPY of the same rows
// into the same table, run interleaved on the same database: the floor of
// what PostgreSQL takes in on this machine.
//
// Usage: go run ./tests/bench/auditbench [-n 4000] [-rounds 3] [-c 1,20] [-out docs/benchmarks.md]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/audit"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const benchDB = "bench_auditbench"

type options struct {
	n, rounds int
	conc      []int
	out       string
}

func main() {
	var o options
	var conc string
	flag.IntVar(&o.n, "n", 4000, "operation events per run")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds; the best is reported")
	flag.StringVar(&conc, "c", "1,20", "concurrent deliverers, comma-separated")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown file to update")
	flag.Parse()
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "auditbench: bad -c", conc)
			os.Exit(2)
		}
		o.conc = append(o.conc, n)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "auditbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if err := recreateDB(ctx); err != nil {
		return err
	}
	defer dropDB(context.Background())
	pool, err := store.Connect(ctx, storetest.URLFor(benchDB), 40)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, audit.Migrations()...)...); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "auditbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bl, err := blob.Open(ctx, "file://"+dir)
	if err != nil {
		return err
	}
	fn, err := audit.New(audit.Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Blob: bl, Verifier: nobody{}, Now: time.Now},
		config.Defaults[audit.Config]())
	if err != nil {
		return err
	}
	if err := fn.Start(ctx); err != nil {
		return err
	}
	secret := runtime.NewSecret()
	receiver := runtime.Events(audit.Name, fn, secret, runtime.Options{Logger: slog.New(slog.DiscardHandler)})

	rows := [][]string{{"path", "deliverers", "events", "events/s", "p50 ms", "p99 ms", "COPY rows/s", "ingest ÷ COPY"}}
	for _, c := range o.conc {
		best, bestCopy := result{}, 0.0
		for round := range o.rounds {
			fmt.Fprintf(os.Stderr, "auditbench: %d events by %d deliverers, and the COPY anchor (round %d/%d)\n", o.n, c, round+1, o.rounds)
			evs, err := operations(o.n)
			if err != nil {
				return err
			}
			for k := range 2 { // alternate which side goes first
				if (k+round)%2 == 0 {
					r, err := ingest(ctx, receiver, secret, evs, c)
					if err != nil {
						return err
					}
					if r.rate > best.rate {
						best = r
					}
					continue
				}
				rate, err := copyRows(ctx, pool, evs)
				if err != nil {
					return err
				}
				bestCopy = max(bestCopy, rate)
			}
			// Every event is one row, however often it was delivered.
			var stored int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit.op_log WHERE event_id = ANY($1)`, ids(evs)).Scan(&stored); err != nil {
				return err
			}
			if stored != len(evs) {
				return fmt.Errorf("%d events ingested, %d rows stored", len(evs), stored)
			}
		}
		rows = append(rows, []string{"CloudEvent → runtime.Events → Receive", strconv.Itoa(c), strconv.Itoa(o.n), fmt.Sprintf("%.0f", best.rate),
			ms(best.p50), ms(best.p99), fmt.Sprintf("%.0f", bestCopy), fmt.Sprintf("%.3f", best.rate/bestCopy)})
	}
	return report.Write(o.out, "auditbench", report.Section{
		Title: "audit: operation-log ingest against a bare COPY (auditbench)",
		Intro: fmt.Sprintf("`go run ./tests/bench/auditbench` (issue 23), %d CPUs shared with other work while measured: only the ratio means much. "+
			"Each event is an operation row as a function records it (`shared/auditlog`: user, IP, action, object, a before and an after state of "+
			"about 250 bytes), delivered as the local broker delivers it: a binary-mode CloudEvent HTTP request to audit's in-process receiver "+
			"(`runtime.Events`, the delivery key checked), decoded, validated, the month's partition made sure of (remembered after the first), "+
			"and the row inserted under its `platform.inbox` mark in one transaction per event, committed with `synchronous_commit` on — an "+
			"acknowledged event is durable, or the Broker would have to keep it. The anchor is a bare `COPY` of the same rows into the same "+
			"`audit.op_log`, interleaved with the measured runs (best of %d rounds each). The difference is one commit (one WAL flush) per "+
			"event, which concurrent deliverers share through group commit. The row count is checked after every round.", goruntime.NumCPU(), o.rounds),
		Rows: rows,
	})
}

type result struct {
	rate     float64
	p50, p99 time.Duration
}

// nobody is a Verifier no request passes: the benchmark uses no API.
type nobody struct{}

func (nobody) Middleware(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
}

// operations builds n fresh operation events (fresh ids: a redelivered
// id would be a no-op).
func operations(n int) ([]event.Event, error) {
	out := make([]event.Event, n)
	now := time.Now()
	for i := range n {
		e, err := auditlog.Operation{At: now.Add(time.Duration(i) * time.Microsecond), UserID: "3f1c9a2e-0b7d-4c55-9a61-2d7e8f9a0b1c",
			Username: "changan_admin", IP: "10.12.3.4", Action: "registry.entity.update", ObjectType: "entity", ObjectID: fmt.Sprintf("91130102MA%08dX", i),
			DistrictCode: "130102", Before: map[string]any{"name": "石家庄长安百货有限公司", "address": "石家庄市长安区中山东路1号", "legal_rep": "王五", "version": 3},
			After: map[string]any{"name": "石家庄长安百货有限公司", "address": "石家庄市长安区建设北大街8号", "legal_rep": "王五", "version": 4}}.Event("/functions/registry")
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func ids(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}

// ingest delivers evs to the receiver with c concurrent deliverers.
func ingest(ctx context.Context, h http.Handler, secret *runtime.Secret, evs []event.Event, c int) (result, error) {
	work := make(chan int)
	lat := make([]time.Duration, len(evs))
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for i := range work {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
				if err == nil {
					err = cehttp.WriteRequest(ctx, binding.ToMessage(&evs[i]), req)
				}
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
					continue
				}
				secret.Authorize(req)
				t0 := time.Now()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				lat[i] = time.Since(t0)
				if rec.Code != http.StatusAccepted {
					mu.Lock()
					first = fmt.Errorf("delivery answered %d: %s", rec.Code, rec.Body)
					mu.Unlock()
				}
			}
		})
	}
	for i := range evs {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return result{}, first
	}
	return result{rate: float64(len(evs)) / elapsed.Seconds(), p50: pct(lat, 0.5), p99: pct(lat, 0.99)}, nil
}

// copyRows is the anchor: the same rows (new ids, so the tables hold both)
// by one COPY.
func copyRows(ctx context.Context, pool *pgxpool.Pool, evs []event.Event) (float64, error) {
	rows := make([][]any, len(evs))
	for i, e := range evs {
		var d events.AuditOperationRecordedData
		if err := json.Unmarshal(e.Data(), &d); err != nil {
			return 0, err
		}
		rows[i] = []any{d.At, d.UserID, d.Username, d.IP, d.Action, d.ObjectType, d.ObjectID, string(d.Before), string(d.After), d.Result,
			d.DistrictCode, d.TownshipCode, "registry", "copy-" + e.ID()}
	}
	start := time.Now()
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"audit", "op_log"}, []string{"at", "user_id", "username", "ip", "action", "object_type", "object_id",
		"before", "after", "result", "district_code", "township_code", "source", "event_id"}, pgx.CopyFromRows(rows))
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	if int(n) != len(rows) {
		return 0, fmt.Errorf("COPY wrote %d of %d rows", n, len(rows))
	}
	return float64(n) / elapsed.Seconds(), nil
}

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func recreateDB(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, storetest.AdminURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+benchDB+` WITH (FORCE)`); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE DATABASE `+benchDB)
	return err
}

func dropDB(ctx context.Context) {
	if conn, err := pgx.Connect(ctx, storetest.AdminURL()); err == nil {
		_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+benchDB+` WITH (FORCE)`)
		conn.Close(ctx)
	}
}
