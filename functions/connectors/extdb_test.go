package connectors

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/tests/sim/connect/simkit"
)

// exchangeRows are an external database's exchange table as the test
// writes it; want is the checksum the connector's target must reach.
func exchangeRows(t *testing.T, n int) (rows []map[string]string, want string) {
	var lines []string
	for i := 1; i <= n; i++ {
		r := map[string]string{"id": fmt.Sprintf("EX%04d", i), "credit_code": creditCode(t, i), "kind": "inspection",
			"title": fmt.Sprintf("区局日常监督检查第%d次", i), "authority": "长安区市场监督管理局", "occurred_on": "2026-03-01", "status": "合格",
			"version": strconv.Itoa(i)}
		rows = append(rows, r)
		cp := map[string]string{}
		for k, v := range r {
			if k != "version" {
				cp[k] = v
			}
		}
		lines = append(lines, r["id"]+":"+contentHash(cp))
	}
	return rows, simkit.SumLines(lines)
}

func (h *harness) addDatabase(t *testing.T, in DatabaseInput) Database {
	t.Helper()
	rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermDatabase+":edit")), "POST", "/connectors/v1/databases", in)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create database: %d %s", rec.Code, rec.Body)
	}
	var d Database
	json.Unmarshal(rec.Body.Bytes(), &d)
	return d
}

func (h *harness) check(t *testing.T, id int64) Database {
	t.Helper()
	rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermDatabase+":edit")), "POST", fmt.Sprintf("/connectors/v1/databases/%d/check", id), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("check: %d %s", rec.Code, rec.Body)
	}
	var d Database
	json.Unmarshal(rec.Body.Bytes(), &d)
	return d
}

