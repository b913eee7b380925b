package monitor

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// FP-86 经营行为数据: the site content and shop products the crawler keeps
// (crawlershard.online_objects), searched by keyword with custom
// conditions, in the caller's data scope.

// BehaviourFilter is one search's conditions; it is also what a saved
// search stores (as JSON), so its field names are a stored format.
type BehaviourFilter struct {
	Q           string   `json:"q,omitempty"`         // keywords, space-separated, all must occur (name or text)
	Kind        string   `json:"kind,omitempty"`      // product | page
	Platforms   []string `json:"platforms,omitempty"` // 网店, 网站, 外卖平台 …
	Districts   []string `json:"districts,omitempty"` // district names, as shop pages show them
	Entity      string   `json:"entity,omitempty"`    // entity name (part) or credit code
	UpdatedFrom string   `json:"updated_from,omitempty"`
	UpdatedTo   string   `json:"updated_to,omitempty"`
	PriceMin    *float64 `json:"price_min,omitempty"`
	PriceMax    *float64 `json:"price_max,omitempty"`
	NoLicence   bool     `json:"no_licence,omitempty"` // only shops that show no licence
}

// maxTerms bounds the keywords of one search: each is an index probe.
const maxTerms = 5

var objectKinds = map[string]string{"product": "商品", "page": "页面"}

// cst is the bureau's time zone: dates typed in the console are local days.
var cst = time.FixedZone("CST", 8*3600)

// terms are the search's keywords.
func (fl BehaviourFilter) terms() []string { return strings.Fields(fl.Q) }

// Validate checks every condition and names each one at fault.
func (fl *BehaviourFilter) Validate() error {
	var fe []errs.FieldError
	fl.Q = strings.TrimSpace(fl.Q)
	if utf8.RuneCountInString(fl.Q) > 100 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "关键词不能超过 100 个字"})
	} else if len(fl.terms()) > maxTerms {
		fe = append(fe, errs.FieldError{Field: "q", Message: "关键词最多 5 个（以空格分隔）"})
	}
	if _, ok := objectKinds[fl.Kind]; fl.Kind != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "kind", Message: "对象类型应为 product（商品）或 page（页面）"})
	}
	for _, d := range fl.Districts {
		if districtCode(d) == "" {
			fe = append(fe, errs.FieldError{Field: "district", Message: "未知的区县：" + d})
			break
		}
	}
	fl.Entity = strings.TrimSpace(fl.Entity)
	from, errFrom := parseDay(fl.UpdatedFrom)
	if errFrom != nil {
		fe = append(fe, errs.FieldError{Field: "updated_from", Message: "更新时间（起）应为 YYYY-MM-DD 格式的日期"})
	}
	to, errTo := parseDay(fl.UpdatedTo)
	if errTo != nil {
		fe = append(fe, errs.FieldError{Field: "updated_to", Message: "更新时间（止）应为 YYYY-MM-DD 格式的日期"})
	}
	if errFrom == nil && errTo == nil && !from.IsZero() && !to.IsZero() && to.Before(from) {
		fe = append(fe, errs.FieldError{Field: "updated_to", Message: "更新时间（止）不能早于（起）"})
	}
	for _, p := range []struct {
		field string
		v     *float64
	}{{"price_min", fl.PriceMin}, {"price_max", fl.PriceMax}} {
		if p.v != nil && (*p.v < 0 || *p.v > 1e10) {
			fe = append(fe, errs.FieldError{Field: p.field, Message: "价格应在 0 至 100 亿之间"})
		}
	}
	if fl.PriceMin != nil && fl.PriceMax != nil && *fl.PriceMax < *fl.PriceMin {
		fe = append(fe, errs.FieldError{Field: "price_max", Message: "最高价格不能低于最低价格"})
	}
	return errs.Fields(fe)
}

func parseDay(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.ParseInLocation(time.DateOnly, s, cst)
}

