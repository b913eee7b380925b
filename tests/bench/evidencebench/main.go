// Command evidencebench measures the evidence log (issue 16, FP-90) and
// writes the results into docs/benchmarks.md:
//
//   - appends/s: concurrent clients append entries through the batching
//     sequencer (one transaction per batch) until each is acknowledged,
//     then the integration loop folds them into tiles and signs a
//     checkpoint; side by side with the anchor of the same log with
//     batching off (one transaction per entry, EVIDENCE_LOG_BATCH_MAX=1);
//
//   - receipt verification: seal.VerifyReceipt (checkpoint signature,
//     inclusion proof) per receipt, against the anchor of the Ed25519
//     signature check alone.
//
//   - capture time per page: the function's capture of a local page
//     against a bare Chromium screenshot of it.
//
// Usage: go run ./tests/bench/evidencebench [-only log|capture] [-n 20000] [-clients 256] [-captures 15] [-out docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	evidencecapture "github.com/sjzamr/smartreg/functions/evidence-capture"
	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

func main() {
	n := flag.Int("n", 20000, "entries to append (batched)")
	nBase := flag.Int("n-anchor", 3000, "entries to append with batching off")
	clients := flag.Int("clients", 256, "concurrent appenders (many requests sealing at once)")
	receipts := flag.Int("receipts", 2000, "receipts to verify")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	captures := flag.Int("captures", 15, "pages to capture")
	only := flag.String("only", "", "run one part: log or capture")
	admin := flag.String("admin", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	flag.Parse()
	ctx := context.Background()
	var err error
	if *only == "" || *only == "log" {
		err = run(ctx, *admin, *n, *nBase, *clients, *receipts, *out)
	}
	if err == nil && (*only == "" || *only == "capture") {
		err = captureBench(ctx, *admin, *captures, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "evidencebench:", err)
		os.Exit(1)
	}
}

// passVerifier stands in for token checks: the bench serves no HTTP.
type passVerifier struct{}

func (passVerifier) Middleware(next http.Handler) http.Handler { return next }

func freshDB(ctx context.Context, admin, name string) (string, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String(), nil
}

type appendResult struct {
	acked      time.Duration // until every append was acknowledged
	integrated time.Duration // until a checkpoint covered them all
	size       uint64
	f          *evidencecapture.Function
}

func appendRun(ctx context.Context, admin, name string, n, clients, batch int) (appendResult, error) {
	dsn, err := freshDB(ctx, admin, name)
	if err != nil {
		return appendResult{}, err
	}
	pool, err := store.Connect(ctx, dsn, 10)
	if err != nil {
		return appendResult{}, err
	}
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, evidencecapture.Migrations()...)...); err != nil {
		return appendResult{}, err
	}
	dir, _ := os.MkdirTemp("", "evidencebench")
	b, err := blob.NewDir(dir)
	if err != nil {
		return appendResult{}, err
	}
	c := config.Defaults[evidencecapture.Config]()
	c.BatchMax = batch
	f, err := evidencecapture.New(evidencecapture.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b,
		Now: time.Now, Verifier: passVerifier{}}, c)
	if err != nil {
		return appendResult{}, err
	}
	f.Start(ctx)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, err := f.Log().Append(ctx, []byte(fmt.Sprintf("smartreg-evidence/1 bench entry %d of %s", i, name))); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	acked := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return appendResult{}, e.(error)
	}
	var size uint64
	for size < uint64(n) {
		size, err = f.Log().Integrate(ctx)
		if err != nil {
			return appendResult{}, err
		}
	}
	return appendResult{acked: acked, integrated: time.Since(start), size: size, f: f}, nil
}

func perSec(n int, d time.Duration) string { return fmt.Sprintf("%.0f/s", float64(n)/d.Seconds()) }

func run(ctx context.Context, admin string, n, nBase, clients, receipts int, out string) error {
	batched, err := appendRun(ctx, admin, "bench_evidence", n, clients, config.Defaults[evidencecapture.Config]().BatchMax)
	if err != nil {
		return err
	}
	anchor, err := appendRun(ctx, admin, "bench_evidence_anchor", nBase, clients, 1)
	if err != nil {
		return err
	}
	anchor.f.Stop(ctx)
	bRate := float64(n) / batched.acked.Seconds()
	aRate := float64(nBase) / anchor.acked.Seconds()

	// Receipts against the final checkpoint, verified one by one.
	l := batched.f.Log()
	var verify, sig []time.Duration
	v, err := note.NewVerifier(l.PublicKey())
	if err != nil {
		return err
	}
	for i := range receipts {
		idx := uint64(i * (n / receipts))
		r, err := l.Receipt(ctx, idx, nil)
		if err != nil {
			return err
		}
		e, err := l.Entry(ctx, idx)
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := seal.VerifyReceipt(e, r, l.PublicKey()); err != nil {
			return fmt.Errorf("receipt %d: %w", idx, err)
		}
		verify = append(verify, time.Since(t0))
		t0 = time.Now()
		if _, err := note.Open(r.Checkpoint, note.VerifierList(v)); err != nil {
			return err
		}
		sig = append(sig, time.Since(t0))
	}
	batched.f.Stop(ctx)
	p := func(ds []time.Duration, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(float64(len(s)-1)*q)]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }
	var load string
	if b, err := os.ReadFile("/proc/loadavg"); err == nil && len(b) > 14 {
		load = string(b[:14])
	}
	intro := fmt.Sprintf("Run %s on %d cores (%s), PostgreSQL on the same machine. `go run ./tests/bench/evidencebench -n %d -clients %d`. "+
		"Appends: %d concurrent clients call `Log.Append` until every entry is acknowledged (its index committed); the batching sequencer takes "+
		"whatever is waiting (up to EVIDENCE_LOG_BATCH_MAX) into one transaction. Anchor = the same log with batching off (one transaction per entry). "+
		"\"integrated\" is until a signed checkpoint covers every entry (tiles written to object storage). "+
		"Receipts: `seal.VerifyReceipt` (checkpoint signature + RFC 6962 inclusion proof at size %d) against the anchor of the Ed25519 note "+
		"signature check alone. The machine is shared; the load average at the end is in the last row.",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOARCH, n, clients, clients, batched.size)
	return report.Write(out, "evidence-log", report.Section{
		Title: "Evidence log: appends and receipt verification (issue 16, FP-90)",
		Intro: intro,
		Rows: [][]string{
			{"measure", "SmartReg", "anchor", "ratio", "target"},
			{fmt.Sprintf("appends acknowledged (%d vs %d entries)", n, nBase), perSec(n, batched.acked), perSec(nBase, anchor.acked) + " (unbatched)", fmt.Sprintf("%.1f×", bRate/aRate), "≥ 2000/s"},
			{"appends integrated (checkpoint signed)", perSec(n, batched.integrated), perSec(nBase, anchor.integrated) + " (unbatched)", "", ""},
			{fmt.Sprintf("receipt verification p50 (%d receipts)", receipts), ms(p(verify, 0.5)), ms(p(sig, 0.5)) + " (signature alone)", fmt.Sprintf("%.2f", float64(p(verify, 0.5))/float64(p(sig, 0.5))), "< 10 ms"},
			{"receipt verification p99", ms(p(verify, 0.99)), ms(p(sig, 0.99)) + " (signature alone)", "", "< 10 ms"},
			{"load average (1, 5, 15 min) at the end", load, "", "", ""},
		},
	})
}
