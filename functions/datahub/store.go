package datahub

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Interface is a generated data interface (FP-95).
type Interface struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Dataset     string     `json:"dataset"`
	Fields      []string   `json:"fields"`
	Filter      string     `json:"filter"`
	Scope       auth.Scope `json:"scope"`
	Unmask      bool       `json:"unmask"`
	OwnerID     string     `json:"owner_id"`
	OwnerName   string     `json:"owner_name"`
	DeptID      string     `json:"dept_id"`
	KeyPrefix   string     `json:"key_prefix"`
	RatePerMin  int        `json:"rate_per_min"`
	QuotaPerDay int        `json:"quota_per_day"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	RotatedAt   *time.Time `json:"rotated_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	Endpoint    string     `json:"endpoint"`
}

const ifaceCols = `id, name, dataset, fields, filter, scope, unmask, owner_id, owner_name, dept_id, key_prefix,
	rate_per_min, quota_per_day, status, created_at, rotated_at, revoked_at`

func scanIface(r pgx.Row) (Interface, error) {
	var it Interface
	var scope []byte
	err := r.Scan(&it.ID, &it.Name, &it.Dataset, &it.Fields, &it.Filter, &scope, &it.Unmask, &it.OwnerID, &it.OwnerName,
		&it.DeptID, &it.KeyPrefix, &it.RatePerMin, &it.QuotaPerDay, &it.Status, &it.CreatedAt, &it.RotatedAt, &it.RevokedAt)
	if err == nil {
		err = json.Unmarshal(scope, &it.Scope)
	}
	it.Endpoint = "/datahub/v1/data/" + strconv.FormatInt(it.ID, 10)
	return it, err
}

func insertIface(ctx context.Context, q store.Querier, it Interface, hash []byte) (Interface, error) {
	scope, err := json.Marshal(it.Scope)
	if err != nil {
		return Interface{}, err
	}
	out, err := scanIface(q.QueryRow(ctx, `INSERT INTO datahub.interfaces (name, dataset, fields, filter, scope, unmask,
		owner_id, owner_name, dept_id, key_prefix, key_hash, rate_per_min, quota_per_day, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING `+ifaceCols,
		it.Name, it.Dataset, it.Fields, it.Filter, scope, it.Unmask, it.OwnerID, it.OwnerName, it.DeptID, it.KeyPrefix,
		hash, it.RatePerMin, it.QuotaPerDay, it.CreatedAt))
	return out, store.Classify(err)
}

func ifaceByHash(ctx context.Context, q store.Querier, hash []byte) (Interface, error) {
	it, err := scanIface(q.QueryRow(ctx, `SELECT `+ifaceCols+` FROM datahub.interfaces WHERE key_hash = $1`, hash))
	return it, store.Classify(err)
}

// ifaceOf is one of owner's interfaces (not found for anyone else's).
func ifaceOf(ctx context.Context, q store.Querier, id int64, owner string) (Interface, error) {
	it, err := scanIface(q.QueryRow(ctx, `SELECT `+ifaceCols+` FROM datahub.interfaces WHERE id = $1 AND owner_id = $2`, id, owner))
	if errors.Is(err, pgx.ErrNoRows) {
		return it, errs.New(errs.NotFound, "接口不存在")
	}
	return it, store.Classify(err)
}

func listIfaces(ctx context.Context, q store.Querier, owner string) ([]Interface, error) {
	rows, err := q.Query(ctx, `SELECT `+ifaceCols+` FROM datahub.interfaces WHERE owner_id = $1 ORDER BY id DESC LIMIT 500`, owner)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Interface, error) { return scanIface(r) })
	return out, store.Classify(err)
}

func revokeIface(ctx context.Context, q store.Querier, id int64, owner string, at time.Time) error {
	tag, err := q.Exec(ctx, `UPDATE datahub.interfaces SET status = 'revoked', revoked_at = $3
		WHERE id = $1 AND owner_id = $2`, id, owner, at)
	if err == nil && tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "接口不存在")
	}
	return store.Classify(err)
}

func rotateIface(ctx context.Context, q store.Querier, id int64, owner, prefix string, hash []byte, at time.Time) error {
	tag, err := q.Exec(ctx, `UPDATE datahub.interfaces SET key_prefix = $3, key_hash = $4, rotated_at = $5
		WHERE id = $1 AND owner_id = $2 AND status = 'active'`, id, owner, prefix, hash, at)
	if err == nil && tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "接口不存在或已吊销")
	}
	return store.Classify(err)
}

