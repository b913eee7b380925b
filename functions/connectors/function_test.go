package connectors

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
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
	"github.com/sjzamr/smartreg/tests/sim/connect/hub"
	"github.com/sjzamr/smartreg/tests/sim/connect/legalperson"
	"github.com/sjzamr/smartreg/tests/sim/connect/publicity"
	"github.com/sjzamr/smartreg/tests/sim/connect/shi"
	"github.com/sjzamr/smartreg/tests/sim/connect/simkit"
	"github.com/sjzamr/smartreg/tests/sim/connect/spotcheck"
)

// childEnv, when set to a database URL, makes the test binary the child
// of the kill -9 tests: it runs one connector slowly until killed.
const childEnv = "CONNECTORS_CHILD_DB"

func TestMain(m *testing.M) {
	testwait.RunChild(childEnv, func(url string) int {
		return runChild(url, os.Getenv("CONNECTORS_CHILD_SIMS"), os.Getenv("CONNECTORS_CHILD_RUN"))
	})
	os.Exit(m.Run())
}

func runChild(dbURL, sims, name string) int {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, HTTP: &http.Client{}, Now: time.Now, Verifier: noVerifier{}}, testConfig(sims))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	f.afterPage = func() { time.Sleep(150 * time.Millisecond) }
	if _, err := f.RunConnector(ctx, name, "test"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

type noVerifier struct{}

func (noVerifier) Middleware(next http.Handler) http.Handler { return next }

// sims are the remote systems, served under one address by prefix as the
// local platform serves them under /sim/.
type sims struct {
	lp  *legalperson.Sim
	pub *publicity.Sim
	sc  *spotcheck.Sim
	shi *shi.Sim
	hub *hub.Sim
	srv *httptest.Server
}

func newSims(t *testing.T) *sims {
	s := &sims{lp: legalperson.New("lp-id", "lp-secret"), pub: publicity.New("pub-id", "pub-secret"), sc: spotcheck.New("sc-key"),
		shi: shi.New("shi-id", "shi-secret"), hub: hub.New("hub-key")}
	mux := http.NewServeMux()
	mux.Handle("/legalperson/", http.StripPrefix("/legalperson", s.lp))
	mux.Handle("/publicity/", http.StripPrefix("/publicity", s.pub))
	mux.Handle("/spotcheck/", http.StripPrefix("/spotcheck", s.sc))
	mux.Handle("/shi/", http.StripPrefix("/shi", s.shi))
	mux.Handle("/hub/", http.StripPrefix("/hub", s.hub))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func testConfig(base string) Config {
	c := config.Defaults[Config]()
	c.PageSize, c.Backoff, c.MaxRetries, c.Timeout = 4, time.Millisecond, 5, 5*time.Second
	c.LegalPersonURL, c.LegalPersonID, c.LegalPersonSecret = base+"/legalperson", "lp-id", "lp-secret"
	c.PublicityURL, c.PublicityAppID, c.PublicitySecret = base+"/publicity", "pub-id", "pub-secret"
	c.SpotCheckURL, c.SpotCheckKey = base+"/spotcheck", "sc-key"
	c.ShiURL, c.ShiAppID, c.ShiSecret = base+"/shi", "shi-id", "shi-secret"
	c.HubURL, c.HubKey = base+"/hub", "hub-key"
	return c
}

// registryMigrations give the database the registry's tables and its
// published read function for the hub (read from its directory).
func registryMigrations() store.Migration {
	return store.Migration{Component: "registry", FS: os.DirFS("../registry"), Dir: "migrations"}
}

type harness struct {
	f    *Function
	pool *pgxpool.Pool
	sims *sims
	iss  *authtest.Issuer

	mu     sync.Mutex
	pauses []time.Duration
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{sims: newSims(t), iss: authtest.NewIssuer(t)}
	h.pool = storetest.New(t, registryMigrations(), auditlogtest.Migration(), Migrations()[0])
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: h.pool, HTTP: &http.Client{}, Now: time.Now,
		Verifier: h.iss.Verifier()}, testConfig(h.sims.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	// The waits are recorded, not slept: the backoff is checked by value.
	f.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.pauses = append(h.pauses, d)
		h.mu.Unlock()
		return ctx.Err()
	}
	h.f = f
	return h
}

func (h *harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

func (h *harness) run(t *testing.T, name string) Run {
	t.Helper()
	r, err := h.f.RunConnector(context.Background(), name, "test")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func (h *harness) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checksum is the target's fingerprint as the simulators compute theirs.
func (h *harness) checksum(t *testing.T, name string) (string, int) {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT ext_id || ':' || content_hash FROM connectors.items WHERE connector = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		var l string
		rows.Scan(&l)
		lines = append(lines, l)
	}
	return simkit.SumLines(lines), len(lines)
}

func (h *harness) events(t *testing.T, name string) int {
	return h.count(t, `SELECT count(*) FROM platform.outbox WHERE event_type = $1 AND event->'data'->>'connector' = $2`,
		events.ConnectorRecordReceived, name)
}

func creditCode(t *testing.T, n int) string {
	t.Helper()
	c, err := codes.MakeCreditCode("91", "130102", fmt.Sprintf("MA%06d", n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fill gives every simulator n rows.
func (s *sims) fill(t *testing.T, n int) {
	for i := 1; i <= n; i++ {
		cc := creditCode(t, i)
		s.lp.Data.Put(fmt.Sprintf("P%04d", i), legalperson.Fields(fmt.Sprintf("P%04d", i), fmt.Sprintf("王建%d", i),
			fmt.Sprintf("13010219800101%04d", i), "法定代表人", cc, fmt.Sprintf("河北恒达第%d有限公司", i), "2026-01-02 10:00:00"))
		no := fmt.Sprintf("CF%04d", i)
		s.pub.Data["penalty"].Put(no, map[string]string{"recordNo": no, "uniscid": cc, "decisionNo": "石市监罚〔2026〕" + no + "号",
			"penaltyType": "罚款", "amount": "5000", "basis": "《中华人民共和国食品安全法》第一百二十四条", "executionStatus": "已履行",
			"illegalFact": "经营超过保质期的食品", "authority": "石家庄市市场监督管理局", "decisionDate": "2026-01-05"})
		if i%2 == 0 {
			ab := fmt.Sprintf("YC%04d", i)
			s.pub.Data["abnormal"].Put(ab, map[string]string{"recordNo": ab, "uniscid": cc, "reason": "通过登记的住所无法联系",
				"authority": "长安区市场监督管理局", "listedDate": "2026-01-06", "status": "列入", "removedDate": "", "removalReason": ""})
		}
		if i%3 == 0 {
			hg := fmt.Sprintf("HG%04d", i)
			s.pub.Data["compliance"].Put(hg, map[string]string{"recordNo": hg, "uniscid": cc, "title": "守合同重信用企业公示",
				"authority": "石家庄市市场监督管理局", "date": "2026-01-07", "result": "通过"})
		}
		task := fmt.Sprintf("CC2026%03d", i)
		s.sc.Data.Put(task+"/"+cc, spotcheck.Fields(task, "2026年食品经营者双随机抽查", cc, "长安区市场监督管理局", "2026-02-03", "未发现问题"))
		s.shi.Data[shi.Enterprise].Put(fmt.Sprintf("Q%04d", i), map[string]string{"itemNo": fmt.Sprintf("Q%04d", i), "uniscid": cc,
			"type": "信用承诺", "title": "食品经营信用承诺书", "submitDate": "2026-02-10", "status": "已受理"})
		s.shi.Data[shi.Citizen].Put(fmt.Sprintf("M%04d", i), map[string]string{"itemNo": fmt.Sprintf("M%04d", i), "uniscid": cc,
			"category": "投诉", "summary": "购买的月饼已过保质期", "phone": "13800138000", "submitDate": "2026-02-11", "status": "已办结"})
	}
}

// remote is the simulator's fingerprint of a pull connector's source.
func (s *sims) remote(name string) (string, int) {
	switch name {
	case "legalperson":
		return s.lp.Data.Checksum(), s.lp.Data.Len()
	case "publicity":
		return s.pub.Checksum()
	case "spotcheck":
		return s.sc.Data.Checksum(), s.sc.Data.Len()
	case "shiqi":
		return s.shi.Data[shi.Enterprise].Checksum(), s.shi.Data[shi.Enterprise].Len()
	case "shimin":
		return s.shi.Data[shi.Citizen].Checksum(), s.shi.Data[shi.Citizen].Len()
	}
	return "", 0
}

// supervision puts n of the registry's own supervision records in place
// for the hub's return channel (a fixture, as the registry writes them).
func (h *harness) supervision(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		cc := creditCode(t, i)
		if _, err := h.pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on, address,
			district_code, township_code, industry_code, status, created_at, updated_at)
			VALUES ($1, $2, 'enterprise', '张三', '2020-01-01', '长安区建设北大街1号', '130102', '', '5164', 'active', now(), now())
			ON CONFLICT DO NOTHING`, cc, fmt.Sprintf("河北恒达第%d有限公司", i)); err != nil {
			t.Fatal(err)
		}
		kind := []string{"inspection", "spot_check", "penalty", "random_check"}[i%4]
		if _, err := h.pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, authority, occurred_on, status)
			VALUES ($1, $2, $3, '长安区市场监督管理局', '2026-03-01', '合格')`, cc, kind, fmt.Sprintf("监管记录%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Not supervision, and one that came from outside: neither goes back.
	h.pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on) VALUES ($1, 'licence', '食品经营许可证', '2026-03-01')`, creditCode(t, 1))
	h.pool.Exec(ctx, `INSERT INTO registry.records (credit_code, kind, title, occurred_on, source_key) VALUES ($1, 'penalty', '公示系统的处罚', '2026-03-01', 'publicity/penalty/X')`, creditCode(t, 1))
}

// hubSums compares what the hub holds with what the registry has to send.
func (h *harness) hubSums(t *testing.T) (src, dst string, n, m int) {
	t.Helper()
	recs, _, err := supervisionAfter(context.Background(), h.pool, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []string
	for _, r := range recs {
		j, _ := json.Marshal(r)
		a = append(a, string(j))
	}
	for _, r := range h.sims.hub.Records() {
		j, _ := json.Marshal(HubRecord(r))
		b = append(b, string(j))
	}
	return simkit.SumLines(a), simkit.SumLines(b), len(a), len(b)
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, HTTP: http.DefaultClient, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, HTTP: http.DefaultClient, Now: time.Now, Verifier: iss.Verifier()},
		"http":     {Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, HTTP: http.DefaultClient, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, HTTP: http.DefaultClient, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(Deps{Logger: log, Pool: pool, HTTP: http.DefaultClient, Now: time.Now, Verifier: iss.Verifier()}, Config{}); err == nil {
		t.Error("an invalid Config accepted")
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

var pullConnectors = []string{"legalperson", "publicity", "spotcheck", "shiqi", "shimin"}

// TestPullThenNoOp (FP-14, FP-15, FP-19, FP-20, FP-21): each connector
// pulls everything, the target's checksum equals the source's, every row
// is announced once; a re-run writes and announces nothing; a changed
// remote row is the only one the next run writes.
func TestPullThenNoOp(t *testing.T) {
	h := newHarness(t)
	h.sims.fill(t, 9)
	for _, name := range pullConnectors {
		r := h.run(t, name)
		want, n := h.sims.remote(name)
		got, m := h.checksum(t, name)
		if r.Status != "done" || got != want || n != m || r.RowsWritten != n || h.events(t, name) != n {
			t.Fatalf("%s: run %+v; checksum %s (%d) want %s (%d); %d events", name, r, got, m, want, n, h.events(t, name))
		}
		again := h.run(t, name)
		if again.Status != "done" || again.RowsWritten != 0 || h.events(t, name) != n || again.CursorFrom != r.CursorTo {
			t.Fatalf("%s: re-run %+v (want nothing written, from the cursor %s)", name, again, r.CursorTo)
		}
	}
	// GBK arrived intact; persons' ID numbers are masked; a citizen's phone never arrives.
	var title, person, complaint string
	h.pool.QueryRow(context.Background(), `SELECT payload->>'title' FROM connectors.items WHERE connector = 'spotcheck' LIMIT 1`).Scan(&title)
	h.pool.QueryRow(context.Background(), `SELECT payload::text FROM connectors.items WHERE connector = 'legalperson' AND ext_id = 'P0001'`).Scan(&person)
	h.pool.QueryRow(context.Background(), `SELECT payload::text FROM connectors.items WHERE connector = 'shimin' LIMIT 1`).Scan(&complaint)
	if title != "2026年食品经营者双随机抽查" {
		t.Errorf("spot-check title through GBK: %q", title)
	}
	if strings.Contains(person, "130102198001010001") || !strings.Contains(person, "130102********0001") {
		t.Errorf("person payload: %s", person)
	}
	if strings.Contains(complaint, "13800138000") {
		t.Errorf("a citizen's phone was stored: %s", complaint)
	}
	// A penalty carries what the public page shows (FP-33).
	var pen map[string]any
	var raw []byte
	h.pool.QueryRow(context.Background(), `SELECT payload FROM connectors.items WHERE connector = 'publicity' AND ext_id = 'penalty/CF0001'`).Scan(&raw)
	json.Unmarshal(raw, &pen)
	if d, _ := pen["details"].(map[string]any); pen["kind"] != "penalty" || d["amount"] != "5000" || d["execution_status"] != "已履行" {
		t.Errorf("penalty payload: %s", raw)
	}

	h.sims.pub.Data["penalty"].Put("CF0002", map[string]string{"recordNo": "CF0002", "uniscid": creditCode(t, 2), "decisionNo": "石市监罚〔2026〕CF0002号",
		"penaltyType": "罚款", "amount": "8000", "basis": "《中华人民共和国食品安全法》第一百二十四条", "executionStatus": "未履行",
		"illegalFact": "经营超过保质期的食品", "authority": "石家庄市市场监督管理局", "decisionDate": "2026-01-05"})
	before := h.events(t, "publicity")
	r := h.run(t, "publicity")
	want, _ := h.sims.remote("publicity")
	if got, _ := h.checksum(t, "publicity"); r.RowsWritten != 1 || r.RowsRead != 1 || h.events(t, "publicity") != before+1 || got != want {
		t.Fatalf("after one remote change: %+v", r)
	}
}

// TestPushToHubThenNoOp (FP-16): the registry's own supervision records go
// to the hub; what came from outside and what is not supervision stays.
func TestPushToHubThenNoOp(t *testing.T) {
	h := newHarness(t)
	h.supervision(t, 10)
	r := h.run(t, "hub")
	src, dst, n, m := h.hubSums(t)
	if r.Status != "done" || src != dst || n != 10 || m != 10 || r.RowsWritten != 10 {
		t.Fatalf("push: %+v; source %s (%d) hub %s (%d)", r, src, n, dst, m)
	}
	again := h.run(t, "hub")
	if again.RowsRead != 0 || again.RowsWritten != 0 || h.sims.hub.Duplicates() != 0 {
		t.Fatalf("re-run: %+v, %d duplicates at the hub", again, h.sims.hub.Duplicates())
	}
}

// killAndResume runs name in a child process, SIGKILLs it after a few
// committed pages, resumes, and checks the target holds exactly the
// source (checksum) with each row announced once, and that a re-run
// writes nothing.
func killAndResume(t *testing.T, h *harness, name string, sums func() (src, dst string, n, m int)) {
	t.Helper()
	child := testwait.StartChild(t, childEnv+"="+h.pool.Config().ConnString(), "CONNECTORS_CHILD_SIMS="+h.sims.srv.URL, "CONNECTORS_CHILD_RUN="+name)
	testwait.For(t, name+": the child to commit two pages", func() bool {
		return h.count(t, `SELECT coalesce(max(pages), 0) FROM connectors.runs WHERE connector = $1`, name) >= 2
	})
	child.Kill(t) // SIGKILL
	// The server ends the dead child's session, and its lock, on its own time.
	testwait.For(t, name+": the killed child's lock to go", func() bool {
		return h.count(t, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = hashtext('connectors:' || $1)::oid`, name) == 0
	})
	// The console does not show a killed run as still going.
	sts, err := h.f.Statuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Name == name && st.Running {
			t.Errorf("%s: the killed run is shown as running", name)
		}
	}
	var status string
	var read int
	h.pool.QueryRow(context.Background(), `SELECT status, rows_read FROM connectors.runs WHERE connector = $1`, name).Scan(&status, &read)
	_, _, total, _ := sums()
	if status != "running" || read >= total {
		t.Fatalf("%s after the kill: run %s with %d of %d rows (%s)", name, status, read, total, child.Stderr())
	}
	r := h.run(t, name)
	src, dst, n, m := sums()
	if r.Status != "done" || !r.Resumed || src != dst || n != m {
		t.Fatalf("%s resumed: %+v; source %s (%d) target %s (%d)", name, r, src, n, dst, m)
	}
	if got := h.count(t, `SELECT count(*) FROM connectors.runs WHERE connector = $1 AND status = 'interrupted'`, name); got != 1 {
		t.Errorf("%s: %d interrupted runs, want 1", name, got)
	}
	if name != "hub" && h.events(t, name) != n {
		t.Errorf("%s: %d events for %d rows (a row announced twice or never)", name, h.events(t, name), n)
	}
	again := h.run(t, name)
	if again.RowsWritten != 0 || again.Status != "done" {
		t.Fatalf("%s re-run after resume: %+v", name, again)
	}
	t.Logf("%s: killed at %d/%d rows, resumed from cursor %q", name, read, total, r.CursorFrom)
}

