package audit

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/errs"
)

func TestNewRequiresEachDependency(t *testing.T) {
	t.Parallel()
	b, err := blob.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	full := Deps{Logger: slog.New(slog.DiscardHandler), Pool: &pgxpool.Pool{}, Blob: b, Verifier: authtest.NewIssuer(t).Verifier(), Now: time.Now}
	for name, mod := range map[string]func(*Deps){
		"Logger": func(d *Deps) { d.Logger = nil }, "Pool": func(d *Deps) { d.Pool = nil }, "Blob": func(d *Deps) { d.Blob = nil },
		"Verifier": func(d *Deps) { d.Verifier = nil }, "Now": func(d *Deps) { d.Now = nil },
	} {
		d := full
		mod(&d)
		if _, err := New(d, config.Defaults[Config]()); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: New = %v", name, err)
		}
	}
	if _, err := New(full, config.Defaults[Config]()); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := config.Defaults[Config]().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mod := range map[string]func(*Config){
		"retention-5": func(c *Config) { c.RetentionMonths = 5 }, "ahead-0": func(c *Config) { c.AheadMonths = 0 },
		"window-0": func(c *Config) { c.FailWindow = 0 }, "threshold-negative": func(c *Config) { c.IPFailThreshold = -1 },
		"export-0": func(c *Config) { c.MaxExportRows = 0 },
	} {
		c := config.Defaults[Config]()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// Delivery is at least once: the same event twice is one row; an event
// that can never be stored is refused as invalid (not retried).
func TestIngestIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now, nil)
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ev := e.op(auditlog.Operation{At: at, UserID: "u1", Username: "admin", Action: "role.edit", ObjectType: "role", ObjectID: "r1",
		Before: map[string]any{"perms": []string{"a"}}, After: map[string]any{"perms": []string{"a", "b"}}})
	if _, err := e.f.Receive(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if n := count(t, e.pool, `SELECT count(*) FROM audit.op_log WHERE event_id = $1 AND source = 'identity' AND after->'perms' ? 'b'`, ev.ID()); n != 1 {
		t.Errorf("rows for one event delivered twice = %d", n)
	}
	bad := ev.Clone()
	bad.SetID("bad-1")
	_ = bad.SetData("application/json", map[string]any{"at": at, "action": "", "result": "success"})
	if _, err := e.f.Receive(ctx, bad); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("operation without action: %v", err)
	}
	bad.SetType("cn.gov.sjz.amr.audit.login.recorded.v1")
	_ = bad.SetData("application/json", map[string]any{"at": at, "result": "maybe"})
	if _, err := e.f.Receive(ctx, bad); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("login with result maybe: %v", err)
	}
	// Partitions are Beijing months: 2025-03-31T16:30Z is April 1st in Shijiazhuang.
	e.login(auditlog.Login{At: time.Date(2025, 3, 31, 16, 30, 0, 0, time.UTC), Username: "x", Result: auditlog.ResultFailure})
	if n := count(t, e.pool, `SELECT count(*) FROM audit.login_log_p202504`); n != 1 {
		t.Errorf("login rows in 2025-04 partition = %d", n)
	}
}