// behaviourFilterOf reads the conditions from a query string; lists are
// comma-separated (district=长安区,桥西区).
func behaviourFilterOf(q url.Values) (BehaviourFilter, error) {
	fl := BehaviourFilter{Q: q.Get("q"), Kind: q.Get("kind"), Entity: q.Get("entity"),
		UpdatedFrom: q.Get("updated_from"), UpdatedTo: q.Get("updated_to"), NoLicence: q.Get("no_licence") == "true"}
	fl.Platforms, fl.Districts = splitList(q.Get("platform")), splitList(q.Get("district"))
	var fe []errs.FieldError
	for _, p := range []struct {
		field string
		dst   **float64
	}{{"price_min", &fl.PriceMin}, {"price_max", &fl.PriceMax}} {
		if s := q.Get(p.field); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				fe = append(fe, errs.FieldError{Field: p.field, Message: "价格应为数字"})
				continue
			}
			*p.dst = &v
		}
	}
	if err := errs.Fields(fe); err != nil {
		return fl, err
	}
	return fl, fl.Validate()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// visibleDistricts is the district names a scope sees whole. Objects carry
// a district but no township, so a district narrowed to some townships
// shows none of its objects, as auth.Scope.Allows says for such rows.
func visibleDistricts(s auth.Scope) []string {
	var out []string
	for name, code := range districtCodes {
		if s.Allows(code, "") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// where compiles the conditions, in scope, to a predicate over the read
// function's columns; every value is a bound parameter.
//
// narrow adds the character-pair predicate that lets crawler-shard's index
// find a rare keyword's rows; for a common keyword the ordered walk over
// the update time finds a page sooner without it (see searchBehaviour).
func (fl BehaviourFilter) where(scope auth.Scope, since time.Time, narrow bool) *store.Where {
	w := &store.Where{}
	if scope.Kind != auth.ScopeAll {
		w.Add("district = ANY(?)", visibleDistricts(scope))
	}
	for _, t := range fl.terms() {
		// Chinese has no case: LIKE matches the same rows as ILIKE at half
		// the cost (no case folding per row).
		op := "LIKE"
		if hasCase(t) {
			op = "ILIKE"
		}
		match := "(name " + op + " ? OR text " + op + " ?)"
		if narrow && utf8.RuneCountInString(t) >= 2 {
			// The pairs of the keyword's characters narrow the rows through
			// crawler-shard's index (migration 0010) before the match.
			match = "crawlershard.text_bigrams(lower(name || ' ' || text)) @> crawlershard.text_bigrams(lower(?)) AND " + match
			w.Add(match, t, store.Contains(t), store.Contains(t))
			continue
		}
		w.Add(match, store.Contains(t), store.Contains(t))
	}
	if fl.Kind != "" {
		w.Add("kind = ?", fl.Kind)
	}
	if len(fl.Platforms) > 0 {
		w.Add("platform = ANY(?)", fl.Platforms)
	}
	if len(fl.Districts) > 0 {
		w.Add("district = ANY(?)", fl.Districts)
	}
	if fl.Entity != "" {
		w.Add("(entity_name ILIKE ? OR credit_code = ?)", store.Contains(fl.Entity), strings.ToUpper(fl.Entity))
	}
	if from, _ := parseDay(fl.UpdatedFrom); !from.IsZero() {
		w.Add("updated_at >= ?", from)
	}
	if to, _ := parseDay(fl.UpdatedTo); !to.IsZero() {
		w.Add("updated_at < ?", to.AddDate(0, 0, 1))
	}
	if !since.IsZero() {
		w.Add("updated_at > ?", since)
	}
	if fl.PriceMin != nil {
		w.Add("price >= ?", *fl.PriceMin)
	}
	if fl.PriceMax != nil {
		w.Add("price <= ?", *fl.PriceMax)
	}
	if fl.NoLicence {
		w.Add("NOT has_licence")
	}
	return w
}

// HitPage is a page of hits; TotalExact false says Total is a floor.
type HitPage struct {
	httpx.PageOf[BehaviourHit]
	TotalExact bool `json:"total_exact"`
}

// hasCase reports whether s has a letter with an upper and a lower case.
func hasCase(s string) bool {
	for _, r := range s {
		if unicode.ToUpper(r) != unicode.ToLower(r) {
			return true
		}
	}
	return false
}

// BehaviourHit is one object found, with the text around the first
// keyword.
type BehaviourHit struct {
	ObjectID   int64     `json:"object_id"`
	URL        string    `json:"url"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Price      *float64  `json:"price"`
	Snippet    string    `json:"snippet"`
	EntityName string    `json:"entity_name"`
	CreditCode string    `json:"credit_code"`
	District   string    `json:"district"`
	Platform   string    `json:"platform"`
	HasLicence bool      `json:"has_licence"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// snippetOf is up to 60 characters either side of the first keyword found
// in text (the start of text when none is).
func snippetOf(text string, terms []string) string {
	r := []rune(text)
	at := 0
	lower := strings.ToLower(text)
	for _, t := range terms {
		if i := strings.Index(lower, strings.ToLower(t)); i >= 0 {
			at = utf8.RuneCountInString(lower[:i])
			break
		}
	}
	from, to := max(0, at-60), min(len(r), at+60)
	s := string(r[from:to])
	if from > 0 {
		s = "…" + s
	}
	if to < len(r) {
		s += "…"
	}
	return s
}

// maxCount caps how far a search page counts: a common word matches a
// tenth of 500 000 objects, and counting them all costs seconds (the rows
// are read to check the pattern) for a number nobody pages to the end
// of. Past it the page says "at least". A hundred pages of 20.
var maxCount = 2000

// searchBehaviour answers one page of hits, newest first, and the total,
// counted up to limit (0: exactly). since (when not zero) keeps only
// objects updated after it: a saved search's new hits.
func searchBehaviour(ctx context.Context, q store.Querier, fl BehaviourFilter, scope auth.Scope, since time.Time, p httpx.Page, limit int) ([]BehaviourHit, int, error) {
	w := fl.where(scope, since, true)
	var total int
	count := `SELECT count(*) FROM crawlershard.online_objects('-infinity')` + w.SQL()
	if limit > 0 {
		count = `SELECT count(*) FROM (SELECT 1 FROM crawlershard.online_objects('-infinity')` + w.SQL() + ` LIMIT ` + strconv.Itoa(limit+1) + `) capped`
	}
	if err := q.QueryRow(ctx, count, w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	if p.Size == 0 {
		return nil, total, nil
	}
	// The count says how common the keywords are. Past the cap, one row in
	// a few matches and walking the update-time index newest first finds a
	// page after a few hundred rows, where the pair index would hand over
	// every match to be sorted; under it the pair index's few rows win.
	if limit > 0 && total > limit {
		w = fl.where(scope, since, false)
	}
	rows, err := q.Query(ctx, `SELECT object_id, url, kind, name, price::float8, text, entity_name, credit_code, district, platform, has_licence, updated_at
		FROM crawlershard.online_objects('-infinity')`+w.SQL()+` ORDER BY updated_at DESC, object_id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	terms := fl.terms()
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BehaviourHit, error) {
		var h BehaviourHit
		var text string
		err := r.Scan(&h.ObjectID, &h.URL, &h.Kind, &h.Name, &h.Price, &text, &h.EntityName, &h.CreditCode, &h.District, &h.Platform, &h.HasLicence, &h.UpdatedAt)
		h.Snippet = snippetOf(text, terms)
		return h, err
	})
	return out, total, store.Classify(err)
}

// SavedSearch is a search a user keeps, optionally run on a schedule.
type SavedSearch struct {
	ID            int64           `json:"id"`
	OwnerID       string          `json:"-"`
	OwnerName     string          `json:"owner_name"`
	Name          string          `json:"name"`
	Conditions    BehaviourFilter `json:"conditions"`
	Scope         auth.Scope      `json:"-"`
	IntervalHours int             `json:"interval_hours"`
	NextRunAt     *time.Time      `json:"next_run_at"`
	LastRunAt     *time.Time      `json:"last_run_at"`
	LastHits      *int            `json:"last_hits"`
	LastNew       *int            `json:"last_new"`
	CreatedAt     time.Time       `json:"created_at"`
}

const savedColumns = `id, owner_id, owner_name, name, conditions, scope, interval_hours, next_run_at, last_run_at, last_hits, last_new, created_at`

func scanSaved(r pgx.Row) (SavedSearch, error) {
	var s SavedSearch
	var cond, scope []byte
	if err := r.Scan(&s.ID, &s.OwnerID, &s.OwnerName, &s.Name, &cond, &scope, &s.IntervalHours, &s.NextRunAt, &s.LastRunAt,
		&s.LastHits, &s.LastNew, &s.CreatedAt); err != nil {
		return s, err
	}
	if err := json.Unmarshal(cond, &s.Conditions); err != nil {
		return s, err
	}
	return s, json.Unmarshal(scope, &s.Scope)
}

func insertSaved(ctx context.Context, tx pgx.Tx, s SavedSearch) (SavedSearch, error) {
	cond, _ := json.Marshal(s.Conditions)
	scope, _ := json.Marshal(s.Scope)
	out, err := scanSaved(tx.QueryRow(ctx, `INSERT INTO monitor.saved_searches (owner_id, owner_name, name, conditions, scope, interval_hours,
		next_run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING `+savedColumns,
		s.OwnerID, s.OwnerName, s.Name, cond, scope, s.IntervalHours, s.NextRunAt, s.CreatedAt))
	if store.IsUniqueViolation(err) {
		return out, errs.Fields([]errs.FieldError{{Field: "name", Message: "已有同名的检索：" + s.Name}})
	}
	return out, store.Classify(err)
}

// ownSaved is the owner's search id, locked; another user's is not found.
func ownSaved(ctx context.Context, tx pgx.Tx, id int64, owner string) (SavedSearch, error) {
	s, err := scanSaved(tx.QueryRow(ctx, `SELECT `+savedColumns+` FROM monitor.saved_searches WHERE id = $1 AND owner_id = $2 FOR UPDATE`, id, owner))
	if err == pgx.ErrNoRows {
		return s, errs.New(errs.NotFound, "检索不存在")
	}
	return s, store.Classify(err)
}

func listSaved(ctx context.Context, q store.Querier, owner string) ([]SavedSearch, error) {
	rows, err := q.Query(ctx, `SELECT `+savedColumns+` FROM monitor.saved_searches WHERE owner_id = $1 ORDER BY id DESC`, owner)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SavedSearch, error) { return scanSaved(r) })
	return out, store.Classify(err)
}

// SearchRun is one run of a saved search.
type SearchRun struct {
	RanAt   time.Time `json:"ran_at"`
	Trigger string    `json:"trigger"`
	Hits    int       `json:"hits"`
	NewHits int       `json:"new_hits"`
}

// runSaved counts the search's hits in scope, and the new ones since its
// last run (every hit on the first), and records the run.
func runSaved(ctx context.Context, tx pgx.Tx, s SavedSearch, scope auth.Scope, trigger string, now time.Time) (SearchRun, error) {
	run := SearchRun{RanAt: now, Trigger: trigger}
	var err error
	if _, run.Hits, err = searchBehaviour(ctx, tx, s.Conditions, scope, time.Time{}, httpx.Page{}, 0); err != nil {
		return run, err
	}
	run.NewHits = run.Hits
	if s.LastRunAt != nil {
		if _, run.NewHits, err = searchBehaviour(ctx, tx, s.Conditions, scope, *s.LastRunAt, httpx.Page{}, 0); err != nil {
			return run, err
		}
	}
	var next *time.Time
	if s.IntervalHours > 0 {
		t := now.Add(time.Duration(s.IntervalHours) * time.Hour)
		next = &t
	}
	if _, err := tx.Exec(ctx, `UPDATE monitor.saved_searches SET last_run_at = $2, last_hits = $3, last_new = $4, next_run_at = $5 WHERE id = $1`,
		s.ID, now, run.Hits, run.NewHits, next); err != nil {
		return run, store.Classify(err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO monitor.saved_search_runs (search_id, ran_at, trigger, hits, new_hits) VALUES ($1, $2, $3, $4, $5)`,
		s.ID, now, trigger, run.Hits, run.NewHits)
	return run, store.Classify(err)
}

func listRuns(ctx context.Context, q store.Querier, id int64) ([]SearchRun, error) {
	rows, err := q.Query(ctx, `SELECT ran_at, trigger, hits, new_hits FROM monitor.saved_search_runs WHERE search_id = $1 ORDER BY ran_at DESC, id DESC LIMIT 100`, id)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[SearchRun])
	return out, store.Classify(err)
}
