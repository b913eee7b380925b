package policymatch

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Profile is the enterprise side of an entity (FP-54–56): what the
// registry says and what policy-match reads from it, each with its reason.
type Profile struct {
	Subject      Subject       `json:"subject"`
	DistrictName string        `json:"district_name"`
	IndustryName string        `json:"industry_name"`
	Industry     IndustryGuess `json:"industry_guess"` // from the name and business scope
	Type         string        `json:"type"`
	TypeReason   string        `json:"type_reason"`
	Size         string        `json:"size"`
	SizeName     string        `json:"size_name"`
	SizeReason   string        `json:"size_reason"`
	Ownership    string        `json:"ownership"`
	OwnerReason  string        `json:"ownership_reason"`
	FiguresYear  int           `json:"figures_year,omitempty"`
}

// profile reads an entity and derives its facts; the entity must lie in
// the scope (or be the caller's own, checked by the caller).
func (f *Function) profile(ctx context.Context, q store.Querier, code string) (Profile, error) {
	s, fig, err := loadSubject(ctx, q, code)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{Subject: s}
	p.Size, p.SizeReason = SizeOf(s.IndustryCode, fig)
	p.Subject.Size, p.Subject.SizeReason = p.Size, p.SizeReason
	p.SizeName = sizeNames[p.Size]
	p.Ownership, p.OwnerReason = OwnershipOf(s.EntityType, s.Name)
	p.Type, p.TypeReason = TypeOf(s.EntityType, s.Name)
	p.Industry = f.industry.Guess(s.Name, s.BusinessScope)
	if fig != nil {
		p.FiguresYear = fig.Year
	}
	if d, ok := codes.Divisions().Lookup(s.DistrictCode); ok {
		p.DistrictName = d.Name
	}
	if in, ok := codes.Industries().Lookup(s.IndustryCode); ok {
		p.IndustryName = in.Name
	}
	return p, nil
}

// Profile is the enterprise side of an entity inside the scope.
func (f *Function) Profile(ctx context.Context, scope auth.Scope, code string) (Profile, error) {
	p, err := f.profile(ctx, f.pool, code)
	if err != nil {
		return p, err
	}
	if !scope.Allows(p.Subject.DistrictCode, p.Subject.TownshipCode) {
		return Profile{}, errs.ErrNotFound
	}
	return p, nil
}

// PolicyMatch is one policy tested on one entity.
type PolicyMatch struct {
	Policy  Policy  `json:"policy"`
	Matched bool    `json:"matched"`
	Score   float64 `json:"score"`
	Summary string  `json:"summary"` // "行业 C13 符合；小微企业；长安区"
	Checks  []Check `json:"checks"`
}

// EntityMatches are the published policies ranked for one entity (FP-62).
type EntityMatches struct {
	Profile Profile       `json:"profile"`
	Items   []PolicyMatch `json:"items"`
	Matched int           `json:"matched"`
}

