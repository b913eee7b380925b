package scanresolve

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/scan-resolve/contractstub"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
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
	"github.com/sjzamr/smartreg/shared/testwait"
)

// The read functions scan-resolve calls in the registry and qr schemas are
// stubs with their published signatures (contractstub; functions do not
// import each other): the tests exercise the contracts, not the owners'
// tables, and infra/local/platform's TestScanContractStubs proves the
// stubs match the real functions.
func testMigrations() []store.Migration {
	return append(append(contractstub.Migrations(), Migrations()...), auditlogtest.Migration())
}

// marked requests are the ones whose queries the counters count, so the
// flusher's background work does not disturb them.
type markKey struct{}

func marked(ctx context.Context) context.Context { return context.WithValue(ctx, markKey{}, true) }
func isMarked(ctx context.Context) bool          { return ctx.Value(markKey{}) != nil }

type pgCounter struct{ n atomic.Int64 }

func (c *pgCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if isMarked(ctx) {
		c.n.Add(1)
	}
	return ctx
}
func (c *pgCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

type redisCounter struct{ n atomic.Int64 }

func (c *redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isMarked(ctx) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if isMarked(ctx) {
			c.n.Add(int64(len(cmds)))
		}
		return next(ctx, cmds)
	}
}

type env struct {
	t       testing.TB
	db      string
	pool    *pgxpool.Pool
	rdb     *redis.Client
	prefix  string
	blobDir string
	codec   *qrtoken.Codec
	issuer  *authtest.Issuer
	pgN     *pgCounter
	redisN  *redisCounter
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, db: storetest.NewDatabase(t, testMigrations()...), pgN: &pgCounter{}, redisN: &redisCounter{}}
	e.pool = e.newPool()
	e.rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 11, ReadTimeout: 500 * time.Millisecond})
	e.rdb.AddHook(e.redisN)
	if err := e.rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at 127.0.0.1:6379: %v", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e.prefix = "scantest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := e.rdb.Keys(ctx, e.prefix+"*").Result()
		if len(keys) > 0 {
			e.rdb.Del(ctx, keys...)
		}
		e.rdb.Close()
	})
	e.blobDir = t.TempDir()
	var err error
	if e.codec, err = qrtoken.New([]byte(qrtoken.DevKey)); err != nil {
		t.Fatal(err)
	}
	e.issuer = authtest.NewIssuer(t)
	return e
}

func (e *env) newPool() *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(storetest.URLFor(e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.MaxConns = 8
	cfg.ConnConfig.Tracer = e.pgN
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(pool.Close)
	return pool
}

func (e *env) cfg() Config {
	c := config.Defaults[Config]()
	c.RedisPrefix = e.prefix
	c.FlushInterval = 20 * time.Millisecond
	c.LocalTTL = 0 // these tests count Redis commands; TestLocalCache covers it
	return c
}

// fn builds and starts a function, stopped when the test ends.
func (e *env) fn(pool *pgxpool.Pool, rdb *redis.Client, cfg Config) *Function {
	e.t.Helper()
	return e.fnAt(pool, rdb, cfg, time.Now)
}

func (e *env) fnAt(pool *pgxpool.Pool, rdb *redis.Client, cfg Config, now func() time.Time) *Function {
	e.t.Helper()
	bs, err := blob.Open(context.Background(), "file://"+e.blobDir)
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Redis: rdb, Blob: bs, Tokens: e.codec,
		Verifier: e.issuer.Verifier(), Now: now}, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = f.Stop(context.Background()) })
	return f
}

var seq atomic.Int64

// entity gives registry.public_page an entity of 长安区 (130102) and
// qr.code_status its code in the given status, and returns the token and
// credit code.
func (e *env) entity(status, name string) (string, string) {
	e.t.Helper()
	return e.entityIn("130102", status, name)
}

