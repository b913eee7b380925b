package policymatch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

const policyColumns = `id, title, doc_no, issuer, published_on, effective_on, expires_on, body, conditions_text, apply_url, apply_platform,
	source_kind, source_ref, sample, condition, condition_from, labels, overrides, status, revision, published_at, created_by, created_at, updated_at`

// listColumns leave out the full text.
const listColumns = `id, title, doc_no, issuer, published_on, effective_on, expires_on, '' AS body, conditions_text, apply_url, apply_platform,
	source_kind, source_ref, sample, condition, condition_from, labels, overrides, status, revision, published_at, created_by, created_at, updated_at`

func pgDate(d Date) pgtype.Date { return pgtype.Date{Time: d.Time, Valid: d.Valid} }
func fromPG(d pgtype.Date) Date { return Date{Time: d.Time, Valid: d.Valid} }

func scanPolicy(row pgx.Row) (Policy, error) {
	var p Policy
	var pub, eff, exp pgtype.Date
	var cond, labels, overrides []byte
	err := row.Scan(&p.ID, &p.Title, &p.DocNo, &p.Issuer, &pub, &eff, &exp, &p.Body, &p.ConditionsText, &p.ApplyURL, &p.ApplyPlatform,
		&p.SourceKind, &p.SourceRef, &p.Sample, &cond, &p.ConditionFrom, &labels, &overrides, &p.Status, &p.Revision, &p.PublishedAt,
		&p.CreatedBy, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, errs.ErrNotFound
	}
	if err != nil {
		return p, store.Classify(err)
	}
	p.PublishedOn, p.EffectiveOn, p.ExpiresOn = fromPG(pub), fromPG(eff), fromPG(exp)
	if err := errors.Join(json.Unmarshal(cond, &p.Condition), json.Unmarshal(labels, &p.Labels), json.Unmarshal(overrides, &p.Overrides)); err != nil {
		return p, fmt.Errorf("decode policy %d: %w", p.ID, err)
	}
	if p.Overrides == nil {
		p.Overrides = map[string]Override{}
	}
	p.effective()
	return p, nil
}

func getPolicy(ctx context.Context, q store.Querier, id int64, lock bool) (Policy, error) {
	sql := `SELECT ` + policyColumns + ` FROM policy.policies WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	return scanPolicy(q.QueryRow(ctx, sql, id))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types, which always marshal
	}
	return b
}

// upsertPolicy inserts a policy or, when one with the same title and
// number exists, replaces its content (a re-import), keeping its
// overrides, status and an edited condition. It reports whether it created.
func upsertPolicy(ctx context.Context, tx pgx.Tx, in PolicyInput, kind string, cond Condition, condFrom string, labels map[string]Label, by string, now time.Time) (Policy, bool, error) {
	var created bool
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO policy.policies (title, doc_no, issuer, published_on, effective_on, expires_on, body, conditions_text,
			apply_url, apply_platform, source_kind, source_ref, sample, condition, condition_from, labels, created_by, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$18)
		ON CONFLICT (title, doc_no) DO UPDATE SET issuer = EXCLUDED.issuer, published_on = EXCLUDED.published_on,
			effective_on = EXCLUDED.effective_on, expires_on = EXCLUDED.expires_on, body = EXCLUDED.body,
			conditions_text = EXCLUDED.conditions_text, apply_url = EXCLUDED.apply_url, apply_platform = EXCLUDED.apply_platform,
			source_kind = EXCLUDED.source_kind, source_ref = EXCLUDED.source_ref, sample = EXCLUDED.sample, labels = EXCLUDED.labels,
			condition = CASE WHEN policy.policies.condition_from = 'edited' THEN policy.policies.condition ELSE EXCLUDED.condition END,
			condition_from = CASE WHEN policy.policies.condition_from = 'edited' THEN 'edited' ELSE EXCLUDED.condition_from END,
			revision = policy.policies.revision + 1, updated_at = EXCLUDED.updated_at
		RETURNING id, (xmax = 0)`,
		in.Title, in.DocNo, in.Issuer, pgDate(in.PublishedOn), pgDate(in.EffectiveOn), pgDate(in.ExpiresOn), in.Body, in.ConditionsText,
		in.ApplyURL, in.ApplyPlatform, kind, in.SourceRef, in.Sample, mustJSON(cond), condFrom, mustJSON(labels), by, now).Scan(&id, &created)
	if err != nil {
		return Policy{}, false, store.Classify(err)
	}
	p, err := getPolicy(ctx, tx, id, false)
	return p, created, err
}

