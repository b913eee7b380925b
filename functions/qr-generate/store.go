package qrgenerate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store"
)

// This file holds the SQL of codes, the entity copy, the operation log,
// the download counters and the statistics; store_jobs.go that of batch
// jobs and store_bulk.go that of set-based issuance.

const codeColumns = `token, credit_code, entity_name, entity_type, district_code, township_code, industry_code, status, source,
	issued_at, activated_at, reviewed_by, reviewed_at, reject_reason, invalidated_at, invalidated_by, invalidate_reason, version`

// scanCode reads a code row; its URL is the function's to add (link).
func scanCode(row pgx.Row) (Code, error) {
	var c Code
	err := row.Scan(&c.Token, &c.CreditCode, &c.EntityName, &c.EntityType, &c.DistrictCode, &c.TownshipCode, &c.IndustryCode,
		&c.Status, &c.Source, &c.IssuedAt, &c.ActivatedAt, &c.ReviewedBy, &c.ReviewedAt, &c.RejectReason,
		&c.InvalidatedAt, &c.InvalidatedBy, &c.InvalidateReason, &c.Version)
	if err != nil {
		return c, store.Classify(err)
	}
	c.EntityTypeName = entityTypeNames[c.EntityType]
	c.StatusName = statusNames[c.Status]
	return c, nil
}

func scanCodes(rows pgx.Rows, err error) ([]Code, error) {
	if err != nil {
		return nil, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Code, error) { return scanCode(r) })
	if list == nil {
		list = []Code{}
	}
	return list, store.Classify(err)
}

// selectCode reads the code with token, locked for the transaction when
// lock is set; a missing one is errs.ErrNotFound.
func selectCode(ctx context.Context, q store.Querier, token string, lock bool) (Code, error) {
	sql := `SELECT ` + codeColumns + ` FROM qr.codes WHERE token = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	return scanCode(q.QueryRow(ctx, sql, token))
}

// lockCodeOfEntity reads and locks the code of an entity.
func lockCodeOfEntity(ctx context.Context, tx pgx.Tx, creditCode string) (Code, error) {
	return scanCode(tx.QueryRow(ctx, `SELECT `+codeColumns+` FROM qr.codes WHERE credit_code = $1 FOR UPDATE`, creditCode))
}

func approveCode(ctx context.Context, tx pgx.Tx, token, reviewer string, now time.Time) (Code, error) {
	return scanCode(tx.QueryRow(ctx, `UPDATE qr.codes SET status = 'active', reviewed_by = $2, reviewed_at = $3,
		reject_reason = '', activated_at = COALESCE(activated_at, $3), version = version + 1, updated_at = $3
		WHERE token = $1 RETURNING `+codeColumns, token, reviewer, now))
}

func rejectCode(ctx context.Context, tx pgx.Tx, token, reviewer, reason string, now time.Time) (Code, error) {
	return scanCode(tx.QueryRow(ctx, `UPDATE qr.codes SET status = 'rejected', reviewed_by = $2, reviewed_at = $3,
		reject_reason = $4, version = version + 1, updated_at = $3 WHERE token = $1 RETURNING `+codeColumns, token, reviewer, now, reason))
}

func invalidateCode(ctx context.Context, tx pgx.Tx, token, by, reason string, now time.Time) (Code, error) {
	return scanCode(tx.QueryRow(ctx, `UPDATE qr.codes SET status = 'invalid', invalidated_at = $2, invalidated_by = $3,
		invalidate_reason = $4, version = version + 1, updated_at = $2 WHERE token = $1 RETURNING `+codeColumns, token, now, by, reason))
}

func reactivateCode(ctx context.Context, tx pgx.Tx, token, status string, now time.Time) (Code, error) {
	return scanCode(tx.QueryRow(ctx, `UPDATE qr.codes SET status = $2, invalidated_at = NULL, invalidated_by = '',
		invalidate_reason = '', version = version + 1, updated_at = $3 WHERE token = $1 RETURNING `+codeColumns, token, status, now))
}

// insertCode creates an entity's code; it is errs.ErrNotFound when the
// entity already has one or the token is taken (ON CONFLICT DO NOTHING).
func insertCode(ctx context.Context, tx pgx.Tx, token string, e events.Entity, status string, now time.Time) (Code, error) {
	var activated *time.Time
	if status == StatusActive {
		activated = &now
	}
	return scanCode(tx.QueryRow(ctx, `INSERT INTO qr.codes (token, credit_code, entity_name, entity_type, district_code,
			township_code, industry_code, status, source, issued_at, activated_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'event', $9, $10, $9)
		ON CONFLICT DO NOTHING RETURNING `+codeColumns,
		token, e.CreditCode, e.Name, e.EntityType, e.DistrictCode, e.TownshipCode, e.IndustryCode, status, now, activated))
}

func entityHasCode(ctx context.Context, tx pgx.Tx, creditCode string) (bool, error) {
	var has bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM qr.codes WHERE credit_code = $1)`, creditCode).Scan(&has)
	return has, store.Classify(err)
}