// entityIn is entity in another district.
func (e *env) entityIn(district, status, name string) (string, string) {
	e.t.Helper()
	n := seq.Add(1)
	cc, err := codes.MakeCreditCode("91", district, fmt.Sprintf("MA%06d", n+int64(os.Getpid()%1000)*1000))
	if err != nil {
		e.t.Fatal(err)
	}
	token, _ := e.codec.Mint()
	ctx := context.Background()
	_, err = e.pool.Exec(ctx, `INSERT INTO registry.stub_pages (credit_code, name, entity_type, legal_rep, established_on,
		registered_capital, business_scope, address, district_code, township_code, industry_code)
		VALUES ($1, $2, 'enterprise', '张建国', '2019-05-20', '500.5000', '建材销售', '石家庄市长安区建设北大街1号', $3, '', '5164')`, cc, name, district)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO qr.stub_codes (token, credit_code, status) VALUES ($1, $2, $3)`, token, cc, status); err != nil {
		e.t.Fatal(err)
	}
	return token, cc
}

// record adds a public record to the entity's page, newest first, with
// details as registry.public_page returns them.
func (e *env) record(cc, kind, title, details string) {
	e.t.Helper()
	if details == "" {
		details = "{}"
	}
	_, err := e.pool.Exec(context.Background(), `UPDATE registry.stub_pages SET records = jsonb_build_array(jsonb_build_object(
			'kind', $2::text, 'ref_no', '', 'title', $3::text, 'authority', '长安区市场监督管理局', 'occurred_on', '2025-03-01',
			'valid_until', NULL, 'status', '', 'details', $4::jsonb)) || COALESCE(records, '[]')
		WHERE credit_code = $1`, cc, kind, title, details)
	if err != nil {
		e.t.Fatal(err)
	}
}

// rename is the registry's update of an entity: its name and version.
func (e *env) rename(cc, name string) {
	e.t.Helper()
	if _, err := e.pool.Exec(context.Background(), `UPDATE registry.stub_pages SET name = $2, version = version + 1 WHERE credit_code = $1`, cc, name); err != nil {
		e.t.Fatal(err)
	}
}

// setStatus is qr-generate's change of a code's status.
func (e *env) setStatus(token, status string) {
	e.t.Helper()
	if _, err := e.pool.Exec(context.Background(), `UPDATE qr.stub_codes SET status = $2 WHERE token = $1`, token, status); err != nil {
		e.t.Fatal(err)
	}
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil).WithContext(marked(context.Background()))
	req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0")
	req.RemoteAddr = "203.0.113.7:5555"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestNewRequiresEachDependency(t *testing.T) {
	t.Parallel()
	pool, rdb := &pgxpool.Pool{}, redis.NewClient(&redis.Options{})
	defer rdb.Close()
	codec, _ := qrtoken.New([]byte(qrtoken.DevKey))
	full := Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Redis: rdb, Blob: &blob.Dir{}, Tokens: codec,
		Verifier: &auth.Verifier{}, Now: time.Now}
	def := config.Defaults[Config]()
	for name, clear := range map[string]func(*Deps){
		"logger": func(d *Deps) { d.Logger = nil }, "pool": func(d *Deps) { d.Pool = nil }, "redis": func(d *Deps) { d.Redis = nil },
		"blob": func(d *Deps) { d.Blob = nil }, "tokens": func(d *Deps) { d.Tokens = nil }, "verifier": func(d *Deps) { d.Verifier = nil },
		"now": func(d *Deps) { d.Now = nil },
	} {
		d := full
		clear(&d)
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	// New takes the settings as loaded: it fills in no default, and
	// refuses what it cannot work with.
	for name, change := range map[string]func(*Config){
		"zero": func(c *Config) { *c = Config{} }, "cache ttl": func(c *Config) { c.CacheTTL = 0 },
		"lru": func(c *Config) { c.LRUSize = 0 }, "prefix": func(c *Config) { c.RedisPrefix = "" },
		"fill": func(c *Config) { c.FillConcurrency = 0 }, "flush": func(c *Config) { c.FlushInterval = 0 },
		"buffer": func(c *Config) { c.MaxBuffered = c.FlushRows - 1 }, "salt": func(c *Config) { c.IPSalt = "" },
		"hotline": func(c *Config) { c.Hotline = "" }, "token key": func(c *Config) { c.Key = "short" },
	} {
		c := def
		change(&c)
		if _, err := New(full, c); err == nil {
			t.Errorf("settings with a bad %s accepted", name)
		}
	}
	f, err := New(full, def)
	if err != nil {
		t.Fatalf("complete deps refused: %v", err)
	}
	// New starts nothing: stopping a function never started returns at once.
	if err := f.Stop(context.Background()); err != nil {
		t.Errorf("Stop without Start: %v", err)
	}
}

func TestForgedTokenIs404WithoutAnyQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	good, _ := e.entity("active", "河北恒达建材有限公司")
	forged := good[:len(good)-1] + string("ABCDEFGH"[(strings.IndexByte("ABCDEFGH", good[len(good)-1])+1)%8])
	if forged == good {
		forged = "AAAAAAAAAAAAAAAA"
	}
	h := f.Handler()
	for _, path := range []string{"/q/" + forged, "/q/" + forged + ".json", "/q/short", "/q/" + strings.Repeat("x", 200)} {
		pg, rd := e.pgN.n.Load(), e.redisN.n.Load()
		rec := get(t, h, path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
		if dp, dr := e.pgN.n.Load()-pg, e.redisN.n.Load()-rd; dp != 0 || dr != 0 {
			t.Errorf("%s: %d database and %d Redis queries, want none", path, dp, dr)
		}
	}
	// The counters do count: a real token costs queries.
	pg := e.pgN.n.Load()
	if rec := get(t, h, "/q/"+good); rec.Code != http.StatusOK || e.pgN.n.Load() == pg {
		t.Fatalf("good token: %d, queries %d", rec.Code, e.pgN.n.Load()-pg)
	}
}

// The page shows every section and every record registry.public_page
// returns (which leaves out non-public records and annual-report items:
// the registry's TestPublicPageExcludesNonPublic), and nothing of the
// inspector's form to the public.
// FP-26–35, FP-78–84: every section and the 12315 channels on the public page.
func TestActivePageShowsEverySection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", "河北恒达建材有限公司")
	e.record(cc, "licence", "食品经营许可证", "")
	e.record(cc, "annual_report", "2024年度报告", `{"year":2024,"items":[{"name":"从业人数","value":"12","public":true}]}`)
	e.record(cc, "penalty", "石长市监罚〔2025〕12号", "")
	e.record(cc, "abnormal_list", "通过登记的住所无法联系", "")
	e.record(cc, "inspection", "日常监督检查", `{"items":[{"name":"证照公示","result":"合格"},{"name":"冷链","result":"合理缺项","reason":"不经营冷链"}],"conclusion":"合格"}`)
	h := f.Handler()
	rec := get(t, h, "/q/"+token)
	if rec.Code != http.StatusOK {
		t.Fatalf("page: %d", rec.Code)
	}
	page := rec.Body.String()
	for _, want := range []string{"河北恒达建材有限公司", cc, "基本信息", "许可备案", "年度报告", "荣誉与黑名单", "监督检查", "双随机抽查",
		"抽查检查", "行政处罚", "投诉举报", "经营异常/严重违法失信名单", "食品经营许可证", "从业人数", "石长市监罚〔2025〕12号",
		"暂无记录", "已列入", "未列入严重违法失信名单", "合理缺项", "不经营冷链", "tel:12315", "https://www.12315.cn", "微信小程序", "支付宝", "百度"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "提交检查记录") {
		t.Error("the public page shows the inspection form")
	}
	if len(page) >= 50*1024 {
		t.Errorf("page is %d bytes, want < 50 KB", len(page))
	}
	if strings.Contains(page, "<script src") || strings.Contains(page, "<link") {
		t.Error("page loads external resources")
	}

	rec = get(t, h, "/q/"+token+".json")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var v View
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Status != "active" || v.Entity == nil || v.Entity.Name != "河北恒达建材有限公司" || v.Entity.DistrictName == "" ||
		len(v.Sections) != len(pageSections) || len(v.Rights) != 6 {
		t.Errorf("json view = %+v", v)
	}
	if !strings.Contains(rec.Body.String(), "石长市监罚〔2025〕12号") {
		t.Error("json lacks a record")
	}
}

func TestPageStaysSmallWithManyRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", "记录很多的经营主体")
	for i := range 60 {
		for _, k := range []string{"complaint", "penalty", "inspection", "licence"} {
			e.record(cc, k, fmt.Sprintf("第%d条记录：关于某某事项的处理结果说明文字较长较长较长较长", i), "")
		}
	}
	rec := get(t, f.Handler(), "/q/"+token)
	if rec.Code != http.StatusOK || rec.Body.Len() >= 50*1024 {
		t.Fatalf("page: %d, %d bytes; want 200 and < 50 KB", rec.Code, rec.Body.Len())
	}
	if !strings.Contains(rec.Body.String(), "共 60 条") {
		t.Error("page does not say how many records a truncated section has")
	}
}

func TestInvalidAndPendingCodesShowNoDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	h := f.Handler()
	for _, c := range []struct {
		status, want string
		code         int
	}{{"invalid", "该码已失效", http.StatusGone}, {"pending", "该码尚未生效", http.StatusOK}, {"rejected", "该码尚未生效", http.StatusOK}} {
		token, cc := e.entity(c.status, "不应显示的主体名称"+c.status)
		e.record(cc, "penalty", "不应显示的处罚", "")
		for range 2 { // miss, then hit
			rec := get(t, h, "/q/"+token)
			body := rec.Body.String()
			if rec.Code != c.code || !strings.Contains(body, c.want) {
				t.Errorf("%s: %d, want %d with %q", c.status, rec.Code, c.code, c.want)
			}
			if strings.Contains(body, "不应显示") || strings.Contains(body, cc) {
				t.Errorf("%s page shows entity details", c.status)
			}
		}
		rec := get(t, h, "/q/"+token+".json")
		if strings.Contains(rec.Body.String(), "不应显示") || !strings.Contains(rec.Body.String(), `"status":"`+c.status+`"`) {
			t.Errorf("%s json: %s", c.status, rec.Body)
		}
	}
	// A well-formed token no code has.
	missing, _ := e.codec.Mint()
	if rec := get(t, h, "/q/"+missing); rec.Code != http.StatusNotFound {
		t.Errorf("unknown token: %d, want 404", rec.Code)
	}
}

func TestCachedHitIsOneRedisGetAndNoQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, _ := e.entity("active", "缓存测试主体")
	h := f.Handler()
	// Each rendering is filled on its own first request, with one query:
	// a miss renders only what was asked for.
	for _, path := range []string{"/q/" + token, "/q/" + token + ".json"} {
		pg := e.pgN.n.Load()
		if rec := get(t, h, path); rec.Code != http.StatusOK {
			t.Fatal(rec.Code)
		}
		if n := e.pgN.n.Load() - pg; n != 1 {
			t.Errorf("%s miss made %d database queries, want 1", path, n)
		}
	}
	for _, path := range []string{"/q/" + token, "/q/" + token + ".json"} {
		pg, rd := e.pgN.n.Load(), e.redisN.n.Load()
		rec := get(t, h, path)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "缓存测试主体") {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		// A known length: a chunked answer costs one more write to end it.
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("%s: Content-Length %q for %d bytes", path, cl, rec.Body.Len())
		}
		if dp, dr := e.pgN.n.Load()-pg, e.redisN.n.Load()-rd; dp != 0 || dr != 1 {
			t.Errorf("%s hit: %d database queries and %d Redis commands, want 0 and 1", path, dp, dr)
		}
	}
}

// deadRedis is a client for a port nobody listens on.
func deadRedis(t *testing.T) *redis.Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisDownServesFromPostgres(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, deadRedis(t), e.cfg())
	token, _ := e.entity("active", "Redis故障时的主体")
	for range 3 {
		rec := get(t, f.Handler(), "/q/"+token)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Redis故障时的主体") {
			t.Fatalf("with Redis down: %d", rec.Code)
		}
	}
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.RecordedScans(context.Background()); n != 3 {
		t.Errorf("recorded %d scans with Redis down, want 3", n)
	}
}

func TestPostgresDownServesFromCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pool := e.newPool()
	f := e.fn(pool, e.rdb, e.cfg())
	token, _ := e.entity("active", "数据库故障时的主体")
	h := f.Handler()
	if rec := get(t, h, "/q/"+token); rec.Code != http.StatusOK {
		t.Fatal(rec.Code)
	}
	pool.Close()
	rec := get(t, h, "/q/"+token)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "数据库故障时的主体") {
		t.Fatalf("PostgreSQL down, Redis up: %d", rec.Code)
	}
	// Redis gone too: the in-process copy is the last resort.
	if err := e.rdb.Del(context.Background(), e.prefix+"p:"+token).Err(); err != nil {
		t.Fatal(err)
	}
	rec = get(t, h, "/q/"+token)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "数据库故障时的主体") {
		t.Fatalf("PostgreSQL down, Redis without the page: %d", rec.Code)
	}
	other, _ := e.codec.Mint()
	if rec := get(t, h, "/q/"+other); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "服务繁忙") {
		t.Errorf("uncached token with PostgreSQL down: %d, want 503 busy page", rec.Code)
	}
}

func entityEvent(t *testing.T, typ, cc string, version int) event.Event {
	t.Helper()
	var data any = events.EntityUpdatedData{Entity: events.Entity{CreditCode: cc, Version: version}, Changed: []string{"name"}, UpdatedAt: time.Now()}
	if typ == events.EntityDeregistered {
		data = events.EntityDeregisteredData{CreditCode: cc, Status: "revoked", Version: version, ChangedAt: time.Now()}
	}
	ev, err := outbox.NewEvent("/functions/registry", typ, cc, data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestEntityUpdatedInvalidatesCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", "旧名称商行")
	h := f.Handler()
	get(t, h, "/q/"+token)
	get(t, h, "/q/"+token+".json")
	ctx := context.Background()
	e.rename(cc, "新名称商行")
	if rec := get(t, h, "/q/"+token); !strings.Contains(rec.Body.String(), "旧名称商行") {
		t.Fatal("the page was not cached")
	}
	if _, err := f.Receive(ctx, entityEvent(t, events.EntityUpdated, cc, 2)); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/q/" + token, "/q/" + token + ".json"} {
		if rec := get(t, h, path); !strings.Contains(rec.Body.String(), "新名称商行") {
			t.Errorf("%s after entity.updated still shows the old name", path)
		}
	}
	// A code invalidated by qr-generate: the page says so at once.
	e.setStatus(token, "invalid")
	ev, _ := outbox.NewEvent("/functions/qr-generate", events.QRInvalidated, cc,
		events.QRInvalidatedData{Token: token, CreditCode: cc, Reason: "注销", InvalidatedAt: time.Now()}, time.Now())
	if _, err := f.Receive(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if rec := get(t, h, "/q/"+token); !strings.Contains(rec.Body.String(), "该码已失效") || strings.Contains(rec.Body.String(), "新名称商行") {
		t.Errorf("after qr.invalidated: %d", rec.Code)
	}
}

func TestBatchIssuedDropsCachedNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	h := f.Handler()
	token, _ := e.codec.Mint()
	if rec := get(t, h, "/q/"+token); rec.Code != http.StatusNotFound {
		t.Fatalf("before issuance: %d", rec.Code)
	}
	_, cc := e.entity("active", "新赋码的主体")
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `INSERT INTO qr.stub_codes (token, credit_code, status) VALUES ($1, $2, 'active')
		ON CONFLICT (credit_code) DO UPDATE SET token = EXCLUDED.token`, token, cc); err != nil {
		t.Fatal(err)
	}
	if rec := get(t, h, "/q/"+token); rec.Code != http.StatusNotFound {
		t.Fatalf("the not-found answer was not cached: %d", rec.Code)
	}
	ev, _ := outbox.NewEvent("/functions/qr-generate", events.QRBatchIssued, "b1", events.QRBatchIssuedData{BatchID: "b1",
		BaseURL: "http://localhost:8080/q/", IssuedAt: time.Now(), Codes: []events.QRBatchMember{{Token: token, CreditCode: cc}}}, time.Now())
	if _, err := f.Receive(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if rec := get(t, h, "/q/"+token); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "新赋码的主体") {
		t.Errorf("after qr.batch-issued: %d", rec.Code)
	}
}

// BenchmarkCachedScan measures the hot path (MAC check, cached bytes, scan
// buffered, bytes written), from Redis and from the in-process window:
// go test -run '^$' -bench CachedScan -benchmem
func BenchmarkCachedScan(b *testing.B) {
	for _, c := range []struct {
		name  string
		local time.Duration
	}{{"redis", 0}, {"local", 30 * time.Second}} {
		b.Run(c.name, func(b *testing.B) {
			e := newEnv(b)
			cfg := e.cfg()
			cfg.FlushInterval = 50 * time.Millisecond
			cfg.LocalTTL = c.local
			f := e.fn(e.pool, e.rdb, cfg)
			token, cc := e.entity("active", "基准测试主体")
			for i := range 30 {
				e.record(cc, "inspection", fmt.Sprintf("第%d次日常监督检查", i), `{"items":[{"name":"证照公示","result":"合格"}],"conclusion":"合格"}`)
			}
			h := f.Handler()
			req := httptest.NewRequest("GET", "/q/"+token, nil)
			req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0")
			req.RemoteAddr = "203.0.113.7:5555"
			// The runtime resolves the client address once per request,
			// before the function (httpx.ClientIP reads it back).
			req = req.WithContext(httpx.WithClientIP(req.Context(), "203.0.113.7"))
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req) // fill the cache
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			b.StopTimer()
			if w.code != http.StatusOK || w.n < 1000 {
				b.Fatalf("answer %d, %d bytes", w.code, w.n)
			}
			b.ReportMetric(float64(w.n), "page-bytes")
		})
	}
}

type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(c int)   { d.code = c }
func (d *discardWriter) Write(p []byte) (int, error) {
	d.n = len(p)
	return len(p), nil
}
func (d *discardWriter) WriteString(s string) (int, error) {
	d.n = len(s)
	return len(s), nil
}

// A load that read the entity before an update must not put the old page
// back into Redis after the update's invalidation.
func TestStaleLoadDoesNotOverwriteInvalidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", "竞态测试主体")
	ctx := context.Background()
	p, err := f.load(ctx, token, false) // version 1, read "before" the update
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Receive(ctx, entityEvent(t, events.EntityUpdated, cc, 2)); err != nil {
		t.Fatal(err)
	}
	f.cache.store(ctx, token, "", p)
	if n, _ := e.rdb.Exists(ctx, e.prefix+"p:"+token).Result(); n != 0 {
		t.Error("a page older than the announced version was cached")
	}
	p.version = 2
	f.cache.store(ctx, token, "", p)
	if n, _ := e.rdb.Exists(ctx, e.prefix+"p:"+token).Result(); n != 1 {
		t.Error("a current page was not cached")
	}
}

func TestScansAreRecordedExactly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.cfg()
	cfg.FlushRows = 64
	f := e.fn(e.pool, e.rdb, cfg)
	token, cc := e.entity("active", "扫码计数主体")
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	const workers, each = 8, 60
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range each {
				path := "/q/" + token
				if i%3 == 0 {
					path += ".json"
				}
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	ctx := context.Background()
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := f.RecordedScans(ctx)
	if err != nil || n != workers*each {
		t.Fatalf("recorded %d scans (%v), want %d", n, err, workers*each)
	}
	if c := f.ScanCounts(); c.Accepted != workers*each || c.Written != workers*each || c.Pending != 0 {
		t.Errorf("counts = %+v", c)
	}
	var withCC, jsonN int64
	e.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE credit_code = $1 AND district_code = '130102' AND industry_code = '5164'
		AND code_status = 'active' AND ua_class = 'other' AND ip_hash <> '' AND role = ''),
		count(*) FILTER (WHERE channel = 'json') FROM scan.scans`, cc).Scan(&withCC, &jsonN)
	if withCC != workers*each || jsonN != workers*each/3 {
		t.Errorf("rows with entity and hints = %d, json = %d", withCC, jsonN)
	}
}

func TestScansSurviveRestartAndDatabaseOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	token, _ := e.entity("active", "重启计数主体")
	ctx := context.Background()

	// A graceful restart: Close flushes what is buffered.
	cfg := e.cfg()
	cfg.FlushInterval = time.Hour // nothing is written unless Close flushes
	f1 := e.fn(e.pool, e.rdb, cfg)
	for range 25 {
		get(t, f1.Handler(), "/q/"+token)
	}
	if err := f1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f1.RecordedScans(ctx); n != 25 {
		t.Fatalf("after graceful shutdown: %d scans, want 25", n)
	}

	// PostgreSQL goes away: the shutdown flush parks the batch in Redis,
	// and the next process writes it.
	down := e.newPool()
	f2 := e.fn(down, e.rdb, cfg)
	for range 17 {
		get(t, f2.Handler(), "/q/"+token)
	}
	down.Close()
	if err := f2.Stop(ctx); err != nil {
		t.Fatalf("shutdown with PostgreSQL down should spill to Redis: %v", err)
	}
	if c := f2.ScanCounts(); c.Spilled != 17 {
		t.Fatalf("spilled %d, want 17", c.Spilled)
	}
	f3 := e.fn(e.pool, e.rdb, e.cfg())
	if err := f3.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f3.RecordedScans(ctx); n != 42 {
		t.Fatalf("after replaying the spill: %d scans, want 42", n)
	}
	// Replaying the same batch again (an XDEL lost after the commit) adds nothing.
	var batch []scanRecord
	if err := e.pool.QueryRow(ctx, `SELECT 1`).Scan(new(int)); err != nil {
		t.Fatal(err)
	}
	rows, _ := e.pool.Query(ctx, `SELECT id, scanned_at, token FROM scan.scans LIMIT 5`)
	for rows.Next() {
		var s scanRecord
		var id [16]byte
		rows.Scan(&id, &s.At, &s.Token)
		s.ID = id
		batch = append(batch, s)
	}
	if err := f3.rec.spillBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := f3.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f3.RecordedScans(ctx); n != 42 {
		t.Errorf("a replayed duplicate batch changed the count to %d", n)
	}
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func inspectionForm(t *testing.T, token string, photo []byte, photoName string) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range map[string]string{"token": token, "kind": "spot_check", "title": "食品安全抽查", "authority": "长安区市场监督管理局",
		"inspected_on": time.Now().Format(time.DateOnly), "conclusion": "合格", "remarks": "现场整洁",
		"item_name_0": "证照公示", "item_result_0": "合格", "item_name_1": "冷链记录", "item_result_1": "合理缺项", "item_reason_1": "不经营冷链食品"} {
		mw.WriteField(k, v)
	}
	if photo != nil {
		w, _ := mw.CreateFormFile("photos", photoName)
		w.Write(photo)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// postInspection posts body to the inspections API as bearer.
func postInspection(h http.Handler, body io.Reader, ct, bearer, accept string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/scan/v1/inspections", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", bearer)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestInspectorRecordsInspection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", "被检查的超市")
	h := f.Handler()
	inspector := e.issuer.Bearer(auth.Principal{UserID: "u-insp", Name: "李检查", Roles: []string{"inspector"}, Scope: auth.All()})

	page := get(t, h, "/q/"+token, "Authorization", inspector)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "提交检查记录") || !strings.Contains(page.Body.String(), "合理缺项") {
		t.Fatalf("inspector page: %d, form shown: %v", page.Code, strings.Contains(page.Body.String(), "提交检查记录"))
	}
	if pub := get(t, h, "/q/"+token); strings.Contains(pub.Body.String(), "提交检查记录") {
		t.Fatal("the public sees the inspection form")
	}

	body, ct := inspectionForm(t, token, pngBytes(t), "现场.png")
	rec := postInspection(h, body, ct, inspector, "text/html")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/q/"+token+"?recorded=") {
		t.Fatalf("post: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	ctx := context.Background()
	var raw []byte
	if err := e.pool.QueryRow(ctx, `SELECT event FROM platform.outbox WHERE event_type = $1 AND subject = $2`,
		events.ScanInspectionRecorded, cc).Scan(&raw); err != nil {
		t.Fatalf("no %s event: %v", events.ScanInspectionRecorded, err)
	}
	var ev event.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var d events.ScanInspectionRecordedData
	if err := ev.DataAs(&d); err != nil {
		t.Fatal(err)
	}
	if d.Kind != "spot_check" || d.CreditCode != cc || len(d.Items) != 2 || d.Items[1].Result != "合理缺项" ||
		d.Items[1].Reason != "不经营冷链食品" || len(d.Photos) != 1 || d.InspectorID != "u-insp" {
		t.Errorf("event data = %+v", d)
	}
	bs, _ := blob.Open(ctx, "file://"+e.blobDir)
	if info, err := bs.Stat(ctx, d.Photos[0]); err != nil || info.ContentType != "image/png" {
		t.Errorf("photo not stored: %+v %v", info, err)
	}
	var n int
	e.pool.QueryRow(ctx, `SELECT count(*) FROM scan.inspections WHERE credit_code = $1 AND kind = 'spot_check'`, cc).Scan(&n)
	if n != 1 {
		t.Errorf("%d inspections stored, want 1", n)
	}
	// FP-8: the inspection's operation-log row, with its after state.
	if ops := auditlogtest.Ops(t, e.pool, ""); len(ops) != 1 || ops[0].Action != "scan.inspection.create" || ops[0].UserID != "u-insp" ||
		ops[0].ObjectID != d.InspectionID || ops[0].Before != nil || auditlogtest.Field(ops[0].After, "credit_code") != cc || ops[0].IP == "" {
		t.Errorf("op log = %+v", ops)
	}

	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var byInspector int
	e.pool.QueryRow(ctx, `SELECT count(*) FROM scan.scans WHERE role = 'inspector' AND credit_code = $1`, cc).Scan(&byInspector)
	if byInspector != 1 {
		t.Errorf("%d scans recorded with role inspector, want 1", byInspector)
	}

	// A bad form from the page gets a page saying what to fix.
	bad, ct := inspectionForm(t, token, nil, "")
	bad = bytes.NewBuffer(bytes.Replace(bad.Bytes(), []byte("长安区市场监督管理局"), []byte("长"), 1))
	rec = postInspection(h, bad, ct, inspector, "text/html")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "检查机关") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("bad form: %d %s", rec.Code, rec.Body)
	}

	// JSON clients (the app) post without photos.
	jb, _ := json.Marshal(InspectionInput{Token: token, Kind: "inspection", Authority: "长安区市场监督管理局",
		InspectedOn: time.Now().Format(time.DateOnly), Conclusion: "合格",
		Items: []events.InspectionItem{{Name: "价格标示", Result: "合格"}}})
	rec = postInspection(h, bytes.NewReader(jb), "application/json", inspector, "")
	if rec.Code != http.StatusCreated {
		t.Errorf("json post: %d %s", rec.Code, rec.Body)
	}
}

func TestInspectionRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", "被检查的饭店")
	h := f.Handler()
	inspector := e.issuer.Bearer(auth.Principal{UserID: "u1", Roles: []string{"inspector"}})
	post := func(authz, origin string, body *bytes.Buffer, ct string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/scan/v1/inspections", body)
		req.Header.Set("Content-Type", ct)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if origin != "" {
			req.Header.Del("Authorization")
			req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: strings.TrimPrefix(authz, "Bearer ")})
			req.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	b, ct := inspectionForm(t, token, nil, "")
	if rec := post("", "", b, ct); rec.Code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", rec.Code)
	}
	b, ct = inspectionForm(t, token, nil, "")
	public := e.issuer.Bearer(auth.Principal{UserID: "u2", Roles: []string{"enterprise"}})
	if rec := post(public, "", b, ct); rec.Code != http.StatusForbidden {
		t.Errorf("non-inspector: %d, want 403", rec.Code)
	}
	b, ct = inspectionForm(t, token, []byte("MZ not an image at all"), "a.png")
	if rec := post(inspector, "", b, ct); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "photos") {
		t.Errorf("non-image photo: %d %s", rec.Code, rec.Body)
	}
	b, ct = inspectionForm(t, token, nil, "")
	if rec := post(inspector, "https://evil.example", b, ct); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site cookie post: %d, want 403", rec.Code)
	}
	jb, _ := json.Marshal(InspectionInput{Token: token, Kind: "inspection", Authority: "某局", InspectedOn: "2025-01-01",
		Conclusion: "合格", Items: []events.InspectionItem{{Name: "冷链", Result: "合理缺项"}}})
	if rec := post(inspector, "", bytes.NewBuffer(jb), "application/json"); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "items[0].reason") {
		t.Errorf("合理缺项 without reason: %d %s", rec.Code, rec.Body)
	}
	var n int
	e.pool.QueryRow(context.Background(), `SELECT count(*) FROM scan.inspections WHERE credit_code = $1`, cc).Scan(&n)
	if n != 0 {
		t.Errorf("%d inspections stored by refused requests", n)
	}
	if ops := auditlogtest.Ops(t, e.pool, ""); len(ops) != 0 {
		t.Errorf("refused requests logged %d operations", len(ops))
	}
}

