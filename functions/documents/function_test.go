package documents

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

type harness struct {
	f     *Function
	h     http.Handler
	iss   *authtest.Issuer
	pool  *pgxpool.Pool
	blob  *blob.Dir
	clock *clock
	// Entities in 长安区 (130102) and 桥西区 (130104).
	changan, qiaoxi string
}

// registryMigrations are the registry's own migrations, read from its
// directory (functions never import each other): documents reads the
// registry through registry.document_prefill.
func registryMigrations() store.Migration {
	return store.Migration{Component: "registry", FS: os.DirFS("../registry"), Dir: "migrations"}
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	pool := storetest.New(t, append(append([]store.Migration{registryMigrations()}, Migrations()...), auditlogtest.Migration())...)
	dir, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: dir, Now: c.now,
		Verifier: iss.Verifier()}, config.Defaults[Config]())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := &harness{f: f, h: f.Handler(), iss: iss, pool: pool, blob: dir, clock: c}
	h.changan = h.entity(t, "130102", 1, "石家庄长安诚信商贸有限公司")
	h.qiaoxi = h.entity(t, "130104", 2, "石家庄桥西福源超市有限公司")
	return h
}

// entity registers a market entity in the registry's tables, with a
// penalty and an abnormal-list record to repair.
func (h *harness) entity(t *testing.T, district string, n int, name string) string {
	t.Helper()
	code, err := codes.MakeCreditCode("91", district, fmt.Sprintf("MA0D%04d", n))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
		registered_capital, address, district_code, industry_code) VALUES ($1, $2, 'enterprise', '张建国', '2019-05-20', 500, $3, $4, '5211')`,
		code, name, "石家庄市测试路"+fmt.Sprint(n)+"号", district); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, ref_no, title, authority, occurred_on) VALUES
		($1, 'penalty', '石市监罚〔2025〕12号', '行政处罚决定书', '石家庄市市场监督管理局', '2025-06-01'),
		($1, 'abnormal_list', '石市监异〔2024〕3号', '列入经营异常名录决定书', '石家庄市长安区市场监督管理局', '2024-07-01'),
		($1, 'licence', 'JY1301020000001', '食品经营许可证', '石家庄市市场监督管理局', '2023-01-01')`, code); err != nil {
		t.Fatal(err)
	}
	return code
}

// Principals of the tests.
var (
	enterprisePerms = []string{PermDocument + ":view", PermDocument + ":create", PermDocument + ":edit", PermTemplate + ":view"}
	reviewerPerms   = []string{PermDocument + ":view", PermDocument + ":review", PermDocument + ":publish", PermTemplate + ":view"}
	authorPerms     = []string{PermTemplate + ":view", PermTemplate + ":create", PermTemplate + ":edit"}
)

func enterprise(id string) auth.Principal {
	return auth.Principal{UserID: id, Username: id, Name: "企业用户" + id, DeptID: "dept-ent", Roles: []string{"enterprise"},
		Perms: enterprisePerms, Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}}
}

func reviewer(id string, districts ...string) auth.Principal {
	return auth.Principal{UserID: id, Username: id, Name: "审核员" + id, DeptID: "dept-rev", Roles: []string{"docs_reviewer"},
		Perms: reviewerPerms, Scope: auth.Scope{Kind: auth.ScopeDept, Districts: districts}}
}

func (h *harness) bearer(p auth.Principal) string { return h.iss.Bearer(p) }

// do sends a JSON request (body marshalled unless it is a string).
func (h *harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

// must sends a request that must answer want, and decodes the answer.
func (h *harness) must(t *testing.T, want int, bearer, method, path string, body, out any) {
	t.Helper()
	rec := h.do(t, bearer, method, path, body)
	if rec.Code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	if out != nil {
		// Decode into a zero value: json.Unmarshal merges into the maps
		// of a value it is given.
		reflect.ValueOf(out).Elem().SetZero()
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, rec.Body, err)
		}
	}
}

// repairValues fills the 信用修复申请书 beyond what the registry prefills.
func repairValues() map[string]string {
	return map[string]string{
		"contact": "李娜", "phone": "0311-86001234", "authority": "石家庄市长安区市场监督管理局",
		"record_kind": "行政处罚信息公示", "decision_no": "石市监罚〔2025〕12号", "decision_authority": "石家庄市市场监督管理局",
		"decision_date": "2025-06-01", "fine_amount": "20000", "reason": "本单位已于2025年7月1日全额缴纳罚款，并已整改完毕，建立了进货查验制度。",
		"attachments": "1. 守信承诺书\n2. 罚款缴款凭证\n3. 营业执照复印件", "apply_date": "2026-03-01",
	}
}

