package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/audit"
	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// rootDept is the city bureau's id, the parent of every new department.
func rootDept(t *testing.T, base, token string) string {
	t.Helper()
	status, body := get(t, base+"/identity/v1/departments", token)
	var depts []struct {
		ID       string  `json:"id"`
		ParentID *string `json:"parent_id"`
	}
	if err := json.Unmarshal([]byte(body), &depts); err != nil || status != 200 {
		t.Fatalf("departments: %d %s", status, body)
	}
	for _, d := range depts {
		if d.ParentID == nil {
			return d.ID
		}
	}
	t.Fatal("no city bureau")
	return ""
}

// createDept is a change identity logs (operation dept.create).
func createDept(t *testing.T, base, token, parent, name string) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	post(t, base+"/identity/v1/departments", token, map[string]any{"parent_id": parent, "name": name, "level": "district",
		"district_codes": []string{"130102"}}, &out)
	if out.ID == "" {
		t.Fatalf("department %s: no id", name)
	}
	return out.ID
}

func connect(t *testing.T, db string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), storetest.URLFor(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func countRows(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// pendingAuditDeliveries counts deliveries to audit not yet finished.
const pendingAuditDeliveries = `SELECT count(*) FROM river_job WHERE args->>'trigger' LIKE 'audit-%'
	AND state NOT IN ('completed', 'discarded', 'cancelled')`

// Done when (issue 23): kill -9 of the platform between a change and its
// audit row, then a restart, ends with exactly one row. The change
// commits with its operation event; audit's write of the row is held at a
// lock, so the process dies with the delivery in flight; after the
// restart the event is delivered again and stored once.
func TestKillBetweenChangeAndAuditRowLeavesOneRow(t *testing.T) {
	bin, db, port := binary(t), storetest.NewDatabase(t), freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	manifests := t.TempDir()
	p := serveProcess(t, bin, db, manifests, port)
	token := adminToken(t, base, dataDirFor(db))
	parent := rootDept(t, base, token)
	pool := connect(t, db)

	// Hold audit's operation log: the row's insert waits, its transaction
	// (and the delivery's acknowledgement) never completes.
	holder, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background()) //nolint:errcheck
	if _, err := holder.Exec(context.Background(), `LOCK TABLE audit.op_log IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	dept := createDept(t, base, token, parent, "审计中断测试局")
	testwait.For(t, "audit's write of the row to wait at the lock", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND wait_event_type = 'Lock' AND query LIKE '%audit.op_log%'`) > 0
	})
	kill9(t, p)
	if err := holder.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The killed process's backend gets the lock, finds its client gone and
	// rolls back: the row is not there.
	testwait.For(t, "the killed delivery's transaction to end", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND query LIKE '%INSERT INTO audit.op_log%' AND state <> 'idle'`) == 0
	})
	if n := countRows(t, pool, `SELECT count(*) FROM audit.op_log WHERE object_id = $1`, dept); n != 0 {
		t.Fatalf("the row was stored before the kill (%d); the test did not hold it", n)
	}

	serveProcess(t, bin, db, manifests, port)
	testwait.For(t, "the operation row after the restart", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM audit.op_log WHERE object_id = $1`, dept) > 0
	})
	testwait.For(t, "every delivery to audit to finish", func() bool { return countRows(t, pool, pendingAuditDeliveries) == 0 })
	if n := countRows(t, pool, `SELECT count(*) FROM audit.op_log WHERE object_id = $1 AND action = 'dept.create' AND source = 'identity'`, dept); n != 1 {
		t.Fatalf("operation rows for the department = %d, want exactly 1", n)
	}
}

// outage stands in for the audit Service while it is down: it refuses
// every delivery (503, which the Broker retries) and counts the refusals;
// up, it hands deliveries to audit's real receiver.
type outage struct {
	down    atomic.Bool
	refused atomic.Int64
	mu      sync.Mutex
	h       http.Handler
}

