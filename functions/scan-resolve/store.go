package scanresolve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Every statement of scan-resolve. Its own tables are scan.scans and
// scan.inspections; of other schemas it reads only their published read
// functions (docs/architecture.md, "Published read functions"):
//
//   - qr.code_status(token): a code's credit code and status;
//   - registry.public_page(code): what the public may see of an entity,
//     its district and township included (callers that read only a few
//     columns get only those computed: the planner inlines the function
//     and drops the unused ones, the records among them).

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// maxPageBatch bounds the tokens of one cache-miss query.
const maxPageBatch = 32

// pagesQuery is the cache-miss query: for a batch of tokens, each code's
// status and, for an active code, everything the public may see of its
// entity, in one round trip. scan.pages (migrations 0002 and 0004) wraps
// the statement so it keeps a generic plan; it calls qr.code_status and
// registry.public_page.
const pagesQuery = `SELECT * FROM scan.pages($1)`

// pageRow receives a row of scan.pages: the page's columns are NULL when
// the code is not active or the registry no longer holds its entity.
type pageRow struct {
	status, cc                                            string
	pcc, name, etype, legalRep, established, capital      *string
	scope, address, district, township, industry, estatus *string
	version                                               *int
	updatedAt                                             *time.Time
	records                                               []byte
}

func (r *pageRow) targets() []any {
	return []any{&r.status, &r.cc, &r.pcc, &r.name, &r.etype, &r.legalRep, &r.established, &r.capital, &r.scope,
		&r.address, &r.district, &r.township, &r.industry, &r.estatus, &r.version, &r.updatedAt, &r.records}
}

// profile returns the entity's page data; ok is false without one.
func (r *pageRow) profile() (p profile, ok bool, err error) {
	if r.pcc == nil {
		return p, false, nil
	}
	s := func(v *string) string {
		if v == nil {
			return ""
		}
		return *v
	}
	p = profile{CreditCode: *r.pcc, Name: s(r.name), EntityType: s(r.etype), LegalRep: s(r.legalRep),
		EstablishedOn: s(r.established), RegisteredCapital: s(r.capital), BusinessScope: s(r.scope),
		Address: s(r.address), DistrictCode: s(r.district), TownshipCode: s(r.township), IndustryCode: s(r.industry),
		Status: s(r.estatus)}
	if r.version != nil {
		p.Version = *r.version
	}
	if r.updatedAt != nil {
		p.UpdatedAt = *r.updatedAt
	}
	if r.records != nil {
		if err := json.Unmarshal(r.records, &p.Records); err != nil {
			return p, false, fmt.Errorf("decode public records of %s: %w", p.CreditCode, err)
		}
	}
	return p, true, nil
}

// pageRows is the page batcher's round trip: queryPages on pool.
func pageRows(pool *pgxpool.Pool) func(context.Context, []string) ([]*pageRow, error) {
	return func(ctx context.Context, tokens []string) ([]*pageRow, error) { return queryPages(ctx, pool, tokens) }
}

// queryPages runs pagesQuery for tokens; a nil row means no such code.
func queryPages(ctx context.Context, q querier, tokens []string) ([]*pageRow, error) {
	rows, err := q.Query(ctx, pagesQuery, tokens)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	byToken := make(map[string]*pageRow, len(tokens))
	for rows.Next() {
		var token string
		r := &pageRow{}
		if err := rows.Scan(append([]any{&token}, r.targets()...)...); err != nil {
			return nil, store.Classify(err)
		}
		byToken[token] = r
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify(err)
	}
	out := make([]*pageRow, len(tokens))
	for i, t := range tokens {
		out[i] = byToken[t]
	}
	return out, nil
}

// codeArea is a code and where its entity is, for recording an inspection.
type codeArea struct {
	cc, status         string
	district, township string
	entity             bool // the registry holds the entity
}

// codeAreaOf reads token's code and its entity's area; ok is false when no
// code has the token.
func codeAreaOf(ctx context.Context, q querier, token string) (a codeArea, ok bool, err error) {
	var district, township *string
	err = q.QueryRow(ctx, `SELECT c.credit_code, c.status, p.district_code, p.township_code
		FROM qr.code_status($1) c LEFT JOIN LATERAL registry.public_page(c.credit_code) p ON true`, token).
		Scan(&a.cc, &a.status, &district, &township)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, store.Classify(err)
	}
	if district != nil {
		a.entity, a.district, a.township = true, *district, deref(township)
	}
	return a, true, nil
}

