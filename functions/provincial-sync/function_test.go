package provincialsync

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/conformance"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	provincesim "github.com/sjzamr/smartreg/tests/sim/province"
)

// The kill -9 test runs a sync in a child process (this test binary)
// that it kills mid-way; TestMain is that child when asked.
func TestMain(m *testing.M) {
	if os.Getenv("PROVSYNC_CHILD_DB") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

func child() int {
	ctx := context.Background()
	pool, err := store.Connect(ctx, os.Getenv("PROVSYNC_CHILD_DB"), 4)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg := testConfig(os.Getenv("PROVSYNC_CHILD_URL"))
	b, _ := blob.Open(ctx, "file://"+os.TempDir())
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b, HTTP: &http.Client{}, Now: time.Now,
		Verifier: noVerifier{}}, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := f.Sync(ctx, "child"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type noVerifier struct{}

func (noVerifier) Middleware(h http.Handler) http.Handler { return h }

func testConfig(url string) Config {
	cfg := config.Defaults[Config]()
	cfg.APIURL, cfg.AppKey, cfg.AppSecret = url, "k", "s"
	cfg.PageSize, cfg.Backoff, cfg.Timeout = 100, 5*time.Millisecond, 2*time.Second
	return cfg
}

type harness struct {
	f    *Function
	h    http.Handler
	pool *pgxpool.Pool
	sim  *provincesim.Simulator
	srv  *httptest.Server
	blob blob.Store
	iss  *authtest.Issuer
}

// metrologyMigrations give the database metrology's tables and published
// functions (read from its directory), for the push.
func metrologyMigrations() store.Migration {
	return store.Migration{Component: "metrology", FS: os.DirFS("../metrology"), Dir: "migrations"}
}

func newHarness(t *testing.T, tune ...func(*Config)) *harness {
	t.Helper()
	sim := provincesim.New("k", "s")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return newHarnessOn(t, storetest.New(t, metrologyMigrations(), Migrations()[0], auditlogtest.Migration()), sim, srv, tune...)
}

func newHarnessOn(t *testing.T, pool *pgxpool.Pool, sim *provincesim.Simulator, srv *httptest.Server, tune ...func(*Config)) *harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	b, err := blob.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(srv.URL)
	for _, fn := range tune {
		fn(&cfg)
	}
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b, HTTP: srv.Client(), Now: time.Now,
		Verifier: iss.Verifier()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{f: f, h: f.Handler(), pool: pool, sim: sim, srv: srv, blob: b, iss: iss}
}

var base = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func (h *harness) sync(t *testing.T) Run {
	t.Helper()
	run, err := h.f.Sync(context.Background(), "test")
	if err != nil {
		t.Fatalf("sync: %v (run %+v)", err, run)
	}
	return run
}

// checksum is a resource's rows as a hash over (source id, content hash),
// locally and as the simulator's records map.
func (h *harness) checksums(t *testing.T, resource string) (local, remote string) {
	t.Helper()
	if err := h.pool.QueryRow(context.Background(), `SELECT COALESCE(md5(string_agg(source_id || ':' || content_hash, ',' ORDER BY source_id)), '')
		FROM province.`+resource).Scan(&local); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, r := range h.sim.Records(resource) {
		hash, err := ContentHash(resource, Record(r))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprint(r["id"])+":"+hash)
	}
	if len(parts) == 0 {
		return local, ""
	}
	sum := md5hex(strings.Join(parts, ","))
	return local, sum
}

