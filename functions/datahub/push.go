package datahub

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for PostgreSQL targets

	"github.com/sjzamr/smartreg/shared/errs"
)

// FP-96: push to a database. A push job sends what one generated interface
// serves — its dataset, fields and filter, within its creator's scope and
// masking — into a table of a PostgreSQL or MySQL/MariaDB database that
// the user configures, every few minutes.
//
// A run reads the rows in key order in batches; each batch is upserted on
// the key in one target transaction, then the run's cursor (the batch's
// last key) is committed here. A run that stops (crash, kill -9) resumes
// from its cursor; a batch the target committed but the cursor did not is
// upserted again, which changes nothing. Incremental runs start at the
// watermark (the newest updated_at a finished run pushed) minus an overlap
// window, so rows committed late with an older time are still read.

// PushInput configures a push job over an interface.
type PushInput struct {
	Name         string `json:"name"`
	TargetKind   string `json:"target_kind"` // mysql or postgres
	TargetDSN    string `json:"target_dsn"`  // mysql://user:pass@host:3306/db or postgres://…
	TargetTable  string `json:"target_table"`
	EveryMinutes int    `json:"every_minutes"`
}

// PushJob is a configured push; the target's password is never answered.
type PushJob struct {
	ID           int64      `json:"id"`
	InterfaceID  int64      `json:"interface_id"`
	Name         string     `json:"name"`
	TargetKind   string     `json:"target_kind"`
	TargetDSN    string     `json:"target_dsn"` // password masked
	TargetTable  string     `json:"target_table"`
	EveryMinutes int        `json:"every_minutes"`
	Watermark    *time.Time `json:"watermark"`
	NextRunAt    time.Time  `json:"next_run_at"`
	CreatedAt    time.Time  `json:"created_at"`
	dsn          string     // the driver's form once opened
	secret       []byte     // the sealed address
	owner        string
}

// PushRun is one logged run.
type PushRun struct {
	ID          int64      `json:"id"`
	JobID       int64      `json:"job_id"`
	Since       *time.Time `json:"since"`
	Cursor      *string    `json:"cursor"`
	MaxUpdated  *time.Time `json:"max_updated"`
	RowsRead    int64      `json:"rows_read"`
	RowsWritten int64      `json:"rows_written"` // inserted or changed in the target
	Resumes     int        `json:"resumes"`
	Status      string     `json:"status"`
	Message     string     `json:"message"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// validate checks the input and returns the driver DSN.
func (in *PushInput) validate() (string, error) {
	var fe []errs.FieldError
	in.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写推送任务名称（不超过 100 字）"})
	}
	if !tableName.MatchString(in.TargetTable) {
		fe = append(fe, errs.FieldError{Field: "target_table", Message: "目标表名只能由字母、数字和下划线组成，以字母或下划线开头，最长 63 个字符"})
	}
	if in.EveryMinutes == 0 {
		in.EveryMinutes = 60
	}
	if in.EveryMinutes < 1 || in.EveryMinutes > 7*24*60 {
		fe = append(fe, errs.FieldError{Field: "every_minutes", Message: "推送间隔应为 1 至 10080 分钟"})
	}
	dsn, err := driverDSN(in.TargetKind, in.TargetDSN)
	if err != nil {
		fe = append(fe, errs.FieldError{Field: "target_dsn", Message: err.Error()})
	}
	switch in.TargetKind {
	case "mysql", "postgres":
	default:
		fe = append(fe, errs.FieldError{Field: "target_kind", Message: "目标数据库类型只能是 mysql（含 MariaDB）或 postgres"})
	}
	return dsn, errs.Fields(fe)
}

// driverDSN turns the user's URL into what the driver takes.
func driverDSN(kind, raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "", errors.New("目标数据库地址格式错误，应为 mysql://用户:密码@主机:端口/库名 或 postgres://用户:密码@主机:端口/库名")
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
		c.ParseTime, c.Loc = true, time.UTC
		c.Params = map[string]string{"charset": "utf8mb4"}
		if c.DBName == "" {
			return "", errors.New("目标数据库地址缺少库名")
		}
		return c.FormatDSN(), nil
	case "postgres":
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return "", errors.New("PostgreSQL 地址应以 postgres:// 开头")
		}
		return u.String(), nil
	}
	return "", nil
}

// maskedDSN hides the password of a target address.
func maskedDSN(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "（地址无效）"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxxx")
		// The stars would be escaped in the user part; put them back for reading.
		return strings.Replace(u.String(), ":xxxxxx@", ":******@", 1)
	}
	return u.String()
}

func openTarget(ctx context.Context, kind, dsn string) (*sql.DB, error) {
	driver := map[string]string{"mysql": "mysql", "postgres": "pgx"}[kind]
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// target is one job's table in its database.
type target struct {
	db    *sql.DB
	kind  string
	table string
	cols  []Field // the key first
}

func (t target) q(name string) string {
	if t.kind == "mysql" {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

func (t target) colType(f Field, key bool) string {
	my := t.kind == "mysql"
	switch f.Type {
	case TypeDate:
		return "DATE"
	case TypeNumber:
		return "DECIMAL(24,4)"
	case TypeInt:
		return "BIGINT"
	case TypeTime:
		if my {
			return "DATETIME(6)"
		}
		return "TIMESTAMPTZ"
	}
	if my && key {
		return "VARCHAR(191)" // an indexable utf8mb4 key
	}
	return "TEXT"
}

// ensure creates the table if it is missing, and reports a drift: a
// column the push writes that the table lacks, or one whose type family
// differs. Extra columns of the table are left alone.
func (t target) ensure(ctx context.Context) (drift string, err error) {
	defs := make([]string, len(t.cols))
	for i, c := range t.cols {
		defs[i] = t.q(c.Name) + " " + t.colType(c, i == 0)
		if i == 0 {
			defs[i] += " NOT NULL"
		}
	}
	ddl := "CREATE TABLE IF NOT EXISTS " + t.q(t.table) + " (" + strings.Join(defs, ", ") + ", PRIMARY KEY (" + t.q(t.cols[0].Name) + "))"
	if t.kind == "mysql" {
		ddl += " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	}
	if _, err := t.db.ExecContext(ctx, ddl); err != nil {
		return "", fmt.Errorf("create the target table: %w", err)
	}
	schema := "DATABASE()"
	if t.kind == "postgres" {
		schema = "current_schema()"
	}
	rows, err := t.db.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = `+schema+
		` AND table_name = `+map[string]string{"mysql": "?", "postgres": "$1"}[t.kind], t.table)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	have := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return "", err
		}
		have[strings.ToLower(name)] = strings.ToLower(typ)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	var missing, changed []string
	for i, c := range t.cols {
		typ, ok := have[strings.ToLower(c.Name)]
		switch {
		case !ok:
			missing = append(missing, c.Name)
		case !sameFamily(typ, t.colType(c, i == 0)):
			changed = append(changed, fmt.Sprintf("%s（目标为 %s，应为 %s）", c.Name, typ, strings.ToLower(t.colType(c, i == 0))))
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "缺少列 "+strings.Join(missing, "、"))
	}
	if len(changed) > 0 {
		parts = append(parts, "列类型不符 "+strings.Join(changed, "、"))
	}
	if len(parts) > 0 {
		return "目标表 " + t.table + " 与推送字段不一致：" + strings.Join(parts, "；") + "。请调整目标表或新建目标表后重试", nil
	}
	return "", nil
}

