package qrgenerate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/qrtoken"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

const baseURL = "http://localhost:8080"

// countingRenderer counts real renders, so tests can tell a cache hit.
type countingRenderer struct {
	r     *render.Renderer
	calls atomic.Int64
}

func (c *countingRenderer) PNG(content string, size int) ([]byte, error) {
	c.calls.Add(1)
	return c.r.PNG(content, size)
}

func (c *countingRenderer) SVG(content string) ([]byte, error) {
	c.calls.Add(1)
	return c.r.SVG(content)
}

func (c *countingRenderer) Poster(p render.PosterInput) ([]byte, error) {
	c.calls.Add(1)
	return c.r.Poster(p)
}

var _ Renderer = (*countingRenderer)(nil)

type env struct {
	t     *testing.T
	f     *Function
	pool  *pgxpool.Pool
	rend  *countingRenderer
	iss   *authtest.Issuer
	h     http.Handler
	clock time.Time
}

func deps(t *testing.T, pool *pgxpool.Pool, rend Renderer, iss *authtest.Issuer) Deps {
	t.Helper()
	store, err := blob.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: store, Render: rend,
		Verifier: iss.Verifier(), Now: time.Now}
}

// testConfig is the documented defaults, with the base URL written with a
// trailing slash as operators do.
func testConfig() Config {
	c := config.Defaults[Config]()
	c.BaseURL = baseURL + "/"
	return c
}

func newEnv(t *testing.T, mod ...func(*Deps, *Config)) *env {
	t.Helper()
	return newEnvOn(t, storetest.New(t, Migrations()...), mod...)
}

// newEnvOn builds the function on pool, a database the test prepared.
func newEnvOn(t *testing.T, pool *pgxpool.Pool, mod ...func(*Deps, *Config)) *env {
	t.Helper()
	e := &env{t: t, pool: pool, rend: &countingRenderer{r: render.New(render.LevelM)},
		iss: authtest.NewIssuer(t), clock: time.Date(2026, 11, 20, 9, 0, 0, 0, shanghai)}
	d, c := deps(t, e.pool, e.rend, e.iss), testConfig()
	d.Now = func() time.Time { return e.clock }
	for _, m := range mod {
		m(&d, &c)
	}
	f, err := New(d, c)
	if err != nil {
		t.Fatal(err)
	}
	e.f, e.h = f, f.Handler()
	return e
}

var allPerms = []string{"qr.code:*", "qr.oplog:*", "qr.stats:*"}

func admin() auth.Principal { return authtest.CityWide(allPerms...) }

// do sends a request as p (anonymous when p is nil) and returns the recorder.
func (e *env) do(p *auth.Principal, method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p != nil {
		req.Header.Set("Authorization", e.iss.Bearer(*p))
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, rec.Body.String(), err)
	}
	return v
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) httpx.ErrorBody {
	return decode[httpx.ErrorBody](t, rec)
}

var seq atomic.Int64

func creditCode(t *testing.T, prefix, district string) string {
	t.Helper()
	c, err := codes.MakeCreditCode(prefix, district, fmt.Sprintf("%08d", 10000000+seq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func entity(t *testing.T, typ, district string) events.Entity {
	prefix := map[string]string{"enterprise": "91", "institution": "12", "non_enterprise": "52", "individual": "92"}[typ]
	return events.Entity{CreditCode: creditCode(t, prefix, district), Name: "石家庄测试" + typ + fmt.Sprint(seq.Load()) + "有限公司",
		EntityType: typ, LegalRep: "张三", EstablishedOn: "2020-01-02", RegisteredCapital: "100", Address: "长安区建设北大街1号",
		DistrictCode: district, TownshipCode: district + "001", IndustryCode: "5211", Status: "active", Version: 1}
}

func (e *env) send(typ string, data any) event.Event {
	e.t.Helper()
	ev, err := outbox.NewEvent("/functions/registry", typ, "", data, e.clock)
	if err != nil {
		e.t.Fatal(err)
	}
	e.deliver(ev)
	return ev
}

func (e *env) deliver(ev event.Event) {
	e.t.Helper()
	if _, err := e.f.Receive(context.Background(), ev); err != nil {
		e.t.Fatalf("Receive %s: %v", ev.Type(), err)
	}
}

func (e *env) register(ent events.Entity) Code {
	e.t.Helper()
	e.send(events.EntityRegistered, events.EntityRegisteredData{Entity: ent, RegisteredAt: e.clock})
	return e.codeOf(ent.CreditCode)
}

func (e *env) codeOf(credit string) Code {
	e.t.Helper()
	var token string
	if err := e.pool.QueryRow(context.Background(), `SELECT token FROM qr.codes WHERE credit_code = $1`, credit).Scan(&token); err != nil {
		e.t.Fatalf("code of %s: %v", credit, err)
	}
	c, err := e.f.Get(context.Background(), token)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// outboxEvents returns the recorded events of typ, decoded as the relay does.
func (e *env) outboxEvents(typ string) []event.Event {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT event FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, typ)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			e.t.Fatal(err)
		}
		var ev event.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			e.t.Fatalf("outbox event does not decode: %v", err)
		}
		if err := ev.Validate(); err != nil {
			e.t.Fatalf("outbox event invalid: %v", err)
		}
		out = append(out, ev)
	}
	return out
}

// strictData decodes e's data into T refusing fields T lacks: bulk
// issuance builds its events' data in SQL (outbox.RecordSelect), away
// from the struct it must match.
func strictData[T any](t *testing.T, e event.Event) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(e.Data()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s data %.200s does not decode into %T: %v", e.Type(), e.Data(), v, err)
	}
	return v
}