// md5hex is PostgreSQL's md5() of the same text.
func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// versions is a fingerprint of every data row's tuple version: it changes
// when any row is inserted, updated or deleted.
func (h *harness) versions(t *testing.T) string {
	t.Helper()
	var out string
	if err := h.pool.QueryRow(context.Background(), `SELECT concat_ws('/',
		(SELECT count(*) || ':' || COALESCE(sum(xmin::text::bigint), 0) FROM province.enterprises),
		(SELECT count(*) || ':' || COALESCE(sum(xmin::text::bigint), 0) FROM province.instruments),
		(SELECT count(*) || ':' || COALESCE(sum(xmin::text::bigint), 0) FROM province.verifications),
		(SELECT count(*) || ':' || COALESCE(sum(xmin::text::bigint), 0) FROM province.watermarks),
		(SELECT count(*) || ':' || COALESCE(sum(xmin::text::bigint), 0) FROM province.push_marks),
		(SELECT count(*) FROM province.log))`).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
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
	b, _ := blob.Open(context.Background(), "file://"+t.TempDir())
	def := config.Defaults[Config]()
	c := &http.Client{}
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Blob: b, HTTP: c, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Blob: b, HTTP: c, Now: time.Now, Verifier: iss.Verifier()},
		"blob":     {Logger: log, Pool: pool, HTTP: c, Now: time.Now, Verifier: iss.Verifier()},
		"http":     {Logger: log, Pool: pool, Blob: b, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Blob: b, HTTP: c, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Blob: b, HTTP: c, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	full := Deps{Logger: log, Pool: pool, Blob: b, HTTP: c, Now: time.Now, Verifier: iss.Verifier()}
	bad := def
	bad.PageSize = 5000
	if _, err := New(full, bad); err == nil {
		t.Error("a page size of 5000 accepted")
	}
	if _, err := New(full, def); err != nil {
		t.Errorf("complete deps refused: %v", err)
	}
}

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

// FP-165: the first run pulls everything, mapped; the rows equal the
// province's; a re-run with nothing changed writes nothing.
func TestInitialSyncThenNoOp(t *testing.T) {
	h := newHarness(t)
	h.sim.Generate(450, 5, base)
	run := h.sync(t)
	if run.Status != "ok" || run.Inserted != 90+450+450 || run.Updated != 0 || run.Pages != 1+5+5 {
		t.Fatalf("first run %+v", run)
	}
	for _, r := range []string{"enterprises", "instruments", "verifications"} {
		if local, remote := h.checksums(t, r); local != remote {
			t.Errorf("%s: checksum %s, the province's %s", r, local, remote)
		}
	}
	var name, district string
	var until time.Time
	if err := h.pool.QueryRow(context.Background(), `SELECT name, district_code, valid_until FROM province.instruments WHERE source_id = 'Q00000007'`).
		Scan(&name, &district, &until); err != nil || name == "" || district == "" || until.IsZero() {
		t.Fatalf("mapped instrument: %q %q %v %v", name, district, until, err)
	}
	if n := h.count(t, `SELECT count(*) FROM province.log WHERE run_id = $1 AND action = 'insert'`, run.ID); n != 990 {
		t.Fatalf("interaction log has %d insert lines", n)
	}
	before := h.versions(t)
	again := h.sync(t)
	if again.Status != "ok" || again.Inserted+again.Updated != 0 || again.Unchanged != 990 {
		t.Fatalf("re-run %+v", again)
	}
	if after := h.versions(t); after != before {
		t.Fatalf("an unchanged re-run wrote: %s → %s", before, after)
	}
}