// selectSQL compiles a consumer's query over an interface into one
// statement: the dataset's fixed predicate, the creator's data scope, the
// interface's own filter, the consumer's filter and keyset, order and
// limit. Identifiers come from the catalogue, values are parameters.
func selectSQL(ds *Dataset, scope auth.Scope, fixed, q Query) (string, []any) {
	var a sqlArgs
	cols := make([]string, len(q.Select))
	for i, f := range q.Select {
		cols[i] = quoteIdent(f.Name)
	}
	conds := []string{scope.Filter(quoteIdent("district_code"), quoteIdent("township_code"), &a.args)}
	if ds.where != "" {
		conds = append(conds, ds.where)
	}
	for _, n := range append(fixed.Where, q.Where...) {
		conds = append(conds, n.sql(&a))
	}
	key, _ := ds.field(ds.Key)
	if q.After != nil {
		conds = append(conds, quoteIdent(key.Name)+" > "+a.add(q.After)+castOf(key.Type))
	}
	var order []string
	for _, o := range q.Order {
		s := quoteIdent(o.field.Name)
		if o.desc {
			s += " DESC"
		}
		if o.nullsFirst != nil {
			if *o.nullsFirst {
				s += " NULLS FIRST"
			} else {
				s += " NULLS LAST"
			}
		}
		order = append(order, s)
	}
	if !strings.Contains(strings.Join(order, ","), quoteIdent(key.Name)) {
		order = append(order, quoteIdent(key.Name)) // a stable order, so pages never overlap
	}
	sql := "SELECT " + strings.Join(cols, ", ") + " FROM " + ds.source + " t WHERE " + strings.Join(conds, " AND ") +
		" ORDER BY " + strings.Join(order, ", ") + " LIMIT " + a.add(q.Limit)
	if q.Offset > 0 {
		sql += " OFFSET " + a.add(q.Offset)
	}
	return sql, a.args
}

// AccessEntry is one logged call.
type AccessEntry struct {
	ID          int64     `json:"id"`
	InterfaceID *int64    `json:"interface_id"`
	KeyPrefix   string    `json:"key_prefix"`
	Dataset     string    `json:"dataset"`
	Query       string    `json:"query"`
	Status      int       `json:"status"`
	Rows        int       `json:"rows"`
	DurationUS  int64     `json:"duration_us"`
	ClientIP    string    `json:"client_ip"`
	Message     string    `json:"message"`
	At          time.Time `json:"at"`
	// Kind is interface (a generated interface's call), search or
	// search_export (a smart-search run by UserID, of FormulaID if saved).
	Kind      string `json:"kind"`
	UserID    string `json:"user_id,omitempty"`
	FormulaID *int64 `json:"formula_id,omitempty"`
}

// logAccess records a call. The commit does not wait for the WAL flush
// (synchronous_commit off, for this transaction only): the row is written
// and visible at once, and only a server crash within the WAL writer's
// delay (200 ms) could lose it, where waiting for the flush cost every
// call more than the query itself (datahubbench).
func logAccess(ctx context.Context, pool *pgxpool.Pool, e AccessEntry) error {
	return store.Classify(store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
			return err
		}
		if e.Kind == "" {
			e.Kind = "interface"
		}
		_, err := tx.Exec(ctx, `INSERT INTO datahub.access_log (interface_id, key_prefix, dataset, query, status, rows,
			duration_us, client_ip, message, at, kind, user_id, formula_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			e.InterfaceID, e.KeyPrefix, e.Dataset, e.Query, e.Status, e.Rows, e.DurationUS, e.ClientIP, e.Message, e.At,
			e.Kind, e.UserID, e.FormulaID)
		return err
	}))
}

// LogFilter selects access-log entries of one owner's interfaces.
type LogFilter struct {
	Owner       string
	InterfaceID int64
	Status      int
	Q           string // in the query text
	From, To    *time.Time
}

func (lf LogFilter) where() store.Where {
	var w store.Where
	// The owner's interfaces' calls, and their own smart-search runs.
	w.Add("(l.interface_id IN (SELECT id FROM datahub.interfaces WHERE owner_id = ?) OR l.user_id = ?)", lf.Owner, lf.Owner)
	if lf.InterfaceID > 0 {
		w.Add("l.interface_id = ?", lf.InterfaceID)
	}
	if lf.Status > 0 {
		w.Add("l.status = ?", lf.Status)
	}
	if lf.Q != "" {
		w.Add("l.query ILIKE ?", store.Contains(lf.Q))
	}
	if lf.From != nil {
		w.Add("l.at >= ?", *lf.From)
	}
	if lf.To != nil {
		w.Add("l.at < ?", *lf.To)
	}
	return w
}

func listAccess(ctx context.Context, q store.Querier, lf LogFilter, limit, offset int) ([]AccessEntry, int, error) {
	w := lf.where()
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM datahub.access_log l`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT l.id, l.interface_id, l.key_prefix, l.dataset, l.query, l.status, l.rows, l.duration_us,
		l.client_ip, l.message, l.at, l.kind, l.user_id, l.formula_id FROM datahub.access_log l`+w.SQL()+` ORDER BY l.at DESC, l.id DESC LIMIT `+
		w.Next(limit)+` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccessEntry, error) {
		var e AccessEntry
		return e, r.Scan(&e.ID, &e.InterfaceID, &e.KeyPrefix, &e.Dataset, &e.Query, &e.Status, &e.Rows, &e.DurationUS,
			&e.ClientIP, &e.Message, &e.At, &e.Kind, &e.UserID, &e.FormulaID)
	})
	return out, total, store.Classify(err)
}