func TestNewRequiresEachDependency(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	full := deps(t, &pgxpool.Pool{}, &countingRenderer{}, iss)
	for name, mod := range map[string]func(*Deps){
		"Logger": func(d *Deps) { d.Logger = nil }, "Pool": func(d *Deps) { d.Pool = nil },
		"Blob": func(d *Deps) { d.Blob = nil }, "Render": func(d *Deps) { d.Render = nil },
		"Verifier": func(d *Deps) { d.Verifier = nil }, "Now": func(d *Deps) { d.Now = nil },
	} {
		d := full
		mod(&d)
		if _, err := New(d, testConfig()); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("New without %s: err = %v", name, err)
		}
	}
	for env, mod := range map[string]func(*Config){
		"PUBLIC_BASE_URL": func(c *Config) { c.BaseURL = "localhost:8080" }, "QR_TOKEN_KEY": func(c *Config) { c.Key = "short" },
		"QR_POSTER_AUTHORITY": func(c *Config) { c.Authority = " " }, "QR_MAX_ZIP_ITEMS": func(c *Config) { c.MaxZipItems = 0 },
		"QR_BATCH_LEASE": func(c *Config) { c.BatchLease = 0 }, "QR_BATCH_POLL": func(c *Config) { c.BatchPoll = -time.Second },
	} {
		c := testConfig()
		mod(&c)
		if _, err := New(full, c); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("New with a bad %s: err = %v", env, err)
		}
	}
	f, err := New(full, testConfig())
	if err != nil {
		t.Fatalf("New with every dependency: %v", err)
	}
	// New starts nothing: Stop before Start has nothing to end.
	if err := f.Stop(context.Background()); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
}

// TestConfigDocumented keeps every setting named, defaulted and explained,
// its defaults valid, and the shared groups (PUBLIC_BASE_URL, QR_TOKEN_KEY)
// read from their one declaration.
func TestConfigDocumented(t *testing.T) {
	t.Parallel()
	var names []string
	for _, f := range config.Describe(Config{}) {
		if f.Env == "" || f.Help == "" || f.Default == "" {
			t.Errorf("setting %+v lacks an env name, a default or help", f)
		}
		names = append(names, f.Env)
	}
	want := []string{"PUBLIC_BASE_URL", "QR_TOKEN_KEY", "QR_POSTER_AUTHORITY", "QR_MAX_ZIP_ITEMS", "QR_BATCH_LEASE", "QR_BATCH_POLL"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("settings %v, want %v", names, want)
	}
	def := config.Defaults[Config]()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if def.Key != qrtoken.DevKey || def.Authority != "石家庄市市场监督管理局" || def.MaxZipItems != 2000 ||
		def.BatchLease != time.Minute || def.BatchPoll != 5*time.Second {
		t.Errorf("defaults %+v", def)
	}
}

// FP-22: a code per registered entity.
func TestRegisteredEventIssuesOneCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ent := entity(t, "enterprise", "130102")
	ev := e.send(events.EntityRegistered, events.EntityRegisteredData{Entity: ent, RegisteredAt: e.clock})
	c := e.codeOf(ent.CreditCode)
	if c.Status != StatusActive || c.EntityName != ent.Name || c.DistrictCode != "130102" || c.ActivatedAt == nil {
		t.Fatalf("code = %+v, want active with the entity's fields", c)
	}
	if c.URL != baseURL+"/q/"+c.Token || !e.f.tokens.Valid(c.Token) {
		t.Errorf("url %q / token %q not as contracted", c.URL, c.Token)
	}
	// Redelivery of the same event, and a second event for the same entity,
	// leave one code and one qr.issued.
	e.deliver(ev)
	e.send(events.EntityRegistered, events.EntityRegisteredData{Entity: ent, RegisteredAt: e.clock})
	if n := e.count(`SELECT count(*) FROM qr.codes`); n != 1 {
		t.Errorf("%d codes after redelivery, want 1", n)
	}
	evs := e.outboxEvents(events.QRIssued)
	if len(evs) != 1 {
		t.Fatalf("%d qr.issued events, want 1", len(evs))
	}
	var d events.QRIssuedData
	if err := evs[0].DataAs(&d); err != nil || d.Token != c.Token || d.CreditCode != ent.CreditCode || d.URL != c.URL {
		t.Errorf("qr.issued data = %+v (%v), want the code", d, err)
	}
	if n := e.count(`SELECT count(*) FROM qr.oplog WHERE action = 'issue' AND token = $1 AND operator = 'system'`, c.Token); n != 1 {
		t.Errorf("%d issue log rows, want 1", n)
	}
}

func TestUpdatedEventKeepsFieldsAndDeregisteredInvalidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ent := entity(t, "enterprise", "130102")
	c := e.register(ent)
	ent.Name, ent.IndustryCode, ent.Version = "石家庄新名称商贸有限公司", "5164", 2
	e.send(events.EntityUpdated, events.EntityUpdatedData{Entity: ent, Changed: []string{"name", "industry_code"}, UpdatedAt: e.clock})
	// A stale snapshot arriving late changes nothing.
	old := ent
	old.Name, old.Version = "旧名称", 1
	e.send(events.EntityUpdated, events.EntityUpdatedData{Entity: old, Changed: []string{"name"}, UpdatedAt: e.clock})
	got := e.codeOf(ent.CreditCode)
	if got.EntityName != ent.Name || got.IndustryCode != "5164" || got.Token != c.Token {
		t.Fatalf("after update code = %+v, want new name and industry, same token", got)
	}
	e.send(events.EntityDeregistered, events.EntityDeregisteredData{CreditCode: ent.CreditCode, Status: "deregistered", Version: 3, ChangedAt: e.clock})
	got = e.codeOf(ent.CreditCode)
	if got.Status != StatusInvalid || got.InvalidatedBy != "system" || !strings.Contains(got.InvalidateReason, "注销") {
		t.Fatalf("after deregistration code = %+v, want invalid by system", got)
	}
	if evs := e.outboxEvents(events.QRInvalidated); len(evs) != 1 {
		t.Errorf("%d qr.invalidated events, want 1", len(evs))
	}
	// An update naming an entity never registered here issues its code.
	late := entity(t, "enterprise", "130104")
	e.send(events.EntityUpdated, events.EntityUpdatedData{Entity: late, Changed: []string{"name"}, UpdatedAt: e.clock})
	if c := e.codeOf(late.CreditCode); c.Status != StatusActive {
		t.Errorf("late entity's code status %q, want active", c.Status)
	}
}