// The overlap window: records the province commits late, with change
// times at or just before the watermark, are pulled (not lost), and the
// records read again because of the window are not written twice.
func TestOverlapBoundaryRows(t *testing.T) {
	h := newHarness(t)
	h.sim.Generate(300, 5, base)
	first := h.sync(t)
	wm, err := loadWatermark(context.Background(), h.pool, "instruments")
	if err != nil || wm.HighWater == nil {
		t.Fatalf("watermark %+v %v", wm, err)
	}
	hw := *wm.HighWater
	// Committed after the first run, stamped at the watermark itself and a
	// minute before it (a strict "> last time" misses both).
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	h.sim.Put(provincesim.Instruments,
		provincesim.Record{"id": "LATE-AT", "tyshxydm": "X", "xzqhdm": "130102", "qjmc": "电子计价秤", "ggxh": "A", "ccbh": "L1", "zzdw": "Z",
			"qjzl": "0101", "syzt": "in_use", "yxqz": "2026-12-31", "gxsj": at(hw)},
		provincesim.Record{"id": "LATE-BEFORE", "tyshxydm": "X", "xzqhdm": "130102", "qjmc": "电子计价秤", "ggxh": "A", "ccbh": "L2", "zzdw": "Z",
			"qjzl": "0101", "syzt": "in_use", "yxqz": "2026-12-31", "gxsj": at(hw.Add(-time.Minute))})
	windowed := h.count(t, `SELECT count(*) FROM province.instruments WHERE source_updated_at >= $1`, hw.Add(-h.f.cfg.Overlap))
	versionsBefore := h.count(t, `SELECT sum(xmin::text::bigint) FROM province.instruments`)
	second := h.sync(t)
	if second.Inserted != 2 || second.Updated != 0 {
		t.Fatalf("second run %+v", second)
	}
	if n := h.count(t, `SELECT count(*) FROM province.instruments`); n != 302 {
		t.Fatalf("instruments %d, want 302 (none duplicated, none lost)", n)
	}
	if n := h.count(t, `SELECT count(*) FROM province.instruments WHERE source_id IN ('LATE-AT', 'LATE-BEFORE')`); n != 2 {
		t.Fatalf("late rows present: %d", n)
	}
	// The window re-read the boundary rows without writing them.
	if second.Unchanged < int64(windowed) || windowed == 0 {
		t.Fatalf("re-read %d unchanged, %d rows in the window", second.Unchanged, windowed)
	}
	if after := h.count(t, `SELECT sum(xmin::text::bigint) FROM province.instruments WHERE source_id NOT LIKE 'LATE-%'`); after != versionsBefore {
		t.Fatal("boundary rows read again were rewritten")
	}
	if local, remote := h.checksums(t, "instruments"); local != remote {
		t.Fatalf("checksum %s vs %s", local, remote)
	}
	_ = first
}

// Tokens expiring, rate limits, 5xx and slow pages cost retries, not data.
func TestFaultsAreRetried(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Timeout = 150 * time.Millisecond })
	h.sim.Generate(400, 4, base)
	h.sim.FailEvery, h.sim.SlowEvery, h.sim.SlowDelay, h.sim.RateLimit = 4, 7, 400*time.Millisecond, 20
	h.sim.TokenTTL = 300 * time.Millisecond
	run := h.sync(t)
	if run.Status != "ok" || run.Retries == 0 {
		t.Fatalf("run %+v", run)
	}
	for _, r := range []string{"enterprises", "instruments", "verifications"} {
		if local, remote := h.checksums(t, r); local != remote {
			t.Errorf("%s: checksum %s, the province's %s", r, local, remote)
		}
	}
	_, _, refused := h.sim.Stats()
	if refused[http.StatusServiceUnavailable] == 0 {
		t.Fatalf("no 5xx was served: %v", refused)
	}
}

