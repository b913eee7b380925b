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
		_, err := tx.Exec(ctx, `INSERT INTO datahub.access_log (interface_id, key_prefix, dataset, query, status, rows,
			duration_us, client_ip, message, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			e.InterfaceID, e.KeyPrefix, e.Dataset, e.Query, e.Status, e.Rows, e.DurationUS, e.ClientIP, e.Message, e.At)
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
	w.Add("l.interface_id IN (SELECT id FROM datahub.interfaces WHERE owner_id = ?)", lf.Owner)
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
		l.client_ip, l.message, l.at FROM datahub.access_log l`+w.SQL()+` ORDER BY l.at DESC, l.id DESC LIMIT `+
		w.Next(limit)+` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccessEntry, error) {
		var e AccessEntry
		return e, r.Scan(&e.ID, &e.InterfaceID, &e.KeyPrefix, &e.Dataset, &e.Query, &e.Status, &e.Rows, &e.DurationUS,
			&e.ClientIP, &e.Message, &e.At)
	})
	return out, total, store.Classify(err)
}