// FP-48–50: scan statistics.
func TestStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	tokA, ccA := e.entity("active", "统计主体甲")
	tokB, _ := e.entity("active", "统计主体乙")
	h := f.Handler()
	for range 3 {
		get(t, h, "/q/"+tokA)
	}
	get(t, h, "/q/"+tokB)
	ctx := context.Background()
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	viewer := e.issuer.Bearer(authtest.CityWide("scan.stats:view", "scan.stats:export"))
	stats := func(q string) StatsResult {
		rec := get(t, h, "/scan/v1/stats?"+q, "Authorization", viewer)
		if rec.Code != http.StatusOK {
			t.Fatalf("stats %s: %d %s", q, rec.Code, rec.Body)
		}
		var r StatsResult
		json.Unmarshal(rec.Body.Bytes(), &r)
		return r
	}
	if r := stats("group=hour"); r.Total != 4 || len(r.Items) != 24 {
		t.Errorf("hour: %+v", r)
	}
	today := time.Now().In(shanghai).Format(time.DateOnly)
	if r := stats("group=day&from=" + today + "&to=" + today); r.Total != 4 || len(r.Items) != 1 || r.Items[0].Scans != 4 {
		t.Errorf("day: %+v", r)
	}
	if r := stats("group=district"); len(r.Items) != 1 || r.Items[0].Key != "130102" || r.Items[0].Label == "" || r.Items[0].Scans != 4 {
		t.Errorf("district: %+v", r)
	}
	if r := stats("group=industry"); len(r.Items) != 1 || r.Items[0].Key != "5164" || r.Items[0].Label == "" {
		t.Errorf("industry: %+v", r)
	}
	if r := stats("group=top&limit=1"); r.Total != 4 || len(r.Items) != 1 || r.Items[0].Key != ccA || r.Items[0].Label != "统计主体甲" || r.Items[0].Scans != 3 {
		t.Errorf("top: %+v", r)
	}
	other := e.issuer.Bearer(authtest.InDistricts([]string{"scan.stats:view"}, "130104"))
	rec := get(t, h, "/scan/v1/stats?group=district", "Authorization", other)
	if !strings.Contains(rec.Body.String(), `"total":0`) {
		t.Errorf("a user of another district sees scans: %s", rec.Body)
	}
	if rec := get(t, h, "/scan/v1/stats?group=week", "Authorization", viewer); rec.Code != http.StatusBadRequest {
		t.Errorf("bad group: %d", rec.Code)
	}
	if rec := get(t, h, "/scan/v1/stats"); rec.Code != http.StatusUnauthorized {
		t.Errorf("anonymous stats: %d", rec.Code)
	}
	if rec := get(t, h, "/scan/v1/stats/export?group=top", "Authorization", e.issuer.Bearer(authtest.CityWide("scan.stats:view"))); rec.Code != http.StatusForbidden {
		t.Errorf("export without permission: %d", rec.Code)
	}
	rec = get(t, h, "/scan/v1/stats/export?group=top", "Authorization", viewer)
	if rec.Code != http.StatusOK {
		t.Fatalf("export: %d", rec.Code)
	}
	x, err := excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("Sheet1")
	if len(rows) < 3 || rows[0][1] != "经营主体" || rows[1][1] != "统计主体甲" || rows[1][2] != "3" || rows[len(rows)-1][0] != "合计" {
		t.Errorf("export rows = %v", rows)
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, ".xlsx") {
		t.Errorf("export Content-Disposition %q", cd)
	}
	rec = get(t, h, "/scan/v1/stats/export?group=top&format=csv", "Authorization", viewer)
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, ccA+",统计主体甲,3") || !strings.Contains(body, "合计,,4") {
		t.Errorf("csv export: %d\n%s", rec.Code, body)
	}
}