// PolicyFilter narrows the library list.
type PolicyFilter struct {
	Q, Status, Type, Level, Timeliness, Category, Department string
}

func listPolicies(ctx context.Context, q store.Querier, flt PolicyFilter, limit, offset int) ([]Policy, int, error) {
	var w store.Where
	if flt.Q != "" {
		w.Add("(title ILIKE ? OR doc_no ILIKE ? OR issuer ILIKE ?)", store.Contains(flt.Q), store.Contains(flt.Q), store.Contains(flt.Q))
	}
	for col, v := range map[string]string{"status": flt.Status, "policy_type": flt.Type, "level": flt.Level, "timeliness": flt.Timeliness,
		"category": flt.Category, "department": flt.Department} {
		if v != "" {
			w.Add(col+" = ?", v)
		}
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM policy.policies`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+listColumns+` FROM policy.policies`+w.SQL()+
		` ORDER BY published_on DESC NULLS LAST, id DESC LIMIT `+w.Next(limit)+` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Policy, error) { return scanPolicy(r) })
	return items, total, store.Classify(err)
}

// publishedPolicies are every published policy, for entity → policies.
func publishedPolicies(ctx context.Context, q store.Querier) ([]Policy, error) {
	rows, err := q.Query(ctx, `SELECT `+listColumns+` FROM policy.policies WHERE status = 'published' ORDER BY id`)
	if err != nil {
		return nil, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Policy, error) { return scanPolicy(r) })
	return items, store.Classify(err)
}

// subjectColumns read registry.policy_subject(s) as a Subject.
const subjectColumns = `s.credit_code, s.name, s.entity_type, s.district_code, s.township_code, s.industry_code, s.established_on,
	s.registered_capital::float8, s.business_scope, s.status, s.abnormal, s.serious_illegal, s.blacklisted, s.last_penalty_on`

