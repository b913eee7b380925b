package metrology

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/conformance"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// clock is a settable test clock (never the wall clock in assertions).
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type harness struct {
	f     *Function
	h     http.Handler
	pool  *pgxpool.Pool
	iss   *authtest.Issuer
	clock *clock
	perms []string
}

// registryMigrations are the registry's own migrations, read from its
// directory (functions do not import each other): its tables and the
// published read function metrology calls.
func registryMigrations() store.Migration {
	return store.Migration{Component: "registry", FS: os.DirFS("../registry"), Dir: "migrations"}
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	pool := storetest.New(t, registryMigrations(), Migrations()[0], auditlogtest.Migration())
	b, err := blob.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, cst)}
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b, Now: c.now, Verifier: iss.Verifier()},
		config.Defaults[Config]())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := f.Handler()
	return &harness{f: f, h: h, pool: pool, iss: iss, clock: c, perms: conformance.Permissions(h)}
}

// Callers of the tests.
func (h *harness) city() string { return h.iss.Bearer(authtest.CityWide(h.perms...)) }

func (h *harness) county(district string) string {
	p := authtest.InDistricts(h.perms, district)
	p.Username, p.UserID = "county-"+district, "county-"+district
	return h.iss.Bearer(p)
}

func (h *harness) party(username, role string) string {
	return h.iss.Bearer(auth.Principal{UserID: "u-" + username, Username: username, Name: username, Roles: []string{role},
		Perms: h.perms, Scope: auth.All()})
}

func (h *harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	if _, ok := body.([]byte); ok {
		req.Header.Set("Content-Type", "image/png")
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

// must calls and decodes, failing on an unexpected status.
func must[T any](t *testing.T, h *harness, want int, bearer, method, path string, body any) T {
	t.Helper()
	rec := h.do(t, bearer, method, path, body)
	if rec.Code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	var out T
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: decode: %v: %s", method, path, err, rec.Body)
		}
	}
	return out
}

func fieldOf(t *testing.T, rec *httptest.ResponseRecorder) (string, string) {
	t.Helper()
	var b httpx.ErrorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &b)
	if len(b.Error.Fields) == 0 {
		return "", b.Error.Message
	}
	return b.Error.Fields[0].Field, b.Error.Fields[0].Message
}