func TestClientHints(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string][2]string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.40": {"wechat", "ios"},
		"Mozilla/5.0 (Linux; Android 13) AlipayClient/10.5":                            {"alipay", "android"},
		"Mozilla/5.0 (Linux; Android 12) MicroMessenger/8.0 miniProgram":               {"wechat_mp", "android"},
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120":                         {"browser", "windows"},
		"Mozilla/5.0 (compatible; Baiduspider/2.0)":                                    {"bot", "other"},
		"Mozilla/5.0 (Phone; OpenHarmony 4.0) ArkWeb/4.1 baiduboxapp/13":               {"baidu", "harmonyos"},
	} {
		if got := [2]string{uaClass(ua), osFamily(ua)}; got != want {
			t.Errorf("%s: %v, want %v", ua, got, want)
		}
	}
	a, b, c := ipHash("s", "203.0.113.7"), ipHash("s", "203.0.113.200"), ipHash("s", "203.0.114.7")
	if a == "" || a != b || a == c || ipHash("other", "203.0.113.7") == a {
		t.Errorf("ip hashes %q %q %q: same /24 must match, other /24 or salt differ", a, b, c)
	}
	if strings.Contains(a, "203") {
		t.Error("hash shows the address")
	}
}

func TestEntryRoundTrip(t *testing.T) {
	t.Parallel()
	in := &entry{code: 410, facts: facts{Status: "invalid", CC: "91130102MA0000001X", District: "130102", Industry: "5164"}, body: []byte("<p>x\ny</p>")}
	out, ok := decodeEntry(in.encode())
	if !ok || out.code != 410 || out.facts != in.facts || string(out.body) != string(in.body) || out.clen[0] != "10" {
		t.Fatalf("round trip: %+v %v", out, ok)
	}
	if _, ok := decodeEntry("garbage"); ok {
		t.Error("garbage decoded")
	}
}