func ifaceByID(ctx context.Context, q store.Querier, id int64) (Interface, error) {
	it, err := scanIface(q.QueryRow(ctx, `SELECT `+ifaceCols+` FROM datahub.interfaces WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return it, errs.New(errs.NotFound, "接口不存在")
	}
	return it, store.Classify(err)
}

const pushJobCols = `id, interface_id, name, target_kind, target_dsn, target_secret, target_table, every_minutes, watermark, next_run_at,
	created_at, owner_id`

func scanPushJob(r pgx.Row) (PushJob, error) {
	var j PushJob
	err := r.Scan(&j.ID, &j.InterfaceID, &j.Name, &j.TargetKind, &j.dsn, &j.secret, &j.TargetTable, &j.EveryMinutes, &j.Watermark, &j.NextRunAt,
		&j.CreatedAt, &j.owner)
	j.TargetDSN = maskedDSN(j.dsn)
	if errors.Is(err, pgx.ErrNoRows) {
		return j, errs.New(errs.NotFound, "推送任务不存在")
	}
	return j, store.Classify(err)
}

// insertPushJob keeps the user's address sealed (it carries the target's
// password) and only its masked form in clear, for lists; the driver's
// form is derived at each run.
func insertPushJob(ctx context.Context, q store.Querier, it Interface, in PushInput, owner string, sealed []byte, now time.Time) (PushJob, error) {
	return scanPushJob(q.QueryRow(ctx, `INSERT INTO datahub.push_jobs (interface_id, name, target_kind, target_dsn, target_secret, target_table,
		every_minutes, next_run_at, owner_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8) RETURNING `+pushJobCols,
		it.ID, in.Name, in.TargetKind, maskedDSN(strings.TrimSpace(in.TargetDSN)), sealed, in.TargetTable, in.EveryMinutes, now, owner))
}

// pushJob is a job with its target address opened into the driver's form.
func (f *Function) pushJob(ctx context.Context, q store.Querier, id int64) (PushJob, error) {
	j, err := scanPushJob(q.QueryRow(ctx, `SELECT `+pushJobCols+` FROM datahub.push_jobs WHERE id = $1`, id))
	if err != nil {
		return j, err
	}
	raw := j.dsn // a row from before sealing, until sealLegacyTargets runs
	if j.secret != nil {
		plain, err := f.seal.Open(j.secret)
		if err != nil {
			return j, errs.Wrap(errs.Internal, "推送目标地址无法解密（DATAHUB_SECRET_KEYS 是否更换？）", err)
		}
		raw = string(plain)
	}
	j.dsn, err = driverDSN(j.TargetKind, raw)
	return j, err
}

// sealLegacyTargets seals the addresses of jobs saved in clear (before
// migration 0003), leaving only the masked form readable.
func (f *Function) sealLegacyTargets(ctx context.Context) (int, error) {
	n := 0
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, target_dsn FROM datahub.push_jobs WHERE target_secret IS NULL FOR UPDATE`)
		if err != nil {
			return err
		}
		type legacy struct {
			id  int64
			dsn string
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (legacy, error) {
			var l legacy
			return l, r.Scan(&l.id, &l.dsn)
		})
		if err != nil {
			return err
		}
		for _, l := range list {
			sealed, err := f.seal.Seal([]byte(l.dsn))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE datahub.push_jobs SET target_secret = $2, target_dsn = $3 WHERE id = $1`,
				l.id, sealed, maskedDSN(l.dsn)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func listPushJobs(ctx context.Context, q store.Querier, owner string) ([]PushJob, error) {
	rows, err := q.Query(ctx, `SELECT `+pushJobCols+` FROM datahub.push_jobs WHERE owner_id = $1 ORDER BY id DESC`, owner)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PushJob, error) { return scanPushJob(r) })
}

// duePushJobs are the jobs whose next run time has come.
func duePushJobs(ctx context.Context, q store.Querier, now time.Time) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT id FROM datahub.push_jobs WHERE next_run_at <= $1 ORDER BY next_run_at LIMIT 100`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

const pushRunCols = `id, job_id, since, cursor, max_updated, rows_read, rows_written, resumes, status, message, started_at, finished_at`

func scanPushRun(r pgx.Row) (PushRun, error) {
	var x PushRun
	err := r.Scan(&x.ID, &x.JobID, &x.Since, &x.Cursor, &x.MaxUpdated, &x.RowsRead, &x.RowsWritten, &x.Resumes, &x.Status, &x.Message,
		&x.StartedAt, &x.FinishedAt)
	return x, err
}

// openRun resumes the job's unfinished run, or starts one from the
// watermark minus the overlap window.
func openRun(ctx context.Context, q store.Querier, job PushJob, overlap time.Duration, now time.Time) (PushRun, error) {
	r, err := scanPushRun(q.QueryRow(ctx, `UPDATE datahub.push_runs SET resumes = resumes + 1
		WHERE id = (SELECT max(id) FROM datahub.push_runs WHERE job_id = $1 AND status = 'running') RETURNING `+pushRunCols, job.ID))
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return r, err
	}
	var since *time.Time
	if job.Watermark != nil {
		s := job.Watermark.Add(-overlap)
		since = &s
	}
	return scanPushRun(q.QueryRow(ctx, `INSERT INTO datahub.push_runs (job_id, since, started_at) VALUES ($1, $2, $3) RETURNING `+pushRunCols,
		job.ID, since, now))
}

// advanceRun records a batch the target committed.
func advanceRun(ctx context.Context, q store.Querier, run *PushRun, cursor string, newest *time.Time, read, written int64) error {
	err := q.QueryRow(ctx, `UPDATE datahub.push_runs SET cursor = $2, rows_read = rows_read + $3, rows_written = rows_written + $4,
		max_updated = GREATEST(max_updated, $5) WHERE id = $1 RETURNING rows_read, rows_written, max_updated`,
		run.ID, cursor, read, written, newest).Scan(&run.RowsRead, &run.RowsWritten, &run.MaxUpdated)
	run.Cursor = &cursor
	return err
}

// finishRun closes the run and, when it succeeded, moves the job's
// watermark and schedules its next run, in one transaction.
func finishRun(ctx context.Context, pool *pgxpool.Pool, job PushJob, run *PushRun, status, msg string, now time.Time) error {
	return store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE datahub.push_runs SET status = $2, message = $3, finished_at = $4 WHERE id = $1
			RETURNING `+pushRunCols, run.ID, status, msg, now).Scan(&run.ID, &run.JobID, &run.Since, &run.Cursor, &run.MaxUpdated,
			&run.RowsRead, &run.RowsWritten, &run.Resumes, &run.Status, &run.Message, &run.StartedAt, &run.FinishedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE datahub.push_jobs SET next_run_at = $2::timestamptz + every_minutes * interval '1 minute',
			watermark = CASE WHEN $4 THEN GREATEST(watermark, $3::timestamptz) ELSE watermark END
			WHERE id = $1`, job.ID, now, run.MaxUpdated, status == "done")
		return err
	})
}

func listPushRuns(ctx context.Context, q store.Querier, jobID int64, limit int) ([]PushRun, error) {
	rows, err := q.Query(ctx, `SELECT `+pushRunCols+` FROM datahub.push_runs WHERE job_id = $1 ORDER BY id DESC LIMIT $2`, jobID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PushRun, error) { return scanPushRun(r) })
}
