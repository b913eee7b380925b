package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store"
)

const entityColumns = `credit_code, name, entity_type, legal_rep, to_char(established_on, 'YYYY-MM-DD'),
	registered_capital::text, business_scope, address, district_code, township_code, industry_code, status,
	ST_X(location::geometry), ST_Y(location::geometry), version, created_at, updated_at`

// scanEntity reads entityColumns, then any extra columns into extra.
func scanEntity(row pgx.Row, extra ...any) (Entity, error) {
	var e Entity
	err := row.Scan(append([]any{&e.CreditCode, &e.Name, &e.EntityType, &e.LegalRep, &e.EstablishedOn, &e.RegisteredCapital,
		&e.BusinessScope, &e.Address, &e.DistrictCode, &e.TownshipCode, &e.IndustryCode, &e.Status,
		&e.Longitude, &e.Latitude, &e.Version, &e.CreatedAt, &e.UpdatedAt}, extra...)...)
	if err != nil {
		return e, store.Classify(err)
	}
	e.RegisteredCapital = trimDecimal(e.RegisteredCapital)
	e.label()
	return e, nil
}

// trimDecimal shows 100.0000 as 100 and 12.5000 as 12.5.
func trimDecimal(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func getEntity(ctx context.Context, q store.Querier, code string, forUpdate bool) (Entity, error) {
	sql := `SELECT ` + entityColumns + ` FROM registry.entities WHERE credit_code = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	return scanEntity(q.QueryRow(ctx, sql, code))
}

func point(in EntityInput) any {
	if in.Longitude == nil {
		return nil
	}
	return fmt.Sprintf("SRID=4326;POINT(%f %f)", *in.Longitude, *in.Latitude)
}

func insertEntity(ctx context.Context, tx pgx.Tx, in EntityInput, now time.Time) (Entity, error) {
	row := tx.QueryRow(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on,
		registered_capital, business_scope, address, district_code, township_code, industry_code, status, location,
		created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::geography, $14, $14)
		RETURNING `+entityColumns,
		in.CreditCode, in.Name, in.EntityType, in.LegalRep, in.EstablishedOn, string(in.RegisteredCapital),
		in.BusinessScope, in.Address, in.DistrictCode, in.TownshipCode, in.IndustryCode, in.Status, point(in), now)
	return scanEntity(row)
}

func updateEntity(ctx context.Context, tx pgx.Tx, in EntityInput, now time.Time) (Entity, error) {
	row := tx.QueryRow(ctx, `UPDATE registry.entities SET name = $2, entity_type = $3, legal_rep = $4,
		established_on = $5, registered_capital = $6, business_scope = $7, address = $8, district_code = $9,
		township_code = $10, industry_code = $11, status = $12, location = $13::geography, updated_at = $14,
		version = version + 1
		WHERE credit_code = $1 RETURNING `+entityColumns,
		in.CreditCode, in.Name, in.EntityType, in.LegalRep, in.EstablishedOn, string(in.RegisteredCapital),
		in.BusinessScope, in.Address, in.DistrictCode, in.TownshipCode, in.IndustryCode, in.Status, point(in), now)
	return scanEntity(row)
}

// Filter is a search over entities; empty fields do not filter.
type Filter struct {
	Name, Code, District, Township, Industry, Type, Status string
	// Scope confines the search to a caller's data scope; nil only for
	// internal callers acting for nobody.
	Scope *auth.Scope
}

