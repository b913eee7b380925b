package audit

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

var ctx = context.Background()

func newService(t *testing.T, pool *pgxpool.Pool, now func() time.Time, mod func(*Config)) (*Service, blob.Store) {
	t.Helper()
	b, err := blob.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(ctx, Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Blob: b, Now: now, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return s, b
}

func count(t *testing.T, q store.Querier, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestNewChecksDeps(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	b, _ := blob.Open(ctx, "file://"+t.TempDir())
	full := Deps{Logger: slog.New(slog.DiscardHandler), Pool: pool, Blob: b, Now: time.Now, Config: DefaultConfig()}
	for name, mod := range map[string]func(*Deps){
		"logger": func(d *Deps) { d.Logger = nil }, "pool": func(d *Deps) { d.Pool = nil },
		"blob": func(d *Deps) { d.Blob = nil }, "now": func(d *Deps) { d.Now = nil },
		"retention-5": func(d *Deps) { d.Config.RetentionMonths = 5 },
		"window-0":    func(d *Deps) { d.Config.FailWindow = 0 },
	} {
		d := full
		mod(&d)
		if _, err := New(ctx, d); err == nil {
			t.Errorf("%s: New accepted missing/bad dependency", name)
		}
	}
	if _, err := New(ctx, full); err != nil {
		t.Fatal(err)
	}
}

func TestRecordCreatesPartitionOnWrite(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	old := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	if err := RecordLogin(ctx, pool, LoginEntry{At: old, UserID: "u1", Username: "zhang", IP: "10.1.2.3", Device: "Chrome", Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Inside a caller's transaction: rolled back with it.
	if err := RecordOp(ctx, tx, OpEntry{At: old, UserID: "u1", Username: "zhang", Action: "identity.user.edit", ObjectType: "user", ObjectID: "u2",
		Before: map[string]any{"name": "a"}, After: json.RawMessage(`{"name":"b"}`), Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	if n := count(t, pool, `SELECT count(*) FROM identity.op_log`); n != 0 {
		t.Errorf("op rows after rollback = %d", n)
	}
	if err := RecordOp(ctx, pool, OpEntry{At: old, Action: "identity.user.edit", Before: map[string]any{"name": "a"}, After: map[string]any{"name": "b"}, Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.login_log_p202503`); n != 1 {
		t.Errorf("login rows in 2025-03 partition = %d", n)
	}
	var after string
	if err := pool.QueryRow(ctx, `SELECT after->>'name' FROM identity.op_log_p202503`).Scan(&after); err != nil || after != "b" {
		t.Errorf("after = %q, %v", after, err)
	}
	// Partitions are Beijing months: 2025-03-31T16:30Z is April 1st in Shijiazhuang.
	if err := RecordLogin(ctx, pool, LoginEntry{At: time.Date(2025, 3, 31, 16, 30, 0, 0, time.UTC), Username: "x", Result: ResultFailure}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.login_log_p202504`); n != 1 {
		t.Errorf("login rows in 2025-04 partition = %d", n)
	}
	for _, bad := range []LoginEntry{{Result: "ok"}, {}} {
		if err := RecordLogin(ctx, pool, bad); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("RecordLogin(%+v) = %v", bad, err)
		}
	}
	if err := RecordOp(ctx, pool, OpEntry{Result: ResultSuccess}); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("RecordOp without action = %v", err)
	}
	if err := RecordOp(ctx, pool, OpEntry{Action: "a", Result: ResultSuccess, Before: []byte("{bad")}); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("RecordOp with bad JSON = %v", err)
	}
}

func TestLogsCannotBeAlteredOrDeleted(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	if err := RecordLogin(ctx, pool, LoginEntry{UserID: "u1", Username: "zhang", IP: "10.1.2.3", Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	if err := RecordOp(ctx, pool, OpEntry{UserID: "u1", Action: "x", Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	part := fmt.Sprintf("identity.login_log_p%s", time.Now().In(shanghai()).Format("200601"))
	for _, sql := range []string{
		`UPDATE identity.login_log SET result = 'failure'`,
		`DELETE FROM identity.login_log`,
		`TRUNCATE identity.login_log`,
		`UPDATE identity.op_log SET after = '{}'`,
		`DELETE FROM identity.op_log`,
		`TRUNCATE identity.op_log`,
		`UPDATE ` + part + ` SET reason = 'x'`,
		`DELETE FROM ` + part,
		`TRUNCATE ` + part,
	} {
		// Even the owner (the test connects as a superuser) is refused.
		_, err := pool.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s: err = %v, want insufficient_privilege", sql, err)
		}
	}
	// The application role may only read and append.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL ROLE smartreg_app`); err != nil {
			return err
		}
		if err := RecordLogin(ctx, tx, LoginEntry{UserID: "u2", Username: "li", Result: ResultFailure}); err != nil {
			return fmt.Errorf("insert as app role: %w", err)
		}
		if err := RecordLogin(ctx, tx, LoginEntry{At: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), Username: "li", Result: ResultFailure}); err != nil {
			return fmt.Errorf("insert into a new month as app role: %w", err)
		}
		if count(t, tx, `SELECT count(*) FROM identity.login_log`) != 3 {
			return errors.New("app role cannot read its rows")
		}
		_, err := tx.Exec(ctx, `DELETE FROM identity.login_log`)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			return fmt.Errorf("app role delete: %v", err)
		}
		return errRolledBack
	})
	if !errors.Is(err, errRolledBack) {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.login_log`); n != 1 {
		t.Errorf("rows = %d after the rolled-back app-role transaction", n)
	}
}

func notices(t *testing.T, pool *pgxpool.Pool) []events.IdentityNoticeRequestedData {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT event->'data' FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, events.IdentityNoticeRequested)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.IdentityNoticeRequestedData, error) {
		var d events.IdentityNoticeRequestedData
		var raw []byte
		if err := r.Scan(&raw); err != nil {
			return d, err
		}
		return d, json.Unmarshal(raw, &d)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRepeatedFailuresRaiseOneAlert(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	newService(t, pool, time.Now, func(c *Config) { c.UserFailThreshold, c.IPFailThreshold, c.FailWindow = 5, 8, 10*time.Minute })
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	fail := func(i int, user, ip string) {
		t.Helper()
		if err := RecordLogin(ctx, pool, LoginEntry{At: t0.Add(time.Duration(i) * time.Second), Username: user, IP: ip, Result: ResultFailure, Reason: "密码错误"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		fail(i, "zhang", "61.182.1.1")
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.security_alerts`); n != 0 {
		t.Fatalf("alerts after 4 failures = %d", n)
	}
	fail(4, "zhang", "61.182.1.1")
	fail(5, "zhang", "61.182.1.1") // same window: no second alert
	if n := count(t, pool, `SELECT count(*) FROM identity.security_alerts WHERE kind = 'user_failures' AND username = 'zhang'`); n != 1 {
		t.Fatalf("user alerts = %d, want 1", n)
	}
	// Failures spread beyond the window do not add up.
	for i := range 4 {
		fail(i*400, "wang", "61.182.2.2")
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.security_alerts WHERE username = 'wang'`); n != 0 {
		t.Errorf("alerts for spread failures = %d", n)
	}
	// An IP guessing across accounts: 8 failures from one address.
	for i := range 8 {
		fail(2000+i, fmt.Sprintf("user%d", i), "123.45.6.7")
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.security_alerts WHERE kind = 'ip_failures' AND ip = '123.45.6.7'`); n != 1 {
		t.Errorf("ip alerts = %d, want 1", n)
	}
	ns := notices(t, pool)
	if len(ns) != 2 {
		t.Fatalf("notices = %d, want 2", len(ns))
	}
	for _, n := range ns {
		if n.Level != "alert" || !n.Popup || len(n.Target.Roles) != 1 || n.Target.Roles[0] != "secadmin" {
			t.Errorf("notice = %+v", n)
		}
		if strings.Contains(n.Body, "123.45.6.7") {
			t.Errorf("notice shows the full IP: %s", n.Body)
		}
	}
}

func TestConcurrentFailuresRaiseOneAlert(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	newService(t, pool, time.Now, func(c *Config) { c.UserFailThreshold, c.IPFailThreshold = 3, 0 })
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- RecordLogin(ctx, pool, LoginEntry{At: t0.Add(time.Duration(i) * time.Millisecond), Username: "zhao", IP: "1.2.3.4", Result: ResultFailure})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.security_alerts`); n != 1 {
		t.Errorf("alerts = %d, want 1", n)
	}
}

func TestLoginFromNewPlaceRaisesAlert(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ok := func(i int, ip, device string) {
		t.Helper()
		if err := RecordLogin(ctx, pool, LoginEntry{At: t0.Add(time.Duration(i) * time.Hour), UserID: "u1", Username: "zhang", IP: ip, Device: device, Result: ResultSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	ok(0, "61.182.1.1", "Chrome/Windows") // first login: nothing to compare with
	ok(1, "61.182.200.9", "Chrome/Windows")
	if n := count(t, pool, `SELECT count(*) FROM identity.security_alerts`); n != 0 {
		t.Fatalf("alerts for the usual place = %d", n)
	}
	ok(2, "222.90.1.1", "Chrome/Windows")
	ok(3, "61.182.1.1", "Safari/iPhone")
	rows, err := pool.Query(ctx, `SELECT kind, detail FROM identity.security_alerts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := pgx.CollectRows(rows, pgx.RowTo[[2]string])
	_ = got
	var details []string
	rows, _ = pool.Query(ctx, `SELECT detail FROM identity.security_alerts WHERE kind = 'new_place' ORDER BY id`)
	details, _ = pgx.CollectRows(rows, pgx.RowTo[string])
	if len(details) != 2 || !strings.Contains(details[0], "222.90.0.0/16") || !strings.Contains(details[1], "新的设备") {
		t.Errorf("new place alerts = %q", details)
	}
	if n := len(notices(t, pool)); n != 2 {
		t.Errorf("notices = %d, want 2", n)
	}
}

func TestMaintainArchivesPastRetention(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	now := time.Date(2026, 8, 15, 10, 0, 0, 0, time.UTC)
	s, b := newService(t, pool, func() time.Time { return now }, nil)
	jan := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		if err := RecordLogin(ctx, pool, LoginEntry{At: jan.Add(time.Duration(i) * time.Minute), Username: fmt.Sprintf("u%d", i), IP: "10.0.0.1", Result: ResultFailure, Reason: "密码错误"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := RecordOp(ctx, pool, OpEntry{At: jan, Action: "identity.user.edit", After: map[string]any{"phone": "13812341234"}, Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	if err := RecordLogin(ctx, pool, LoginEntry{At: feb, Username: "kept", Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Maintain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Retention 6: August plus February–July stay; January goes.
	if len(res.Archived) != 2 {
		t.Fatalf("archived = %+v, want login_log_p202601 and op_log_p202601", res.Archived)
	}
	for _, a := range res.Archived {
		if a.Month != "2026-01" {
			t.Errorf("archived %s", a.Partition)
		}
		rc, info, err := b.Get(ctx, a.ObjectKey)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(rc)
		rc.Close()
		sum := sha256.Sum256(raw)
		mrc, _, err := b.Get(ctx, a.ManifestKey)
		if err != nil {
			t.Fatal(err)
		}
		var m Manifest
		if err := json.NewDecoder(mrc).Decode(&m); err != nil {
			t.Fatal(err)
		}
		mrc.Close()
		if m.SHA256 != hex.EncodeToString(sum[:]) || info.SHA256 != m.SHA256 || m.Rows != a.Rows || m.Bytes != int64(len(raw)) {
			t.Errorf("manifest %+v does not match object (sha %x, %d bytes)", m, sum, len(raw))
		}
		zr, err := gzip.NewReader(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		var lines int64
		for sc.Scan() {
			var row map[string]any
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row["at"] == nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			lines++
		}
		want := map[string]int64{"login_log": 30, "op_log": 1}[a.Parent]
		if lines != want || a.Rows != want {
			t.Errorf("%s: %d lines, %d rows, want %d", a.Partition, lines, a.Rows, want)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM pg_class WHERE relname IN ('login_log_p202601', 'op_log_p202601')`); n != 0 {
		t.Errorf("archived partitions still present: %d", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.login_log WHERE username = 'kept'`); n != 1 {
		t.Errorf("February row lost")
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.audit_archives`); n != 2 {
		t.Errorf("archive records = %d", n)
	}
	// Partitions are ready through October.
	if n := count(t, pool, `SELECT count(*) FROM pg_class WHERE relname IN ('login_log_p202610', 'op_log_p202610')`); n != 2 {
		t.Errorf("ahead partitions missing")
	}
	// A second run has nothing to do.
	res, err = s.Maintain(ctx)
	if err != nil || len(res.Archived) != 0 {
		t.Errorf("second run: %+v, %v", res, err)
	}
	// With a small retention (possible only inside the package: Validate
	// holds operators to six months) February goes too.
	s.cfg.RetentionMonths = 1
	res, err = s.Maintain(ctx)
	if err != nil || len(res.Archived) != 1 || res.Archived[0].Partition != "login_log_p202602" || res.Archived[0].Rows != 1 {
		t.Fatalf("retention 1: %+v, %v", res, err)
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.login_log WHERE username = 'kept'`); n != 0 {
		t.Errorf("February row still online")
	}
	s.cfg.RetentionMonths = 6
	// The PingSource tick runs it.
	e, _ := newPing(MaintainTask)
	if handled, err := s.Receive(ctx, e); !handled || err != nil {
		t.Errorf("Receive ping = %v, %v", handled, err)
	}
	other, _ := newPing("refresh-stats")
	if handled, _ := s.Receive(ctx, other); handled {
		t.Errorf("Receive handled another task")
	}
}

func TestArchiveFailureKeepsPartition(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	now := time.Date(2026, 8, 15, 10, 0, 0, 0, time.UTC)
	s, _ := newService(t, pool, func() time.Time { return now }, nil)
	s.blob = failingBlob{}
	if err := RecordLogin(ctx, pool, LoginEntry{At: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), Username: "a", Result: ResultFailure}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Maintain(ctx); err == nil {
		t.Fatal("Maintain succeeded with a failing object store")
	}
	if n := count(t, pool, `SELECT count(*) FROM identity.login_log_p202601`); n != 1 {
		t.Errorf("rows after failed archive = %d", n)
	}
}

var errRolledBack = errors.New("rolled back on purpose")

type failingBlob struct{}

func (failingBlob) Put(_ context.Context, _ string, r io.Reader, _ string) (blob.Info, error) {
	_, _ = io.Copy(io.Discard, r)
	return blob.Info{}, errors.New("disk full")
}
func (failingBlob) Get(context.Context, string) (io.ReadCloser, blob.Info, error) {
	return nil, blob.Info{}, errors.New("unreachable")
}

// principals the handler tests act as, chosen by the X-Test-User header;
// auth.Require is the real permission guard.
var principals = map[string]*auth.Principal{
	"auditor":  {UserID: "a1", Username: "auditor1", Roles: []string{"auditor"}, Perms: []string{"identity.log:view", "identity.log:export"}},
	"viewer":   {UserID: "a2", Username: "auditor2", Roles: []string{"auditor"}, Perms: []string{"identity.log:view"}},
	"sysadmin": {UserID: "s1", Username: "admin", Roles: []string{"sysadmin"}, Perms: []string{"identity.log:view", "identity.log:export", "identity.alert:view"}},
	"secadmin": {UserID: "s2", Username: "sec", Roles: []string{"secadmin"}, Perms: []string{"identity.alert:view"}},
}

func handler(s *Service) http.Handler {
	mux := http.NewServeMux()
	s.Routes(mux, auth.Require)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := principals[r.Header.Get("X-Test-User")]; ok {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		mux.ServeHTTP(w, r)
	})
}

func do(t *testing.T, h http.Handler, user, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestLogAPI(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, Migration())
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	s, _ := newService(t, pool, func() time.Time { return now }, nil)
	h := handler(s)
	for i := range 25 {
		res := ResultSuccess
		if i%5 == 0 {
			res = ResultFailure
		}
		if err := RecordLogin(ctx, pool, LoginEntry{At: now.Add(-time.Duration(i) * time.Hour), UserID: fmt.Sprintf("u%d", i%3), Username: fmt.Sprintf("user%d", i%3),
			IP: fmt.Sprintf("10.0.%d.1", i), Device: "Chrome", Result: res}); err != nil {
			t.Fatal(err)
		}
	}
	if err := RecordOp(ctx, pool, OpEntry{At: now, UserID: "u1", Username: "user1", Action: "identity.user.edit", ObjectType: "user", ObjectID: "u9",
		Before: map[string]any{"phone": "13812341234", "id_number": "11010519491231002X", "note": "电话13912345678"},
		After:  map[string]any{"phone": "13812340000", "password_hash": "$argon2id$..."}, Result: ResultSuccess}); err != nil {
		t.Fatal(err)
	}

	if err := RecordLogin(ctx, pool, LoginEntry{At: now.Add(-30 * time.Hour), Username: "13812345678", IP: "10.9.9.9", Result: ResultFailure, Reason: "账号不存在"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, user, target string
		status             int
	}{
		{"anonymous-401", "", "/identity/v1/logs/login", 401},
		{"sysadmin-403", "sysadmin", "/identity/v1/logs/login", 403}, // permission without the auditor role
		{"viewer-export-403", "viewer", "/identity/v1/logs/login/export", 403},
		{"auditor-alerts-403", "auditor", "/identity/v1/alerts", 403},
		{"bad-sort-400", "auditor", "/identity/v1/logs/login?sort=password", 400},
		{"bad-from-400", "auditor", "/identity/v1/logs/login?from=yesterday", 400},
		{"bad-result-400", "auditor", "/identity/v1/logs/operation?result=maybe", 400},
		{"bad-page-400", "auditor", "/identity/v1/logs/login?page_size=1000", 400},
		{"secadmin-alerts-200", "secadmin", "/identity/v1/alerts", 200},
		{"archives-200", "auditor", "/identity/v1/logs/archives", 200},
		{"login-ignores-action-200", "auditor", "/identity/v1/logs/login?action=identity.user&object_id=x", 200},
		{"alerts-filters-200", "secadmin", "/identity/v1/alerts?kind=new_place&user=zhang&ip=10.&q=x&result=failure", 200},
	} {
		if rec := do(t, h, c.user, c.target); rec.Code != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, rec.Code, c.status, rec.Body)
		}
	}

	var page Page[LoginRow]
	rec := do(t, h, "auditor", "/identity/v1/logs/login?result=failure&sort=at&page_size=2&page=2")
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// Failures are i = 0, 5, 10, 15, 20; ascending by time, page 2 holds i = 10 and 5.
	// Failures: the phone-number attempt 30 h ago, then i = 20, 15, 10, 5, 0.
	if page.Total != 6 || len(page.Items) != 2 || page.Items[0].IP != "10.0.15.1" || page.Items[1].IP != "10.0.10.1" {
		t.Errorf("page = %+v", page)
	}
	rec = do(t, h, "auditor", "/identity/v1/logs/login?ip=10.9.")
	if !strings.Contains(rec.Body.String(), `"username":"138****5678"`) || strings.Contains(rec.Body.String(), "13812345678") {
		t.Errorf("typed phone not masked: %s", rec.Body)
	}
	rec = do(t, h, "auditor", "/identity/v1/logs/login?user=user1&from=2026-11-26&to=2026-11-26")
	_ = json.Unmarshal(rec.Body.Bytes(), &page)
	for _, it := range page.Items {
		if it.Username != "user1" || it.At.In(shanghai()).Format("2006-01-02") != "2026-11-26" {
			t.Errorf("filtered row %+v", it)
		}
	}
	if page.Total == 0 || page.Items[0].Location != "内网" {
		t.Errorf("user filter: %+v", page)
	}

	var ops Page[OpRow]
	rec = do(t, h, "auditor", "/identity/v1/logs/operation?action=identity.user&q=u9")
	if err := json.Unmarshal(rec.Body.Bytes(), &ops); err != nil || ops.Total != 1 {
		t.Fatalf("ops: %s", rec.Body)
	}
	body := rec.Body.String()
	for _, secret := range []string{"13812341234", "11010519491231002X", "13912345678", "argon2id"} {
		if strings.Contains(body, secret) {
			t.Errorf("operation log shows %s: %s", secret, body)
		}
	}
	if !strings.Contains(body, "138****1234") || !strings.Contains(body, "110105********002X") {
		t.Errorf("masked values missing: %s", body)
	}

	rec = do(t, h, "auditor", "/identity/v1/logs/operation/export")
	if rec.Code != 200 {
		t.Fatalf("export: %d %s", rec.Code, rec.Body)
	}
	x, err := excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	xrows, _ := x.GetRows("Sheet1")
	if len(xrows) != 2 || xrows[0][4] != "操作" || xrows[1][4] != "identity.user.edit" || strings.Contains(strings.Join(xrows[1], ","), "13812341234") {
		t.Errorf("export rows = %q", xrows)
	}
	rec = do(t, h, "auditor", "/identity/v1/logs/login/export?result=failure")
	x, err = excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	xrows, _ = x.GetRows("Sheet1")
	if len(xrows) != 7 || xrows[1][5] != "失败" {
		t.Errorf("login export rows = %d: %q", len(xrows), xrows)
	}
	// The exports themselves are in the operation log.
	if n := count(t, pool, `SELECT count(*) FROM identity.op_log WHERE action = 'identity.log.export' AND username = 'auditor1'`); n != 2 {
		t.Errorf("export op rows = %d", n)
	}
}

func newPing(task string) (event.Event, error) {
	e := event.New()
	e.SetID(fmt.Sprintf("ping-%s-%d", task, time.Now().UnixNano()))
	e.SetSource("/test")
	e.SetType(events.Ping)
	return e, e.SetData(event.ApplicationJSON, map[string]any{"task": task})
}