func (o *outage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	h := o.h
	o.mu.Unlock()
	if o.down.Load() || h == nil {
		o.refused.Add(1)
		http.Error(w, "audit is down", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// inProcess lets the stand-in's deliveries through: only the broker of
// this test process reaches it.
type inProcess struct{}

func (inProcess) AuthenticateEvent(*http.Request) error { return nil }

// Done when (issue 23): audit down for a while loses nothing. While the
// audit Service refuses every delivery, changes go on; their rows wait in
// the Broker, retried with the audit Triggers' exponential backoff (here
// from 20 ms instead of 1 s, the only change, so the test takes seconds,
// not the minutes an outage would); no row goes to the dead letters; when
// audit is back every row arrives, once.
func TestAuditDownLosesNothing(t *testing.T) {
	db := storetest.NewDatabase(t)
	down := &outage{}
	down.down.Store(true)
	r := startWith(t, db, newSubscriber(), platform.Options{ExtraSubscribers: map[string]http.Handler{audit.Name: down}}, setup{
		built: func(p *platform.Platform) {
			for i, tr := range p.Manifests.Triggers {
				if strings.HasPrefix(tr.Name, "audit-") && tr.Name != "audit-daily" {
					p.Manifests.Triggers[i].Delivery.BackoffDelay = 20 * time.Millisecond
				}
			}
			down.mu.Lock()
			down.h = runtime.Events(audit.Name, p.Audit, inProcess{}, runtime.Options{})
			down.mu.Unlock()
		}})
	token := r.token(t)
	parent := rootDept(t, r.url, token)
	var depts []string
	for i := range 5 {
		depts = append(depts, createDept(t, r.url, token, parent, fmt.Sprintf("停机测试局%d", i)))
	}
	pool := r.p.Pool
	// Every row has been refused at least twice: the outage has lasted
	// through retries, with the rows waiting in the Broker.
	testwait.For(t, "deliveries to be refused and retried", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM river_job WHERE args->>'trigger' = 'audit-operation' AND attempt >= 2
			AND args->'event'->>'subject' = ANY($1)`, prefixed("department/", depts)) == len(depts)
	})
	if n := countRows(t, pool, `SELECT count(*) FROM audit.op_log WHERE object_id = ANY($1)`, depts); n != 0 {
		t.Fatalf("%d rows stored while audit was down", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM broker.dead_letters`); n != 0 {
		t.Fatalf("%d deliveries dead-lettered during the outage", n)
	}
	refused := down.refused.Load()
	down.down.Store(false)
	testwait.For(t, "every row once audit is back", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM audit.op_log WHERE object_id = ANY($1)`, depts) == len(depts)
	})
	testwait.For(t, "every delivery to audit to finish", func() bool { return countRows(t, pool, pendingAuditDeliveries) == 0 })
	rows, distinct := countRows(t, pool, `SELECT count(*) FROM audit.op_log WHERE object_id = ANY($1)`, depts),
		countRows(t, pool, `SELECT count(DISTINCT object_id) FROM audit.op_log WHERE object_id = ANY($1)`, depts)
	if rows != len(depts) || distinct != len(depts) {
		t.Errorf("%d rows for %d departments (%d distinct), want one each", rows, len(depts), distinct)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM broker.dead_letters`); n != 0 {
		t.Errorf("%d deliveries dead-lettered", n)
	}
	if refused < int64(2*len(depts)) {
		t.Errorf("only %d refusals: the outage was not exercised", refused)
	}
}

func prefixed(p string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = p + id
	}
	return out
}

// Done when (issue 23): the auditor, and only the auditor, can read and
// export the logs. Every built-in role's demo account (the three
// administrators, district administrators, inspectors, a reviewer) logs
// in on a real platform; only the auditor's token reads and exports.
func TestOnlyTheAuditorReadsAndExportsTheLogs(t *testing.T) {
	db := storetest.NewDatabase(t)
	r := startWith(t, db, newSubscriber(), platform.Options{}, setup{config: func(c *platform.Config) { c.Identity.SeedDemo = true }})
	creds := initialCredentials(t, dataDirFor(db))
	if len(creds) < 8 {
		t.Fatalf("demo accounts: %v", creds)
	}
	targets := []string{"/audit/v1/logs/login", "/audit/v1/logs/operation", "/audit/v1/logs/login/export", "/audit/v1/logs/operation/export?format=csv",
		"/audit/v1/logs/archives"}
	tokens := map[string]string{}
	for user, pw := range creds {
		tokens[user] = firstLogin(t, r.url, user, pw)
	}
	// The logins themselves are in the log the auditor reads.
	testwait.For(t, "the demo logins in the login log", func() bool {
		return countRows(t, r.p.Pool, `SELECT count(DISTINCT username) FROM audit.login_log WHERE result = 'success'`) >= len(creds)
	})
	for user, tok := range tokens {
		for _, target := range targets {
			status, body := get(t, r.url+target, tok)
			want := http.StatusForbidden
			if user == "auditor" {
				want = http.StatusOK
			}
			if status != want {
				t.Errorf("%s GET %s = %d, want %d: %.200s", user, target, status, want, body)
			}
			if user == "auditor" && target == "/audit/v1/logs/login" && !strings.Contains(body, `"username":"changan_inspector"`) {
				t.Errorf("the auditor's login log lacks the inspector's login: %.300s", body)
			}
		}
	}
	if status, _ := get(t, r.url+"/audit/v1/logs/login", ""); status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", status)
	}
	// The auditor's exports are themselves in the operation log.
	testwait.For(t, "the exports in the operation log", func() bool {
		return countRows(t, r.p.Pool, `SELECT count(*) FROM audit.op_log WHERE action = 'audit.log.export' AND username = 'auditor'`) == 2
	})
}

// initialCredentials reads the owner-only file of generated passwords.
func initialCredentials(t *testing.T, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "initial-passwords.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if user, pw, ok := strings.Cut(line, "\t"); ok {
			out[user] = pw
		}
	}
	return out
}

// firstLogin logs in with a generated password and changes it, as the
// first login requires, answering the token.
func firstLogin(t *testing.T, base, user, pw string) string {
	t.Helper()
	var login struct {
		AccessToken        string `json:"access_token"`
		MustChangePassword bool   `json:"must_change_password"`
	}
	post(t, base+"/identity/v1/login", "", map[string]string{"username": user, "password": pw}, &login)
	if !login.MustChangePassword {
		return login.AccessToken
	}
	var changed struct {
		AccessToken string `json:"access_token"`
	}
	post(t, base+"/identity/v1/password/change", login.AccessToken, map[string]string{"old_password": pw, "new_password": "E2e-Test-Passw0rd!"}, &changed)
	return changed.AccessToken
}