// copyEntityFields keeps a code's copy of its entity's fields current.
func copyEntityFields(ctx context.Context, tx pgx.Tx, token string, e events.Entity, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE qr.codes SET entity_name = $2, entity_type = $3, district_code = $4,
		township_code = $5, industry_code = $6, version = version + 1, updated_at = $7 WHERE token = $1`,
		token, e.Name, e.EntityType, e.DistrictCode, e.TownshipCode, e.IndustryCode, now)
	if err != nil {
		return fmt.Errorf("update code of %s: %w", e.CreditCode, err)
	}
	return nil
}

// liveCodeOf locks the active or pending code of an entity and returns its
// token; errs.ErrNotFound when there is none.
func liveCodeOf(ctx context.Context, tx pgx.Tx, creditCode string) (string, error) {
	var token string
	err := tx.QueryRow(ctx, `SELECT token FROM qr.codes WHERE credit_code = $1 AND status IN ('active','pending') FOR UPDATE`,
		creditCode).Scan(&token)
	return token, store.Classify(err)
}

// swept is one code the sweep invalidated.
type swept struct{ token, creditCode, district, township, reason string }

// sweepCodes invalidates, set-based, every active or pending code whose
// entity is no longer active.
func sweepCodes(ctx context.Context, tx pgx.Tx, now time.Time) ([]swept, error) {
	rows, err := tx.Query(ctx, `UPDATE qr.codes c SET status = 'invalid', invalidated_at = $1, invalidated_by = 'system',
			invalidate_reason = CASE e.status WHEN 'revoked' THEN '主体已被吊销营业执照（定时清理）' ELSE '主体已注销（定时清理）' END,
			version = c.version + 1, updated_at = $1
		FROM qr.entities e
		WHERE e.credit_code = c.credit_code AND e.status <> 'active' AND c.status IN ('active','pending')
		RETURNING c.token, c.credit_code, c.district_code, c.township_code, c.invalidate_reason`, now)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (swept, error) {
		var v swept
		return v, r.Scan(&v.token, &v.creditCode, &v.district, &v.township, &v.reason)
	})
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	return list, nil
}

// upsertEntity records an entity snapshot unless a newer one is already
// held (events may arrive out of order); it reports whether it applied.
func upsertEntity(ctx context.Context, tx pgx.Tx, e events.Entity, now time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO qr.entities (credit_code, name, entity_type, district_code, township_code, industry_code, status, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (credit_code) DO UPDATE SET name = EXCLUDED.name, entity_type = EXCLUDED.entity_type,
			district_code = EXCLUDED.district_code, township_code = EXCLUDED.township_code, industry_code = EXCLUDED.industry_code,
			status = EXCLUDED.status, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
		WHERE qr.entities.version <= EXCLUDED.version`,
		e.CreditCode, e.Name, e.EntityType, e.DistrictCode, e.TownshipCode, e.IndustryCode, e.Status, e.Version, now)
	if err != nil {
		return false, fmt.Errorf("record entity %s: %w", e.CreditCode, err)
	}
	return tag.RowsAffected() > 0, nil
}

func recordDeregistration(ctx context.Context, tx pgx.Tx, d events.EntityDeregisteredData, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE qr.entities SET status = $2, version = $3, updated_at = $4
		WHERE credit_code = $1 AND version <= $3`, d.CreditCode, d.Status, d.Version, now); err != nil {
		return fmt.Errorf("record deregistration %s: %w", d.CreditCode, err)
	}
	return nil
}

// entityStatus is the status qr-generate holds for an entity, "" when it
// knows none.
func entityStatus(ctx context.Context, tx pgx.Tx, creditCode string) (string, error) {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM qr.entities WHERE credit_code = $1`, creditCode).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return status, store.Classify(err)
}

// loadEntities COPYs snapshots into a temporary table and upserts them.
func loadEntities(ctx context.Context, tx pgx.Tx, list []events.Entity, now time.Time) (int64, error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE load_ent (LIKE qr.entities) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"load_ent"},
		[]string{"credit_code", "name", "entity_type", "district_code", "township_code", "industry_code", "status", "version", "updated_at"},
		pgx.CopyFromSlice(len(list), func(i int) ([]any, error) {
			e := list[i]
			return []any{e.CreditCode, e.Name, e.EntityType, e.DistrictCode, e.TownshipCode, e.IndustryCode, e.Status, e.Version, now}, nil
		})); err != nil {
		return 0, fmt.Errorf("copy entities: %w", err)
	}
	tag, err := tx.Exec(ctx, upsertEntitiesFrom("load_ent"))
	return tag.RowsAffected(), err
}