// Schema drift fails loudly for the drifted field and keeps the rest.
func TestSchemaDrift(t *testing.T) {
	h := newHarness(t)
	h.sim.Generate(20, 5, base)
	h.sync(t)
	recs := h.sim.Records(provincesim.Enterprises)
	changed := recs[0]
	changed["dz"], changed["qymc"], changed["gxsj"] = "石家庄市新地址 9 号", "改名后的公司", time.Now().UTC().Format(time.RFC3339Nano)
	h.sim.Put(provincesim.Enterprises, changed)
	h.sim.SetDrift(provincesim.Enterprises, provincesim.Drift{Added: "fddbr", RenamedFrom: "qymc", RenamedTo: "dwmc"})
	run := h.sync(t)
	if run.Status != "partial" || !strings.Contains(strings.Join(run.Drift, ","), "enterprises.qymc") ||
		!strings.Contains(strings.Join(run.Drift, ","), "enterprises.fddbr") {
		t.Fatalf("drifted run %+v", run)
	}
	var name, addr string
	if err := h.pool.QueryRow(context.Background(), `SELECT name, address FROM province.enterprises WHERE source_id = $1`, changed["id"]).
		Scan(&name, &addr); err != nil {
		t.Fatal(err)
	}
	if addr != "石家庄市新地址 9 号" || name != recsName(t, h, changed["id"]) {
		t.Fatalf("after drift: name %q address %q", name, addr)
	}
	// A rename is a mapped field missing and an unknown one added.
	if n := h.count(t, `SELECT count(*) FROM province.log WHERE run_id = $1 AND action = 'drift' AND field IN ('qymc', 'dwmc', 'fddbr')`, run.ID); n != 3 {
		t.Fatalf("drift log lines %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM province.enterprises WHERE name IS NULL`); n != 0 {
		t.Fatalf("%d names lost to the drift", n)
	}
}

// recsName is the name stored before the drift (the generated one).
func recsName(t *testing.T, h *harness, id any) string {
	t.Helper()
	var n int
	_, _ = fmt.Sscanf(fmt.Sprint(id), "E%d", &n)
	return fmt.Sprintf("石家庄市第%d计量器具使用单位有限公司", n+1)
}

// A sync killed with SIGKILL mid-way resumes from the last committed page
// and ends with rows equal to the province's.
func TestResumeAfterKill9(t *testing.T) {
	sim := provincesim.New("k", "s")
	sim.Generate(3000, 10, base)
	sim.SlowEvery, sim.SlowDelay = 1, 40*time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	db := storetest.NewDatabase(t, metrologyMigrations(), Migrations()[0])
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROVSYNC_CHILD_DB="+storetest.URLFor(db), "PROVSYNC_CHILD_URL="+srv.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pool, err := store.Connect(context.Background(), storetest.URLFor(db), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h := newHarnessOn(t, pool, sim, srv)
	// Kill it once it is well into the instruments.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the child never reached the instruments: %s", stderr.String())
		}
		var n int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM province.instruments`).Scan(&n)
		if n >= 1000 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	partial := h.count(t, `SELECT count(*) FROM province.instruments`)
	wm, _ := loadWatermark(context.Background(), pool, "instruments")
	if partial >= 3000 || wm.Cursor == "" {
		t.Fatalf("the child was not interrupted mid-way: %d instruments, cursor %q", partial, wm.Cursor)
	}
	// PostgreSQL ends the killed child's session (and its advisory lock)
	// when it notices the connection closed.
	for i := 0; h.count(t, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, lockKey) > 0; i++ {
		if i > 500 {
			t.Fatal("the killed run's lock was never released")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, pagesBefore, _ := sim.Stats()
	sim.SlowEvery = 0
	run := h.sync(t)
	_, pagesAfter, _ := sim.Stats()
	// It resumed: the instruments' pages already committed were not asked for again.
	if run.Status != "ok" || pagesAfter-pagesBefore >= 30+30 {
		t.Fatalf("resumed run %+v (%d pages)", run, pagesAfter-pagesBefore)
	}
	for _, r := range []string{"enterprises", "instruments", "verifications"} {
		if local, remote := h.checksums(t, r); local != remote {
			t.Errorf("%s after the resume: checksum %s, the province's %s", r, local, remote)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM province.log WHERE action = 'insert' AND resource = 'instruments'`); n != 3000 {
		t.Fatalf("instrument insert lines %d: a row was written twice or not at all", n)
	}
}