// TestKillAndResume (FP-14, FP-15, FP-16, FP-19, FP-20, FP-21): kill -9 mid-run for each connector.
func TestKillAndResume(t *testing.T) {
	h := newHarness(t)
	h.sims.fill(t, 14)
	h.supervision(t, 14)
	for _, name := range pullConnectors {
		killAndResume(t, h, name, func() (string, string, int, int) {
			want, n := h.sims.remote(name)
			got, m := h.checksum(t, name)
			return want, got, n, m
		})
	}
	killAndResume(t, h, "hub", func() (string, string, int, int) { return h.hubSums(t) })
	if h.sims.hub.Duplicates() > int64(h.f.cfg.PageSize) {
		t.Errorf("the hub saw %d duplicates: more than the one batch in flight at the kill", h.sims.hub.Duplicates())
	}
}

func lastLog(t *testing.T, h *harness, name string) (lines []LogLine) {
	rows, err := h.pool.Query(context.Background(), `SELECT method, url, status, rows, error FROM connectors.log WHERE connector = $1 ORDER BY id`, name)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var l LogLine
		rows.Scan(&l.Method, &l.URL, &l.Status, &l.Rows, &l.Error)
		lines = append(lines, l)
	}
	return lines
}

func logHas(lines []LogLine, s string) bool {
	for _, l := range lines {
		if strings.Contains(l.Error, s) {
			return true
		}
	}
	return false
}

