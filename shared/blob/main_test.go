package blob_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gw is the versitygw the package's S3 tests share; TestMain starts it once.
var gw struct {
	endpoint, access, secret string
	err                      error // why it could not start; S3 tests fail with it
}

func TestMain(m *testing.M) {
	stop, err := startVersitygw()
	gw.err = err
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// requireS3 fails, never skips: the S3 implementation is what production
// runs, so a machine that cannot test it must say so loudly.
func requireS3(t *testing.T) {
	t.Helper()
	if gw.err != nil {
		t.Fatalf("S3 tests need versitygw: %v\n"+
			"install it with infra/local/scripts/install-versitygw.sh (from the repository root), "+
			"or point $VERSITYGW_BIN at a binary", gw.err)
	}
}

// findVersitygw looks where the brief and install-versitygw.sh put it.
func findVersitygw() (string, error) {
	if p := os.Getenv("VERSITYGW_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("VERSITYGW_BIN=%s: %w", p, err)
		}
		return p, nil
	}
	if p, err := filepath.Abs(filepath.Join("..", "..", "bin", "versitygw")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", errors.New("versitygw binary not found in $VERSITYGW_BIN, ../../bin/versitygw or PATH")
}

func startVersitygw() (stop func(), err error) {
	bin, err := findVersitygw()
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp("", "blob-versitygw-*")
	if err != nil {
		return nil, err
	}
	gw.access, gw.secret = "test-"+rand.Text()[:8], rand.Text()
	// Another process may take the port between choosing and binding it,
	// so try a few.
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		var p *proc
		if p, err = launch(bin, data, port); err == nil {
			gw.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
			return func() { p.stop(); os.RemoveAll(data) }, nil
		}
	}
	os.RemoveAll(data)
	return nil, fmt.Errorf("starting %s: %w", bin, err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func launch(bin, data string, port int) (*proc, error) {
	var out strings.Builder
	cmd := exec.Command(bin, "--port", fmt.Sprintf("127.0.0.1:%d", port), "--health", "/health", "--quiet",
		"posix", data)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+gw.access, "ROOT_SECRET_ACCESS_KEY="+gw.secret)
	cmd.Stdout, cmd.Stderr = &out, &out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()

	health := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("versitygw exited: %s", out.String())
		case <-ctx.Done():
			p.stop()
			return nil, fmt.Errorf("versitygw did not answer %s: %s", health, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