// Issue 10: concurrent first writes of a month collided ("relation
// login_log_p… already exists"). Writers on several replicas (each its own
// Function, so nothing is cached between them) race across a month
// boundary that no schedule has prepared, with the clock injected at the
// last second of January 2031: every row lands, in its Beijing month.
func TestConcurrentWritersAtMonthBoundary(t *testing.T) {
	t.Parallel()
	boundary := time.Date(2031, 2, 1, 0, 0, 0, 0, shanghai())
	now := fixed(boundary.Add(-time.Second))
	first := newEnv(t, now, func(c *Config) { c.UserFailThreshold, c.IPFailThreshold = 0, 0 })
	replicas := []*env{first}
	for range 3 {
		replicas = append(replicas, newEnvOn(t, first.pool, now, func(c *Config) { c.UserFailThreshold, c.IPFailThreshold = 0, 0 }))
	}
	if n := count(t, first.pool, `SELECT count(*) FROM pg_class WHERE relname IN ('login_log_p203101', 'login_log_p203102', 'op_log_p203102')`); n != 0 {
		t.Fatalf("the 2031 partitions exist before the test: %d", n)
	}
	const writers = 24
	var wg sync.WaitGroup
	start := make(chan struct{})
	errc := make(chan error, writers*2)
	for i := range writers {
		at := boundary.Add(-time.Duration(i+1) * time.Millisecond) // January
		if i%2 == 1 {
			at = boundary.Add(time.Duration(i) * time.Millisecond) // February
		}
		r := replicas[i%len(replicas)]
		wg.Go(func() {
			<-start
			l, _ := auditlog.Login{At: at, Username: fmt.Sprintf("u%d", i), IP: "10.0.0.1", Result: auditlog.ResultFailure}.Event("/functions/identity")
			_, err := r.f.Receive(ctx, l)
			errc <- err
			o, _ := auditlog.Operation{At: at, Action: "user.edit", ObjectID: fmt.Sprint(i)}.Event("/functions/identity")
			_, err = r.f.Receive(ctx, o)
			errc <- err
		})
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("a concurrent first write of the month failed: %v", err)
		}
	}
	for _, c := range []struct {
		part string
		want int
	}{{"login_log_p203101", writers / 2}, {"login_log_p203102", writers / 2}, {"op_log_p203101", writers / 2}, {"op_log_p203102", writers / 2}} {
		if n := count(t, first.pool, `SELECT count(*) FROM audit.`+c.part); n != c.want {
			t.Errorf("%s holds %d rows, want %d", c.part, n, c.want)
		}
	}
	// The schedule's path: Maintain on the next day prepares March and
	// April ahead, and is harmless to run twice at once.
	next := newEnvOn(t, first.pool, fixed(boundary.Add(24*time.Hour)), nil)
	var mw sync.WaitGroup
	for range 2 {
		mw.Go(func() {
			if _, err := next.f.Maintain(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	mw.Wait()
	if n := count(t, first.pool, `SELECT count(*) FROM pg_class WHERE relname IN ('login_log_p203103', 'op_log_p203103', 'login_log_p203104', 'op_log_p203104')`); n != 4 {
		t.Errorf("partitions ahead after Maintain = %d, want 4", n)
	}
}

// The test that failed every run since 1 December (issue 10), at a month
// no partition was made for: concurrent failures of one account, some
// before and some after the boundary, raise exactly one alert.
func TestConcurrentFailuresRaiseOneAlert(t *testing.T) {
	t.Parallel()
	boundary := time.Date(2031, 3, 1, 0, 0, 0, 0, shanghai())
	e := newEnv(t, fixed(boundary), func(c *Config) { c.UserFailThreshold, c.IPFailThreshold = 3, 0 })
	var wg sync.WaitGroup
	errc := make(chan error, 12)
	for i := range 12 {
		wg.Go(func() {
			ev, _ := auditlog.Login{At: boundary.Add(time.Duration(i-6) * time.Millisecond), Username: "zhao", IP: "1.2.3.4", Result: auditlog.ResultFailure}.Event("/functions/identity")
			_, err := e.f.Receive(ctx, ev)
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, e.pool, `SELECT count(*) FROM audit.alerts`); n != 1 {
		t.Errorf("alerts = %d, want 1", n)
	}
	if n := len(notices(t, e.pool)); n != 1 {
		t.Errorf("notices = %d, want 1", n)
	}
}

func TestRepeatedFailuresRaiseOneAlert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now, func(c *Config) { c.UserFailThreshold, c.IPFailThreshold, c.FailWindow = 5, 8, 10*time.Minute })
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	fail := func(i int, user, ip string) {
		t.Helper()
		e.login(auditlog.Login{At: t0.Add(time.Duration(i) * time.Second), Username: user, IP: ip, Result: auditlog.ResultFailure, Reason: "密码错误"})
	}
	for i := range 4 {
		fail(i, "zhang", "61.182.1.1")
	}
	if n := count(t, e.pool, `SELECT count(*) FROM audit.alerts`); n != 0 {
		t.Fatalf("alerts after 4 failures = %d", n)
	}
	fail(4, "zhang", "61.182.1.1")
	fail(5, "zhang", "61.182.1.1") // same window: no second alert
	if n := count(t, e.pool, `SELECT count(*) FROM audit.alerts WHERE kind = 'user_failures' AND username = 'zhang'`); n != 1 {
		t.Fatalf("user alerts = %d, want 1", n)
	}
	// Failures spread beyond the window do not add up.
	for i := range 4 {
		fail(i*400, "wang", "61.182.2.2")
	}
	// Rows arriving out of order (the Broker delivers concurrently and
	// retries) still add up: the newest first.
	for i := 4; i >= 0; i-- {
		fail(1000+i, "li", "61.182.3.3")
	}
	if n := count(t, e.pool, `SELECT count(*) FROM audit.alerts WHERE username = 'wang'`); n != 0 {
		t.Errorf("alerts for spread failures = %d", n)
	}
	if n := count(t, e.pool, `SELECT count(*) FROM audit.alerts WHERE username = 'li'`); n != 1 {
		t.Errorf("alerts for failures received newest first = %d, want 1", n)
	}
	// An IP guessing across accounts: 8 failures from one address.
	for i := range 8 {
		fail(2000+i, fmt.Sprintf("user%d", i), "123.45.6.7")
	}
	if n := count(t, e.pool, `SELECT count(*) FROM audit.alerts WHERE kind = 'ip_failures' AND ip = '123.45.6.7'`); n != 1 {
		t.Errorf("ip alerts = %d, want 1", n)
	}
	ns := notices(t, e.pool)
	if len(ns) != 3 {
		t.Fatalf("notices = %d, want 3", len(ns))
	}
	for _, n := range ns {
		if n.Level != "alert" || !n.Popup || len(n.Target.Roles) != 1 || n.Target.Roles[0] != RoleSecAdmin || n.Link != "/console/#/security/alerts" || n.Producer != "audit" {
			t.Errorf("notice = %+v", n)
		}
		if strings.Contains(n.Body, "123.45.6.7") || strings.Contains(n.Body, "61.182.1.1") {
			t.Errorf("notice shows the full IP: %s", n.Body)
		}
	}
}

func TestLoginFromNewPlaceRaisesAlert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now, nil)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ok := func(i int, ip, device string) {
		t.Helper()
		e.login(auditlog.Login{At: t0.Add(time.Duration(i) * time.Hour), UserID: "u1", Username: "zhang", IP: ip, Device: device, Result: auditlog.ResultSuccess})
	}
	ok(0, "61.182.1.1", "Chrome/Windows") // first login: nothing to compare with
	ok(1, "61.182.200.9", "Chrome/Windows")
	if n := count(t, e.pool, `SELECT count(*) FROM audit.alerts`); n != 0 {
		t.Fatalf("alerts for the usual place = %d", n)
	}
	ok(2, "222.90.1.1", "Chrome/Windows")
	ok(3, "61.182.1.1", "Safari/iPhone")
	rows, _ := e.pool.Query(ctx, `SELECT detail FROM audit.alerts WHERE kind = 'new_place' ORDER BY id`)
	details, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	if len(details) != 2 || !strings.Contains(details[0], "222.90.0.0/16") || !strings.Contains(details[1], "新的设备") {
		t.Errorf("new place alerts = %q", details)
	}
	if n := len(notices(t, e.pool)); n != 2 {
		t.Errorf("notices = %d, want 2", n)
	}
}

var errRolledBack = errors.New("rolled back on purpose")

func TestLogsCannotBeAlteredOrDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Now, nil)
	e.login(auditlog.Login{UserID: "u1", Username: "zhang", IP: "10.1.2.3", Result: auditlog.ResultSuccess})
	e.op(auditlog.Operation{UserID: "u1", Action: "x"})
	part := "audit." + partitionName("login_log", time.Now())
	for _, sql := range []string{
		`UPDATE audit.login_log SET result = 'failure'`,
		`DELETE FROM audit.login_log`,
		`TRUNCATE audit.login_log`,
		`UPDATE audit.op_log SET after = '{}'`,
		`DELETE FROM audit.op_log`,
		`TRUNCATE audit.op_log`,
		`UPDATE ` + part + ` SET reason = 'x'`,
		`DELETE FROM ` + part,
		`TRUNCATE ` + part,
	} {
		// Even the owner (the test connects as a superuser) is refused.
		_, err := e.pool.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s: err = %v, want insufficient_privilege", sql, err)
		}
	}
	// The application role may only read and append, in a new month too.
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL ROLE smartreg_app`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT audit.ensure_partition('login_log', '2024-01-05T00:00:00Z')`); err != nil {
			return fmt.Errorf("create a month as app role: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit.login_log (at, username, result) VALUES ('2024-01-05T00:00:00Z', 'li', 'failure')`); err != nil {
			return fmt.Errorf("insert as app role: %w", err)
		}
		if count(t, tx, `SELECT count(*) FROM audit.login_log`) != 2 {
			return errors.New("app role cannot read its rows")
		}
		_, err := tx.Exec(ctx, `DELETE FROM audit.login_log`)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			return fmt.Errorf("app role delete: %v", err)
		}
		return errRolledBack
	})
	if !errors.Is(err, errRolledBack) {
		t.Fatal(err)
	}
	if n := count(t, e.pool, `SELECT count(*) FROM audit.login_log`); n != 1 {
		t.Errorf("rows = %d after the rolled-back app-role transaction", n)
	}
}