func TestSweepInvalidatesInactiveEntities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	live := e.register(entity(t, "enterprise", "130102"))
	gone := e.register(entity(t, "enterprise", "130102"))
	// The deregistration event was lost; only the entity table knows.
	if _, err := e.pool.Exec(context.Background(), `UPDATE qr.entities SET status = 'revoked' WHERE credit_code = $1`, gone.CreditCode); err != nil {
		t.Fatal(err)
	}
	tick, _ := outbox.NewEvent("/apis/v1/namespaces/smartreg/pingsources/qr-sweep", events.Ping, "", events.PingData{"task": SweepTask}, e.clock)
	e.deliver(tick)
	e.deliver(tick) // redelivered tick: no second run
	if c := e.codeOf(gone.CreditCode); c.Status != StatusInvalid || !strings.Contains(c.InvalidateReason, "吊销") {
		t.Errorf("swept code = %+v, want invalid (吊销)", c)
	}
	if c := e.codeOf(live.CreditCode); c.Status != StatusActive {
		t.Errorf("live code status %q, want active", c.Status)
	}
	if evs := e.outboxEvents(events.QRInvalidated); len(evs) != 1 {
		t.Errorf("%d qr.invalidated, want 1", len(evs))
	}
	other, _ := outbox.NewEvent("/x", events.Ping, "", events.PingData{"task": "refresh-stats"}, e.clock)
	e.deliver(other)
}

// FP-46, FP-47: codes of institutions and non-enterprise units wait for review.
func TestInstitutionNeedsReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, typ := range []string{"institution", "non_enterprise"} {
		c := e.register(entity(t, typ, "130102"))
		if c.Status != StatusPending || c.ActivatedAt != nil {
			t.Fatalf("%s code status %q, want pending", typ, c.Status)
		}
	}
	if evs := e.outboxEvents(events.QRIssued); len(evs) != 0 {
		t.Fatalf("pending codes emitted %d qr.issued", len(evs))
	}
	a := e.codeOf(e.firstCredit("institution"))
	b := e.codeOf(e.firstCredit("non_enterprise"))
	reviewer := auth.Principal{UserID: "u-rev", Username: "reviewer1", Name: "审核员", Perms: []string{"qr.code:approve"}, Scope: auth.All()}

	// A pending code cannot be downloaded.
	if rec := e.do(&reviewer, "GET", "/qr/v1/codes/"+a.Token+".png", nil); rec.Code != http.StatusForbidden {
		t.Errorf("download without permission: %d", rec.Code)
	}
	boss := admin()
	if rec := e.do(&boss, "GET", "/qr/v1/codes/"+a.Token+"/poster.pdf", nil); rec.Code != http.StatusConflict {
		t.Errorf("download of a pending code: %d %s", rec.Code, rec.Body)
	}
	rec := e.do(&boss, "GET", "/qr/v1/codes?status=pending", nil)
	if page := decode[CodePage](t, rec); page.Total != 2 {
		t.Errorf("review queue holds %d codes, want 2: %s", page.Total, rec.Body)
	}
	rec = e.do(&reviewer, "POST", "/qr/v1/codes/"+a.Token+"/reject", map[string]string{"reason": " "})
	if rec.Code != http.StatusBadRequest || !strings.Contains(errorOf(t, rec).Error.Message, "驳回原因") {
		t.Fatalf("reject without reason: %d %s", rec.Code, rec.Body)
	}
	e.clock = e.clock.Add(time.Hour)
	rec = e.do(&reviewer, "POST", "/qr/v1/codes/"+a.Token+"/reject", map[string]string{"reason": "单位法人证书已过期"})
	if rec.Code != http.StatusOK {
		t.Fatalf("reject: %d %s", rec.Code, rec.Body)
	}
	got := decode[Code](t, rec)
	if got.Status != StatusRejected || got.RejectReason != "单位法人证书已过期" || !strings.HasPrefix(got.ReviewedBy, "reviewer1") ||
		got.ReviewedAt == nil || !got.ReviewedAt.Equal(e.clock) {
		t.Fatalf("rejected code = %+v, want reason, reviewer and time kept", got)
	}
	rec = e.do(&reviewer, "POST", "/qr/v1/codes/"+b.Token+"/approve", nil)
	if rec.Code != http.StatusOK || decode[Code](t, rec).Status != StatusActive {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body)
	}
	evs := e.outboxEvents(events.QRIssued)
	if len(evs) != 1 || evs[0].Subject() != b.CreditCode {
		t.Fatalf("after approval %d qr.issued, want 1 for %s", len(evs), b.CreditCode)
	}
	// Approving twice is a conflict, logged as a failed review.
	rec = e.do(&reviewer, "POST", "/qr/v1/codes/"+b.Token+"/approve", nil)
	if rec.Code != http.StatusConflict || !strings.Contains(errorOf(t, rec).Error.Message, "待审核") {
		t.Errorf("second approve: %d %s", rec.Code, rec.Body)
	}
	if n := e.count(`SELECT count(*) FROM qr.oplog WHERE action = 'review' AND result = 'failure' AND token = $1`, b.Token); n != 1 {
		t.Errorf("%d failed review log rows, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM qr.oplog WHERE action = 'review' AND result = 'success' AND operator_id = 'u-rev'`); n != 2 {
		t.Errorf("%d successful review log rows with the reviewer's id, want 2", n)
	}
}