// matchEntity tests every published policy on the entity. Matching
// policies come first; among them the more specific (more conditions met)
// and the more local (县级 before 国家级), then those in force, then the
// newer. With all set, the policies that fail show which condition failed.
func (f *Function) matchEntity(p Profile, pols []Policy, all bool) EntityMatches {
	today := f.today()
	out := EntityMatches{Profile: p, Items: []PolicyMatch{}}
	for _, pol := range pols {
		if !all && !pol.Condition.Matches(p.Subject, today) {
			continue
		}
		ok, checks := pol.Condition.Evaluate(p.Subject, today)
		if !ok && !all {
			continue
		}
		met := 0
		for _, c := range checks {
			if c.Met {
				met++
			}
		}
		score := float64(met) / float64(len(checks))
		if ok {
			score = 1 + float64(len(checks))/10 + levelWeight[pol.Effective[DimLevel]]/100 + timelyWeight[pol.Effective[DimTimeliness]]/1000
			out.Matched++
		}
		out.Items = append(out.Items, PolicyMatch{Policy: pol, Matched: ok, Score: score, Summary: Summary(checks), Checks: checks})
	}
	sort.SliceStable(out.Items, func(i, j int) bool {
		a, b := out.Items[i], out.Items[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.Policy.PublishedOn.After(b.Policy.PublishedOn.Time)
	})
	return out
}

var (
	levelWeight  = map[string]float64{"县级": 4, "市级": 3, "省级": 2, "国家级": 1}
	timelyWeight = map[string]float64{"即将过期": 4, "已生效": 3, "即将生效": 2, "已过期": 0}
)

// MatchEntity ranks the published policies for an entity inside the scope.
func (f *Function) MatchEntity(ctx context.Context, scope auth.Scope, code string, all bool) (EntityMatches, error) {
	p, err := f.Profile(ctx, scope, code)
	if err != nil {
		return EntityMatches{}, err
	}
	pols, err := f.published(ctx)
	if err != nil {
		return EntityMatches{}, err
	}
	return f.matchEntity(p, pols, all), nil
}

// policyCache holds the published policies between changes: entity →
// policies tests every one of them on each request, and reading and
// decoding a thousand policies costs more than testing them.
type policyCache struct {
	mu    sync.Mutex
	stamp string
	list  []Policy
}

// published returns the published, not expired policies, read again only
// when the published set changed (its count, ids, revisions or latest
// update: every change to a policy, and the daily timeliness refresh,
// moves updated_at).
func (f *Function) published(ctx context.Context) ([]Policy, error) {
	var stamp string
	if err := f.pool.QueryRow(ctx, `SELECT count(*) || '/' || COALESCE(sum(id), 0) || '/' || COALESCE(sum(revision), 0) || '/' || COALESCE(max(updated_at)::text, '')
		FROM policy.policies WHERE status = 'published'`).Scan(&stamp); err != nil {
		return nil, store.Classify(err)
	}
	c := &f.policies
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stamp == stamp && c.list != nil {
		return c.list, nil
	}
	pols, err := publishedPolicies(ctx, f.pool)
	if err != nil {
		return nil, err
	}
	c.list = slices.DeleteFunc(pols, func(p Policy) bool { return p.Effective[DimTimeliness] == "已过期" })
	c.stamp = stamp
	return c.list, nil
}

// PolicyEntities is a policy's matching entities in the caller's scope
// (FP-63): the counts per district and industry division and one page.
type PolicyEntities struct {
	Policy     Policy          `json:"policy"`
	Total      int64           `json:"total"`
	ByDistrict []Count         `json:"by_district"`
	ByIndustry []Count         `json:"by_industry"`
	Items      []MatchedEntity `json:"items"`
	Page       int             `json:"page"`
	PageSize   int             `json:"page_size"`
	Seconds    float64         `json:"seconds"`
}

// MatchPolicy finds every entity the policy's condition admits, within the
// scope.
func (f *Function) MatchPolicy(ctx context.Context, scope auth.Scope, id int64, page, size int) (PolicyEntities, error) {
	start := time.Now()
	pol, err := getPolicy(ctx, f.pool, id, false)
	if err != nil {
		return PolicyEntities{}, err
	}
	today := f.today()
	out := PolicyEntities{Policy: pol, Page: page, PageSize: size, ByDistrict: []Count{}, ByIndustry: []Count{}}
	err = inScan(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		if out.ByDistrict, out.ByIndustry, err = countMatches(ctx, tx, pol.Condition, scope, today); err != nil {
			return err
		}
		out.Items, err = listMatches(ctx, tx, pol.Condition, scope, today, size, (page-1)*size)
		return err
	})
	if err != nil {
		return out, err
	}
	for i := range out.ByDistrict {
		out.Total += out.ByDistrict[i].Count
		if d, ok := codes.Divisions().Lookup(out.ByDistrict[i].Code); ok {
			out.ByDistrict[i].Name = d.Name
		}
	}
	for i := range out.ByIndustry {
		if in, ok := codes.Industries().Lookup(out.ByIndustry[i].Code); ok {
			out.ByIndustry[i].Name = in.Name
		}
	}
	if out.ByDistrict == nil {
		out.ByDistrict, out.ByIndustry = []Count{}, []Count{}
	}
	label(out.Items)
	if out.Items == nil {
		out.Items = []MatchedEntity{}
	}
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

func label(items []MatchedEntity) {
	for i := range items {
		if d, ok := codes.Divisions().Lookup(items[i].DistrictCode); ok {
			items[i].DistrictName = d.Name
		}
		if in, ok := codes.Industries().Lookup(items[i].IndustryCode); ok {
			items[i].IndustryName = in.Name
		}
	}
}

// refreshFacts recomputes and stores one entity's derived facts.
func (f *Function) refreshFacts(ctx context.Context, q store.Querier, p Profile) error {
	return saveFacts(ctx, q, p.Subject.CreditCode, p.Size, p.SizeReason, p.Ownership, p.OwnerReason, f.now())
}

// BackfillFacts derives every entity's size and ownership in one pass over
// registry.policy_subjects() and registry.policy_figures(), for entities
// that were loaded without events (the registry's seed, a bulk import),
// and rebuilds policy.subjects from them: rows that differ from the
// registry are rewritten, rows of entities it no longer has removed, so a
// second run reconciles the copy. Entity events keep both current
// afterwards. It reports how many entities it read.
func (f *Function) BackfillFacts(ctx context.Context) (int64, error) {
	var n int64
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE facts_in (LIKE policy.entity_facts) ON COMMIT DROP`); err != nil {
			return err
		}
		rows, err := f.pool.Query(ctx, `SELECT s.credit_code, s.name, s.entity_type, s.industry_code, fg.report_year, fg.employees,
			fg.revenue::float8, fg.assets::float8
			FROM registry.policy_subjects() s LEFT JOIN registry.policy_figures() fg ON fg.credit_code = s.credit_code`)
		if err != nil {
			return store.Classify(err)
		}
		defer rows.Close()
		now := f.now()
		src := &factsSource{rows: rows, now: now}
		if n, err = tx.CopyFrom(ctx, pgx.Identifier{"facts_in"}, []string{"credit_code", "size", "size_reason", "ownership", "ownership_reason", "computed_at"}, src); err != nil {
			return fmt.Errorf("copy facts: %w", err)
		}
		if _, err = tx.Exec(ctx, `INSERT INTO policy.entity_facts SELECT * FROM facts_in
			ON CONFLICT (credit_code) DO UPDATE SET size = EXCLUDED.size, size_reason = EXCLUDED.size_reason,
				ownership = EXCLUDED.ownership, ownership_reason = EXCLUDED.ownership_reason, computed_at = EXCLUDED.computed_at`); err != nil {
			return store.Classify(err)
		}
		return rebuildSubjects(ctx, tx, now)
	})
	return n, err
}

// rebuildSubjects makes policy.subjects equal to the registry's subjects
// with their sizes, writing only the rows that differ.
func rebuildSubjects(ctx context.Context, tx pgx.Tx, now time.Time) error {
	var mine, theirs []string
	for _, c := range strings.Split(subjectCopy+", size", ",")[1:] { // all but the key
		c = strings.TrimSpace(c)
		mine, theirs = append(mine, "policy.subjects."+c), append(theirs, "EXCLUDED."+c)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO policy.subjects (`+subjectCopy+`, size, refreshed_at)
		SELECT `+prefixed("s.", subjectCopy)+`, f.size, $1
		FROM registry.policy_subjects() s JOIN policy.entity_facts f ON f.credit_code = s.credit_code
		ON CONFLICT (credit_code) DO UPDATE SET `+upsertSet+`
		WHERE (`+strings.Join(mine, ", ")+`) IS DISTINCT FROM (`+strings.Join(theirs, ", ")+`)`, now); err != nil {
		return store.Classify(err)
	}
	_, err := tx.Exec(ctx, `DELETE FROM policy.subjects m WHERE NOT EXISTS (SELECT 1 FROM registry.policy_subjects() s WHERE s.credit_code = m.credit_code)`)
	return store.Classify(err)
}