// syncFromRegistry upserts every entity registry.entity_snapshot() (the
// registry's published read function, migration 0006) answers; it reports
// false when the database has no such function.
func syncFromRegistry(ctx context.Context, q store.Querier) (int64, bool, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regprocedure('registry.entity_snapshot()') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, false, store.Classify(err)
	}
	// updated_at is when qr-generate recorded the snapshot, as on the event path.
	tag, err := q.Exec(ctx, upsertEntitiesFrom(`(SELECT credit_code, name, entity_type, district_code, township_code,
		industry_code, status, version, now() AS updated_at FROM registry.entity_snapshot())`))
	return tag.RowsAffected(), true, store.Classify(err)
}

func upsertEntitiesFrom(rel string) string {
	return `INSERT INTO qr.entities (credit_code, name, entity_type, district_code, township_code, industry_code, status, version, updated_at)
		SELECT credit_code, name, entity_type, district_code, township_code, industry_code, status, version, updated_at FROM ` + rel + ` s
		ON CONFLICT (credit_code) DO UPDATE SET name = EXCLUDED.name, entity_type = EXCLUDED.entity_type,
			district_code = EXCLUDED.district_code, township_code = EXCLUDED.township_code, industry_code = EXCLUDED.industry_code,
			status = EXCLUDED.status, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
		WHERE qr.entities.version < EXCLUDED.version`
}

// inScope adds the scope's condition over the district and township
// columns to w.
func inScope(w *store.Where, scope auth.Scope, districtCol, townshipCol string) {
	w.AddWith(func(args *[]any) string { return scope.Filter(districtCol, townshipCol, args) })
}

// where is the code list's condition inside scope. The keyword matches a
// credit code or token exactly, or a part of the name literally: % and _
// typed by a user are text, not wildcards.
func (c CodeFilter) where(scope auth.Scope) *store.Where {
	w := &store.Where{}
	inScope(w, scope, "district_code", "township_code")
	for _, eq := range []struct{ col, v string }{{"status", c.Status}, {"district_code", c.District},
		{"township_code", c.Township}, {"industry_code", c.Industry}, {"entity_type", c.Type}} {
		if eq.v != "" {
			w.Add(eq.col+" = ?", eq.v)
		}
	}
	if c.Q != "" {
		w.Add("(credit_code = upper(?) OR token = ? OR entity_name LIKE ?)", c.Q, c.Q, store.Contains(c.Q))
	}
	return w
}

// listCodes is a page of the codes w selects, newest first, and their count.
func listCodes(ctx context.Context, q store.Querier, w *store.Where, limit, offset int) ([]Code, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM qr.codes`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	sql := `SELECT ` + codeColumns + ` FROM qr.codes` + w.SQL()
	sql += ` ORDER BY issued_at DESC, token LIMIT ` + w.Next(limit) + ` OFFSET ` + w.Next(offset)
	list, err := scanCodes(q.Query(ctx, sql, w.Args()...))
	return list, total, err
}

// zipCodes lists up to limit active codes of a batch download inside scope.
func zipCodes(ctx context.Context, q store.Querier, z ZipRequest, scope auth.Scope, limit int) ([]Code, error) {
	w := &store.Where{}
	w.Add("status = 'active'")
	switch {
	case len(z.Tokens) > 0 && len(z.CreditCodes) > 0:
		w.Add("(token = ANY(?::text[]) OR credit_code = ANY(?::text[]))", z.Tokens, z.CreditCodes)
	case len(z.Tokens) > 0:
		w.Add("token = ANY(?::text[])", z.Tokens)
	case len(z.CreditCodes) > 0:
		w.Add("credit_code = ANY(?::text[])", z.CreditCodes)
	}
	if z.DistrictCode != "" {
		w.Add("district_code = ?", z.DistrictCode)
	}
	if z.IndustryCode != "" {
		w.Add("industry_code = ?", z.IndustryCode)
	}
	inScope(w, scope, "district_code", "township_code")
	sql := `SELECT ` + codeColumns + ` FROM qr.codes` + w.SQL() + ` ORDER BY credit_code LIMIT ` + w.Next(limit)
	return scanCodes(q.Query(ctx, sql, w.Args()...))
}

func insertOpLog(ctx context.Context, q store.Querier, at time.Time, op Operator, e opEntry) error {
	_, err := q.Exec(ctx, `INSERT INTO qr.oplog (at, operator_id, operator, action, token, credit_code, district_code, township_code, result, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		at, op.ID, op.Name, e.Action, e.Token, e.CreditCode, e.District, e.Township, e.Result, e.Detail)
	if err != nil {
		return fmt.Errorf("write operation log: %w", err)
	}
	return nil
}