// FP-166: local changes go up with the province's required fields; a
// record it refuses is logged with the field; a re-run pushes nothing.
func TestPushLocalChanges(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.pool.Exec(ctx, `
		INSERT INTO metrology.catalogue_items (code, name) VALUES ('04', '燃油加油机');
		INSERT INTO metrology.catalogue_categories (code, item_code, name, supervision, cycle_months, nozzles, unsure)
			VALUES ('0401', '04', '燃油加油机', '型式批准+强制检定', 6, true, false);
		INSERT INTO metrology.enterprises (credit_code, name, district_code, created_at, updated_at) VALUES
			('91130102MA00000011', '长安区恒达加油站有限公司', '130102', now(), now()),
			('91130104MA00000022', '桥西区无区划公司', '', now(), now() + interval '1 second');
		INSERT INTO metrology.instruments (credit_code, category_code, name, serial_no, created_at, updated_at)
			VALUES ('91130102MA00000011', '0401', '燃油加油机', 'JYJ-1', now(), now());`); err != nil {
		t.Fatal(err)
	}
	run := h.sync(t)
	if run.Pushed != 2 || run.Rejected != 1 || run.Status != "partial" {
		t.Fatalf("push run %+v", run)
	}
	ent := h.sim.Pushed(provincesim.Enterprises)["91130102MA00000011"]
	if ent["qymc"] != "长安区恒达加油站有限公司" || ent["sjly"] != "石家庄市市场监督管理局" || ent["tbsj"] == "" || ent["xzqhdm"] != "130102" {
		t.Fatalf("pushed enterprise %v", ent)
	}
	if len(h.sim.Pushed(provincesim.Instruments)) != 1 {
		t.Fatalf("pushed instruments %v", h.sim.Pushed(provincesim.Instruments))
	}
	if n := h.count(t, `SELECT count(*) FROM province.log WHERE action = 'reject' AND field = 'xzqhdm' AND source_id = '91130104MA00000022'`); n != 1 {
		t.Fatal("the rejection is not logged with its field")
	}
	before := h.versions(t)
	if again := h.sync(t); again.Pushed+again.Rejected != 0 {
		t.Fatalf("re-run pushed %+v", again)
	}
	if after := h.versions(t); after != before {
		t.Fatalf("a re-run with nothing to push wrote: %s → %s", before, after)
	}
}

// An issued certificate is uploaded once, with its PDF and checksum.
func TestUploadCertificate(t *testing.T) {
	h := newHarness(t)
	pdf := uploadOnce(t, h, "issued-1", 11, "JD2026-000001")
	uploadOnce(t, h, "issued-1", 11, "JD2026-000001")
	certs := h.sim.Certificates()
	if c, ok := certs["JD2026-000001/1"]; !ok || len(certs) != 1 || c.Size != len(pdf) {
		t.Fatalf("uploaded %v", certs)
	}
	if n := h.count(t, `SELECT count(*) FROM province.log WHERE action = 'upload'`); n != 1 {
		t.Fatalf("upload log lines %d", n)
	}
	d := events.CertificateIssuedData{CertificateID: 12, CertificateNo: "JD2026-000002", Version: 1, BlobKey: "certs/none.pdf"}
	e := event.New()
	e.SetID("issued-2")
	e.SetSource("/functions/certificate-print")
	e.SetType(events.CertificateIssued)
	_ = e.SetData(event.ApplicationJSON, d)
	if _, err := h.f.Receive(context.Background(), e); err == nil {
		t.Fatal("a missing PDF was accepted")
	}
}

