package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

var ctx = context.Background()

// env is one test's audit function on its own database.
type env struct {
	t    *testing.T
	f    *Function
	pool *pgxpool.Pool
	blob blob.Store
	iss  *authtest.Issuer
}

func newEnv(t *testing.T, now func() time.Time, mod func(*Config)) *env {
	t.Helper()
	pool := storetest.New(t, Migrations()...)
	return newEnvOn(t, pool, now, mod)
}

// newEnvOn builds another Function on the same database (another replica).
func newEnvOn(t *testing.T, pool *pgxpool.Pool, now func() time.Time, mod func(*Config)) *env {
	t.Helper()
	b, err := blob.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults[Config]()
	if mod != nil {
		mod(&cfg)
	}
	iss := authtest.NewIssuer(t)
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b, Verifier: iss.Verifier(), Now: now}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, f: f, pool: pool, blob: b, iss: iss}
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// login delivers a login row as identity records it.
func (e *env) login(l auditlog.Login) {
	e.t.Helper()
	ev, err := l.Event("/functions/identity")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.f.Receive(ctx, ev); err != nil {
		e.t.Fatalf("receive login %+v: %v", l, err)
	}
}

// op delivers an operation row as a function records it.
func (e *env) op(o auditlog.Operation) event.Event {
	e.t.Helper()
	ev, err := o.Event("/functions/identity")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.f.Receive(ctx, ev); err != nil {
		e.t.Fatalf("receive op %+v: %v", o, err)
	}
	return ev
}

func count(t *testing.T, q store.Querier, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// get calls the API as p (nil: anonymous).
func (e *env) get(p *auth.Principal, target string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if p != nil {
		req.Header.Set("Authorization", e.iss.Bearer(*p))
	}
	rec := httptest.NewRecorder()
	e.f.Handler().ServeHTTP(rec, req)
	return rec
}

// notices are the message-centre requests audit has put in its outbox.
func notices(t *testing.T, pool *pgxpool.Pool) []events.NoticeRequestedData {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT event->'data' FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, events.NotifyNoticeRequested)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.NoticeRequestedData, error) {
		var d events.NoticeRequestedData
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

func newPing(task string) event.Event {
	e := event.New()
	e.SetID(fmt.Sprintf("ping-%s-%d", task, time.Now().UnixNano()))
	e.SetSource("/apis/v1/namespaces/smartreg/pingsources/audit-daily")
	e.SetType(events.Ping)
	_ = e.SetData(event.ApplicationJSON, map[string]any{"task": task})
	return e
}

// Principals of the built-in roles as identity issues them (catalog.go).
var (
	auditorP  = auth.Principal{UserID: "a1", Username: "auditor1", Roles: []string{RoleAuditor}, Perms: []string{"audit.log:view", "audit.log:export"}, Scope: auth.All()}
	viewerP   = auth.Principal{UserID: "a2", Username: "auditor2", Roles: []string{RoleAuditor}, Perms: []string{"audit.log:view"}, Scope: auth.All()}
	sysadminP = auth.Principal{UserID: "s1", Username: "admin", Roles: []string{"sysadmin"}, Perms: []string{"audit.log:view", "audit.log:export", "audit.alert:view"}, Scope: auth.All()}
	secadminP = auth.Principal{UserID: "s2", Username: "sec", Roles: []string{RoleSecAdmin}, Perms: []string{"audit.alert:view"}, Scope: auth.All()}
)
