package datahub

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// pushChildEnv, when set to a database URL, makes the test binary the
// child of the kill -9 test: it runs one push job slowly until killed.
const pushChildEnv = "DATAHUB_PUSH_CHILD_DB"

func TestMain(m *testing.M) {
	testwait.RunChild(pushChildEnv, func(url string) int { return pushChild(url, os.Getenv("DATAHUB_PUSH_CHILD_JOB")) })
	os.Exit(m.Run())
}

func pushChild(url, job string) int {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 12})
	c := config.Defaults[Config]()
	c.PushBatch = 2
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Redis: rdb, Now: time.Now, Verifier: noVerifier{}}, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	f.afterBatch = func() { time.Sleep(150 * time.Millisecond) }
	id, _ := strconv.ParseInt(job, 10, 64)
	if _, err := f.RunPush(ctx, id); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

type noVerifier struct{}

func (noVerifier) Middleware(next http.Handler) http.Handler { return next }

// mariaDB makes a database of its own on the local MariaDB for the test
// and returns its mysql:// address and a connection to it.
func mariaDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	admin, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("dh_push_%d", rand.Int64N(1<<40))
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("MariaDB on 127.0.0.1:3306 (infra/local/scripts/ensure-services.sh): %v", err)
	}
	t.Cleanup(func() {
		if a, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/"); err == nil {
			a.Exec("DROP DATABASE " + name)
			a.Close()
		}
	})
	dsn, _ := driverDSN("mysql", "mysql://root@127.0.0.1:3306/"+name)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return "mysql://root@127.0.0.1:3306/" + name, db
}

var pushFields = []string{"credit_code", "name", "legal_rep", "established_on", "registered_capital", "updated_at"}

// canon is a row as text both sides agree on: dates as days, times in
// microseconds UTC, numbers with four decimals.
func canon(fields []Field, vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
			parts[i] = "∅"
		case time.Time:
			if fields[i].Type == TypeDate {
				parts[i] = x.Format("2006-01-02")
			} else {
				parts[i] = x.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
			}
		case []byte:
			parts[i] = canonText(fields[i], string(x))
		default:
			parts[i] = canonText(fields[i], fmt.Sprint(plain(x)))
		}
	}
	return strings.Join(parts, "|")
}

func canonText(f Field, s string) string {
	if f.Type == TypeNumber {
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return strconv.FormatFloat(n, 'f', 4, 64)
		}
	}
	return s
}

// checksums compare what the interface serves with the target table.
func (h *harness) sourceSum(t *testing.T, ifaceID int64) (string, int) {
	t.Helper()
	it, err := ifaceByID(context.Background(), h.pool, ifaceID)
	if err != nil {
		t.Fatal(err)
	}
	ds := h.f.catalogue[it.Dataset]
	var sel []Field
	for _, n := range pushFields {
		fl, _ := ds.field(n)
		sel = append(sel, fl)
	}
	rows, err := h.f.query(context.Background(), ds, it, Query{Select: sel, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.New()
	for _, r := range rows {
		vals := make([]any, len(sel))
		for i, fl := range sel {
			vals[i] = r[fl.Name]
			if str, ok := vals[i].(string); ok && fl.Type == TypeDate {
				vals[i], _ = time.Parse("2006-01-02", str)
			}
		}
		io.WriteString(s, canon(sel, vals)+"\n")
	}
	return hex.EncodeToString(s.Sum(nil)), len(rows)
}

func targetSum(t *testing.T, h *harness, db *sql.DB, table string, quote string) (string, int) {
	t.Helper()
	ds := h.f.catalogue["entities"]
	var sel []Field
	cols := make([]string, len(pushFields))
	for i, n := range pushFields {
		fl, _ := ds.field(n)
		sel = append(sel, fl)
		cols[i] = quote + n + quote
	}
	rows, err := db.Query("SELECT " + strings.Join(cols, ", ") + " FROM " + quote + table + quote + " ORDER BY " + cols[0])
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	s := sha256.New()
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		io.WriteString(s, canon(sel, vals)+"\n")
		n++
	}
	return hex.EncodeToString(s.Sum(nil)), n
}

func (h *harness) createPush(t *testing.T, bearer string, ifaceID int64, in PushInput) PushJob {
	t.Helper()
	var job PushJob
	rec := h.do(t, bearer, "POST", "/datahub/v1/interfaces/"+itoa(ifaceID)+"/pushes", in)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create push: %d %s", rec.Code, rec.Body)
	}
	decode(t, rec.Body.Bytes(), &job)
	return job
}

