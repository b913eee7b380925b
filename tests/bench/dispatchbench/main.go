// Command dispatchbench measures the command centre's three targets
// (issue 17) and writes them into docs/benchmarks.md:
//
//   - alarm to screen: phones POST alarms to alarm-intake at a steady rate
//     (default 100/s for 10 s); each is committed with alarm.raised in the
//     outbox, moved by the real outbox relay (shared/outbox.Relay, woken by
//     NOTIFY) to dispatch's Receive (standing in for the broker hop),
//     written to the feed, and pushed by dispatch's SSE stream to a client
//     standing in for the centre's map. Latency: from the phone's POST to
//     the SSE event. Target p99 < 200 ms, nothing lost. Beside it, the
//     phone's acknowledgement latency.
//   - GPS ingest: batches of 100 points (one phone's queue) through
//     dispatch.Ingest (COPY into the day partition + the live position),
//     several phones at once, against a bare COPY of the same points into
//     an unpartitioned table of the same columns. Target ≥ 10 000 points/s.
//   - playback: 30 days × N phones (default 2000, one fix per 10 min) plus
//     20 phones with a fix every 5 s over the last 24 h, loaded with COPY;
//     then 200 random 24-hour playbacks of the dense phones
//     (dispatch.Track). Target p99 < 100 ms.
//
// Usage: go run ./tests/bench/dispatchbench [-rate 100] [-seconds 10] [-phones 2000] [-days 30] [-out docs/benchmarks.md]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	alarmintake "github.com/sjzamr/smartreg/functions/alarm-intake"
	"github.com/sjzamr/smartreg/functions/dispatch"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const benchDB = "dispatchbench"

type options struct {
	rate, seconds, phones, days int
	out                         string
}

func main() {
	var o options
	flag.IntVar(&o.rate, "rate", 100, "alarms per second")
	flag.IntVar(&o.seconds, "seconds", 10, "seconds of alarms")
	flag.IntVar(&o.phones, "phones", 2000, "phones in the stored history")
	flag.IntVar(&o.days, "days", 30, "days of stored history")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "benchmarks document")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "dispatchbench:", err)
		os.Exit(1)
	}
}

// relayTo stands in for the local broker: the relay hands each batch
// over in its transaction (TxPublisher, as the broker's durable queue
// does) and workers deliver the events to dispatch's Receive
// concurrently, as the broker's workers do. Unlike the broker it keeps the
// queue in memory: a failed delivery is counted, not retried.
type relayTo struct {
	f      *dispatch.Function
	work   chan event.Event
	failed *int64
}

func newRelayTo(ctx context.Context, f *dispatch.Function, workers int) relayTo {
	r := relayTo{f: f, work: make(chan event.Event, 10000), failed: new(int64)}
	for range workers {
		go func() {
			for e := range r.work {
				if _, err := f.Receive(ctx, e); err != nil {
					fmt.Fprintln(os.Stderr, "receive:", err)
				}
			}
		}()
	}
	return r
}

func (r relayTo) Publish(ctx context.Context, e event.Event) error { r.work <- e; return nil }

