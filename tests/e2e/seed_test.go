package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// `smartreg seed -demo` (what `go tool task up` runs) gives the demo
// entities codes and prints public page links; run again it changes
// nothing; `serve` then names a scannable page in its banner, and it answers.
func TestDemoSeedIssuesCodesOnceAndServeShowsThem(t *testing.T) {
	bin := binary(t)
	db := storetest.NewDatabase(t)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(os.Environ(), "DATABASE_URL="+storetest.URLFor(db), "REDIS_URL="+redisURL(), "BLOB_URL=file:"+t.TempDir(),
		"IDENTITY_DATA_DIR="+dataDirFor(db), "PUBLIC_BASE_URL="+base, "IDENTITY_ISSUER="+base+"/identity/oidc", fmt.Sprintf("PORT=%d", port), "LOG_LEVEL=error", "SMARTREG_SIMULATORS=true")
	seed := func() string {
		cmd := exec.Command(bin, "seed", "-demo", "-count", "300")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("seed -demo: %v\n%s", err, out)
		}
		return string(out)
	}
	counts := func() (entities, active, codes, outbox int) {
		conn, err := pgx.Connect(context.Background(), storetest.URLFor(db))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM registry.entities),
			(SELECT count(*) FROM registry.entities WHERE status = 'active'),
			(SELECT count(*) FROM qr.codes), (SELECT count(*) FROM platform.outbox)`).Scan(&entities, &active, &codes, &outbox); err != nil {
			t.Fatal(err)
		}
		return
	}
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/q/[A-Za-z0-9_-]{16}`)

	first := seed()
	entities, active, codes, outbox := counts()
	if entities != 300 || active == 0 || codes != active {
		t.Fatalf("after seed -demo: %d entities, %d active, %d codes\n%s", entities, active, codes, first)
	}
	if len(link.FindAllString(first, -1)) != 3 || !strings.Contains(first, "initial-passwords.txt") {
		t.Fatalf("seed -demo output lacks the sample links or the password file:\n%s", first)
	}
	second := seed()
	if e, _, c, o := counts(); e != entities || c != codes || o != outbox || !strings.Contains(second, "跳过") {
		t.Fatalf("second seed -demo changed something: %d/%d entities, %d/%d codes, %d/%d events\n%s", e, entities, c, codes, o, outbox, second)
	}

	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	testwait.For(t, "the serve banner", func() bool { return strings.Contains(out.String(), "短信模拟器") })
	banner := out.String()
	page := link.FindString(banner)
	if page == "" || !strings.Contains(banner, "/console/") || !strings.Contains(banner, "/sim/sms/sms/messages") {
		t.Fatalf("banner:\n%s", banner)
	}
	status, body := get(t, page, "")
	if status != 200 || !strings.Contains(body, "基本信息") || !strings.Contains(body, "统一社会信用代码") {
		t.Fatalf("GET %s: %d\n%.500s", page, status, body)
	}
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