// TestPushMariaDBKillAndResume (FP-96): a push into MariaDB is killed with
// SIGKILL mid-run; the next run resumes from the recorded cursor, and the
// target then holds exactly what the interface serves (checksums equal);
// a re-run writes nothing; a changed source row is the only row the next
// run writes.
func TestPushMariaDBKillAndResume(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "推送", Dataset: "entities", Fields: pushFields})
	addr, db := mariaDB(t)
	job := h.createPush(t, b, c.ID, PushInput{Name: "推送到区局库", TargetKind: "mysql", TargetDSN: addr, TargetTable: "entities_push", EveryMinutes: 60})
	if strings.Contains(job.TargetDSN, "root@") && !strings.HasPrefix(job.TargetDSN, "mysql://root@127.0.0.1") {
		t.Fatalf("job address %q", job.TargetDSN)
	}

	child := testwait.StartChild(t, pushChildEnv+"="+h.pool.Config().ConnString(), "DATAHUB_PUSH_CHILD_JOB="+itoa(job.ID))
	var read int64
	testwait.For(t, "the child to push three batches", func() bool {
		h.pool.QueryRow(context.Background(), `SELECT coalesce(max(rows_read), 0) FROM datahub.push_runs WHERE job_id = $1`, job.ID).Scan(&read)
		return read >= 6
	})
	child.Kill(t) // SIGKILL
	var status string
	h.pool.QueryRow(context.Background(), `SELECT status, rows_read FROM datahub.push_runs WHERE job_id = $1`, job.ID).Scan(&status, &read)
	_, total := h.sourceSum(t, c.ID)
	if status != "running" || read >= int64(total) {
		t.Fatalf("after the kill: run %s with %d of %d rows read (%s)", status, read, total, child.Stderr())
	}
	var inTarget int
	db.QueryRow("SELECT count(*) FROM entities_push").Scan(&inTarget)
	if inTarget < int(read) || inTarget >= total {
		t.Fatalf("target holds %d rows after the kill, %d recorded", inTarget, read)
	}

	run, err := h.f.RunPush(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "done" || run.Resumes != 1 || run.RowsRead != int64(total) {
		t.Fatalf("resumed run: %+v (want done, 1 resume, %d rows)", run, total)
	}
	src, n := h.sourceSum(t, c.ID)
	dst, m := targetSum(t, h, db, "entities_push", "`")
	if src != dst || n != m {
		t.Fatalf("checksums differ: source %s (%d rows), target %s (%d rows)", src, n, dst, m)
	}
	// The legal representative is masked in the target as in the interface.
	var lr string
	db.QueryRow("SELECT legal_rep FROM entities_push LIMIT 1").Scan(&lr)
	if !strings.HasPrefix(lr, "张*") {
		t.Errorf("legal_rep in the target: %q", lr)
	}

	again, err := h.f.RunPush(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != "done" || again.RowsWritten != 0 || again.RowsRead == 0 || again.Since == nil || again.ID == run.ID {
		t.Fatalf("re-run: %+v (want done, nothing written, the overlap window read)", again)
	}

	if _, err := h.pool.Exec(context.Background(), `UPDATE registry.stub_datahub_entities SET name = '改名后的超市', updated_at = now() WHERE credit_code = $1`, codeOf(2)); err != nil {
		t.Fatal(err)
	}
	third, err := h.f.RunPush(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if third.RowsWritten != 1 {
		t.Errorf("after one source change the run wrote %d rows", third.RowsWritten)
	}
	if src, _ := h.sourceSum(t, c.ID); src != func() string { s, _ := targetSum(t, h, db, "entities_push", "`"); return s }() {
		t.Error("checksums differ after the incremental run")
	}
	rec := h.do(t, b, "GET", "/datahub/v1/pushes/"+itoa(job.ID)+"/runs", nil)
	var runs []PushRun
	decode(t, rec.Body.Bytes(), &runs)
	if rec.Code != 200 || len(runs) != 3 || runs[2].Resumes != 1 {
		t.Errorf("run log: %d %s", rec.Code, rec.Body)
	}
}

// TestPushPostgresDriftAndBadInput (FP-96): the same push into a
// PostgreSQL target writes once and nothing on a re-run; a target table
// that lacks a pushed column is reported as a drift naming the column; bad
// settings are refused naming the part.
func TestPushPostgresDriftAndBadInput(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "推送", Dataset: "entities", Fields: pushFields})
	pg := h.pool.Config().ConnString()
	job := h.createPush(t, b, c.ID, PushInput{Name: "推送到 PostgreSQL", TargetKind: "postgres", TargetDSN: pg, TargetTable: "push_target"})
	run, err := h.f.RunPush(context.Background(), job.ID)
	if err != nil || run.Status != "done" || run.RowsWritten != run.RowsRead || run.RowsRead == 0 {
		t.Fatalf("first run: %+v %v", run, err)
	}
	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if src, _ := h.sourceSum(t, c.ID); src != func() string { s, _ := targetSum(t, h, db, "push_target", `"`); return s }() {
		t.Error("checksums differ")
	}
	if again, err := h.f.RunPush(context.Background(), job.ID); err != nil || again.RowsWritten != 0 {
		t.Fatalf("re-run: %+v %v", again, err)
	}

	if _, err := db.Exec(`CREATE TABLE drifted (credit_code text PRIMARY KEY, name text)`); err != nil {
		t.Fatal(err)
	}
	dj := h.createPush(t, b, c.ID, PushInput{Name: "漂移", TargetKind: "postgres", TargetDSN: pg, TargetTable: "drifted"})
	dr, err := h.f.RunPush(context.Background(), dj.ID)
	if err != nil || dr.Status != "drift" || !strings.Contains(dr.Message, "缺少列") || !strings.Contains(dr.Message, "legal_rep") || dr.RowsRead != 0 {
		t.Fatalf("drift run: %+v %v", dr, err)
	}

	for name, c2 := range map[string]struct {
		in   PushInput
		want string
	}{
		"kind":        {PushInput{Name: "x", TargetKind: "oracle", TargetDSN: pg, TargetTable: "t"}, "target_kind"},
		"table":       {PushInput{Name: "x", TargetKind: "postgres", TargetDSN: pg, TargetTable: "t; DROP TABLE x"}, "目标表名"},
		"dsn":         {PushInput{Name: "x", TargetKind: "mysql", TargetDSN: "not a url", TargetTable: "t"}, "目标数据库地址格式错误"},
		"unreachable": {PushInput{Name: "x", TargetKind: "mysql", TargetDSN: "mysql://root@127.0.0.1:1/db", TargetTable: "t"}, "无法连接目标数据库"},
		"every":       {PushInput{Name: "x", TargetKind: "postgres", TargetDSN: pg, TargetTable: "t", EveryMinutes: -5}, "推送间隔"},
	} {
		rec := h.do(t, b, "POST", "/datahub/v1/interfaces/"+itoa(c.ID)+"/pushes", c2.in)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c2.want) {
			t.Errorf("%s: %d %s, want %q", name, rec.Code, rec.Body, c2.want)
		}
	}
	rec := h.do(t, b, "GET", "/datahub/v1/pushes", nil)
	var jobs []PushJob
	decode(t, rec.Body.Bytes(), &jobs)
	if rec.Code != 200 || len(jobs) != 2 {
		t.Errorf("push list: %d %s", rec.Code, rec.Body)
	}
}

func TestMaskedDSN(t *testing.T) {
	if got := maskedDSN("mysql://u:p4ss@db:3306/x"); strings.Contains(got, "p4ss") || !strings.Contains(got, "u:") {
		t.Errorf("maskedDSN = %s", got)
	}
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
