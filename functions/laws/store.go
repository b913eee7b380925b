package laws

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Document is one document of the library as the API shows it.
type Document struct {
	ID           int64        `json:"id"`
	Origin       string       `json:"origin"` // corpus | manual
	Path         string       `json:"path,omitempty"`
	Title        string       `json:"title"`
	ShortTitle   string       `json:"short_title"`
	Family       string       `json:"family"`
	Number       string       `json:"number"`
	Nature       string       `json:"nature"`
	Area         string       `json:"area"`
	Body         string       `json:"body"`
	BodySource   string       `json:"body_source"`
	Region       string       `json:"region"`
	PublishedOn  *string      `json:"published_on"`
	EffectiveOn  *string      `json:"effective_on"`
	Repealed     bool         `json:"repealed"`
	Status       string       `json:"status"`
	StatusReason string       `json:"status_reason"`
	CurrentID    *int64       `json:"current_id"`
	History      []Event      `json:"history"`
	Notes        []string     `json:"notes"`
	ArticleCount int          `json:"article_count"`
	Edited       bool         `json:"edited"`
	Version      int          `json:"version"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
	Articles     []Article    `json:"articles,omitempty"`
	Versions     []VersionRef `json:"versions,omitempty"`
}

// VersionRef is one version of a document's family.
type VersionRef struct {
	ID          int64   `json:"id"`
	Title       string  `json:"title"`
	PublishedOn *string `json:"published_on"`
	EffectiveOn *string `json:"effective_on"`
	Status      string  `json:"status"`
}

const docColumns = `d.id, d.origin, d.path, d.title, d.short_title, d.family, d.number, d.nature, d.area, d.body, d.body_source,
	d.region, to_char(d.published_on, 'YYYY-MM-DD'), to_char(d.effective_on, 'YYYY-MM-DD'), d.repealed, d.status, d.status_reason,
	d.current_id, d.history, d.notes, d.articles, d.edited, d.version, d.created_at, d.updated_at`

func scanDocument(row pgx.Row) (Document, error) {
	var d Document
	var hist, notes []byte
	err := row.Scan(&d.ID, &d.Origin, &d.Path, &d.Title, &d.ShortTitle, &d.Family, &d.Number, &d.Nature, &d.Area, &d.Body,
		&d.BodySource, &d.Region, &d.PublishedOn, &d.EffectiveOn, &d.Repealed, &d.Status, &d.StatusReason, &d.CurrentID,
		&hist, &notes, &d.ArticleCount, &d.Edited, &d.Version, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return d, store.Classify(err)
	}
	d.History, d.Notes = []Event{}, []string{}
	_ = json.Unmarshal(hist, &d.History)
	_ = json.Unmarshal(notes, &d.Notes)
	return d, nil
}

func getDocument(ctx context.Context, q store.Querier, id int64, lock bool) (Document, error) {
	sql := `SELECT ` + docColumns + ` FROM laws.documents d WHERE d.id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	return scanDocument(q.QueryRow(ctx, sql, id))
}

func loadArticles(ctx context.Context, q store.Querier, id int64) ([]Article, error) {
	rows, err := q.Query(ctx, `SELECT seq, number, label, part, chapter, section, paragraphs
		FROM laws.articles WHERE document_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Article, error) {
		var a Article
		return a, r.Scan(&a.Seq, &a.Number, &a.Label, &a.Part, &a.Chapter, &a.Section, &a.Paragraphs)
	})
	return out, store.Classify(err)
}

func familyVersions(ctx context.Context, q store.Querier, family string) ([]VersionRef, error) {
	rows, err := q.Query(ctx, `SELECT id, title, to_char(published_on, 'YYYY-MM-DD'), to_char(effective_on, 'YYYY-MM-DD'), status
		FROM laws.documents WHERE family = $1 ORDER BY coalesce(effective_on, published_on) DESC NULLS LAST, id DESC`, family)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (VersionRef, error) {
		var v VersionRef
		return v, r.Scan(&v.ID, &v.Title, &v.PublishedOn, &v.EffectiveOn, &v.Status)
	})
	return out, store.Classify(err)
}

// existing is what an import compares a corpus document with.
type existing struct {
	ID     int64
	Hash   string
	Edited bool
	Family string
}

func corpusDocuments(ctx context.Context, q store.Querier) (map[string]existing, error) {
	rows, err := q.Query(ctx, `SELECT source_key, id, content_hash, edited, family FROM laws.documents WHERE source_key IS NOT NULL`)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := map[string]existing{}
	for rows.Next() {
		var k string
		var e existing
		if err := rows.Scan(&k, &e.ID, &e.Hash, &e.Edited, &e.Family); err != nil {
			return nil, store.Classify(err)
		}
		out[k] = e
	}
	return out, store.Classify(rows.Err())
}

func dateArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.DateOnly)
}

func jsonArg(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// insertDocument stores a new document with its articles; its status is
// set by refreshFamilies.
func insertDocument(ctx context.Context, tx pgx.Tx, d Doc, origin string, now time.Time) (int64, error) {
	var key any
	if d.Key != "" {
		key = d.Key
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO laws.documents (source_key, origin, path, title, short_title, family, number, nature, area,
		body, body_source, region, published_on, effective_on, repealed, status, history, notes, articles, content_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, '现行有效', $16, $17, $18, $19, $20, $20)
		RETURNING id`, key, origin, d.Path, d.Title, d.ShortTitle, d.Family, d.Number, d.Nature, d.Area, d.Body, d.BodySource,
		d.Region, dateArg(d.PublishedOn), dateArg(d.EffectiveOn), d.Repealed, jsonArg(nonNil(d.History)), jsonArg(nonNil(d.Notes)),
		len(d.Articles), d.Hash(), now).Scan(&id)
	if err != nil {
		return 0, store.Classify(err)
	}
	return id, writeArticles(ctx, tx, id, d.Articles, now)
}

