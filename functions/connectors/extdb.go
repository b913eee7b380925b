package connectors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Database is an external database an administrator configured for
// exchange (FP-13). Its exchange table follows one contract (docs):
// id, credit_code, kind, title, authority, occurred_on, status and a
// version bumped on every change, which is the connector's cursor.
type Database struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	DSN        string     `json:"dsn"` // password masked
	Table      string     `json:"table"`
	Enabled    bool       `json:"enabled"`
	Health     string     `json:"health"`
	LatencyMS  *int       `json:"latency_ms"`
	CheckedAt  *time.Time `json:"checked_at"`
	CheckError string     `json:"check_error"`
	Connector  string     `json:"connector"`
}

// DatabaseInput configures one.
type DatabaseInput struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	DSN     string `json:"dsn"`
	Table   string `json:"table"`
	Enabled *bool  `json:"enabled"`
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

// Validate checks the input; the address is parsed as its driver will.
func (in *DatabaseInput) Validate() error {
	var fe []errs.FieldError
	in.Name, in.DSN, in.Table = strings.TrimSpace(in.Name), strings.TrimSpace(in.DSN), strings.TrimSpace(in.Table)
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 50 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "名称长度应为 2 至 50 个字符"})
	}
	switch in.Kind {
	case "postgres", "mysql", "mongodb":
		if _, err := driverDSN(in.Kind, in.DSN); err != nil {
			fe = append(fe, errs.FieldError{Field: "dsn", Message: err.Error()})
		}
	default:
		fe = append(fe, errs.FieldError{Field: "kind", Message: "数据库类型只能是 postgres、mysql（含 MariaDB）或 mongodb"})
	}
	if !tableName.MatchString(in.Table) {
		fe = append(fe, errs.FieldError{Field: "table", Message: "交换表名只能含字母、数字和下划线（可带库名前缀）"})
	}
	return errs.Fields(fe)
}

// driverDSN turns the administrator's URL into what the driver takes.
func driverDSN(kind, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", errors.New("数据库地址格式错误，应为 类型://用户:密码@主机:端口/库名")
	}
	switch kind {
	case "mysql":
		if u.Scheme != "mysql" {
			return "", errors.New("MySQL/MariaDB 地址应以 mysql:// 开头")
		}
		c := mysql.NewConfig()
		c.Net, c.Addr, c.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
		c.Params = map[string]string{"charset": "utf8mb4"}
		c.Timeout = 5 * time.Second
		if c.DBName == "" {
			return "", errors.New("数据库地址缺少库名")
		}
		return c.FormatDSN(), nil
	case "postgres":
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return "", errors.New("PostgreSQL 地址应以 postgres:// 开头")
		}
		return u.String(), nil
	case "mongodb":
		if u.Scheme != "mongodb" {
			return "", errors.New("MongoDB 地址应以 mongodb:// 开头")
		}
		return u.String(), nil
	}
	return "", errors.New("数据库类型不正确")
}

// maskDSN hides the password.
func maskDSN(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "（地址无效）"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}

const databaseColumns = `id, name, kind, dsn, table_name, enabled, health, latency_ms, checked_at, check_error`

func scanDatabase(row pgx.Row) (Database, string, error) {
	var d Database
	var dsn string
	err := row.Scan(&d.ID, &d.Name, &d.Kind, &dsn, &d.Table, &d.Enabled, &d.Health, &d.LatencyMS, &d.CheckedAt, &d.CheckError)
	d.DSN, d.Connector = maskDSN(dsn), "db-"+strconv.FormatInt(d.ID, 10)
	return d, dsn, store.Classify(err)
}

// Databases lists the configured external databases.
func (f *Function) Databases(ctx context.Context) ([]Database, error) {
	rows, err := f.pool.Query(ctx, `SELECT `+databaseColumns+` FROM connectors.databases ORDER BY id`)
	if err != nil {
		return nil, store.Classify(err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Database, error) {
		d, _, err := scanDatabase(r)
		return d, err
	})
}

