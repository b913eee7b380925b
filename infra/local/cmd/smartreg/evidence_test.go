package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	evidencecapture "github.com/sjzamr/smartreg/functions/evidence-capture"
	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// TestEvidenceVerifyAndWitness runs the CLI as an outsider would: verify a
// downloaded zip offline (and the log's tiles over HTTP), see a changed
// byte refused, and witness the log's growth.
func TestEvidenceVerifyAndWitness(t *testing.T) {
	ctx := context.Background()
	b, _ := blob.NewDir(t.TempDir())
	ec := config.Defaults[evidencecapture.Config]()
	ec.IntegrateEvery = 20 * time.Millisecond
	f, err := evidencecapture.New(evidencecapture.Deps{Logger: httpx.NewLogger(io.Discard, "error"),
		Pool: storetest.New(t, evidencecapture.Migrations()...), Blob: b, Now: time.Now, Verifier: authtest.NewIssuer(t).Verifier()}, ec)
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx)
	defer f.Stop(ctx)
	bundle, err := f.Seal(ctx, "u1", "网页截图", "upload", nil, map[string][]byte{"shot.png": []byte("png")})
	if err != nil {
		t.Fatal(err)
	}
	var zipBuf bytes.Buffer
	for i := 0; ; i++ {
		zipBuf.Reset()
		if err = f.WriteZip(ctx, &zipBuf, bundle); !errors.Is(err, evidencecapture.ErrPending) || i > 500 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "b.zip")
	os.WriteFile(zipPath, zipBuf.Bytes(), 0o644)
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	var cfg platform.Config
	cfg.EvidenceCapture = ec
	var out bytes.Buffer
	if err := evidenceCmd(ctx, cfg, []string{"verify", "-tiles", srv.URL + "/evidence/v1/log/", zipPath}, &out); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !strings.Contains(out.String(), "证据包校验通过") || !strings.Contains(out.String(), "日志瓦片与检查点一致") {
		t.Fatalf("output: %s", out.String())
	}
	// The bundle unpacked to a directory verifies; one byte changed in its
	// evidence file does not.
	unpacked := filepath.Join(dir, "unpacked")
	zfs, closeFn, err := seal.OpenBundle(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(unpacked, zfs); err != nil {
		t.Fatal(err)
	}
	closeFn()
	if err := evidenceCmd(ctx, cfg, []string{"verify", unpacked}, &out); err != nil {
		t.Fatalf("unpacked: %v", err)
	}
	os.WriteFile(filepath.Join(unpacked, "shot.png"), []byte("pnG"), 0o644)
	if err := evidenceCmd(ctx, cfg, []string{"verify", unpacked}, &out); !errors.Is(err, seal.ErrTampered) {
		t.Fatalf("a changed byte: %v", err)
	}
	state := filepath.Join(dir, "w")
	for range 2 {
		out.Reset()
		if err := evidenceCmd(ctx, cfg, []string{"witness", "-log", srv.URL + "/evidence/v1/log/", "-state", state}, &out); err != nil {
			t.Fatalf("witness: %v", err)
		}
		if _, err := f.Seal(ctx, "u1", "又一份", "upload", nil, map[string][]byte{"a.txt": []byte(out.String())}); err != nil {
			t.Fatal(err)
		}
		f.Log().Integrate(ctx)
	}
	if _, err := seal.OpenCheckpoint(must(os.ReadFile(state)), f.Log().PublicKey()); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