// where is the operation log's condition inside scope: rows about a code
// follow the scope; batch rows without a place only the city-wide one.
// The operator matches by prefix, literally.
func (o OpLogFilter) where(scope auth.Scope) *store.Where {
	w := &store.Where{}
	inScope(w, scope, "district_code", "township_code")
	if o.From != nil {
		w.Add("at >= ?", *o.From)
	}
	if o.To != nil {
		w.Add("at < ?", *o.To)
	}
	if o.Operator != "" {
		w.Add("operator LIKE ?", store.Prefix(o.Operator))
	}
	if o.Action != "" {
		w.Add("action = ?", o.Action)
	}
	if o.Result != "" {
		w.Add("result = ?", o.Result)
	}
	if o.Q != "" {
		w.Add("(token = ? OR credit_code = upper(?))", o.Q, o.Q)
	}
	return w
}

// listOpLog is a page of the log w selects, newest first, and its count.
func listOpLog(ctx context.Context, q store.Querier, w *store.Where, limit, offset int) ([]OpLogEntry, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM qr.oplog`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	sql := `SELECT id, at, operator_id, operator, action, token, credit_code, result, detail FROM qr.oplog` + w.SQL()
	sql += ` ORDER BY at DESC, id DESC LIMIT ` + w.Next(limit) + ` OFFSET ` + w.Next(offset)
	rows, err := q.Query(ctx, sql, w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpLogEntry, error) {
		var e OpLogEntry
		err := r.Scan(&e.ID, &e.At, &e.OperatorID, &e.Operator, &e.Action, &e.Token, &e.CreditCode, &e.Result, &e.Detail)
		e.ActionName = actionNames[e.Action]
		return e, err
	})
	if list == nil {
		list = []OpLogEntry{}
	}
	return list, total, store.Classify(err)
}

// countDownloads adds one download in format for each token on the day
// of at (Beijing time), in one statement; the tokens must be distinct.
func countDownloads(ctx context.Context, q store.Querier, at time.Time, format string, tokens []string) error {
	_, err := q.Exec(ctx, `INSERT INTO qr.downloads (day, token, format, count)
		SELECT ($1::timestamptz AT TIME ZONE 'Asia/Shanghai')::date, t, $2, 1 FROM unnest($3::text[]) t
		ON CONFLICT (day, format, token) DO UPDATE SET count = qr.downloads.count + EXCLUDED.count`, at, format, tokens)
	if err != nil {
		return fmt.Errorf("count downloads: %w", err)
	}
	return nil
}

var groupColumns = map[string]string{
	"day":      `to_char(issued_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')`,
	"district": "district_code",
	"industry": "industry_code",
	"type":     "entity_type",
}

// issueStats counts the codes issued in [from, to) inside scope by the
// group's column.
func issueStats(ctx context.Context, q store.Querier, group string, from, to time.Time, scope auth.Scope) ([]StatRow, error) {
	w := &store.Where{}
	w.Add("issued_at >= ? AND issued_at < ?", from, to)
	inScope(w, scope, "district_code", "township_code")
	rows, err := q.Query(ctx, `SELECT `+groupColumns[group]+` AS k, count(*),
			count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'pending'),
			count(*) FILTER (WHERE status = 'rejected'), count(*) FILTER (WHERE status = 'invalid')
		FROM qr.codes`+w.SQL()+` GROUP BY k ORDER BY k`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StatRow, error) {
		var s StatRow
		err := r.Scan(&s.Key, &s.Issued, &s.Active, &s.Pending, &s.Rejected, &s.Invalid)
		s.Label = labelOf(group, s.Key)
		return s, err
	})
	if list == nil {
		list = []StatRow{}
	}
	return list, store.Classify(err)
}

// downloadCounts sums downloads per format over the days [from, to). The
// counters carry no place: a scoped caller counts its codes' downloads,
// which leaves out ZIP archives (counted under no code).
func downloadCounts(ctx context.Context, q store.Querier, from, to string, scope auth.Scope) (map[string]int64, error) {
	w := &store.Where{}
	w.Add("day >= ?::date AND day < ?::date", from, to)
	if scope.Kind != auth.ScopeAll {
		w.AddWith(func(args *[]any) string {
			return "d.token IN (SELECT token FROM qr.codes WHERE " + scope.Filter("district_code", "township_code", args) + ")"
		})
	}
	rows, err := q.Query(ctx, `SELECT format, sum(count) FROM qr.downloads d`+w.SQL()+` GROUP BY format`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	got := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, store.Classify(err)
		}
		got[k] = n
	}
	return got, store.Classify(rows.Err())
}