// TestBadRemoteInput (FP-14, FP-15, FP-19, FP-20, FP-21): what a remote
// system sends wrong stops the run with a logged reason and moves no
// cursor; the next run, the fault gone, completes.
func TestBadRemoteInput(t *testing.T) {
	h := newHarness(t)
	h.sims.fill(t, 6)
	ctx := context.Background()
	cursor := func(name string) string {
		var c string
		h.pool.QueryRow(ctx, `SELECT cursor FROM connectors.state WHERE connector = $1`, name).Scan(&c)
		return c
	}

	t.Run("malformed-json", func(t *testing.T) {
		h.sims.sc.Faults.Set(func(f *simkit.Faults) { f.Malformed = 1 })
		r := h.run(t, "spotcheck")
		if r.Status != "failed" || !strings.Contains(r.Error, "JSON 格式错误") || cursor("spotcheck") != "" {
			t.Fatalf("run %+v, cursor %q", r, cursor("spotcheck"))
		}
		if !logHas(lastLog(t, h, "spotcheck"), "JSON 格式错误") {
			t.Error("the reason is not in the interaction log")
		}
		if r := h.run(t, "spotcheck"); r.Status != "done" || r.RowsWritten != 6 {
			t.Fatalf("after the fault: %+v", r)
		}
	})
	t.Run("gbk-declared-utf8", func(t *testing.T) {
		h.sims.lp.Faults.Set(func(f *simkit.Faults) { f.GBKAsUTF8 = 1 })
		r := h.run(t, "legalperson")
		if r.Status != "failed" || !strings.Contains(r.Error, "GBK") || h.count(t, `SELECT count(*) FROM connectors.items WHERE connector = 'legalperson'`) != 0 {
			t.Fatalf("run %+v", r)
		}
		if !logHas(lastLog(t, h, "legalperson"), "非法字节") {
			t.Error("the reason is not in the interaction log")
		}
	})
	t.Run("5xx-storm-with-backoff", func(t *testing.T) {
		h.mu.Lock()
		h.pauses = nil
		h.mu.Unlock()
		h.sims.shi.Faults.Set(func(f *simkit.Faults) { f.Storm = 3 })
		r := h.run(t, "shiqi")
		if r.Status != "done" || r.Retries != 3 || r.RowsWritten != 6 {
			t.Fatalf("run %+v", r)
		}
		h.mu.Lock()
		got := fmt.Sprint(h.pauses)
		h.mu.Unlock()
		if want := fmt.Sprint([]time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}); got != want {
			t.Errorf("backoff %s, want %s", got, want)
		}
		n := 0
		for _, l := range lastLog(t, h, "shiqi") {
			if l.Status == 503 {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d 503 answers logged, want 3", n)
		}
		var health string
		h.pool.QueryRow(ctx, `SELECT health FROM connectors.state WHERE connector = 'shiqi'`).Scan(&health)
		if health != "degraded" {
			t.Errorf("health after retries %q", health)
		}
		h.sims.shi.Faults.Set(func(f *simkit.Faults) { f.Storm = 100 })
		r = h.run(t, "shimin")
		h.sims.shi.Faults.Set(func(f *simkit.Faults) { f.Storm = 0 })
		if r.Status != "failed" || !strings.Contains(r.Error, "重试 5 次后远端仍不可用") || cursor("shimin") != "" {
			t.Fatalf("a storm longer than the retries: %+v", r)
		}
		h.pool.QueryRow(ctx, `SELECT health FROM connectors.state WHERE connector = 'shimin'`).Scan(&health)
		if health != "error" {
			t.Errorf("health after a failed run %q", health)
		}
	})
	t.Run("rate-limit-retry-after", func(t *testing.T) {
		h.mu.Lock()
		h.pauses = nil
		h.mu.Unlock()
		h.sims.pub.Faults.Set(func(f *simkit.Faults) { f.RateLimit = 1 })
		r := h.run(t, "publicity")
		h.mu.Lock()
		first := h.pauses[0]
		h.mu.Unlock()
		if r.Status != "done" || first != time.Second {
			t.Fatalf("run %+v, first pause %s (Retry-After: 1)", r, first)
		}
	})
	t.Run("page-repeats", func(t *testing.T) {
		h.sims.lp.Faults.Set(func(f *simkit.Faults) { f.RepeatFrom = int(f.Requests()) + 2 })
		r := h.run(t, "legalperson")
		h.sims.lp.Faults.Set(func(f *simkit.Faults) { f.RepeatFrom = 0 })
		if r.Status != "failed" || !strings.Contains(r.Error, "重复返回") || r.RowsWritten != h.f.cfg.PageSize || cursor("legalperson") != "4" {
			t.Fatalf("run %+v, cursor %q", r, cursor("legalperson"))
		}
		if !logHas(lastLog(t, h, "legalperson"), "重复返回") {
			t.Error("the reason is not in the interaction log")
		}
		if r := h.run(t, "legalperson"); r.Status != "done" || r.RowsWritten != 2 || r.CursorFrom != "4" {
			t.Fatalf("after the fault: %+v", r)
		}
	})
	t.Run("bad-row", func(t *testing.T) {
		h.sims.sc.Data.Put("BAD/1", spotcheck.Fields("BAD", "坏记录", "91130102MA0000000X", "长安区市场监督管理局", "2026-02-03", "合格"))
		r := h.run(t, "spotcheck")
		if r.Status != "done" || r.RowsRejected != 1 || r.RowsWritten != 0 || !logHas(lastLog(t, h, "spotcheck"), "统一社会信用代码无效") {
			t.Fatalf("run %+v", r)
		}
	})
}