// updateDocument replaces a document's fields and text.
func updateDocument(ctx context.Context, tx pgx.Tx, id int64, d Doc, edited bool, now time.Time) error {
	tag, err := tx.Exec(ctx, `UPDATE laws.documents SET path = $2, title = $3, short_title = $4, family = $5, number = $6, nature = $7,
		area = $8, body = $9, body_source = $10, region = $11, published_on = $12, effective_on = $13, repealed = $14, history = $15,
		notes = $16, articles = $17, content_hash = $18, edited = edited OR $19, version = version + 1, updated_at = $20
		WHERE id = $1`, id, d.Path, d.Title, d.ShortTitle, d.Family, d.Number, d.Nature, d.Area, d.Body, d.BodySource, d.Region,
		dateArg(d.PublishedOn), dateArg(d.EffectiveOn), d.Repealed, jsonArg(nonNil(d.History)), jsonArg(nonNil(d.Notes)),
		len(d.Articles), d.Hash(), edited, now)
	if err != nil {
		return store.Classify(err)
	}
	if tag.RowsAffected() == 0 {
		return errs.ErrNotFound
	}
	if _, err := tx.Exec(ctx, `DELETE FROM laws.articles WHERE document_id = $1`, id); err != nil {
		return store.Classify(err)
	}
	return writeArticles(ctx, tx, id, d.Articles, now)
}

func writeArticles(ctx context.Context, tx pgx.Tx, id int64, arts []Article, now time.Time) error {
	rows := make([][]any, len(arts))
	for i, a := range arts {
		rows[i] = []any{id, a.Seq, a.Number, a.Label, a.Part, a.Chapter, a.Section, nonNil(a.Paragraphs)}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"laws", "articles"},
		[]string{"document_id", "seq", "number", "label", "part", "chapter", "section", "paragraphs"}, pgx.CopyFromRows(rows)); err != nil {
		return store.Classify(err)
	}
	return logChange(ctx, tx, now, id)
}

// logChange tells every replica's index that documents changed.
func logChange(ctx context.Context, tx pgx.Tx, now time.Time, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO laws.changes (document_id, at) SELECT unnest($1::bigint[]), $2`, ids, now)
	return store.Classify(err)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// refreshFamilies recomputes the status and current version of every
// version of the given families (all families when nil) and logs the
// documents whose status changed. It returns how many changed.
func refreshFamilies(ctx context.Context, tx pgx.Tx, families []string, now time.Time) (int, error) {
	sql := `SELECT id, family, published_on, effective_on, repealed, status, status_reason, current_id FROM laws.documents`
	var args []any
	if families != nil {
		sql += ` WHERE family = ANY($1)`
		args = append(args, families)
	}
	rows, err := tx.Query(ctx, sql+` FOR UPDATE`, args...)
	if err != nil {
		return 0, store.Classify(err)
	}
	type row struct {
		version
		family, status, reason string
		current                *int64
	}
	byFamily := map[string][]row{}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.ID, &r.family, &r.PublishedOn, &r.EffectiveOn, &r.Repealed, &r.status, &r.reason, &r.current); err != nil {
			rows.Close()
			return 0, store.Classify(err)
		}
		byFamily[r.family] = append(byFamily[r.family], r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, store.Classify(err)
	}
	var ids, currents []int64
	var statuses, reasons []string
	day := today(now)
	for _, rs := range byFamily {
		vs := make([]version, len(rs))
		for i, r := range rs {
			vs[i] = r.version
		}
		verdicts := judge(vs, day)
		for _, r := range rs {
			v := verdicts[r.ID]
			if r.status == v.Status && r.reason == v.Reason && r.current != nil && *r.current == v.CurrentID {
				continue
			}
			ids, statuses, reasons, currents = append(ids, r.ID), append(statuses, v.Status), append(reasons, v.Reason), append(currents, v.CurrentID)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE laws.documents d SET status = u.status, status_reason = u.reason, current_id = u.current_id
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS u(id, status, reason, current_id) WHERE d.id = u.id`,
		ids, statuses, reasons, currents); err != nil {
		return 0, store.Classify(err)
	}
	return len(ids), logChange(ctx, tx, now, ids...)
}

