package evidencecapture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// crashEnv, when set to a database URL, makes the test binary the child of
// the kill -9 test: it appends until it is killed.
const crashEnv = "EVIDENCE_CRASH_CHILD_DB"

func TestMain(m *testing.M) {
	if url := os.Getenv(crashEnv); url != "" {
		crashChild(url, os.Getenv("EVIDENCE_CRASH_CHILD_BLOB"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild runs the log with eight concurrent appenders and prints
// "ack INDEX ENTRYHEX" for each append the log acknowledged.
func crashChild(url, dir string) {
	ctx := context.Background()
	pool, err := store.Connect(ctx, url, 10)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	b, _ := blob.NewDir(dir)
	c := config.Defaults[Config]()
	c.IntegrateEvery = 30 * time.Millisecond
	c.BatchMax = 64
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b, Now: time.Now, Verifier: noVerifier{}}, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	f.Start(ctx)
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				e := []byte(fmt.Sprintf("crash w%d n%d", w, i))
				idx, err := f.Log().Append(ctx, e)
				if err != nil {
					continue
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d %x\n", idx, e)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestKill9DuringBatchAppendLosesNoAcknowledgedEntry kills the appending
// process with SIGKILL mid-stream; after restart every acknowledged entry
// is at its index, integration completes, the tiles rebuild the signed
// root and every checkpoint signed before the crash is consistent with the
// one after it.
func TestKill9DuringBatchAppendLosesNoAcknowledgedEntry(t *testing.T) {
	db := storetest.NewDatabase(t, Migrations()...)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+storetest.URLFor(db), "EVIDENCE_CRASH_CHILD_BLOB="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64][]byte{}
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	for sc.Scan() && len(acked) < 1500 {
		parts := strings.Fields(sc.Text())
		if len(parts) != 3 || parts[0] != "ack" {
			continue
		}
		i, _ := strconv.ParseUint(parts[1], 10, 64)
		e, _ := hex.DecodeString(parts[2])
		acked[i] = e
	}
	deadline.Stop()
	cmd.Process.Kill() // SIGKILL: no deferred cleanup, batches in flight die with it
	cmd.Wait()
	if len(acked) < 1500 {
		t.Fatalf("child acknowledged only %d entries: %s", len(acked), stderr.String())
	}

	pool, err := store.Connect(context.Background(), storetest.URLFor(db), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h := newHarnessOn(t, pool, dir)
	ctx := context.Background()
	var before [][]byte
	rows, _ := pool.Query(ctx, `SELECT signed FROM evidence.log_checkpoints ORDER BY size`)
	for rows.Next() {
		var b []byte
		rows.Scan(&b)
		before = append(before, b)
	}
	rows.Close()
	size, err := h.f.Log().Integrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range acked {
		var got []byte
		if err := pool.QueryRow(ctx, `SELECT entry FROM evidence.log_entries WHERE idx = $1`, int64(i)).Scan(&got); err != nil || !bytes.Equal(got, e) {
			t.Fatalf("acknowledged entry %d lost or changed: %q %v", i, got, err)
		}
		if i >= size {
			t.Fatalf("acknowledged entry %d beyond the integrated size %d", i, size)
		}
	}
	signed, _ := h.f.Log().Checkpoint(ctx)
	cp, err := seal.OpenCheckpoint(signed, h.f.Log().PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := seal.VerifyTiles(ctx, BlobTiles{h.blob}, cp, nil); err != nil {
		t.Fatalf("tiles after restart: %v", err)
	}
	if len(before) == 0 {
		t.Fatal("the child signed no checkpoint before it was killed")
	}
	for _, b := range before {
		old, err := seal.OpenCheckpoint(b, h.f.Log().PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if old.Size == 0 {
			continue
		}
		p, err := seal.ConsistencyProof(ctx, h.f.Log(), old.Size, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(seal.Hasher, old.Size, cp.Size, p, old.Root, cp.Root); err != nil {
			t.Fatalf("checkpoint %d before the crash is not consistent with %d after: %v", old.Size, cp.Size, err)
		}
	}
	t.Logf("%d acknowledged, %d in the log after restart, %d checkpoints before the kill", len(acked), size, len(before))
}

// noVerifier stands in for token checks in the child, which serves no HTTP.
type noVerifier struct{}

func (noVerifier) Middleware(next http.Handler) http.Handler { return next }