func creditCode(t *testing.T, district string, n int) string {
	t.Helper()
	c, err := codes.MakeCreditCode("91", district, fmt.Sprintf("MA%06d", n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// instID is a valid institution credit code.
func instID(t *testing.T) string {
	t.Helper()
	c, err := codes.MakeCreditCode("12", "130100", "MB000001")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixture is a world to test in: an institution with a valid fuel-
// dispenser and scale standard and its account, an enterprise in 长安区
// with a usage location, its account, and some instruments.
type fixture struct {
	inst, ent, foreign string
	location           int64
	dispenser, scale   int64
	water              int64
	standard           int64
}

func (h *harness) setup(t *testing.T) fixture {
	t.Helper()
	fx := fixture{inst: instID(t), ent: creditCode(t, "130102", 1), foreign: creditCode(t, "130104", 2)}
	city := h.city()
	must[Institution](t, h, 201, city, "POST", "/metrology/v1/institutions", map[string]any{"id": fx.inst, "name": "石家庄市计量检定测试所",
		"authorisation_no": "(冀)法计(2024)01001号", "address": "石家庄市长安区建设北大街 88 号", "phone": "0311-86000000", "postcode": "050000",
		"cert_prefix": "JD", "usernames": []string{"jdjg01"}})
	std := must[Standard](t, h, 201, city, "POST", "/metrology/v1/standards", map[string]any{"institution_id": fx.inst, "name": "燃油加油机检定装置",
		"range": "(0～150)L/min", "accuracy": "0.05级", "categories": []string{"0401", "0501", "0502", "0101"},
		"certificates": []map[string]any{{"kind": "assessment", "number": "[2024]冀量标石证字第001号", "valid_until": "2028-06-30"},
			{"kind": "social_public", "number": "[2024]冀社量标石证字第001号", "valid_until": "2028-06-30"}},
		"instruments": []map[string]any{{"name": "标准金属量器", "model": "20L", "serial_no": "BZ-2001", "accuracy": "二等",
			"certificate_no": "JL2025-0101", "valid_until": "2027-01-31"}}})
	fx.standard = std.ID
	for _, e := range []struct{ code, district, name string }{{fx.ent, "130102", "长安区恒达加油站有限公司"}, {fx.foreign, "130104", "桥西区顺发商贸有限公司"}} {
		must[Enterprise](t, h, 201, city, "POST", "/metrology/v1/enterprises", map[string]any{"credit_code": e.code, "name": e.name,
			"district_code": e.district, "address": "石家庄市测试路 1 号", "contact": "王经理", "phone": "13800000001", "email": "wang@example.com"})
	}
	// The enterprise's account binds to it.
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO metrology.parties (username, kind, ref, created_at) VALUES ('qiye01', 'enterprise', $1, now())`, fx.ent); err != nil {
		t.Fatal(err)
	}
	ent := h.party("qiye01", RoleEnterprise)
	fx.location = must[Location](t, h, 201, ent, "POST", "/metrology/v1/enterprises/"+fx.ent+"/locations", map[string]any{"name": "一号加油岛"}).ID
	fx.dispenser = must[Instrument](t, h, 201, ent, "POST", "/metrology/v1/instruments", map[string]any{"credit_code": fx.ent, "category_code": "0401",
		"model": "CS46", "serial_no": "JYJ-001", "manufacturer": "正星科技", "location_id": fx.location, "valid_until": "2026-06-30"}).ID
	fx.scale = must[Instrument](t, h, 201, ent, "POST", "/metrology/v1/instruments", map[string]any{"credit_code": fx.ent, "category_code": "0101",
		"name": "电子计价秤", "model": "ACS-15", "serial_no": "CZ-001", "manufacturer": "上海友声", "location_id": fx.location}).ID
	fx.water = must[Instrument](t, h, 201, ent, "POST", "/metrology/v1/instruments", map[string]any{"credit_code": fx.ent, "category_code": "0601",
		"model": "LXS-20", "serial_no": "SB-001"}).ID
	return fx
}

func outboxTypes(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT event_type FROM platform.outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func lastEvent[T any](t *testing.T, pool *pgxpool.Pool, typ string) T {
	t.Helper()
	var raw []byte
	if err := pool.QueryRow(context.Background(), `SELECT event FROM platform.outbox WHERE event_type = $1 ORDER BY seq DESC LIMIT 1`, typ).Scan(&raw); err != nil {
		t.Fatalf("no %s event: %v", typ, err)
	}
	var e event.Event
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	d, err := events.Decode[T](e)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	b, _ := blob.Open(context.Background(), "file://"+t.TempDir())
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Blob: b, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Blob: b, Now: time.Now, Verifier: iss.Verifier()},
		"blob":     {Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Blob: b, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Blob: b, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	full := Deps{Logger: log, Pool: pool, Blob: b, Now: time.Now, Verifier: iss.Verifier()}
	if _, err := New(full, Config{}); err == nil {
		t.Error("an invalid Config accepted")
	}
	if _, err := New(full, def); err != nil {
		t.Errorf("complete deps refused: %v", err)
	}
}

// Every setting is documented where operators look (docs/operations.md,
// generated by the platform's settings test).
func TestConfigIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range config.Describe(Config{}) {
		if f.Help == "" || !strings.Contains(string(doc), "`"+f.Env+"`") {
			t.Errorf("%s lacks help text or is not in docs/operations.md (go test ./infra/local/platform -run Settings -update)", f.Env)
		}
	}
}