func (r relayTo) PublishTx(ctx context.Context, _ pgx.Tx, evs []event.Event) error {
	for _, e := range evs {
		r.work <- e
	}
	return nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func run(ctx context.Context, o options) error {
	conn, err := pgx.Connect(ctx, storetest.AdminURL())
	if err != nil {
		return err
	}
	conn.Exec(ctx, `DROP DATABASE IF EXISTS `+benchDB+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+benchDB); err != nil {
		return err
	}
	defer func() {
		conn.Exec(context.Background(), `DROP DATABASE IF EXISTS `+benchDB+` WITH (FORCE)`)
		conn.Close(context.Background())
	}()
	pool, err := store.Connect(ctx, storetest.URLFor(benchDB), 16)
	if err != nil {
		return err
	}
	defer pool.Close()
	migs := append([]store.Migration{store.Platform()}, alarmintake.Migrations()...)
	if err := store.Migrate(ctx, pool, append(migs, dispatch.Migrations()...)...); err != nil {
		return err
	}
	key, err := auth.GenerateKey()
	if err != nil {
		return err
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: "dispatchbench", Audience: "smartreg", Key: key, TTL: time.Hour})
	if err != nil {
		return err
	}
	ver, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: "dispatchbench", Audience: "smartreg"})
	if err != nil {
		return err
	}
	defer ver.Close()
	log := slog.New(slog.DiscardHandler)
	dir, _ := blob.NewDir(os.TempDir() + "/dispatchbench-blob")
	// Each function has its own pool, as each has its own pods in
	// production: the phones' requests do not starve dispatch's delivery.
	apool, err := store.Connect(ctx, storetest.URLFor(benchDB), 16)
	if err != nil {
		return err
	}
	defer apool.Close()
	ai, err := alarmintake.New(alarmintake.Deps{Logger: log, Pool: apool, Blob: dir, Now: time.Now, Verifier: ver}, config.Defaults[alarmintake.Config]())
	if err != nil {
		return err
	}
	dcfg := config.Defaults[dispatch.Config]()
	dcfg.TrackRetentionDays = o.days + 5
	df, err := dispatch.New(dispatch.Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: ver}, dcfg)
	if err != nil {
		return err
	}
	if err := df.Start(ctx); err != nil {
		return err
	}
	defer df.Stop(context.Background())
	mux := http.NewServeMux()
	mux.Handle("/alarm/", runtime.Handler(alarmintake.Name, ai, runtime.Options{Logger: log}))
	mux.Handle("/dispatch/", runtime.Handler(dispatch.Name, df, runtime.Options{Logger: log}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rctx, stopRelay := context.WithCancel(ctx)
	defer stopRelay()
	go (&outbox.Relay{Pool: apool, Publisher: newRelayTo(rctx, df, 8), Logger: log, Interval: 200 * time.Millisecond}).Run(rctx)

	load1 := loadavg()
	rows := [][]string{{"measure", "result", "target", "verdict"}}
	a, err := alarmToScreen(ctx, o, srv.URL, iss)
	if err != nil {
		return err
	}
	rows = append(rows, a...)
	g, err := gpsIngest(ctx, pool, df, iss)
	if err != nil {
		return err
	}
	rows = append(rows, g...)
	p, err := playback(ctx, o, pool, df, srv.URL, iss)
	if err != nil {
		return err
	}
	rows = append(rows, p...)
	sec := report.Section{Title: "Command centre: alarm to screen, GPS ingest, 24-hour playback (dispatchbench)",
		Intro: fmt.Sprintf("`go run ./tests/bench/dispatchbench` (issue 17), %d CPUs shared with other engineers' work; load average (1 min) "+
			"at the start / end: %s / %s. One process: alarm-intake and dispatch behind `runtime.Handler` on a loopback server, each with its own pool of 16 connections, real "+
			"PostgreSQL with PostGIS, the real outbox relay handing each batch of alarm.raised over in its transaction to a stand-in "+
			"for the local broker (8 workers calling dispatch's Receive concurrently; its queue is in memory where the broker's is durable, "+
			"so the broker's own hop is left out). *Alarm to screen*: %d alarms/s for %d s, from the phone's POST to the "+
			"SSE event on one centre stream. *GPS ingest*: batches of 100 points from 8 phones at once through `Ingest` (COPY into "+
			"the day partition and the live-position upsert) against a bare COPY of the same points into an unpartitioned table. "+
			"*Playback*: %d days × %d phones at one fix per 10 min plus 20 phones at one fix per 5 s over the last 24 h, loaded with "+
			"COPY; 200 random 24-hour playbacks of the dense phones (17 280 points each), each window read three ways side by side.",
			goruntime.NumCPU(), load1, loadavg(), o.rate, o.seconds, o.days, o.phones),
		Rows: rows}
	for _, r := range rows {
		fmt.Println(strings.Join(r, " | "))
	}
	return report.Write(o.out, "dispatchbench", sec)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "**misses**"
}

func alarmToScreen(ctx context.Context, o options, base string, iss *auth.Issuer) ([][]string, error) {
	centre, _, err := iss.Issue(auth.Principal{UserID: "centre", Perms: []string{"dispatch.event:view"}, Scope: auth.All()})
	if err != nil {
		return nil, err
	}
	phone, _, err := iss.Issue(auth.Principal{UserID: "phone", Perms: []string{"alarm.alarm:create"},
		Scope: auth.Scope{Kind: auth.ScopeDept, Townships: []string{"130102001"}}})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", base+"/dispatch/v1/feed", nil)
	req.Header.Set("Authorization", "Bearer "+centre)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var mu sync.Mutex
	sent, got := map[string]time.Time{}, map[string]time.Duration{}
	dup := 0
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "event: ready") {
				close(ready)
			}
			if !strings.HasPrefix(line, "data: ") || !strings.Contains(line, `"kind":"alarm"`) {
				continue
			}
			now := time.Now()
			var it struct {
				Payload struct {
					Text string `json:"text"`
				} `json:"payload"`
			}
			json.Unmarshal([]byte(line[6:]), &it)
			mu.Lock()
			if _, ok := got[it.Payload.Text]; ok {
				dup++
			} else if t, ok := sent[it.Payload.Text]; ok {
				got[it.Payload.Text] = now.Sub(t)
			}
			mu.Unlock()
		}
	}()
	<-ready
	total := o.rate * o.seconds
	acks := make([]time.Duration, 0, total)
	var amu sync.Mutex
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(o.rate))
	failed := 0
	for i := range total {
		<-tick.C
		key := fmt.Sprintf("bench-%06d-%s", i, uuid.NewString()[:8])
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, _ := json.Marshal(map[string]any{"idempotency_key": key, "level": "紧急", "text": key, "lat": 38.04, "lng": 114.51,
				"accuracy": 10, "at": time.Now().UTC()})
			r, _ := http.NewRequest("POST", base+"/alarm/v1/alarms", bytes.NewReader(raw))
			r.Header.Set("Authorization", "Bearer "+phone)
			r.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			mu.Lock()
			sent[key] = t0
			mu.Unlock()
			resp, err := http.DefaultClient.Do(r)
			amu.Lock()
			defer amu.Unlock()
			if err != nil || resp.StatusCode != 201 {
				failed++
				return
			}
			resp.Body.Close()
			acks = append(acks, time.Since(t0))
		}()
	}
	tick.Stop()
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= total-failed {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	lat := make([]time.Duration, 0, len(got))
	for _, d := range got {
		lat = append(lat, d)
	}
	mu.Unlock()
	lost := total - failed - len(lat)
	p99 := pct(lat, 0.99)
	return [][]string{
		{fmt.Sprintf("alarm → SSE screen, %d alarms at %d/s", total, o.rate), fmt.Sprintf("p50 %s, p99 %s, max %s; %d lost, %d duplicated, %d refused",
			ms(pct(lat, 0.5)), ms(p99), ms(pct(lat, 1)), lost, dup, failed), "p99 < 200 ms, none lost", verdict(p99 < 200*time.Millisecond && lost == 0 && failed == 0)},
		{"phone's acknowledgement (durable commit)", fmt.Sprintf("p50 %s, p99 %s", ms(pct(acks, 0.5)), ms(pct(acks, 0.99))), "", ""},
	}, nil
}