// Filter is a faceted document search (FP-66–75).
type Filter struct {
	Q          string // title, short title or number
	Nature     string
	Status     string
	Body       string
	Region     string
	Family     string
	PubFrom    *time.Time
	PubTo      *time.Time
	OnlyLatest bool // only each family's current version
}

func (flt Filter) where() store.Where {
	var w store.Where
	if flt.Q != "" {
		p := store.Contains(flt.Q)
		w.Add("(d.title ILIKE ? OR d.short_title ILIKE ? OR d.number ILIKE ?)", p, p, p)
	}
	for col, v := range map[string]string{"d.nature": flt.Nature, "d.status": flt.Status, "d.body": flt.Body, "d.region": flt.Region, "d.family": flt.Family} {
		if v != "" {
			w.Add(col+" = ?", v)
		}
	}
	if flt.PubFrom != nil {
		w.Add("d.published_on >= ?", dateArg(flt.PubFrom))
	}
	if flt.PubTo != nil {
		w.Add("d.published_on <= ?", dateArg(flt.PubTo))
	}
	if flt.OnlyLatest {
		w.Add("(d.current_id IS NULL OR d.current_id = d.id)")
	}
	return w
}

// Facet is one value of a facet with its count under the other filters.
type Facet struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

func listDocuments(ctx context.Context, q store.Querier, flt Filter, sort httpx.Sort, p httpx.Page) ([]Document, int, error) {
	w := flt.where()
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM laws.documents d`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	order := map[string]string{"published_on": "d.published_on", "title": "d.short_title", "effective_on": "d.effective_on"}[sort.Field]
	rows, err := q.Query(ctx, `SELECT `+docColumns+` FROM laws.documents d`+w.SQL()+` ORDER BY `+order+` `+sort.Dir()+
		` NULLS LAST, d.id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Document, error) { return scanDocument(r) })
	return docs, total, store.Classify(err)
}

// facets counts each facet's values under the filter without that facet.
func facets(ctx context.Context, q store.Querier, flt Filter) (map[string][]Facet, error) {
	out := map[string][]Facet{}
	for name, clear := range map[string]func(*Filter){
		"nature": func(f *Filter) { f.Nature = "" }, "status": func(f *Filter) { f.Status = "" },
		"body": func(f *Filter) { f.Body = "" }, "region": func(f *Filter) { f.Region = "" },
	} {
		g := flt
		clear(&g)
		w := g.where()
		rows, err := q.Query(ctx, `SELECT d.`+name+`, count(*) FROM laws.documents d`+w.SQL()+` GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50`, w.Args()...)
		if err != nil {
			return nil, store.Classify(err)
		}
		fs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Facet, error) {
			var f Facet
			return f, r.Scan(&f.Value, &f.Count)
		})
		if err != nil {
			return nil, store.Classify(err)
		}
		out[name] = nonNil(fs)
	}
	return out, nil
}

// ImportRun is one recorded corpus import.
type ImportRun struct {
	ID         int64     `json:"id"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	UserID     string    `json:"user_id"`
	Source     string    `json:"source"`
	Created    int       `json:"created"`
	Updated    int       `json:"updated"`
	Unchanged  int       `json:"unchanged"`
	Kept       int       `json:"kept"`
	Skipped    []Skip    `json:"skipped"`
}

func insertImport(ctx context.Context, tx pgx.Tx, r *ImportRun) error {
	return store.Classify(tx.QueryRow(ctx, `INSERT INTO laws.imports (started_at, finished_at, user_id, source, created, updated, unchanged, kept, skipped)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, r.StartedAt, r.FinishedAt, r.UserID, r.Source, r.Created, r.Updated,
		r.Unchanged, r.Kept, jsonArg(nonNil(r.Skipped))).Scan(&r.ID))
}

func listImports(ctx context.Context, q store.Querier, p httpx.Page) ([]ImportRun, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM laws.imports`).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT id, started_at, finished_at, user_id, source, created, updated, unchanged, kept, skipped
		FROM laws.imports ORDER BY id DESC LIMIT $1 OFFSET $2`, p.Size, p.Offset())
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ImportRun, error) {
		var run ImportRun
		var sk []byte
		err := r.Scan(&run.ID, &run.StartedAt, &run.FinishedAt, &run.UserID, &run.Source, &run.Created, &run.Updated, &run.Unchanged, &run.Kept, &sk)
		run.Skipped = []Skip{}
		_ = json.Unmarshal(sk, &run.Skipped)
		return run, err
	})
	return out, total, store.Classify(err)
}

// aliases maps abbreviations to families.
func loadAliases(ctx context.Context, q store.Querier) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT alias, family FROM laws.aliases`)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var a, f string
		if err := rows.Scan(&a, &f); err != nil {
			return nil, store.Classify(err)
		}
		out[a] = f
	}
	return out, store.Classify(rows.Err())
}