// With a local freshness window, repeated scans of a page skip Redis and
// the database; an invalidating event received here drops the copy at once.
func TestLocalCacheSkipsRedisAndHonoursInvalidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.cfg()
	cfg.LocalTTL = time.Hour
	f := e.fn(e.pool, e.rdb, cfg)
	token, cc := e.entity("active", "本地缓存旧名称")
	h := f.Handler()
	get(t, h, "/q/"+token)
	pg, rd := e.pgN.n.Load(), e.redisN.n.Load()
	for range 3 {
		if rec := get(t, h, "/q/"+token); !strings.Contains(rec.Body.String(), "本地缓存旧名称") {
			t.Fatalf("hit: %d", rec.Code)
		}
	}
	if dp, dr := e.pgN.n.Load()-pg, e.redisN.n.Load()-rd; dp != 0 || dr != 0 {
		t.Errorf("fresh local hits made %d queries and %d Redis commands, want none", dp, dr)
	}
	ctx := context.Background()
	e.rename(cc, "本地缓存新名称")
	if _, err := f.Receive(ctx, entityEvent(t, events.EntityUpdated, cc, 2)); err != nil {
		t.Fatal(err)
	}
	if rec := get(t, h, "/q/"+token); !strings.Contains(rec.Body.String(), "本地缓存新名称") {
		t.Error("after entity.updated the local copy was still served")
	}
}