func gpsIngest(ctx context.Context, pool *pgxpool.Pool, df *dispatch.Function, iss *auth.Issuer) ([][]string, error) {
	const phones, batches, per = 8, 250, 100 // 200 000 points
	now := time.Now().UTC()
	mk := func(p, b int) []dispatch.Position {
		ps := make([]dispatch.Position, per)
		for i := range ps {
			ps[i] = dispatch.Position{At: now.Add(-time.Duration((b*per+i)%7200) * time.Second), Lat: 38 + rand.Float64()*0.2,
				Lng: 114.4 + rand.Float64()*0.3, Accuracy: 8}
		}
		return ps
	}
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, phones)
	for p := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := &auth.Principal{UserID: fmt.Sprintf("ingest-%d", p), Scope: auth.Scope{Kind: auth.ScopeDept, Townships: []string{"130102001"}}}
			for b := range batches {
				if _, err := df.Ingest(ctx, pr, mk(p, b)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	ingest := time.Since(start)
	if _, err := pool.Exec(ctx, `CREATE TABLE bare_positions (user_id text, at timestamptz, lat float8, lng float8, accuracy real,
		district text, township text)`); err != nil {
		return nil, err
	}
	start = time.Now()
	for p := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				ps := mk(p, b)
				i := 0
				_, err := pool.CopyFrom(ctx, pgx.Identifier{"bare_positions"}, []string{"user_id", "at", "lat", "lng", "accuracy", "district", "township"},
					pgx.CopyFromFunc(func() ([]any, error) {
						if i == len(ps) {
							return nil, nil
						}
						x := ps[i]
						i++
						return []any{"bare", x.At, x.Lat, x.Lng, x.Accuracy, "130102", "130102001"}, nil
					}))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	bare := time.Since(start)
	n := float64(phones * batches * per)
	ok := n/ingest.Seconds() >= 10000
	return [][]string{
		{fmt.Sprintf("GPS ingest, %d points in batches of %d", int(n), per), fmt.Sprintf("%.0f points/s (%s)", n/ingest.Seconds(), ingest.Round(time.Millisecond)),
			"≥ 10 000 points/s", verdict(ok)},
		{"bare COPY of the same points (anchor)", fmt.Sprintf("%.0f points/s (%s); Ingest ÷ COPY time %.2f×", n/bare.Seconds(),
			bare.Round(time.Millisecond), ingest.Seconds()/bare.Seconds()), "", ""},
	}, nil
}

func playback(ctx context.Context, o options, pool *pgxpool.Pool, df *dispatch.Function, base string, iss *auth.Issuer) ([][]string, error) {
	token, _, err := iss.Issue(auth.Principal{UserID: "centre", Perms: []string{"dispatch.track:view"}, Scope: auth.All()})
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	for d := 0; d <= o.days+1; d++ {
		if err := df.EnsureTrackPartition(ctx, now.Add(-time.Duration(d)*24*time.Hour)); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	cols := []string{"user_id", "at", "lat", "lng", "accuracy", "district", "township"}
	// One COPY per day, so each lands in one partition.
	var total int64
	for d := range o.days {
		dayStart := now.Truncate(24 * time.Hour).Add(-time.Duration(d) * 24 * time.Hour)
		p, slot := 0, 0
		const slots = 144
		n, err := pool.CopyFrom(ctx, pgx.Identifier{"dispatch", "positions"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if p == o.phones {
				return nil, nil
			}
			at := dayStart.Add(time.Duration(slot) * 10 * time.Minute)
			row := []any{fmt.Sprintf("phone-%04d", p), at, 38 + float64(p%100)*0.002, 114.4 + float64(slot)*0.001, float32(10), "130102", "130102001"}
			if slot++; slot == slots {
				slot, p = 0, p+1
			}
			return row, nil
		}))
		if err != nil {
			return nil, err
		}
		total += n
	}
	// The dense phones: one fix every 5 s over the last 24 hours, an
	// inspector's day (legs of waiting, walking and driving, ~2 m of GPS
	// noise), so thinning has a realistic amount to keep.
	for p := range 20 {
		i := 0
		rng := rand.New(rand.NewPCG(uint64(p), 17))
		la, lo, vla, vlo := 38.0, 114.5, 0.0, 0.0
		n, err := pool.CopyFrom(ctx, pgx.Identifier{"dispatch", "positions"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == 17280 {
				return nil, nil
			}
			if i%600 == 0 {
				sp := []float64{0, 2e-5, 2e-4}[rng.IntN(3)]
				vla, vlo = (rng.Float64()-0.5)*sp, (rng.Float64()-0.5)*sp
			}
			la, lo = la+vla, lo+vlo
			at := now.Add(-24*time.Hour + time.Duration(i)*5*time.Second)
			i++
			return []any{fmt.Sprintf("dense-%02d", p), at, la + rng.NormFloat64()*2e-5, lo + rng.NormFloat64()*2e-5, float32(5), "130102", "130102001"}, nil
		}))
		if err != nil {
			return nil, err
		}
		total += n
	}
	load := time.Since(start)
	if _, err := pool.Exec(ctx, `ANALYZE dispatch.positions`); err != nil {
		return nil, err
	}
	var size string
	pool.QueryRow(ctx, `SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits WHERE inhparent = 'dispatch.positions'::regclass`).Scan(&size)
	// Side by side on the same random windows: the screen's playback over
	// HTTP (thinned to 5 m, JSON), the full-resolution arrays (Track with
	// tolerance 0), and the anchor, the same fixes read one row each as
	// the first version did.
	var http5, full, rows []time.Duration
	stored, kept := 0, 0
	for range 200 {
		user := fmt.Sprintf("dense-%02d", rand.IntN(20))
		to := now.Add(-time.Duration(rand.IntN(3600)) * time.Second)
		from := to.Add(-24 * time.Hour)
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/dispatch/v1/tracks/"+user+"?from="+from.Format(time.RFC3339Nano)+
			"&to="+to.Format(time.RFC3339Nano), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var v dispatch.TrackView
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("playback: %d %v", resp.StatusCode, err)
		}
		http5 = append(http5, time.Since(t0))
		stored, kept = stored+v.Points, kept+len(v.T)
		t0 = time.Now()
		if _, err := df.Track(ctx, auth.All(), user, from, to, 0); err != nil {
			return nil, err
		}
		full = append(full, time.Since(t0))
		t0 = time.Now()
		rs, err := pool.Query(ctx, `SELECT user_id, at, lat, lng, accuracy, district, township FROM dispatch.positions
			WHERE user_id = $1 AND at >= $2 AND at < $3 ORDER BY at`, user, from, to)
		if err != nil {
			return nil, err
		}
		if _, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (dispatch.Position, error) {
			var x dispatch.Position
			return x, r.Scan(&x.UserID, &x.At, &x.Lat, &x.Lng, &x.Accuracy, &x.District, &x.Township)
		}); err != nil {
			return nil, err
		}
		rows = append(rows, time.Since(t0))
	}
	p99 := pct(http5, 0.99)
	return [][]string{
		{fmt.Sprintf("history loaded with COPY: %d rows (%s)", total, size), fmt.Sprintf("%s (%.0f rows/s)", load.Round(time.Second), float64(total)/load.Seconds()), "", ""},
		{"24-hour playback as the screen asks: GET /dispatch/v1/tracks/{user} over HTTP, thinned to 5 m, JSON decoded",
			fmt.Sprintf("p50 %s, p99 %s (%d fixes stored, %d returned on average)", ms(pct(http5, 0.5)), ms(p99), stored/200, kept/200),
			"p99 < 100 ms", verdict(p99 < 100*time.Millisecond)},
		{"the same windows at full resolution: `Track` arrays from one row (tolerance 0)", fmt.Sprintf("p50 %s, p99 %s", ms(pct(full, 0.5)), ms(pct(full, 0.99))), "", ""},
		{"anchor: the same fixes one row each, decoded (the first version)", fmt.Sprintf("p50 %s, p99 %s", ms(pct(rows, 0.5)), ms(pct(rows, 0.99))), "", ""},
	}, nil
}