// entityArea is where the registry places the entity of credit code cc;
// ok is false when it holds no such entity.
func entityArea(ctx context.Context, q querier, cc string) (district, township string, ok bool, err error) {
	err = q.QueryRow(ctx, `SELECT district_code, township_code FROM registry.public_page($1)`, cc).Scan(&district, &township)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, store.Classify(err)
	}
	return district, township, true, nil
}

// codeEntity is the credit code of token's code; ok is false without one.
func codeEntity(ctx context.Context, q querier, token string) (cc string, ok bool, err error) {
	err = q.QueryRow(ctx, `SELECT credit_code FROM qr.code_status($1)`, token).Scan(&cc)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, store.Classify(err)
	}
	return cc, true, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// insertInspection stores a recorded inspection.
func insertInspection(ctx context.Context, tx pgx.Tx, in Inspection, deptID string) error {
	items, err := json.Marshal(in.Items)
	if err != nil {
		return err
	}
	photos, err := json.Marshal(in.Photos)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO scan.inspections (id, token, credit_code, kind, title, authority, inspected_on, items,
			conclusion, remarks, photos, inspector_id, inspector_name, dept_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		in.ID, in.Token, in.CreditCode, in.Kind, in.Title, in.Authority, in.InspectedOn, items, in.Conclusion, in.Remarks,
		photos, in.InspectorID, in.InspectorName, deptID, in.CreatedAt)
	return store.Classify(err)
}

// selectInspections is a page of the inspections of entity cc (and, when
// token is set, recorded on that code), newest first, with their total.
func selectInspections(ctx context.Context, q querier, cc, token string, pg httpx.Page) ([]Inspection, int, error) {
	var w store.Where
	w.Add("credit_code = ?", cc)
	if token != "" {
		w.Add("token = ?", token)
	}
	limit, offset := w.Next(pg.Size), w.Next(pg.Offset())
	rows, err := q.Query(ctx, `SELECT id, token, credit_code, kind, title, authority, to_char(inspected_on, 'YYYY-MM-DD'),
			items, conclusion, remarks, jsonb_array_length(photos), inspector_id, inspector_name, created_at, count(*) OVER ()
		FROM scan.inspections`+w.SQL()+` ORDER BY created_at DESC, id LIMIT `+limit+` OFFSET `+offset, w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	defer rows.Close()
	var out []Inspection
	total := 0
	for rows.Next() {
		var in Inspection
		var items []byte
		var photos int
		if err := rows.Scan(&in.ID, &in.Token, &in.CreditCode, &in.Kind, &in.Title, &in.Authority, &in.InspectedOn, &items,
			&in.Conclusion, &in.Remarks, &photos, &in.InspectorID, &in.InspectorName, &in.CreatedAt, &total); err != nil {
			return nil, 0, store.Classify(err)
		}
		if err := json.Unmarshal(items, &in.Items); err != nil {
			return nil, 0, err
		}
		in.PhotoURLs = consolePhotoURLs(in.ID, photos)
		out = append(out, in)
	}
	return out, total, store.Classify(rows.Err())
}

// photoSet is an inspection's photos, the code it was recorded on and
// where its entity is.
type photoSet struct {
	token, status      string // status of the code now ("" when it is gone)
	district, township string // "" when the registry no longer holds the entity
	keys               []string
}

// selectPhotos reads inspection id's photo keys, its code's status and its
// entity's area.
func selectPhotos(ctx context.Context, q querier, id string) (photoSet, error) {
	var s photoSet
	var keys []byte
	err := q.QueryRow(ctx, `SELECT i.token, coalesce(c.status, ''), coalesce(p.district_code, ''), coalesce(p.township_code, ''), i.photos
		FROM scan.inspections i
		LEFT JOIN LATERAL qr.code_status(i.token) c ON true
		LEFT JOIN LATERAL registry.public_page(i.credit_code) p ON true
		WHERE i.id = $1`, id).Scan(&s.token, &s.status, &s.district, &s.township, &keys)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, errs.Wrap(errs.NotFound, "检查记录不存在", err)
	}
	if err != nil {
		return s, store.Classify(err)
	}
	return s, json.Unmarshal(keys, &s.keys)
}