func scanSubject(row pgx.Row, extra ...any) (Subject, error) {
	var s Subject
	var est, pen pgtype.Date
	err := row.Scan(append([]any{&s.CreditCode, &s.Name, &s.EntityType, &s.DistrictCode, &s.TownshipCode, &s.IndustryCode, &est,
		&s.RegisteredCapital, &s.BusinessScope, &s.Status, &s.Abnormal, &s.SeriousIllegal, &s.Blacklisted, &pen}, extra...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, errs.ErrNotFound
	}
	s.EstablishedOn, s.LastPenaltyOn = fromPG(est), fromPG(pen)
	return s, store.Classify(err)
}

// loadSubject reads one entity and its latest annual figures through the
// registry's published read functions.
func loadSubject(ctx context.Context, q store.Querier, code string) (Subject, *Figures, error) {
	var year, emp pgtype.Int4
	var rev, assets pgtype.Float8
	s, err := scanSubject(q.QueryRow(ctx, `SELECT `+subjectColumns+`, f.report_year, f.employees, f.revenue::float8, f.assets::float8
		FROM registry.policy_subject($1) s LEFT JOIN registry.policy_figure($1) f ON true`, code), &year, &emp, &rev, &assets)
	if err != nil {
		return s, nil, err
	}
	if !year.Valid {
		return s, nil, nil
	}
	f := &Figures{Year: int(year.Int32)}
	if emp.Valid {
		n := int(emp.Int32)
		f.Employees = &n
	}
	if rev.Valid {
		f.Revenue = &rev.Float64
	}
	if assets.Valid {
		f.Assets = &assets.Float64
	}
	return s, f, nil
}

// subjectCopy is the columns of policy.subjects copied from the
// registry's published read functions, in their order.
const subjectCopy = `credit_code, entity_type, district_code, township_code, industry_code, established_on, registered_capital,
	status, abnormal, serious_illegal, blacklisted_until, last_penalty_on`

// saveFacts stores what policy-match derived of an entity, and rewrites
// its row of policy.subjects from the registry with that size.
func saveFacts(ctx context.Context, q store.Querier, code, size, sizeReason, own, ownReason string, now time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO policy.entity_facts (credit_code, size, size_reason, ownership, ownership_reason, computed_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (credit_code) DO UPDATE SET size = EXCLUDED.size, size_reason = EXCLUDED.size_reason,
			ownership = EXCLUDED.ownership, ownership_reason = EXCLUDED.ownership_reason, computed_at = EXCLUDED.computed_at`,
		code, size, sizeReason, own, ownReason, now); err != nil {
		return store.Classify(err)
	}
	_, err := q.Exec(ctx, `INSERT INTO policy.subjects (`+subjectCopy+`, size, refreshed_at)
		SELECT `+subjectCopy+`, $2, $3 FROM registry.policy_subject($1)
		ON CONFLICT (credit_code) DO UPDATE SET `+upsertSet+``, code, size, now)
	return store.Classify(err)
}

// upsertSet overwrites every column of a policy.subjects row.
var upsertSet = func() string {
	var set []string
	for _, c := range strings.Split(subjectCopy+", size, refreshed_at", ",") {
		c = strings.TrimSpace(c)
		if c != "credit_code" {
			set = append(set, c+" = EXCLUDED."+c)
		}
	}
	return strings.Join(set, ", ")
}()

// forgetSubject removes an entity the registry no longer has.
func forgetSubject(ctx context.Context, q store.Querier, code string) error {
	_, err := q.Exec(ctx, `DELETE FROM policy.subjects WHERE credit_code = $1`, code)
	return store.Classify(err)
}

// matchQuery is the FROM and WHERE of policy → entities: the condition
// over policy.subjects and the caller's data scope.
func matchQuery(c Condition, scope auth.Scope, today time.Time) (from string, w store.Where) {
	c.where(&w, today)
	w.AddWith(func(args *[]any) string { return scope.Filter("s.district_code", "s.township_code", args) })
	return ` FROM policy.subjects s`, w
}

// Count is one group of a match count.
type Count struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// inScan runs fn in a read-only transaction, so the counts and the page
// see one snapshot of policy.subjects.
func inScan(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, fn)
}

// countMatches counts the matching entities by district and by industry
// division in one scan. A plain GROUP BY on both (at most 24 × 97 groups)
// can run in parallel, which GROUPING SETS cannot; the two totals are
// summed here.
func countMatches(ctx context.Context, q store.Querier, c Condition, scope auth.Scope, today time.Time) (byDistrict, byIndustry []Count, err error) {
	from, w := matchQuery(c, scope, today)
	rows, err := q.Query(ctx, `SELECT s.district_code, left(s.industry_code, 2), count(*)`+from+w.SQL()+` GROUP BY 1, 2`, w.Args()...)
	if err != nil {
		return nil, nil, store.Classify(err)
	}
	defer rows.Close()
	d, i := map[string]int64{}, map[string]int64{}
	for rows.Next() {
		var dc, ic string
		var n int64
		if err := rows.Scan(&dc, &ic, &n); err != nil {
			return nil, nil, err
		}
		d[dc] += n
		i[ic] += n
	}
	if err := rows.Err(); err != nil {
		return nil, nil, store.Classify(err)
	}
	return sortedCounts(d), sortedCounts(i), nil
}

// sortedCounts orders the groups by count, then code.
func sortedCounts(m map[string]int64) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Code: k, Count: v})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Code, b.Code)
	})
	return out
}

// MatchedEntity is one row of the policy → entities list.
type MatchedEntity struct {
	CreditCode        string  `json:"credit_code"`
	Name              string  `json:"name"`
	EntityType        string  `json:"entity_type"`
	DistrictCode      string  `json:"district_code"`
	DistrictName      string  `json:"district_name"`
	TownshipCode      string  `json:"township_code"`
	IndustryCode      string  `json:"industry_code"`
	IndustryName      string  `json:"industry_name"`
	EstablishedOn     Date    `json:"established_on"`
	RegisteredCapital float64 `json:"registered_capital"`
}

// listMatches pages the matching entities in the order of their credit
// codes read backwards (index subjects_active_reversed): stable, and
// unrelated to any condition, so a page is found by walking the index for
// a broad policy and by filtering first for a narrow one. The names come
// from the registry for the page's rows only.
func listMatches(ctx context.Context, q store.Querier, c Condition, scope auth.Scope, today time.Time, limit, offset int) ([]MatchedEntity, error) {
	from, w := matchQuery(c, scope, today)
	rows, err := q.Query(ctx, `SELECT m.credit_code, COALESCE(r.name, ''), m.entity_type, m.district_code, m.township_code, m.industry_code,
		m.established_on, m.registered_capital::float8
		FROM (SELECT s.credit_code, s.entity_type, s.district_code, s.township_code, s.industry_code, s.established_on, s.registered_capital`+
		from+w.SQL()+` ORDER BY reverse(s.credit_code) LIMIT `+w.Next(limit)+` OFFSET `+w.Next(offset)+`) m
		LEFT JOIN LATERAL registry.policy_subject(m.credit_code) r ON true
		ORDER BY reverse(m.credit_code)`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MatchedEntity, error) {
		var m MatchedEntity
		var est pgtype.Date
		err := r.Scan(&m.CreditCode, &m.Name, &m.EntityType, &m.DistrictCode, &m.TownshipCode, &m.IndustryCode, &est, &m.RegisteredCapital)
		m.EstablishedOn = fromPG(est)
		return m, err
	})
	return out, store.Classify(err)
}

// Account binds an enterprise user to the entity it acts for.
type Account struct {
	UserID       string    `json:"user_id"`
	Username     string    `json:"username"`
	CreditCode   string    `json:"credit_code"`
	EntityName   string    `json:"entity_name"`
	DistrictCode string    `json:"district_code"`
	BoundBy      string    `json:"bound_by"`
	BoundAt      time.Time `json:"bound_at"`
}

func accountOf(ctx context.Context, q store.Querier, userID string) (Account, error) {
	var a Account
	err := q.QueryRow(ctx, `SELECT user_id, username, credit_code, district_code, bound_by, bound_at FROM policy.accounts WHERE user_id = $1`, userID).
		Scan(&a.UserID, &a.Username, &a.CreditCode, &a.DistrictCode, &a.BoundBy, &a.BoundAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, errs.ErrNotFound
	}
	return a, store.Classify(err)
}

func listAccounts(ctx context.Context, q store.Querier, scope auth.Scope, limit, offset int) ([]Account, int, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return scope.Filter("a.district_code", "a.township_code", args) })
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM policy.accounts a`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT a.user_id, a.username, a.credit_code, COALESCE(s.name, ''), a.district_code, a.bound_by, a.bound_at
		FROM policy.accounts a LEFT JOIN LATERAL registry.policy_subject(a.credit_code) s ON true`+w.SQL()+
		` ORDER BY a.bound_at DESC LIMIT `+w.Next(limit)+` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
		var a Account
		return a, r.Scan(&a.UserID, &a.Username, &a.CreditCode, &a.EntityName, &a.DistrictCode, &a.BoundBy, &a.BoundAt)
	})
	return out, total, store.Classify(err)
}

// usersOf are the enterprise users bound to the entities.
func usersOf(ctx context.Context, q store.Querier, codes []string) (map[string][]string, error) {
	rows, err := q.Query(ctx, `SELECT credit_code, user_id FROM policy.accounts WHERE credit_code = ANY($1::text[]) ORDER BY user_id`, codes)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var c, u string
		if err := rows.Scan(&c, &u); err != nil {
			return nil, err
		}
		out[c] = append(out[c], u)
	}
	return out, store.Classify(rows.Err())
}
