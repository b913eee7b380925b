package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// LoginRow is a login log row as the API shows it.
type LoginRow struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	IP       string    `json:"ip"`
	Device   string    `json:"device"`
	Result   string    `json:"result"`
	Reason   string    `json:"reason"`
	Location string    `json:"location"`
	Source   string    `json:"source"`
}

// OpRow is an operation log row as the API shows it; personal information
// inside Before and After is masked.
type OpRow struct {
	ID           int64           `json:"id"`
	At           time.Time       `json:"at"`
	UserID       string          `json:"user_id"`
	Username     string          `json:"username"`
	IP           string          `json:"ip"`
	Action       string          `json:"action"`
	ObjectType   string          `json:"object_type"`
	ObjectID     string          `json:"object_id"`
	DistrictCode string          `json:"district_code"`
	TownshipCode string          `json:"township_code"`
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
	Result       string          `json:"result"`
	Source       string          `json:"source"`
}

// Alert is a security alert.
type Alert struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	IP       string    `json:"ip"`
	Device   string    `json:"device"`
	Detail   string    `json:"detail"`
	Count    int       `json:"count"`
}

const (
	loginCols = `id, at, user_id, username, ip, device, result, reason, location, source`
	opCols    = `id, at, user_id, username, ip, action, object_type, object_id, district_code, township_code,
		COALESCE(before::text, 'null'), COALESCE(after::text, 'null'), result, source`
	alertCols = `id, at, kind, user_id, username, ip, device, detail, count`
)

func scanLogin(r pgx.CollectableRow) (LoginRow, error) {
	var l LoginRow
	err := r.Scan(&l.ID, &l.At, &l.UserID, &l.Username, &l.IP, &l.Device, &l.Result, &l.Reason, &l.Location, &l.Source)
	// A failed login's "username" may be a phone or ID number someone typed.
	l.Username, l.Reason = MaskText(l.Username), MaskText(l.Reason)
	return l, err
}

func scanOp(r pgx.CollectableRow) (OpRow, error) {
	var o OpRow
	var before, after string
	err := r.Scan(&o.ID, &o.At, &o.UserID, &o.Username, &o.IP, &o.Action, &o.ObjectType, &o.ObjectID, &o.DistrictCode, &o.TownshipCode,
		&before, &after, &o.Result, &o.Source)
	o.Before, o.After = MaskJSON([]byte(before)), MaskJSON([]byte(after))
	return o, err
}

func scanAlert(r pgx.CollectableRow) (Alert, error) {
	var a Alert
	err := r.Scan(&a.ID, &a.At, &a.Kind, &a.UserID, &a.Username, &a.IP, &a.Device, &a.Detail, &a.Count)
	a.Username = MaskText(a.Username)
	return a, err
}

// orderBy is the ORDER BY of a parsed sort, newest rows breaking ties.
func orderBy(s httpx.Sort) string {
	if s.Field == "at" {
		return "at " + s.Dir() + ", id " + s.Dir()
	}
	return s.Field + " " + s.Dir() + ", at DESC, id DESC"
}

// list runs one page of a filtered query in a read-only transaction: the
// log API cannot write even if a query were built wrongly.
func list[T any](ctx context.Context, f *Function, table, cols string, w *store.Where, order string, p httpx.Page, scan pgx.RowToFunc[T]) (httpx.PageOf[T], error) {
	var out httpx.PageOf[T]
	err := pgx.BeginTxFunc(ctx, f.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var total int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+table+w.SQL(), w.Args()...).Scan(&total); err != nil {
			return fmt.Errorf("count %s: %w", table, err)
		}
		args := append([]any{}, w.Args()...)
		args = append(args, p.Size, p.Offset())
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s%s ORDER BY %s LIMIT $%d OFFSET $%d`,
			cols, table, w.SQL(), order, len(args)-1, len(args)), args...)
		if err != nil {
			return fmt.Errorf("list %s: %w", table, err)
		}
		items, err := pgx.CollectRows(rows, scan)
		if err != nil {
			return fmt.Errorf("list %s: %w", table, err)
		}
		out = httpx.NewPage(items, total, p)
		return nil
	})
	return out, store.Classify(err)
}

// SearchLogin lists login log rows (FP-7, FP-9).
func (f *Function) SearchLogin(ctx context.Context, flt Filter, p httpx.Page) (httpx.PageOf[LoginRow], error) {
	return list(ctx, f, "audit.login_log", loginCols, flt.where("audit.login_log", "username", "ip", "device", "reason"), orderBy(flt.Sort), p, scanLogin)
}

// SearchOp lists operation log rows (FP-8, FP-9) within flt.Scope.
func (f *Function) SearchOp(ctx context.Context, flt Filter, p httpx.Page) (httpx.PageOf[OpRow], error) {
	return list(ctx, f, "audit.op_log", opCols, flt.where("audit.op_log", "username", "action", "object_type", "object_id"), orderBy(flt.Sort), p, scanOp)
}

// Alerts lists security alerts.
func (f *Function) Alerts(ctx context.Context, flt Filter, p httpx.Page) (httpx.PageOf[Alert], error) {
	return list(ctx, f, "audit.alerts", alertCols, flt.where("audit.alerts", "username", "ip", "detail"), orderBy(flt.Sort), p, scanAlert)
}

// Archives lists archived partitions, newest month first.
func (f *Function) Archives(ctx context.Context, p httpx.Page) (httpx.PageOf[Archive], error) {
	return list(ctx, f, "audit.archives", `partition, parent, to_char(month, 'YYYY-MM'), object_key, manifest_key, rows, sha256, archived_at`,
		&store.Where{}, "month DESC, parent", p, func(r pgx.CollectableRow) (Archive, error) {
			var a Archive
			err := r.Scan(&a.Partition, &a.Parent, &a.Month, &a.ObjectKey, &a.ManifestKey, &a.Rows, &a.SHA256, &a.ArchivedAt)
			return a, err
		})
}

// opRow is an operation of the caller p on the logs themselves.
func opRow(at time.Time, p *auth.Principal, ip, action, objectType string, after any) events.AuditOperationRecordedData {
	d := events.AuditOperationRecordedData{At: at.UTC(), IP: ip, Action: action, ObjectType: objectType, Result: ResultSuccess}
	if p != nil {
		d.UserID, d.Username = p.UserID, p.Username
	}
	d.After, _ = json.Marshal(after)
	return d
}

// recordOwn writes audit's own operation (an export) straight into its
// log: audit is the owner, no event needs to travel.
func (f *Function) recordOwn(ctx context.Context, d events.AuditOperationRecordedData) error {
	if err := f.ensurePartition(ctx, "op_log", d.At); err != nil {
		return err
	}
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error { return insertOp(ctx, tx, Name, "", d) })
}