// selectStats counts the scans of the query's range within scope, grouped
// as asked, and their total (every scan in range, not only the rows of a
// top list). The top list's labels are the entities' names.
func selectStats(ctx context.Context, q querier, sq StatsQuery, scope auth.Scope) ([]StatRow, int64, error) {
	var w store.Where
	w.Add("scanned_at >= ? AND scanned_at < ?", sq.From, sq.To.AddDate(0, 0, 1))
	w.Add("credit_code <> ''")
	w.AddWith(func(args *[]any) string { return scope.Filter("district_code", "township_code", args) })
	where := w.SQL()
	var sql string
	switch sq.Group {
	case "hour":
		sql = `SELECT extract(hour FROM scanned_at AT TIME ZONE 'Asia/Shanghai')::int::text, '', count(*) FROM scan.scans` + where + ` GROUP BY 1`
	case "day":
		sql = `SELECT to_char(scanned_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), '', count(*) FROM scan.scans` + where + ` GROUP BY 1 ORDER BY 1`
	case "district":
		sql = `SELECT district_code, '', count(*) FROM scan.scans` + where + ` GROUP BY 1 ORDER BY 3 DESC, 1`
	case "industry":
		sql = `SELECT industry_code, '', count(*) FROM scan.scans` + where + ` GROUP BY 1 ORDER BY 3 DESC, 1`
	case "top":
		// Names come from the registry's published read function, only
		// for the few rows shown (and only its name column is computed).
		sql = `SELECT t.credit_code, COALESCE((SELECT p.name FROM registry.public_page(t.credit_code) p), ''), t.n
			FROM (SELECT credit_code, count(*) AS n FROM scan.scans` + where + ` GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ` +
			fmt.Sprint(sq.Limit) + `) t ORDER BY t.n DESC, t.credit_code`
	default:
		return nil, 0, fmt.Errorf("scan-resolve: unknown statistics group %q", sq.Group)
	}
	rows, err := q.Query(ctx, sql, w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StatRow, error) {
		var s StatRow
		return s, row.Scan(&s.Key, &s.Label, &s.Scans)
	})
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	var total int64
	if sq.Group == "top" {
		err := q.QueryRow(ctx, `SELECT count(*) FROM scan.scans`+where, w.Args()...).Scan(&total)
		return out, total, store.Classify(err)
	}
	for _, s := range out {
		total += s.Scans
	}
	return out, total, nil
}

// countScans counts every row of scan.scans.
func countScans(ctx context.Context, q querier) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM scan.scans`).Scan(&n)
	return n, store.Classify(err)
}

const scanColumns = "(id, scanned_at, token, credit_code, district_code, township_code, industry_code, " +
	"code_status, channel, ua_class, os, ip_hash, role)"

// copyScans writes rows, in COPY's binary format (appendCopyRow), in one
// transaction. A replayed batch (dedupe) goes through a temporary table so
// rows already written are skipped.
func copyScans(ctx context.Context, pool *pgxpool.Pool, rows []byte, dedupe bool) error {
	copyInto := func(tx pgx.Tx, table string) error {
		_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(rows), "COPY "+table+" "+scanColumns+" FROM STDIN (FORMAT binary)")
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if !dedupe {
			return copyInto(tx, "scan.scans")
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS scan_replay (LIKE scan.scans) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		if err := copyInto(tx, "scan_replay"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO scan.scans SELECT * FROM scan_replay ON CONFLICT DO NOTHING`)
		return err
	})
}

// createScanPartition creates the monthly partition of scan.scans holding
// at (UTC months), unless it exists.
func createScanPartition(ctx context.Context, q querier, at time.Time) error {
	m := at.UTC()
	name := m.Format("200601")
	from := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	_, err := q.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS scan.scans_%s PARTITION OF scan.scans
		FOR VALUES FROM ('%s') TO ('%s')`, name, from.Format(time.RFC3339), to.Format(time.RFC3339)))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P07") {
		err = nil // another replica created it at the same moment
	}
	if err != nil {
		return fmt.Errorf("create partition scans_%s: %w", name, err)
	}
	return nil
}