// An invalidating event reaches one replica; the other drops its local copy
// through Redis pub/sub instead of serving it for the rest of LocalTTL.
func TestLocalCacheInvalidationReachesOtherReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.cfg()
	cfg.LocalTTL = time.Hour
	a, b := e.fn(e.pool, e.rdb, cfg), e.fn(e.pool, e.rdb, cfg)
	t.Cleanup(func() { _ = a.Stop(context.Background()); _ = b.Stop(context.Background()) })
	token, cc := e.entity("active", "副本旧名称")
	for _, f := range []*Function{a, b} {
		if rec := get(t, f.Handler(), "/q/"+token); !strings.Contains(rec.Body.String(), "副本旧名称") {
			t.Fatalf("first scan: %d", rec.Code)
		}
	}
	ctx := context.Background()
	e.rename(cc, "副本新名称")
	if _, err := a.Receive(ctx, entityEvent(t, events.EntityUpdated, cc, 2)); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the other replica to drop its copy", func() bool {
		return strings.Contains(get(t, b.Handler(), "/q/"+token).Body.String(), "副本新名称")
	})
}

// The page is written by hand (render.go), so every registry text must be
// escaped there: a name or record crafted as markup stays text.
func TestPageEscapesRegistryText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", `<script>alert("x")</script>&'店`)
	e.record(cc, "penalty", `<img src=x onerror=alert(1)>处罚`,
		`{"items":[{"name":"<b>项目</b>","result":"合格"}],"conclusion":"<i>结论</i>","remarks":"a&b"}`)
	page := get(t, f.Handler(), "/q/"+token).Body.String()
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>项目", "<i>结论"} {
		if strings.Contains(page, bad) {
			t.Errorf("page carries unescaped markup %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#39;店", "&lt;img src=x onerror=alert(1)&gt;处罚",
		"&lt;b&gt;项目&lt;/b&gt;：合格", "结论：&lt;i&gt;结论&lt;/i&gt;", "a&amp;b"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks escaped %q", want)
		}
	}
}

// Scans are written in COPY's text format by hand (appendCopyRow): every
// column must come back as written, whatever bytes it holds.
func TestCopyRowRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	at := time.Date(2026, 11, 27, 8, 30, 1, 123456000, time.UTC)
	in := scanRecord{ID: [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xff}, At: at, Token: "tok\\en",
		facts:   facts{CC: "91130102MA07\tX", District: "130102", Township: "130102001", Industry: "F5", Status: "active"},
		Channel: "h5", UA: "a\nb\rc", OS: `\N`, IPHash: "", Role: "inspector"}
	ctx := context.Background()
	if err := f.rec.copyBatch(ctx, []scanRecord{in}, false); err != nil {
		t.Fatal(err)
	}
	var out scanRecord
	var id string
	err := e.pool.QueryRow(ctx, `SELECT id::text, scanned_at, token, credit_code, district_code, township_code, industry_code,
		code_status, channel, ua_class, os, ip_hash, role FROM scan.scans WHERE token = $1`, in.Token).Scan(&id, &out.At,
		&out.Token, &out.CC, &out.District, &out.Township, &out.Industry, &out.Status, &out.Channel, &out.UA, &out.OS, &out.IPHash, &out.Role)
	if err != nil {
		t.Fatal(err)
	}
	out.ID = in.ID
	if id != "deadbeef-0102-0304-0506-0708090a0bff" || !out.At.Equal(at) {
		t.Errorf("id %s at %s", id, out.At)
	}
	out.At = in.At
	if out != in {
		t.Errorf("read back %+v, wrote %+v", out, in)
	}
}

// BenchmarkLoad measures a cache miss's own work: the scan.pages query
// and rendering the page and its JSON (go test -run '^$' -bench Load).
func BenchmarkLoad(b *testing.B) {
	e := newEnv(b)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", "基准测试主体")
	for i := range 3 {
		e.record(cc, "inspection", fmt.Sprintf("第%d次日常监督检查", i), `{"items":[{"name":"证照公示","result":"合格"}],"conclusion":"合格"}`)
	}
	e.record(cc, "annual_report", "2024年度报告", `{"year":2024,"items":[{"name":"从业人数","value":"12","public":true}]}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.load(ctx, token, false); err != nil {
			b.Fatal(err)
		}
	}
}

// The shared pool forces custom plans; the cache-miss query must not be
// re-planned on every execution: scan.pages, which runs it, asks for the
// generic plan, and the statement the pool prepares is only its call.
func TestCacheMissQueryUsesAGenericPlan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var config []string
	if err := e.pool.QueryRow(ctx, `SELECT proconfig FROM pg_proc WHERE oid = 'scan.pages(text[])'::regprocedure`).Scan(&config); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(config, "plan_cache_mode=force_generic_plan") {
		t.Errorf("scan.pages settings %v, want plan_cache_mode=force_generic_plan", config)
	}
	if !strings.HasPrefix(pagesQuery, "SELECT * FROM scan.pages(") {
		t.Errorf("the cache-miss query %q does not go through scan.pages", pagesQuery)
	}
}

// The in-process window is measured on the function's clock (Deps.Now),
// the clock that also stamps what it stores: a page is served without
// Redis while it is younger than SCAN_LOCAL_TTL on that clock, and read
// from Redis again after.
func TestLocalWindowKeepsTheFunctionsClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.cfg()
	cfg.LocalTTL = 30 * time.Second
	var clock atomic.Int64
	clock.Store(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	f := e.fnAt(e.pool, e.rdb, cfg, func() time.Time { return time.Unix(0, clock.Load()) })
	token, _ := e.entity("active", "时钟测试主体")
	h := f.Handler()
	if rec := get(t, h, "/q/"+token); rec.Code != http.StatusOK {
		t.Fatal(rec.Code)
	}
	clock.Add(int64(29 * time.Second))
	rd := e.redisN.n.Load()
	get(t, h, "/q/"+token)
	if n := e.redisN.n.Load() - rd; n != 0 {
		t.Errorf("29 s after the load, on the function's clock: %d Redis commands, want none", n)
	}
	clock.Add(int64(2 * time.Second))
	rd = e.redisN.n.Load()
	get(t, h, "/q/"+token)
	if n := e.redisN.n.Load() - rd; n == 0 {
		t.Error("31 s after the load, on the function's clock, the page was still served from process memory")
	}
}