// uploadOnce stores a certificate's PDF and delivers its issued event
// (id eventID) to the function, as the Broker would; it returns the PDF.
func uploadOnce(t *testing.T, h *harness, eventID string, certID int64, no string) []byte {
	t.Helper()
	pdf := []byte("%PDF-1.4\n% a certificate " + no + "\n")
	key := "certs/" + no + "/v1.pdf"
	if _, err := h.blob.Put(context.Background(), key, bytes.NewReader(pdf), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pdf)
	d := events.CertificateIssuedData{CertificateID: certID, CertificateNo: no, Version: 1, Kind: "certificate", VerificationID: 1,
		CreditCode: "91130102MA00000011", DistrictCode: "130102", BlobKey: key, SHA256: hex.EncodeToString(sum[:]),
		VerifyURL: "http://localhost:8080/certs/v1/verify/X", IssuedAt: base}
	e := event.New()
	e.SetID(eventID)
	e.SetSource("/functions/certificate-print")
	e.SetType(events.CertificateIssued)
	_ = e.SetData(event.ApplicationJSON, d)
	if _, err := h.f.Receive(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return pdf
}

func TestConformance(t *testing.T) {
	h := newHarness(t)
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.h)
	at := base.Format(time.RFC3339Nano)
	h.sim.Put(provincesim.Enterprises,
		provincesim.Record{"id": "E-IN", "tyshxydm": "91130102PV0000001A", "qymc": "长安区省平台单位有限公司", "xzqhdm": "130102", "dz": "", "lxr": "", "lxdh": "", "gxsj": at},
		provincesim.Record{"id": "E-OUT", "tyshxydm": "91130104PV0000002B", "qymc": "桥西区省平台单位有限公司", "xzqhdm": "130104", "dz": "", "lxr": "", "lxdh": "", "gxsj": at})
	inst := func(id, code, d string) provincesim.Record {
		return provincesim.Record{"id": id, "tyshxydm": code, "xzqhdm": d, "qjmc": "电子计价秤", "ggxh": "A", "ccbh": id, "zzdw": "Z", "qjzl": "0101",
			"syzt": "in_use", "yxqz": "2026-12-31", "gxsj": at}
	}
	h.sim.Put(provincesim.Instruments, inst("Q-IN", "91130102PV0000001A", "130102"), inst("Q-OUT", "91130104PV0000002B", "130104"))
	ver := func(id, d string) provincesim.Record {
		return provincesim.Record{"id": id, "zsbh": "ZS-" + id + "-" + d, "qjid": "Q", "jdjg": "某院", "jdjl": "合格", "jdrq": "2025-06-01", "yxqz": "2026-05-31",
			"xzqhdm": d, "gxsj": at}
	}
	h.sim.Put(provincesim.Verifications, ver("V-IN", "130102"), ver("V-OUT", "130104"))
	run := h.sync(t)
	conformance.Scope(t, h.h, conformance.ScopeFixture{
		Bearer:         h.iss.Bearer(authtest.InDistricts(conformance.Permissions(h.h), "130102")),
		Params:         map[string]string{"run": fmt.Sprint(run.ID)},
		InsideMarkers:  []string{"91130102PV0000001A", "E-IN", "ZS-V-IN-130102"},
		ForeignMarkers: []string{"91130104PV0000002B", "桥西区省平台单位有限公司", "E-OUT", "Q-OUT", "V-OUT"},
	})
	// The runs and the mapping are no one's entity data.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/province/v1/mapping", nil)
	req.Header.Set("Authorization", h.iss.Bearer(authtest.CityWide(PermSync+":view")))
	h.h.ServeHTTP(rec, req)
	var res []Resource
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || len(res) != 3 || res[0].Fields[1].Province != "qymc" {
		t.Fatalf("mapping %s", rec.Body)
	}
}

// A run started from the API is audited and runs in the background.
// startRun starts a sync through the route and waits for it to end.
func (h *harness) startRun(t *testing.T) {
	t.Helper()
	req := httptest.NewRequest("POST", "/province/v1/runs", nil)
	req.Header.Set("Authorization", h.iss.Bearer(authtest.CityWide(PermSync+":run")))
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	if err := h.f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStartRun(t *testing.T) {
	h := newHarness(t)
	h.sim.Generate(10, 5, base)
	h.startRun(t)
	if n := h.count(t, `SELECT count(*) FROM province.runs WHERE trigger = 'manual' AND status = 'ok'`); n != 1 {
		t.Fatalf("manual runs %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM platform.outbox WHERE event_type = $1`, events.AuditOperationRecorded); n != 1 {
		t.Fatalf("audit events %d", n)
	}
}