// sameFamily compares an information_schema type with the one we create.
func sameFamily(have, want string) bool {
	fam := func(s string) string {
		s = strings.ToLower(s)
		switch {
		case strings.Contains(s, "char"), strings.Contains(s, "text"):
			return "text"
		case strings.HasPrefix(s, "timestamp"), strings.HasPrefix(s, "datetime"):
			return "time"
		case s == "date":
			return "date"
		case strings.HasPrefix(s, "decimal"), strings.HasPrefix(s, "numeric"):
			return "number"
		case strings.Contains(s, "int"):
			return "int"
		}
		return s
	}
	return fam(have) == fam(want)
}

// upsert writes one batch in one transaction and counts the rows it
// inserted or changed (an unchanged row counts nothing).
func (t target) upsert(ctx context.Context, rows []map[string]any) (int64, error) {
	names := make([]string, len(t.cols))
	marks := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = t.q(c.Name)
		marks[i] = "?"
		if t.kind == "postgres" {
			marks[i] = "$" + strconv.Itoa(i+1)
		}
	}
	var stmt string
	if t.kind == "mysql" {
		sets := make([]string, 0, len(t.cols)-1)
		for _, n := range names[1:] {
			sets = append(sets, n+" = VALUES("+n+")")
		}
		// MySQL reports 1 for an insert, 2 for a change, 0 for a row left as it was.
		stmt = "INSERT INTO " + t.q(t.table) + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")" +
			" ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	} else {
		sets := make([]string, 0, len(t.cols)-1)
		olds := make([]string, 0, len(t.cols)-1)
		news := make([]string, 0, len(t.cols)-1)
		for _, n := range names[1:] {
			sets = append(sets, n+" = EXCLUDED."+n)
			olds = append(olds, "t."+n)
			news = append(news, "EXCLUDED."+n)
		}
		stmt = "INSERT INTO " + t.q(t.table) + " AS t (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")" +
			" ON CONFLICT (" + names[0] + ") DO UPDATE SET " + strings.Join(sets, ", ")
		if len(sets) > 0 {
			stmt += " WHERE (" + strings.Join(olds, ", ") + ") IS DISTINCT FROM (" + strings.Join(news, ", ") + ")"
		}
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	ps, err := tx.PrepareContext(ctx, stmt)
	if err != nil {
		return 0, err
	}
	defer ps.Close()
	var written int64
	args := make([]any, len(t.cols))
	for _, r := range rows {
		for i, c := range t.cols {
			args[i] = r[c.Name]
		}
		res, err := ps.ExecContext(ctx, args...)
		if err != nil {
			return 0, fmt.Errorf("write the target: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			written++
		}
	}
	return written, tx.Commit()
}

