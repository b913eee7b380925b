package audit

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
)

//go:embed testdata/identity-audit/*.sql
var identityAudit embed.FS

// upgraded is a database as an older release left it: the logs in schema
// identity (migration component identity-audit), with rows in three
// months, operation states with personal data and Unicode, alerts and an
// archive record.
func upgraded(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := storetest.New(t, store.Migration{Component: "identity-audit", FS: identityAudit, Dir: "testdata/identity-audit"})
	for i := range 40 {
		at := time.Date(2026, time.Month(9+i%3), 1+i%28, 8, 0, 0, 0, shanghai()) // September to November
		if _, err := pool.Exec(ctx, `SELECT identity.audit_ensure_partition('login_log', $1), identity.audit_ensure_partition('op_log', $1)`, at); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO identity.login_log (at, user_id, username, ip, device, result, reason, location)
			VALUES ($1, $2, $3, '10.0.0.1', 'Chrome / Windows', $4, $5, '内网')`,
			at, fmt.Sprintf("u%d", i%4), fmt.Sprintf("user%d", i%4), map[bool]string{true: "failure", false: "success"}[i%3 == 0], "密码错误|第"+fmt.Sprint(i)+"次"); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO identity.op_log (at, user_id, username, ip, action, object_type, object_id, before, after, result)
			VALUES ($1, 'u1', 'admin', '10.0.0.2', 'user.edit', 'user', $2, $3, $4, 'success')`,
			at, fmt.Sprint(i), fmt.Sprintf(`{"name":"张三%d","phone":"13812341234"}`, i), fmt.Sprintf(`{"name":"𠮷田%d","note":"a|b\nc"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO identity.security_alerts (at, kind, username, ip, detail, count)
		VALUES (now(), 'user_failures', 'user0', '10.0.0.1', '5 次失败', 5), (now(), 'new_place', 'user1', '1.2.3.4', '新的设备', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO identity.audit_archives (object_key, partition, parent, month, manifest_key, rows, sha256)
		VALUES ('identity/audit/login_log/2026-01/x.jsonl.gz', 'login_log_p202601', 'login_log', '2026-01-01', 'identity/audit/login_log/2026-01/x.manifest.json', 3, 'abc')`); err != nil {
		t.Fatal(err)
	}
	return pool
}

// rowsOf is every row of a query as text, in order: what "contents equal"
// is compared on.
func rowsOf(t *testing.T, q store.Querier, sql string) []string {
	t.Helper()
	rows, err := q.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	loginContent = `SELECT concat_ws('|', id, at, user_id, username, ip, device, result, reason, location) FROM %s.login_log ORDER BY at, id`
	opContent    = `SELECT concat_ws('|', id, at, user_id, username, ip, action, object_type, object_id, before::text, after::text, result) FROM %s.op_log ORDER BY at, id`
	alertContent = `SELECT concat_ws('|', id, at, kind, user_id, username, ip, device, detail, count) FROM %s ORDER BY id`
)

// Existing data moves (issue 23): an upgraded database's logs, alerts and
// archive register move into schema audit with no loss — counts and
// contents equal, ids kept — the old tables and their migration history
// are gone, and new rows continue after the moved ones.
func TestMoveFromIdentity(t *testing.T) {
	t.Parallel()
	pool := upgraded(t)
	logins := rowsOf(t, pool, fmt.Sprintf(loginContent, "identity"))
	ops := rowsOf(t, pool, fmt.Sprintf(opContent, "identity"))
	alerts := rowsOf(t, pool, fmt.Sprintf(alertContent, "identity.security_alerts"))
	if len(logins) != 40 || len(ops) != 40 || len(alerts) != 2 {
		t.Fatalf("fixture: %d logins, %d ops, %d alerts", len(logins), len(ops), len(alerts))
	}
	if err := store.Migrate(ctx, pool, Migrations()...); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ before, after []string }{
		"login_log": {logins, rowsOf(t, pool, fmt.Sprintf(loginContent, "audit"))},
		"op_log":    {ops, rowsOf(t, pool, fmt.Sprintf(opContent, "audit"))},
		"alerts":    {alerts, rowsOf(t, pool, fmt.Sprintf(alertContent, "audit.alerts"))},
	} {
		if strings.Join(c.before, "\n") != strings.Join(c.after, "\n") {
			t.Errorf("%s: %d rows before, %d after, contents differ", name, len(c.before), len(c.after))
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM audit.archives WHERE object_key LIKE 'identity/audit/%'`); n != 1 {
		t.Errorf("archive register rows = %d", n)
	}
	// Each month is in its own partition, as in the old schema.
	if n := count(t, pool, `SELECT count(*) FROM audit.login_log_p202610`); n == 0 {
		t.Error("October's rows are not in audit.login_log_p202610")
	}
	for _, rel := range []string{"identity.login_log", "identity.op_log", "identity.security_alerts", "identity.audit_archives", "identity.audit_settings"} {
		if n := count(t, pool, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname || '.' || c.relname = $1`, rel); n != 0 {
			t.Errorf("%s still exists", rel)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM public.schema_migrations WHERE component = 'identity-audit'`); n != 0 {
		t.Error("the identity-audit stream is still recorded")
	}
	// New rows continue after the moved ids; moved rows stay immutable.
	e := newEnvOn(t, pool, time.Now, nil)
	e.login(auditlog.Login{Username: "after-move", Result: auditlog.ResultSuccess})
	if n := count(t, pool, `SELECT count(*) FROM audit.login_log WHERE username = 'after-move' AND id > 40`); n != 1 {
		t.Error("the first row after the move does not continue the ids")
	}
	if _, err := pool.Exec(ctx, `UPDATE audit.op_log SET after = '{}' WHERE object_id = '3'`); err == nil {
		t.Error("a moved row was rewritten")
	}
	// Applying the stream again (a second replica starting) does nothing.
	if err := store.Migrate(ctx, pool, Migrations()...); err != nil {
		t.Fatal(err)
	}
}

// The append-only guarantee holds during the move: a straggling old
// identity that writes to, or tries to rewrite, the old log while the move
// runs waits for it, then fails — its transaction (the change it was
// logging) rolls back — and nothing in the moved rows changed.
func TestMoveAdmitsNoWriterMeanwhile(t *testing.T) {
	t.Parallel()
	pool := upgraded(t)
	before := rowsOf(t, pool, fmt.Sprintf(loginContent, "identity"))
	// A reader holds the old table, so the move waits at its lock.
	reader, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Exec(ctx, `LOCK TABLE identity.login_log IN ACCESS SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	moved := make(chan error, 1)
	go func() { moved <- store.Migrate(context.Background(), pool, Migrations()...) }()
	waitLockWaiters(t, pool, 1)
	writes := make(chan error, 2)
	go func() {
		_, err := pool.Exec(ctx, `INSERT INTO identity.login_log (at, username, result) VALUES (now(), 'straggler', 'failure')`)
		writes <- err
	}()
	go func() {
		_, err := pool.Exec(ctx, `UPDATE identity.login_log SET reason = 'rewritten'`)
		writes <- err
	}()
	waitLockWaiters(t, pool, 3)
	if err := reader.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-writes; err == nil {
			t.Error("a write to the old log during the move succeeded")
		}
	}
	if after := rowsOf(t, pool, fmt.Sprintf(loginContent, "audit")); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("moved rows differ from the rows before the move (%d before, %d after)", len(before), len(after))
	}
	if n := count(t, pool, `SELECT count(*) FROM audit.login_log WHERE username = 'straggler' OR reason = 'rewritten'`); n != 0 {
		t.Errorf("%d rows of the stragglers reached the log", n)
	}
}

// waitLockWaiters waits until n backends wait for a lock.
func waitLockWaiters(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	testwait.For(t, fmt.Sprintf("%d backends waiting for a lock", n), func() bool {
		return count(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) >= n
	})
}