// maxCount caps how far a search counts: past it the answer says "more
// than 10000" instead of scanning a million rows for an exact number.
const maxCount = 10000

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.Name != "" {
		// Both sides normalised (NormalizeName = registry.norm_name), so
		// （中国） finds (中国) and 买买提•艾力 finds 买买提·艾力; the name_norm
		// indexes serve it. Trigrams cannot narrow a two-character term:
		// the bigram index does.
		q := NormalizeName(f.Name)
		add(`name_norm LIKE ?`, "%"+escapeLike(q)+"%")
		if utf8.RuneCountInString(q) == 2 {
			add(`registry.bigrams(name_norm) @> ARRAY[?]::text[]`, q)
		}
	}
	if f.Code != "" {
		add(`credit_code LIKE ?`, escapeLike(f.Code)+"%")
	}
	if f.District != "" {
		add(`district_code = ?`, f.District)
	}
	if f.Township != "" {
		add(`township_code = ?`, f.Township)
	}
	if f.Industry != "" {
		if len(f.Industry) == 4 {
			add(`industry_code = ?`, f.Industry)
		} else { // a division (2 digits) or group (3 digits) covers its classes
			add(`industry_code LIKE ?`, escapeLike(f.Industry)+"%")
		}
	}
	if f.Type != "" {
		add(`entity_type = ?`, f.Type)
	}
	if f.Status != "" {
		add(`status = ?`, f.Status)
	}
	if f.Scope != nil && f.Scope.Kind != auth.ScopeAll {
		conds = append(conds, f.Scope.Filter("district_code", "township_code", &args))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// checkNameQuery accepts a name keyword of 2 characters up to a whole
// name (maxNameLen). One character matches too much to be useful and no
// index narrows it; the length after normalisation counts, since that is
// what is searched ("恒 " is one character).
func checkNameQuery(s string) string {
	if s == "" {
		return ""
	}
	if utf8.RuneCountInString(s) > maxNameLen || utf8.RuneCountInString(NormalizeName(s)) < 2 {
		return fmt.Sprintf("名称关键字应为 2 至 %d 个字符", maxNameLen)
	}
	return ""
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// searchSQL is the search statement for f and its arguments, the page's
// limit and offset last.
func searchSQL(f Filter, limit, offset int) (string, []any) {
	where, args := f.where()
	n := len(args)
	// Collect at most maxCount+1 matching keys through the filter's indexes,
	// then page those in code order. Ordering the filtered table directly
	// lets the planner walk the primary key and test 1.3 M names one by one.
	return fmt.Sprintf(`WITH m AS MATERIALIZED (SELECT credit_code FROM registry.entities%s LIMIT %d)
		SELECT %s, (SELECT count(*) FROM m) FROM registry.entities
		WHERE credit_code IN (SELECT credit_code FROM m ORDER BY credit_code LIMIT $%d OFFSET $%d)
		ORDER BY credit_code`, where, maxCount+1, entityColumns, n+1, n+2), append(args, limit, offset)
}

func searchEntities(ctx context.Context, q store.Querier, f Filter, limit, offset int) ([]Entity, int, error) {
	sql, args := searchSQL(f, limit, offset)
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	var total int
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entity, error) { return scanEntity(r, &total) })
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	if len(list) == 0 && offset > 0 { // a page past the end still reports the total
		where, args := f.where()
		err = q.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM registry.entities%s LIMIT %d) t`, where, maxCount+1),
			args...).Scan(&total)
	}
	return list, total, store.Classify(err)
}

const recordColumns = `id, credit_code, kind, ref_no, title, authority, to_char(occurred_on, 'YYYY-MM-DD'),
	to_char(valid_until, 'YYYY-MM-DD'), status, public, details, created_at`

func scanRecord(row pgx.Row) (Record, error) {
	var r Record
	err := row.Scan(&r.ID, &r.CreditCode, &r.Kind, &r.RefNo, &r.Title, &r.Authority, &r.OccurredOn,
		&r.ValidUntil, &r.Status, &r.Public, &r.Details, &r.CreatedAt)
	r.KindName = recordKinds[r.Kind]
	return r, store.Classify(err)
}

func insertRecord(ctx context.Context, tx pgx.Tx, code string, in RecordInput, now time.Time) (Record, error) {
	public := true
	if in.Public != nil {
		public = *in.Public
	}
	var until any
	if in.ValidUntil != "" {
		until = in.ValidUntil
	}
	return scanRecord(tx.QueryRow(ctx, `INSERT INTO registry.records (credit_code, kind, ref_no, title, authority,
		occurred_on, valid_until, status, public, details, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING `+recordColumns,
		code, in.Kind, in.RefNo, in.Title, in.Authority, in.OccurredOn, until, in.Status, public, []byte(in.Details), now))
}

// profileRows loads an entity and all its records in one round trip.
func profileRows(ctx context.Context, q store.Querier, code string) (Entity, []Record, error) {
	row := q.QueryRow(ctx, `SELECT `+entityColumns+`, COALESCE((SELECT json_agg(json_build_object(
			'id', r.id, 'credit_code', r.credit_code, 'kind', r.kind, 'ref_no', r.ref_no, 'title', r.title,
			'authority', r.authority, 'occurred_on', r.occurred_on, 'valid_until', r.valid_until, 'status', r.status,
			'public', r.public, 'details', r.details, 'created_at', r.created_at) ORDER BY r.occurred_on DESC, r.id DESC)
		FROM registry.records r WHERE r.credit_code = e.credit_code), '[]')
		FROM registry.entities e WHERE e.credit_code = $1`, code)
	var e Entity
	var raw []byte
	err := row.Scan(&e.CreditCode, &e.Name, &e.EntityType, &e.LegalRep, &e.EstablishedOn, &e.RegisteredCapital,
		&e.BusinessScope, &e.Address, &e.DistrictCode, &e.TownshipCode, &e.IndustryCode, &e.Status,
		&e.Longitude, &e.Latitude, &e.Version, &e.CreatedAt, &e.UpdatedAt, &raw)
	if err != nil {
		return e, nil, store.Classify(err)
	}
	e.RegisteredCapital = trimDecimal(e.RegisteredCapital)
	e.label()
	var recs []Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return e, nil, fmt.Errorf("decode records of %s: %w", code, err)
	}
	for i := range recs {
		recs[i].KindName = recordKinds[recs[i].Kind]
	}
	return e, recs, nil
}

// StatRow is one cell of the entity-count snapshot.
type StatRow struct {
	DistrictCode string `json:"district_code"`
	DistrictName string `json:"district_name"`
	EntityType   string `json:"entity_type"`
	Status       string `json:"status"`
	Entities     int64  `json:"entities"`
}

func refreshStats(ctx context.Context, tx pgx.Tx, now time.Time) error {
	_, err := tx.Exec(ctx, `DELETE FROM registry.stats;
		INSERT INTO registry.stats (district_code, entity_type, status, entities)
		SELECT district_code, entity_type, status, count(*) FROM registry.entities GROUP BY 1, 2, 3`)
	if err != nil {
		return fmt.Errorf("refresh stats: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO registry.stats_meta (id, refreshed_at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at`, now)
	return err
}

func readStats(ctx context.Context, q store.Querier) ([]StatRow, *time.Time, error) {
	var at *time.Time
	if err := q.QueryRow(ctx, `SELECT max(refreshed_at) FROM registry.stats_meta`).Scan(&at); err != nil {
		return nil, nil, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT district_code, entity_type, status, entities FROM registry.stats ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, nil, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StatRow, error) {
		var s StatRow
		err := r.Scan(&s.DistrictCode, &s.EntityType, &s.Status, &s.Entities)
		return s, err
	})
	return list, at, store.Classify(err)
}
