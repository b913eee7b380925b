// Command commsbench measures comms (issue 18) against the anchors it is
// built on and writes the results into docs/benchmarks.md:
//
//   - rooms created per second: POST /comms/v1/consults through the
//     function's handler (token check, dispatch.event_brief, LiveKit's
//     CreateRoom, the rows and the audit record in one transaction) against
//     bare CreateRoom calls through the server SDK's RoomServiceClient, on
//     the same livekit-server (dev mode, :7880), 8 callers at once;
//   - tokens issued per second: POST /comms/v1/consults/{id}/token (our
//     bearer verified, the consult and membership read, the LiveKit JWT
//     signed) against bare signing with LiveKit's auth package;
//   - recording ingest against file size: StoreRecording (the finished
//     OGG file into S3 with its SHA-256, then the row) against a bare
//     blob Put of the same file, on the local versitygw.
//
// Usage: go run ./tests/bench/commsbench [-n 300] [-out docs/benchmarks.md]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	lkauth "github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/sjzamr/smartreg/functions/comms"
	"github.com/sjzamr/smartreg/functions/dispatch"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/sms"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

const (
	benchDB = "commsbench"
	workers = 8
)

func main() {
	n := flag.Int("n", 300, "rooms and tokens per measurement")
	out := flag.String("out", "docs/benchmarks.md", "benchmarks document")
	flag.Parse()
	if err := run(context.Background(), *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "commsbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n int, out string) error {
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
	if err := store.Migrate(ctx, pool, append(append([]store.Migration{store.Platform()}, dispatch.Migrations()...), comms.Migrations()...)...); err != nil {
		return err
	}
	key, err := auth.GenerateKey()
	if err != nil {
		return err
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{Issuer: "commsbench", Audience: "smartreg", Key: key, TTL: time.Hour})
	if err != nil {
		return err
	}
	ver, err := auth.NewVerifier(auth.VerifierConfig{Keys: iss, Issuer: "commsbench", Audience: "smartreg"})
	if err != nil {
		return err
	}
	defer ver.Close()
	s3url := os.Getenv("S3_URL")
	if s3url == "" {
		s3url = "s3://smartreg:smartreg-secret@commsbench?endpoint=http://127.0.0.1:7070"
	}
	store3, err := blob.Open(ctx, s3url)
	if err != nil {
		return fmt.Errorf("S3 (ensure-services.sh --s3): %w", err)
	}
	cfg := config.Defaults[comms.Config]()
	cfg.MaxMembers = 50
	tel, fax, tts, err := cfg.Gateways()
	if err != nil {
		return err
	}
	text, _ := sms.New("http://127.0.0.1:1", "k", "s", nil) // not used: no notices are sent here
	log := slog.New(slog.DiscardHandler)
	fn, err := comms.New(comms.Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: ver, Blob: store3, SMS: text,
		Telephony: tel, Fax: fax, TTS: tts}, cfg)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(runtime.Handler(comms.Name, fn, runtime.Options{Logger: log}))
	defer srv.Close()
	host, _, err := iss.Issue(auth.Principal{UserID: "centre-1", Username: "centre-1", Name: "调度员",
		Perms: []string{comms.PermConsult + ":create", comms.PermConsult + ":join", comms.PermConsult + ":view", comms.PermConsult + ":host"},
		Scope: auth.All()})
	if err != nil {
		return err
	}
	ev := uuid.NewString()
	if _, err := pool.Exec(ctx, `INSERT INTO dispatch.events (id, type, title, source, lat, lng, district, created_by, created_at)
		VALUES ($1, '食品安全', '基准事件', 'alarm', 38.04, 114.51, '130102', 'centre-1', now())`, ev); err != nil {
		return err
	}
	load1 := loadavg()
	rows := [][]string{{"measure", "comms", "anchor", "comms ÷ anchor (time per op)"}}

	// Rooms.
	rooms := lksdk.NewRoomServiceClient(cfg.LiveKitURL, cfg.LiveKitKey, cfg.LiveKitSecret)
	bare, err := rate(n, func(i int) error {
		_, err := rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: "bench-bare-" + uuid.NewString(), EmptyTimeout: 60})
		return err
	})
	if err != nil {
		return fmt.Errorf("bare CreateRoom (livekit-server on %s?): %w", cfg.LiveKitURL, err)
	}
	var consult atomic.Value
	ours, err := rate(n, func(i int) error {
		body, _ := json.Marshal(map[string]any{"event_id": ev, "members": []map[string]string{{"user_id": "insp-1", "name": "检查员"}}})
		res, err := post(srv.URL+"/comms/v1/consults", host, body)
		if err == nil {
			var c struct{ ID string }
			_ = json.Unmarshal(res, &c)
			consult.Store(c.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	rows = append(rows, []string{fmt.Sprintf("rooms created, %d by %d callers", n, workers),
		fmt.Sprintf("%.0f/s (POST /comms/v1/consults)", ours.perSec), fmt.Sprintf("%.0f/s (bare CreateRoom)", bare.perSec),
		fmt.Sprintf("%.2f×", bare.perSec/ours.perSec)})

	// Tokens.
	room := "bench-room"
	bareTok, err := rate(n*10, func(i int) error {
		vg := &lkauth.VideoGrant{RoomJoin: true, Room: room}
		vg.SetCanPublish(true)
		_, err := lkauth.NewAccessToken(cfg.LiveKitKey, cfg.LiveKitSecret).SetIdentity(fmt.Sprint("u", i)).SetVideoGrant(vg).SetValidFor(time.Hour).ToJWT()
		return err
	})
	if err != nil {
		return err
	}
	id := consult.Load().(string)
	oursTok, err := rate(n*3, func(i int) error {
		_, err := post(srv.URL+"/comms/v1/consults/"+id+"/token", host, nil)
		return err
	})
	if err != nil {
		return err
	}
	rows = append(rows, []string{fmt.Sprintf("tokens issued, %d / %d by %d callers", n*3, n*10, workers),
		fmt.Sprintf("%.0f/s (POST …/token over HTTP)", oursTok.perSec), fmt.Sprintf("%.0f/s (bare `auth.AccessToken.ToJWT`)", bareTok.perSec),
		fmt.Sprintf("%.1f×", bareTok.perSec/oursTok.perSec)})

	// Recording ingest.
	dir, err := os.MkdirTemp("", "commsbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, size := range []int64{64 << 10, 1 << 20, 8 << 20, 32 << 20} {
		path := filepath.Join(dir, fmt.Sprint(size, ".ogg"))
		if err := writeRandom(path, size); err != nil {
			return err
		}
		reps := 5
		var tOurs, tBare time.Duration
		for i := range reps {
			// Alternate which runs first, so neither has the warm cache.
			runOurs := func() error {
				rec := comms.Recording{Kind: "consult", EventID: ev, District: "130102", Participant: "insp-1", ContentType: "audio/ogg", StartedBy: "bench"}
				if err := fn.NewRecording(ctx, &rec); err != nil {
					return err
				}
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				t0 := time.Now()
				err = fn.StoreRecording(ctx, rec, f)
				tOurs += time.Since(t0)
				return err
			}
			runBare := func() error {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				t0 := time.Now()
				_, err = store3.Put(ctx, "bench/bare/"+uuid.NewString()+".ogg", f, "audio/ogg")
				tBare += time.Since(t0)
				return err
			}
			first, second := runOurs, runBare
			if i%2 == 1 {
				first, second = runBare, runOurs
			}
			if err := first(); err != nil {
				return err
			}
			if err := second(); err != nil {
				return err
			}
		}
		mb := float64(size) / (1 << 20)
		o, b := tOurs/time.Duration(reps), tBare/time.Duration(reps)
		rows = append(rows, []string{fmt.Sprintf("recording ingest, %s (≈ %s of 32 kbit/s Opus)", human(size), minutes(size)),
			fmt.Sprintf("%s (%.0f MB/s)", ms(o), mb/o.Seconds()), fmt.Sprintf("%s (%.0f MB/s, bare `Put`)", ms(b), mb/b.Seconds()),
			fmt.Sprintf("%.2f×", float64(o)/float64(b))})
	}
	sec := report.Section{Title: "Comms: rooms, tokens, recording ingest (commsbench, issue 18)",
		Intro: fmt.Sprintf("`go run ./tests/bench/commsbench` (issue 18), %d CPUs shared with other engineers' work; load average (1 min) at "+
			"the start / end: %s / %s. comms behind `runtime.Handler` on a loopback server with a pool of 16 connections, real PostgreSQL, "+
			"the real livekit-server v1.9 in dev mode on the same machine, the local versitygw as S3. *Rooms*: each consult is a "+
			"token check, `dispatch.event_brief`, LiveKit's CreateRoom, the consult and member rows and the audit record; the anchor is "+
			"bare CreateRoom through the SDK's room service client on the same server. *Tokens*: the member's token over HTTP (our "+
			"bearer verified, consult and membership read, the LiveKit JWT signed) against bare signing with LiveKit's auth package. "+
			"*Ingest*: a finished OGG file into S3 (streamed once, SHA-256 on the way) and the row marked stored, against a bare "+
			"`Put` of the same file; 5 runs each, alternating which goes first. The last column is time per operation relative "+
			"to the anchor: how much our layer adds.", goruntime.NumCPU(), load1, loadavg()),
		Rows: rows}
	for _, r := range rows {
		fmt.Println(strings.Join(r, " | "))
	}
	return report.Write(out, "commsbench", sec)
}

type result struct{ perSec float64 }

// rate runs op n times from `workers` goroutines and returns ops per second.
func rate(n int, op func(i int) error) (result, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	t0 := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return result{perSec: float64(n) / time.Since(t0).Seconds()}, first
}

var client = &http.Client{Timeout: 30 * time.Second}

func post(url, bearer string, body []byte) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("POST %s: %d %s", url, res.StatusCode, b)
	}
	return b, nil
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func human(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

func minutes(n int64) string {
	m := float64(n) * 8 / 32000 / 60
	if m < 1 {
		return fmt.Sprintf("%.0f s", m*60)
	}
	return fmt.Sprintf("%.0f min", m)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