// SaveDatabase creates (id 0) or changes a configuration, with the
// operation log row in the same transaction. An empty password in a change
// keeps the stored one, since the console only ever sees it masked.
func (f *Function) SaveDatabase(ctx context.Context, who auditlog.Actor, id int64, in DatabaseInput) (Database, error) {
	if err := in.Validate(); err != nil {
		return Database{}, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	var out Database
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var before any
		var err error
		if id == 0 {
			out, _, err = scanDatabase(tx.QueryRow(ctx, `INSERT INTO connectors.databases (name, kind, dsn, table_name, enabled, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+databaseColumns, in.Name, in.Kind, in.DSN, in.Table, enabled, f.now()))
		} else {
			old, oldDSN, gerr := scanDatabase(tx.QueryRow(ctx, `SELECT `+databaseColumns+` FROM connectors.databases WHERE id = $1 FOR UPDATE`, id))
			if gerr != nil {
				return gerr
			}
			before = old
			dsn := in.DSN
			if u, perr := url.Parse(dsn); perr == nil {
				if p, ok := u.User.Password(); ok && p == "***" {
					if ou, oerr := url.Parse(oldDSN); oerr == nil {
						u.User = ou.User
						dsn = u.String()
					}
				}
			}
			out, _, err = scanDatabase(tx.QueryRow(ctx, `UPDATE connectors.databases SET name = $2, kind = $3, dsn = $4, table_name = $5,
				enabled = $6, updated_at = $7, health = 'unknown' WHERE id = $1 RETURNING `+databaseColumns, id, in.Name, in.Kind, dsn, in.Table, enabled, f.now()))
		}
		if err != nil {
			return err
		}
		action := "connectors.database.create"
		if id != 0 {
			action = "connectors.database.update"
		}
		return auditlog.RecordBy(ctx, tx, Source, who, auditlog.Operation{At: f.now(), Action: action, ObjectType: "connector_database",
			ObjectID: strconv.FormatInt(out.ID, 10), Before: before, After: out})
	})
	if errors.Is(err, errs.ErrConflict) {
		return Database{}, errs.New(errs.Conflict, "已有同名的外部数据库")
	}
	return out, err
}

// databaseConnector is the connector of a configured database.
func (f *Function) databaseConnector(ctx context.Context, name string) (Connector, bool, error) {
	idText, ok := strings.CutPrefix(name, "db-")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return Connector{}, false, nil
	}
	d, dsn, err := scanDatabase(f.pool.QueryRow(ctx, `SELECT `+databaseColumns+` FROM connectors.databases WHERE id = $1`, id))
	if errors.Is(err, errs.ErrNotFound) {
		return Connector{}, false, nil
	}
	if err != nil {
		return Connector{}, false, err
	}
	return Connector{Name: name, Title: "外部数据库：" + d.Name, FP: "FP-13", System: d.Kind + " 交换表 " + d.Table + "（按 version 增量）",
		Direction: "pull", URL: d.DSN, puller: &dbSource{kind: d.Kind, dsn: dsn, table: d.Table, shown: d.DSN}}, true, nil
}

// dbSource pulls an exchange table by version.
type dbSource struct{ kind, dsn, table, shown string }

func (s *dbSource) pull(ctx context.Context, c *caller, cursor string, size int) (Page, error) {
	after, err := seqOf(cursor)
	if err != nil {
		return Page{}, err
	}
	start := time.Now()
	x := Exchange{Method: "SQL", URL: fmt.Sprintf("%s %s version>%d", s.shown, s.table, after)}
	defer func() { x.Duration = time.Since(start); c.logf(x) }()
	rows, err := s.query(ctx, after, size+1)
	if err != nil {
		x.Err = Reason(err)
		return Page{}, err
	}
	x.Status, x.Rows = 200, min(len(rows), size)
	p := Page{Next: cursor, More: len(rows) > size}
	if p.More {
		rows = rows[:size]
	}
	for _, f := range rows {
		seq, err := takeSeq(f, "version", after)
		if err != nil {
			x.Err = Reason(err)
			return Page{}, err
		}
		p.Rows = append(p.Rows, Row{ExtID: f["id"], Seq: seq, Hash: contentHash(f), Record: Record{CreditCode: f["credit_code"],
			Kind: f["kind"], RefNo: f["id"], Title: f["title"], Authority: f["authority"], OccurredOn: dateOf(f["occurred_on"]),
			Status: f["status"], Public: f["kind"] != "person", Details: map[string]any{"source": "外部数据库"}}})
		p.Next = strconv.FormatInt(seq, 10)
	}
	return p, nil
}

var exchangeColumns = []string{"id", "credit_code", "kind", "title", "authority", "occurred_on", "status", "version"}

// query reads rows as strings, whatever the column types are.
func (s *dbSource) query(ctx context.Context, after int64, n int) ([]map[string]string, error) {
	cols := strings.Join(exchangeColumns, ", ")
	switch s.kind {
	case "postgres":
		conn, err := pgx.Connect(ctx, s.dsn)
		if err != nil {
			return nil, refuse("连接 PostgreSQL 失败", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		sel := make([]string, len(exchangeColumns))
		for i, c := range exchangeColumns {
			// Aliased: ORDER BY version must sort the column, not its text.
			sel[i] = c + "::text AS x_" + c
		}
		rows, err := conn.Query(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+s.table+` WHERE version > $1 ORDER BY version LIMIT $2`, after, n)
		if err != nil {
			return nil, refuse("读取交换表失败", err)
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (map[string]string, error) {
			vals := make([]*string, len(exchangeColumns))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			err := r.Scan(ptrs...)
			return toMap(vals), err
		})
	case "mysql":
		dsn, err := driverDSN("mysql", s.dsn)
		if err != nil {
			return nil, refuse(err.Error(), nil)
		}
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return nil, refuse("连接 MySQL 失败", err)
		}
		defer db.Close()
		rows, err := db.QueryContext(ctx, `SELECT `+cols+` FROM `+s.table+` WHERE version > ? ORDER BY version LIMIT ?`, after, n)
		if err != nil {
			return nil, refuse("读取交换表失败", err)
		}
		defer rows.Close()
		var out []map[string]string
		for rows.Next() {
			vals := make([]sql.NullString, len(exchangeColumns))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, refuse("读取交换表失败", err)
			}
			m := map[string]string{}
			for i, c := range exchangeColumns {
				m[c] = vals[i].String
			}
			out = append(out, m)
		}
		return out, rows.Err()
	}
	return nil, refuse("MongoDB 适配器未编入本构建（仅检测连接）：按 docs/functions/connectors.md 的交换集合约定接入", nil)
}

func toMap(vals []*string) map[string]string {
	m := map[string]string{}
	for i, c := range exchangeColumns {
		if vals[i] != nil {
			m[c] = *vals[i]
		} else {
			m[c] = ""
		}
	}
	return m
}

// CheckDatabase tests the connection and records health and latency.
func (f *Function) CheckDatabase(ctx context.Context, id int64) (Database, error) {
	_, dsn, err := scanDatabase(f.pool.QueryRow(ctx, `SELECT `+databaseColumns+` FROM connectors.databases WHERE id = $1`, id))
	if err != nil {
		return Database{}, err
	}
	var kind string
	f.pool.QueryRow(ctx, `SELECT kind FROM connectors.databases WHERE id = $1`, id).Scan(&kind)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	perr := ping(cctx, kind, dsn)
	ms := int(time.Since(start).Milliseconds())
	health, msg := "ok", ""
	if perr != nil {
		health, msg = "error", Reason(perr)
	}
	f.logExchange("db-"+strconv.FormatInt(id, 10), 0, Exchange{Method: "PING", URL: maskDSN(dsn), Status: map[bool]int{true: 200, false: 0}[perr == nil],
		Duration: time.Since(start), Err: msg})
	d, _, err := scanDatabase(f.pool.QueryRow(ctx, `UPDATE connectors.databases SET health = $2, latency_ms = $3, checked_at = $4, check_error = $5
		WHERE id = $1 RETURNING `+databaseColumns, id, health, ms, f.now(), msg))
	return d, err
}

func ping(ctx context.Context, kind, dsn string) error {
	switch kind {
	case "postgres":
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return refuse("连接 PostgreSQL 失败", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return conn.Ping(ctx)
	case "mysql":
		d, err := driverDSN("mysql", dsn)
		if err != nil {
			return err
		}
		db, err := sql.Open("mysql", d)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.PingContext(ctx); err != nil {
			return refuse("连接 MySQL/MariaDB 失败", err)
		}
		return nil
	default: // mongodb: the adapter is documented, the check is the TCP handshake
		u, err := url.Parse(dsn)
		if err != nil {
			return err
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "27017")
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return refuse("连接 MongoDB 失败", err)
		}
		return conn.Close()
	}
}