func (e *env) firstCredit(typ string) string {
	var c string
	if err := e.pool.QueryRow(context.Background(), `SELECT credit_code FROM qr.codes WHERE entity_type = $1 ORDER BY issued_at LIMIT 1`, typ).Scan(&c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// FP-24: invalidation and restore; FP-25: both in the operation log, its filters and export.
func TestInvalidateAndReactivate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.register(entity(t, "enterprise", "130102"))
	p := admin()
	rec := e.do(&p, "POST", "/qr/v1/codes/"+c.Token+"/invalidate", map[string]string{})
	if rec.Code != http.StatusBadRequest || errorOf(t, rec).Error.Fields[0].Field != "reason" {
		t.Fatalf("invalidate without reason: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(&p, "POST", "/qr/v1/codes/"+c.Token+"/invalidate", map[string]string{"reason": "经营场所已变更，旧码作废"})
	if rec.Code != http.StatusOK || decode[Code](t, rec).Status != StatusInvalid {
		t.Fatalf("invalidate: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(&p, "GET", "/qr/v1/codes/"+c.Token+".png", nil); rec.Code != http.StatusConflict || !strings.Contains(errorOf(t, rec).Error.Message, "不能下载") {
		t.Errorf("download of an invalid code: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(&p, "POST", "/qr/v1/codes/"+c.Token+"/reactivate", map[string]string{"reason": "误操作"})
	if rec.Code != http.StatusOK || decode[Code](t, rec).Status != StatusActive {
		t.Fatalf("reactivate: %d %s", rec.Code, rec.Body)
	}
	inv, re := e.outboxEvents(events.QRInvalidated), e.outboxEvents(events.QRReactivated)
	if len(inv) != 1 || len(re) != 1 {
		t.Fatalf("events: %d invalidated, %d reactivated; want 1 each", len(inv), len(re))
	}
	var d events.QRInvalidatedData
	if err := inv[0].DataAs(&d); err != nil || d.Reason != "经营场所已变更，旧码作废" || d.Token != c.Token {
		t.Errorf("qr.invalidated data %+v", d)
	}
	// The log is searchable by action and code, and exports.
	rec = e.do(&p, "GET", "/qr/v1/oplog?action=invalidate&q="+c.CreditCode, nil)
	page := decode[OpLogPage](t, rec)
	if rec.Code != http.StatusOK || page.Total != 1 || page.Items[0].Operator != "city（市局用户）" || page.Items[0].Detail != "经营场所已变更，旧码作废" {
		t.Fatalf("oplog: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(&p, "GET", "/qr/v1/oplog?page=1&page_size=2", nil)
	if page := decode[OpLogPage](t, rec); page.Total != 4 || len(page.Items) != 2 || page.Items[0].Action != "reactivate" || page.Items[1].Result != "failure" {
		t.Errorf("oplog paging: %s", rec.Body)
	}
	rec = e.do(&p, "GET", "/qr/v1/oplog/export?from=2026-11-01&to=2026-11-30", nil)
	rows := xlsxRows(t, rec, "操作日志")
	if len(rows) != 5 || rows[0][1] != "操作人" || rows[4][2] != "赋码" || rows[2][5] != "失败" {
		t.Errorf("oplog export rows = %v", rows)
	}
	if rec := e.do(&p, "GET", "/qr/v1/oplog?action=delete", nil); rec.Code != http.StatusBadRequest {
		t.Errorf("bad action filter: %d", rec.Code)
	}
	// A deregistered entity's code cannot be restored.
	e.send(events.EntityDeregistered, events.EntityDeregisteredData{CreditCode: c.CreditCode, Status: "revoked", Version: 2, ChangedAt: e.clock})
	rec = e.do(&p, "POST", "/qr/v1/codes/"+c.Token+"/reactivate", nil)
	if rec.Code != http.StatusConflict || !strings.Contains(errorOf(t, rec).Error.Message, "吊销或注销") {
		t.Errorf("reactivate of a revoked entity: %d %s", rec.Code, rec.Body)
	}
}

func xlsxRows(t *testing.T, rec *httptest.ResponseRecorder, sheet string) [][]string {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("export: %d %s", rec.Code, rec.Body)
	}
	x, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func zbar(t *testing.T, data []byte, ext string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "code."+ext)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", p).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestDownloadsRenderOnceAndDecode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.register(entity(t, "enterprise", "130102"))
	if e.rend.calls.Load() != 0 {
		t.Fatal("issuing a code rendered an image")
	}
	p := authtest.CityWide("qr.code:download", "qr.stats:view")
	rec := e.do(&p, "GET", "/qr/v1/codes/"+c.Token+".png?size=400", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" || rec.Header().Get("X-Cache") != "miss" {
		t.Fatalf("png: %d %v", rec.Code, rec.Header())
	}
	if got := zbar(t, rec.Body.Bytes(), "png"); got != c.URL {
		t.Errorf("PNG decodes to %q, want %q", got, c.URL)
	}
	again := e.do(&p, "GET", "/qr/v1/codes/"+c.Token+".png?size=400", nil)
	if again.Header().Get("X-Cache") != "hit" || !bytes.Equal(again.Body.Bytes(), rec.Body.Bytes()) || e.rend.calls.Load() != 1 {
		t.Errorf("second PNG: cache %q, renders %d; want a hit and 1 render", again.Header().Get("X-Cache"), e.rend.calls.Load())
	}
	svg := e.do(&p, "GET", "/qr/v1/codes/"+c.Token+".svg", nil)
	if svg.Code != http.StatusOK || !strings.Contains(svg.Body.String(), "<svg") {
		t.Fatalf("svg: %d", svg.Code)
	}
	pdf := e.do(&p, "GET", "/qr/v1/codes/"+c.Token+"/poster.pdf?paper=A5", nil)
	if pdf.Code != http.StatusOK || pdf.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("poster: %d %s", pdf.Code, pdf.Body)
	}
	path := filepath.Join(t.TempDir(), "p.pdf")
	_ = os.WriteFile(path, pdf.Body.Bytes(), 0o644)
	text, err := exec.Command("pdftotext", path, "-").Output()
	if err != nil || !strings.Contains(string(text), c.EntityName) {
		t.Errorf("pdftotext: %v, text lacks %q: %q", err, c.EntityName, text)
	}
	e.do(&p, "GET", "/qr/v1/codes/"+c.Token+"/poster.pdf?paper=A5", nil)
	if n := e.rend.calls.Load(); n != 3 {
		t.Errorf("%d renders for png, png, svg, poster, poster; want 3", n)
	}
	// A renamed entity gets a fresh poster.
	ent := entity(t, "enterprise", "130102")
	ent.CreditCode, ent.Name, ent.Version = c.CreditCode, "更名后的商店", 2
	e.send(events.EntityUpdated, events.EntityUpdatedData{Entity: ent, Changed: []string{"name"}, UpdatedAt: e.clock})
	if rec := e.do(&p, "GET", "/qr/v1/codes/"+c.Token+"/poster.pdf?paper=A5", nil); rec.Header().Get("X-Cache") != "miss" {
		t.Errorf("poster after rename: cache %q, want miss", rec.Header().Get("X-Cache"))
	}
	// Bad input answers in Chinese.
	for path, want := range map[string]string{
		"/qr/v1/codes/" + c.Token + ".png?size=50":              "图片尺寸",
		"/qr/v1/codes/" + c.Token + ".gif":                      "下载格式",
		"/qr/v1/codes/" + c.Token + "/poster.pdf?paper=B5":      "纸张规格",
		"/qr/v1/codes/AAAAAAAAAAAAAAAA.png":                     "二维码不存在",
		"/qr/v1/codes/" + strings.ToLower(c.Token[:8]) + ".png": "二维码不存在",
	} {
		rec := e.do(&p, "GET", path, nil)
		if rec.Code/100 != 4 || !strings.Contains(errorOf(t, rec).Error.Message, want) {
			t.Errorf("GET %s: %d %s, want 4xx with %q", path, rec.Code, rec.Body, want)
		}
	}
	rec = e.do(&p, "GET", "/qr/v1/stats/downloads?from=2026-11-01&to=2026-11-30", nil)
	got := map[string]int64{}
	for _, d := range decode[DownloadStatsResult](t, rec).Items {
		got[d.Format] = d.Count
	}
	if got["png"] != 2 || got["svg"] != 1 || got["poster_a5"] != 3 || got["poster_a4"] != 0 {
		t.Errorf("download counts %v", got)
	}
	if n := e.count(`SELECT count(*) FROM qr.oplog WHERE action = 'download' AND result = 'success'`); n != 6 {
		t.Errorf("%d download log rows, want 6", n)
	}
}

func TestScopeAppliesToListsAndDownloads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Deps, c *Config) { c.MaxZipItems = 3 })
	mine := e.register(entity(t, "enterprise", "130102"))
	e.register(entity(t, "enterprise", "130102"))
	theirs := e.register(entity(t, "enterprise", "130104"))
	p := authtest.InDistricts(allPerms, "130102")
	rec := e.do(&p, "GET", "/qr/v1/codes", nil)
	page := decode[CodePage](t, rec)
	if page.Total != 2 {
		t.Fatalf("scoped list total %d, want 2: %s", page.Total, rec.Body)
	}
	for _, c := range page.Items {
		if c.DistrictCode != "130102" {
			t.Errorf("scoped list holds %s in %s", c.Token, c.DistrictCode)
		}
	}
	if rec := e.do(&p, "GET", "/qr/v1/codes/"+theirs.Token+".png", nil); rec.Code != http.StatusForbidden {
		t.Errorf("download outside scope: %d", rec.Code)
	}
	if rec := e.do(&p, "GET", "/qr/v1/codes/"+theirs.Token, nil); rec.Code != http.StatusForbidden {
		t.Errorf("get outside scope: %d", rec.Code)
	}
	if rec := e.do(&p, "POST", "/qr/v1/codes/"+theirs.Token+"/invalidate", map[string]string{"reason": "x"}); rec.Code != http.StatusForbidden {
		t.Errorf("invalidate outside scope: %d", rec.Code)
	}
	if rec := e.do(&p, "GET", "/qr/v1/codes/"+mine.Token, nil); rec.Code != http.StatusOK || decode[Code](t, rec).Token != mine.Token {
		t.Errorf("get inside scope: %d", rec.Code)
	}
	// A batch download of every enterprise holds only the scope's codes.
	rec = e.do(&p, "POST", "/qr/v1/downloads", map[string]any{"credit_codes": []string{mine.CreditCode, theirs.CreditCode}, "format": "svg"})
	if rec.Code != http.StatusOK || rec.Header().Get("X-Item-Count") != "1" {
		t.Fatalf("scoped zip: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	city := admin()
	rec = e.do(&city, "POST", "/qr/v1/downloads", map[string]any{"district_code": "130102", "format": "png", "size": 300})
	if rec.Code != http.StatusOK || rec.Header().Get("X-Item-Count") != "2" || !bytes.HasPrefix(rec.Body.Bytes(), []byte("PK")) {
		t.Fatalf("zip: %d %v", rec.Code, rec.Header())
	}
	e.register(entity(t, "enterprise", "130102"))
	e.register(entity(t, "enterprise", "130102"))
	rec = e.do(&city, "POST", "/qr/v1/downloads", map[string]any{"district_code": "130102"})
	if rec.Code != http.StatusBadRequest || !strings.Contains(errorOf(t, rec).Error.Message, "最多 3 个") {
		t.Errorf("zip over the cap: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(&city, "POST", "/qr/v1/downloads", map[string]any{})
	if rec.Code != http.StatusBadRequest || !strings.Contains(errorOf(t, rec).Error.Message, "请选择") {
		t.Errorf("zip without selection: %d %s", rec.Code, rec.Body)
	}
	// Stats follow the scope too.
	rec = e.do(&p, "GET", "/qr/v1/stats?group=district&from=2026-11-01&to=2026-11-30", nil)
	st := decode[StatsResult](t, rec)
	if len(st.Items) != 1 || st.Items[0].Key != "130102" || st.Items[0].Label != "长安区" || st.Total != 4 {
		t.Errorf("scoped stats: %s", rec.Body)
	}
}

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.register(entity(t, "enterprise", "130102"))
	if rec := e.do(nil, "GET", "/qr/v1/codes", nil); rec.Code != http.StatusUnauthorized || errorOf(t, rec).Error.Message != auth.MsgLoginRequired {
		t.Errorf("anonymous list: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(nil, "GET", "/qr/v1/codes/"+c.Token+".png", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("anonymous download: %d", rec.Code)
	}
	viewer := authtest.CityWide("qr.code:view")
	for _, r := range []struct{ method, path string }{
		{"POST", "/qr/v1/codes/" + c.Token + "/approve"}, {"POST", "/qr/v1/codes/" + c.Token + "/invalidate"},
		{"POST", "/qr/v1/batches"}, {"GET", "/qr/v1/oplog"}, {"GET", "/qr/v1/stats"}, {"GET", "/qr/v1/stats/export"},
		{"POST", "/qr/v1/downloads"}, {"GET", "/qr/v1/codes/" + c.Token + "/poster.pdf"},
	} {
		if rec := e.do(&viewer, r.method, r.path, map[string]string{}); rec.Code != http.StatusForbidden {
			t.Errorf("%s %s as viewer: %d", r.method, r.path, rec.Code)
		}
	}
	if rec := e.do(&viewer, "GET", "/qr/v1/codes?status=bogus", nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "状态") {
		t.Errorf("bad status filter: %d %s", rec.Code, rec.Body)
	}
}

func TestBulkIssuance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var list []events.Entity
	for i := range 2600 {
		typ := "enterprise"
		switch i % 13 {
		case 0:
			typ = "institution"
		case 1:
			typ = "non_enterprise"
		}
		district := "130102"
		if i%2 == 0 {
			district = "130104"
		}
		ent := entity(t, typ, district)
		if i%100 == 99 {
			ent.Status = "deregistered"
		}
		list = append(list, ent)
	}
	if n, err := e.f.LoadEntities(context.Background(), list); err != nil || n != 2600 {
		t.Fatalf("LoadEntities = %d, %v", n, err)
	}
	// An existing code is kept.
	pre := e.register(list[2])
	res, err := e.f.IssueBulk(context.Background(), Selection{}, BulkOptions{ChunkSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var wantActive, wantPending int64
	for i, ent := range list {
		switch {
		case ent.Status != "active" || i == 2:
		case needsReview(ent.EntityType):
			wantPending++
		default:
			wantActive++
		}
	}
	if res.Issued != wantActive || res.Pending != wantPending {
		t.Fatalf("bulk = %+v, want %d issued, %d pending", res, wantActive, wantPending)
	}
	if c := e.codeOf(list[2].CreditCode); c.Token != pre.Token {
		t.Errorf("bulk replaced an existing code")
	}
	if n := e.count(`SELECT count(*) FROM qr.codes WHERE source = 'bulk'`); int64(n) != wantActive+wantPending {
		t.Errorf("%d bulk codes", n)
	}
	// Events: qr.batch-issued of at most 1000 codes covering every active code.
	evs := e.outboxEvents(events.QRBatchIssued)
	if int64(len(evs)) != res.Events {
		t.Errorf("%d batch events, result says %d", len(evs), res.Events)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		d := strictData[events.QRBatchIssuedData](t, ev)
		if ev.Source() != Source || !ev.Time().Equal(e.clock) || !d.IssuedAt.Equal(e.clock) {
			t.Fatalf("batch event %s from %s at %s (data %s), want %s at the clock", ev.ID(), ev.Source(), ev.Time(), d.IssuedAt, Source)
		}
		if len(d.Codes) == 0 || len(d.Codes) > BatchEventSize || d.BatchID != res.BatchID || d.BaseURL != baseURL+"/q/" {
			t.Fatalf("batch event %+v", d)
		}
		for _, m := range d.Codes {
			if !e.f.tokens.Valid(m.Token) || seen[m.Token] {
				t.Fatalf("bad or repeated token %q in batch events", m.Token)
			}
			seen[m.Token] = true
		}
	}
	if int64(len(seen)) != wantActive {
		t.Errorf("batch events carry %d codes, want %d", len(seen), wantActive)
	}
	var active int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM qr.codes WHERE status = 'active' AND source = 'bulk'`).Scan(&active); err != nil || int64(active) != wantActive {
		t.Errorf("active bulk codes %d", active)
	}
	// Running again issues nothing.
	if res, err := e.f.IssueBulk(context.Background(), Selection{}, BulkOptions{}); err != nil || res.Issued+res.Pending != 0 {
		t.Errorf("second bulk = %+v, %v", res, err)
	}
}

func TestBulkPerCodeEventsAndBatchAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var list []events.Entity
	for range 30 {
		list = append(list, entity(t, "enterprise", "130102"))
	}
	other := entity(t, "enterprise", "130104")
	list = append(list, other)
	if _, err := e.f.LoadEntities(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	res, err := e.f.IssueBulk(context.Background(), Selection{CreditCodes: []string{list[0].CreditCode, list[1].CreditCode}}, BulkOptions{PerCodeEvents: true})
	if err != nil || res.Issued != 2 || res.Events != 2 {
		t.Fatalf("per-code bulk = %+v, %v", res, err)
	}
	evs := e.outboxEvents(events.QRIssued)
	if len(evs) != 2 {
		t.Fatalf("%d qr.issued", len(evs))
	}
	for _, ev := range evs {
		d := strictData[events.QRIssuedData](t, ev)
		if !e.f.tokens.Valid(d.Token) || d.URL != baseURL+"/q/"+d.Token || !d.IssuedAt.Equal(e.clock) || ev.Subject() != d.CreditCode ||
			(d.CreditCode != list[0].CreditCode && d.CreditCode != list[1].CreditCode) {
			t.Errorf("per-code event %s data %+v", ev.Subject(), d)
		}
	}
	p := authtest.InDistricts([]string{"qr.code:create"}, "130102")
	unknown := creditCode(t, "91", "130102")
	// A list naming an entity outside the caller's scope is refused, by
	// its place in the list, and records nothing.
	rec := e.do(&p, "POST", "/qr/v1/batches", map[string]any{"credit_codes": []string{list[2].CreditCode, unknown, other.CreditCode}})
	if body := errorOf(t, rec); rec.Code != http.StatusForbidden || len(body.Error.Fields) != 1 || body.Error.Fields[0].Field != "credit_codes[2]" ||
		strings.Contains(rec.Body.String(), other.CreditCode) {
		t.Fatalf("batch with a code outside the scope: %d %s", rec.Code, rec.Body)
	}
	if n := e.count(`SELECT count(*) FROM qr.batch_jobs`); n != 0 {
		t.Fatalf("the refused batch left %d jobs", n)
	}
	// A short list of credit codes is issued within the request.
	rec = e.do(&p, "POST", "/qr/v1/batches", map[string]any{"credit_codes": []string{list[2].CreditCode, unknown, list[0].CreditCode}})
	got := decode[BatchJob](t, rec)
	if rec.Code != http.StatusCreated || got.Status != JobDone || got.Issued != 1 || got.Total != 3 || got.Skipped != 1 ||
		len(got.Unknown) != 1 || got.Unknown[0] != unknown || got.UnknownCount != 1 {
		t.Fatalf("batch by codes: %d %s", rec.Code, rec.Body)
	}
	// A district is queued and issued by the runner.
	rec = e.do(&p, "POST", "/qr/v1/batches", map[string]any{"district_code": "130102"})
	if got := decode[BatchJob](t, rec); rec.Code != http.StatusAccepted || got.Status != JobQueued || got.Issued != 0 {
		t.Fatalf("batch by district: %d %s", rec.Code, rec.Body)
	}
	if ran, err := e.f.runNextJob(context.Background()); !ran || err != nil {
		t.Fatalf("runNextJob = %v, %v", ran, err)
	}
	if n := e.count(`SELECT count(*) FROM qr.codes WHERE district_code = '130102'`); n != 30 {
		t.Fatalf("%d codes in 130102 after the district batch, want 30", n)
	}
	if n := e.count(`SELECT count(*) FROM qr.codes WHERE credit_code = $1`, other.CreditCode); n != 0 {
		t.Errorf("scoped batch issued a code outside the scope")
	}
	rec = e.do(&p, "POST", "/qr/v1/batches", map[string]any{"district_code": "130104"})
	if rec.Code != http.StatusForbidden {
		t.Errorf("batch for another district: %d", rec.Code)
	}
	for body, want := range map[string]string{
		`{}`:                                "请提供",
		`{"credit_codes":["91130102XXXX"]}`: "统一社会信用代码",
		`{"district_code":"999999"}`:        "行政区划",
		`{"entity_type":"shop"}`:            "主体类型",
		`{"industry_code":"52"}`:            "应填写4位小类代码",
		`{"district_code":"130102","x":1}`:  "JSON",
	} {
		req := httptest.NewRequest("POST", "/qr/v1/batches", strings.NewReader(body))
		req.Header.Set("Authorization", e.iss.Bearer(p))
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("batch %s: %d %s, want 400 with %q", body, rec.Code, rec.Body, want)
		}
	}
}

// FP-48, FP-49: issuance statistics.
func TestStatsByGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(entity(t, "enterprise", "130102"))
	e.register(entity(t, "institution", "130102"))
	e.clock = e.clock.AddDate(0, 0, 1)
	e.register(entity(t, "enterprise", "130104"))
	p := admin()
	rec := e.do(&p, "GET", "/qr/v1/stats?group=day&from=2026-11-01&to=2026-11-30", nil)
	st := decode[StatsResult](t, rec)
	if rec.Code != http.StatusOK || len(st.Items) != 2 || st.Items[0].Key != "2026-11-20" || st.Items[0].Issued != 2 ||
		st.Items[0].Pending != 1 || st.Items[1].Key != "2026-11-21" || st.Total != 3 {
		t.Fatalf("by day: %s", rec.Body)
	}
	rec = e.do(&p, "GET", "/qr/v1/stats?group=type&from=2026-11-21&to=2026-11-21", nil)
	st = decode[StatsResult](t, rec)
	if len(st.Items) != 1 || st.Items[0].Key != "enterprise" || st.Items[0].Label != "企业" {
		t.Errorf("by type on one day: %s", rec.Body)
	}
	rec = e.do(&p, "GET", "/qr/v1/stats?group=industry&from=2026-11-01&to=2026-11-30", nil)
	if st := decode[StatsResult](t, rec); len(st.Items) != 1 || st.Items[0].Label != "百货零售" {
		t.Errorf("by industry: %s", rec.Body)
	}
	rows := xlsxRows(t, e.do(&p, "GET", "/qr/v1/stats/export?group=type&from=2026-11-01&to=2026-11-30", nil), "赋码统计")
	if len(rows) != 3 || rows[0][2] != "赋码数" {
		t.Errorf("stats export rows %v", rows)
	}
	for q, want := range map[string]string{"group=week": "统计维度", "from=2026-13-01": "日期格式", "from=2026-11-30&to=2026-11-01": "早于", "from=2020-01-01&to=2026-01-01": "一年"} {
		rec := e.do(&p, "GET", "/qr/v1/stats?"+q, nil)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("stats?%s: %d %s", q, rec.Code, rec.Body)
		}
	}
}

func TestSyncFromRegistryBackfillsEntities(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if n, err := newEnv(t).f.SyncFromRegistry(ctx); err != nil || n != 0 {
		t.Fatalf("SyncFromRegistry without a registry schema = %d, %v; want 0, nil", n, err)
	}
	// The registry's own migrations, read from its directory (functions do
	// not import each other): its tables and its published read function.
	e := newEnvOn(t, storetest.New(t, append([]store.Migration{{Component: "registry", FS: os.DirFS("../registry"), Dir: "migrations"}}, Migrations()...)...))
	a, b := entity(t, "enterprise", "130102"), entity(t, "individual", "130104")
	b.TownshipCode = ""
	for _, x := range []events.Entity{a, b} {
		if _, err := e.pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on, address,
				district_code, township_code, industry_code)
			VALUES ($1, $2, $3, '张三', '2020-01-02', '长安区建设北大街1号', $4, $5, $6)`,
			x.CreditCode, x.Name, x.EntityType, x.DistrictCode, x.TownshipCode, x.IndustryCode); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.f.SyncFromRegistry(ctx); err != nil || n != 2 {
		t.Fatalf("SyncFromRegistry = %d, %v; want 2", n, err)
	}
	var township, industry string
	if err := e.pool.QueryRow(ctx, `SELECT township_code, industry_code FROM qr.entities WHERE credit_code = $1`, a.CreditCode).Scan(&township, &industry); err != nil ||
		township != a.TownshipCode || industry != "5211" {
		t.Errorf("synced entity township %q industry %q (%v), want %q and 5211 unpadded", township, industry, err, a.TownshipCode)
	}
	res, err := e.f.IssueBulk(ctx, Selection{DistrictCode: "130104"}, BulkOptions{})
	if err != nil || res.Issued != 1 {
		t.Fatalf("IssueBulk for 130104 = %+v, %v", res, err)
	}
	if c := e.codeOf(b.CreditCode); c.EntityName != b.Name || c.Source != "bulk" || c.IndustryCode != "5211" || c.TownshipCode != "" {
		t.Errorf("backfilled code = %+v", c)
	}

	// The sync reads what registry.entity_snapshot() answers, not the
	// registry's table: a snapshot that says otherwise wins.
	if _, err := e.pool.Exec(ctx, `CREATE OR REPLACE FUNCTION registry.entity_snapshot()
		RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
			industry_code text, status text, version int, updated_at timestamptz)
		LANGUAGE sql STABLE AS $$
			SELECT e.credit_code::text, e.name || '（快照）', e.entity_type, e.district_code::text, e.township_code::text,
				e.industry_code::text, e.status, e.version + 1, e.updated_at FROM registry.entities e $$`); err != nil {
		t.Fatal(err)
	}
	if n, err := e.f.SyncFromRegistry(ctx); err != nil || n != 2 {
		t.Fatalf("SyncFromRegistry through the replaced snapshot = %d, %v; want 2", n, err)
	}
	if n := e.count(`SELECT count(*) FROM qr.entities WHERE name LIKE '%（快照）' AND version = 2`); n != 2 {
		t.Errorf("%d entities carry the snapshot's name and version, want 2", n)
	}
	// Without the function there is nothing to sync, though the table is there.
	if _, err := e.pool.Exec(ctx, `DROP FUNCTION registry.entity_snapshot()`); err != nil {
		t.Fatal(err)
	}
	if n, err := e.f.SyncFromRegistry(ctx); err != nil || n != 0 {
		t.Errorf("SyncFromRegistry without registry.entity_snapshot() = %d, %v; want 0, nil", n, err)
	}
}

// TestEntitySnapshotIsInlined keeps registry.entity_snapshot() a plain
// scan of the registry's table for the planner, as its comment promises:
// a function scan would materialise 1.5 M rows before the upsert.
func TestEntitySnapshotIsInlined(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, store.Migration{Component: "registry", FS: os.DirFS("../registry"), Dir: "migrations"})
	rows, err := pool.Query(context.Background(), `EXPLAIN SELECT * FROM registry.entity_snapshot()`)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if strings.Contains(text, "Function Scan") || !strings.Contains(text, "entities") {
		t.Errorf("plan of registry.entity_snapshot():\n%s\nwant a scan of registry.entities", text)
	}
}