// prefixed qualifies each column of a column list.
func prefixed(alias, list string) string {
	cs := strings.Split(list, ",")
	for i, c := range cs {
		cs[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(cs, ", ")
}

// factsSource turns the subject rows into facts rows for COPY.
type factsSource struct {
	rows pgx.Rows
	now  time.Time
	vals []any
	err  error
}

func (s *factsSource) Next() bool {
	if !s.rows.Next() {
		return false
	}
	var code, name, typ, industry string
	var year, emp pgtype.Int4
	var rev, assets pgtype.Float8
	if s.err = s.rows.Scan(&code, &name, &typ, &industry, &year, &emp, &rev, &assets); s.err != nil {
		return false
	}
	var fig *Figures
	if year.Valid {
		fig = &Figures{Year: int(year.Int32)}
		if emp.Valid {
			e := int(emp.Int32)
			fig.Employees = &e
		}
		if rev.Valid {
			fig.Revenue = &rev.Float64
		}
		if assets.Valid {
			fig.Assets = &assets.Float64
		}
	}
	size, why := SizeOf(industry, fig)
	own, ownWhy := OwnershipOf(typ, name)
	s.vals = []any{code, size, why, own, ownWhy, s.now}
	return true
}

func (s *factsSource) Values() ([]any, error) { return s.vals, nil }
func (s *factsSource) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}