// newRepair drafts a 信用修复申请书 for code as p.
func (h *harness) newRepair(t *testing.T, p auth.Principal, code string) Detail {
	t.Helper()
	var d Detail
	h.must(t, 201, h.bearer(p), "POST", "/docs/v1/documents", CreateInput{TemplateCode: "credit_repair", CreditCode: code,
		Values: repairValues(), Summary: "起草"}, &d)
	return d
}

func (h *harness) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	dir, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Blob: dir, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Blob: dir, Now: time.Now, Verifier: iss.Verifier()},
		"blob":     {Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Blob: dir, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Blob: dir, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil || !strings.Contains(strings.ToLower(err.Error()), name) {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	full := Deps{Logger: log, Pool: pool, Blob: dir, Now: time.Now, Verifier: iss.Verifier()}
	for name, mut := range map[string]func(*Config){
		"empty config":   func(c *Config) { *c = Config{} },
		"link hours":     func(c *Config) { c.LinkMaxHours = 1 },
		"backup prefix":  func(c *Config) { c.BackupPrefix = "docs/backups/" },
		"no base url":    func(c *Config) { c.BaseURL = "localhost" },
		"no authority":   func(c *Config) { c.Authority = " " },
		"absolute":       func(c *Config) { c.BackupPrefix = "/backups/" },
		"no trailing /":  func(c *Config) { c.BackupPrefix = "backups" },
		"default is bad": func(c *Config) { c.LinkDefaultHours = 0 },
		"keep nothing":   func(c *Config) { c.KeepWeekly = 0 },
	} {
		c := def
		mut(&c)
		if _, err := New(full, c); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := New(full, def); err != nil {
		t.Errorf("defaults refused: %v", err)
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

// FP-36, FP-37. Start writes the built-in templates once; a second start (or a
// replica) adds nothing and keeps an author's edits.
func TestBuiltinTemplates(t *testing.T) {
	h := newHarness(t)
	var list []Template
	h.must(t, 200, h.bearer(authtest.CityWide(authorPerms...)), "GET", "/docs/v1/templates", nil, &list)
	titles := map[string]string{}
	for _, tp := range list {
		titles[tp.Code] = tp.Title
	}
	for code, title := range map[string]string{"credit_repair": "信用修复申请书", "pledge_integrity": "诚信经营自律承诺书",
		"pledge_data": "数据保护自律承诺书", "pledge_consumer": "消费者权益保护自律承诺书", "pledge_environment": "环境保护自律承诺书",
		"pledge_food": "食品安全自律承诺书", "pledge_quality": "产品质量自律承诺书"} {
		if titles[code] != title {
			t.Errorf("template %s = %q, want %q", code, titles[code], title)
		}
	}
	if list[0].Code != "credit_repair" {
		t.Errorf("the 信用修复申请书 should come first, got %s", list[0].Code)
	}
	// The 信用修复申请书 has what 《市场监督管理信用修复管理办法》 asks: the
	// entity, the record to repair, the reason, the commitment and the
	// attachments.
	tp, err := h.f.GetTemplate(context.Background(), "credit_repair")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"record_kind", "decision_no", "reason", "attachments", "signature", "credit_code"} {
		if !strings.Contains(tp.Body, "{{"+want+"}}") {
			t.Errorf("信用修复申请书 lacks {{%s}}", want)
		}
	}
	if !strings.Contains(tp.Body, "本单位郑重承诺") || !strings.Contains(tp.Body, "《市场监督管理信用修复管理办法》") {
		t.Error("信用修复申请书 lacks the commitment or the regulation it follows")
	}
	if _, err := h.f.UpdateTemplate(context.Background(), actor{ID: "a", Name: "作者"}, "pledge_food",
		TemplateInput{Kind: "pledge", Title: "食品安全承诺书", Body: tp2(t, h, "pledge_food").Body, Fields: tp2(t, h, "pledge_food").Fields, Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	if err := h.f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.count(t, `SELECT count(*) FROM docs.templates`); n != len(Builtins()) {
		t.Errorf("%d templates after a second start, want %d", n, len(Builtins()))
	}
	if got := tp2(t, h, "pledge_food"); got.Title != "食品安全承诺书" || got.Version != "1.0.1" {
		t.Errorf("the edited template after a restart: %q %s", got.Title, got.Version)
	}
}

func tp2(t *testing.T, h *harness, code string) Template {
	t.Helper()
	tp, err := h.f.GetTemplate(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}