// pushLockKey names the advisory locks of push jobs: one run of a job at
// a time across replicas.
const pushLockKey = 0x64617461 // "data"

// RunPush runs a job now: it resumes the job's unfinished run, or starts a
// new one from the watermark, and returns the run as logged.
func (f *Function) RunPush(ctx context.Context, jobID int64) (PushRun, error) {
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		return PushRun{}, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, pushLockKey, int32(jobID)).Scan(&locked); err != nil {
		return PushRun{}, err
	}
	if !locked {
		return PushRun{}, errs.New(errs.Conflict, "该推送任务正在运行，请稍后再试")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, pushLockKey, int32(jobID))

	job, err := f.pushJob(ctx, f.pool, jobID)
	if err != nil {
		return PushRun{}, err
	}
	run, err := openRun(ctx, f.pool, job, f.cfg.PushOverlap, f.now())
	if err != nil {
		return PushRun{}, err
	}
	err = f.push(ctx, job, &run)
	if err != nil && ctx.Err() != nil {
		return run, err // stopped: the run stays open and resumes next time
	}
	status, msg := "done", ""
	var drift *driftError
	switch {
	case errors.As(err, &drift):
		status, msg = "drift", drift.msg
	case err != nil:
		status, msg = "failed", err.Error()
		if e := errs.As(err); e != nil {
			msg = e.Message
		}
	}
	if ferr := finishRun(ctx, f.pool, job, &run, status, msg, f.now()); ferr != nil {
		return run, ferr
	}
	return run, nil
}

type driftError struct{ msg string }

func (d *driftError) Error() string { return d.msg }

// push reads the interface's rows after the run's cursor and writes them,
// batch by batch, recording the cursor after each.
func (f *Function) push(ctx context.Context, job PushJob, run *PushRun) error {
	it, err := ifaceByID(ctx, f.pool, job.InterfaceID)
	if err != nil {
		return err
	}
	if it.Status != "active" {
		return errs.New(errs.Conflict, "推送所依据的接口已吊销")
	}
	ds := f.catalogue[it.Dataset]
	if ds == nil {
		return errs.New(errs.NotFound, "数据集已下线")
	}
	key, _ := ds.field(ds.Key)
	cols := []Field{key}
	for _, n := range it.Fields {
		if fl, _ := ds.field(n); n != ds.Key {
			cols = append(cols, fl)
		}
	}
	db, err := openTarget(ctx, job.TargetKind, job.dsn)
	if err != nil {
		return errs.Wrap(errs.Unavailable, "无法连接目标数据库："+err.Error(), err)
	}
	defer db.Close()
	t := target{db: db, kind: job.TargetKind, table: job.TargetTable, cols: cols}
	if msg, err := t.ensure(ctx); err != nil {
		return err
	} else if msg != "" {
		return &driftError{msg}
	}
	upd, hasUpd := ds.field("updated_at")
	sel := slices.Clone(cols)
	if hasUpd && !slices.ContainsFunc(sel, func(c Field) bool { return c.Name == upd.Name }) {
		sel = append(sel, upd)
	}
	for {
		q := Query{Select: sel, Limit: f.cfg.PushBatch}
		if run.Cursor != nil {
			q.After = *run.Cursor
		}
		if hasUpd && run.Since != nil {
			q.Where = []node{{field: upd, op: "gte", vals: []any{*run.Since}}}
		}
		rows, err := f.query(ctx, ds, it, q)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		written, err := t.upsert(ctx, rows)
		if err != nil {
			return err
		}
		last := toText(rows[len(rows)-1][ds.Key])
		var newest *time.Time
		if hasUpd {
			for _, r := range rows {
				if ts, ok := r[upd.Name].(time.Time); ok && (newest == nil || ts.After(*newest)) {
					newest = &ts
				}
			}
		}
		if err := advanceRun(ctx, f.pool, run, last, newest, int64(len(rows)), written); err != nil {
			return err
		}
		if f.afterBatch != nil {
			f.afterBatch()
		}
	}
}