// TestExternalPostgres (FP-13): an administrator configures a PostgreSQL
// exchange table; the connection check shows its health; the connector
// pulls it whole, is killed mid-run and resumes to the source's checksum,
// and a re-run writes nothing.
func TestExternalPostgres(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	rows, want := exchangeRows(t, 14)
	if _, err := h.pool.Exec(ctx, `CREATE SCHEMA exch; CREATE TABLE exch.records (id text PRIMARY KEY, credit_code text, kind text,
		title text, authority text, occurred_on date, status text, version bigint)`); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		h.pool.Exec(ctx, `INSERT INTO exch.records VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r["id"], r["credit_code"], r["kind"], r["title"],
			r["authority"], r["occurred_on"], r["status"], r["version"])
	}
	cs := h.pool.Config().ConnConfig
	dsn := fmt.Sprintf("postgres://%s:secret-pw@%s:%d/%s?sslmode=disable", cs.User, cs.Host, cs.Port, cs.Database)
	d := h.addDatabase(t, DatabaseInput{Name: "区局监管库", Kind: "postgres", DSN: dsn, Table: "exch.records"})
	if strings.Contains(d.DSN, "secret-pw") || !strings.Contains(d.DSN, "***") {
		t.Fatalf("the password is answered: %s", d.DSN)
	}
	if c := h.check(t, d.ID); c.Health != "ok" || c.LatencyMS == nil {
		t.Fatalf("health %+v", c)
	}
	// The operation log records the configuration, password masked.
	ops := auditlogtest.Ops(t, h.pool, strconv.FormatInt(d.ID, 10))
	if len(ops) != 1 || ops[0].Action != "connectors.database.create" || strings.Contains(string(ops[0].After), "secret-pw") {
		t.Errorf("op-log %+v", ops)
	}
	killAndResume(t, h, d.Connector, func() (string, string, int, int) {
		got, m := h.checksum(t, d.Connector)
		return want, got, len(rows), m
	})
	h.pool.Exec(ctx, `UPDATE exch.records SET status = '不合格', version = 15 WHERE id = 'EX0003'`)
	if r := h.run(t, d.Connector); r.RowsWritten != 1 || r.RowsRead != 1 {
		t.Fatalf("after one change: %+v", r)
	}

	bad := h.addDatabase(t, DatabaseInput{Name: "不通的库", Kind: "postgres", DSN: "postgres://u:p@127.0.0.1:1/x", Table: "t"})
	if c := h.check(t, bad.ID); c.Health != "error" || !strings.Contains(c.CheckError, "连接 PostgreSQL 失败") {
		t.Fatalf("unreachable: %+v", c)
	}
}

// TestExternalMariaDB (FP-13): the same against the local MariaDB.
func TestExternalMariaDB(t *testing.T) {
	h := newHarness(t)
	admin, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("conn_ext_%d", rand.Int64N(1<<40))
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("MariaDB on 127.0.0.1:3306 (infra/local/scripts/ensure-services.sh): %v", err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name) })
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE records (id varchar(32) PRIMARY KEY, credit_code char(18), kind varchar(20), title varchar(200),
		authority varchar(100), occurred_on date, status varchar(20), version bigint)`); err != nil {
		t.Fatal(err)
	}
	rows, want := exchangeRows(t, 9)
	for _, r := range rows {
		if _, err := db.Exec(`INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r["id"], r["credit_code"], r["kind"], r["title"],
			r["authority"], r["occurred_on"], r["status"], r["version"]); err != nil {
			t.Fatal(err)
		}
	}
	d := h.addDatabase(t, DatabaseInput{Name: "县局 MariaDB", Kind: "mysql", DSN: "mysql://root@127.0.0.1:3306/" + name, Table: "records"})
	if c := h.check(t, d.ID); c.Health != "ok" {
		t.Fatalf("health %+v", c)
	}
	r := h.run(t, d.Connector)
	got, m := h.checksum(t, d.Connector)
	if r.Status != "done" || got != want || m != 9 {
		t.Fatalf("run %+v; checksum %s (%d) want %s", r, got, m, want)
	}
	if again := h.run(t, d.Connector); again.RowsWritten != 0 || again.Status != "done" {
		t.Fatalf("re-run %+v", again)
	}
	var title string
	h.pool.QueryRow(context.Background(), `SELECT payload->>'title' FROM connectors.items WHERE connector = $1 AND ext_id = 'EX0002'`, d.Connector).Scan(&title)
	if title != "区局日常监督检查第2次" {
		t.Errorf("title through MariaDB: %q", title)
	}
}

// TestDatabaseInput (FP-13): bad configurations get Chinese reasons; a
// MongoDB is accepted as a documented adapter whose check is the
// connection only.
func TestDatabaseInput(t *testing.T) {
	h := newHarness(t)
	b := h.iss.Bearer(authtest.CityWide(PermDatabase + ":edit"))
	for name, in := range map[string]DatabaseInput{
		"kind-400":  {Name: "某库", Kind: "oracle", DSN: "oracle://x", Table: "t"},
		"dsn-400":   {Name: "某库", Kind: "mysql", DSN: "postgres://u@h/db", Table: "t"},
		"table-400": {Name: "某库", Kind: "postgres", DSN: "postgres://u@h/db", Table: "t; DROP TABLE x"},
		"name-400":  {Name: "", Kind: "postgres", DSN: "postgres://u@h/db", Table: "t"},
	} {
		rec := h.do(t, b, "POST", "/connectors/v1/databases", in)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "\"field\"") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	m := h.addDatabase(t, DatabaseInput{Name: "MongoDB 交换库", Kind: "mongodb", DSN: "mongodb://127.0.0.1:1/x", Table: "records"})
	if c := h.check(t, m.ID); c.Health != "error" || !strings.Contains(c.CheckError, "MongoDB") {
		t.Errorf("mongodb check: %+v", c)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermDatabase+":view")), "POST", "/connectors/v1/databases", DatabaseInput{}); rec.Code != http.StatusForbidden {
		t.Errorf("view-only create: %d", rec.Code)
	}
}

// TestConsoleAPI (FP-14, FP-15, FP-16, FP-19, FP-20, FP-21): the list
// shows every connector with its cursor and health, the log its requests,
// and 立即同步 starts a run in the background.
func TestConsoleAPI(t *testing.T) {
	h := newHarness(t)
	h.sims.fill(t, 3)
	view := h.iss.Bearer(authtest.CityWide(PermConnector + ":view"))
	run := h.iss.Bearer(authtest.CityWide(PermConnector+":view", PermConnector+":run"))
	if rec := h.do(t, view, "POST", "/connectors/v1/connectors/spotcheck/runs", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("run without the permission: %d", rec.Code)
	}
	if rec := h.do(t, run, "POST", "/connectors/v1/connectors/nosuch/runs", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown connector: %d", rec.Code)
	}
	if rec := h.do(t, run, "POST", "/connectors/v1/connectors/spotcheck/runs", nil); rec.Code != http.StatusAccepted {
		t.Fatalf("立即同步: %d %s", rec.Code, rec.Body)
	}
	h.f.Stop(context.Background())
	rec := h.do(t, view, "GET", "/connectors/v1/connectors", nil)
	var list struct{ Items []Status }
	json.Unmarshal(rec.Body.Bytes(), &list)
	if len(list.Items) != 6 {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	for _, s := range list.Items {
		if s.Name == "spotcheck" && (s.Cursor != "3" || s.Health != "ok" || s.LastRun == nil || s.LastRun.RowsWritten != 3 || s.Items != 3) {
			t.Errorf("spotcheck state %+v", s)
		}
		if s.Name == "hub" && s.Health != "unknown" {
			t.Errorf("a connector never run: %+v", s)
		}
	}
	rec = h.do(t, view, "GET", "/connectors/v1/connectors/spotcheck/log", nil)
	var lg struct {
		Items []LogLine
		Total int
	}
	json.Unmarshal(rec.Body.Bytes(), &lg)
	if lg.Total != 1 || lg.Items[0].Status != 200 || lg.Items[0].Rows != 3 || strings.Contains(lg.Items[0].URL, "sc-key") {
		t.Errorf("log %d %s", rec.Code, rec.Body)
	}
	if ops := auditlogtest.Ops(t, h.pool, "spotcheck"); len(ops) != 1 || ops[0].Action != "connectors.run.start" {
		t.Errorf("op-log %+v", ops)
	}
}
