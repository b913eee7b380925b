package laws

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/cjk" // registers the cjk analyzer
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/store"
)

// indexFormat changes whenever the mapping or the indexed fields do; an
// index of another format is rebuilt.
const indexFormat = 2

// The search index (FP-68–75): one Bleve document per article, analysed
// by Bleve's CJK analyzer (width folding, lower case, overlapping
// character bigrams — Lucene's CJKAnalyzer) and scored with BM25. Law
// names are not indexed with every article: a name in the query confines
// the search to that law instead (lawNamer), which ranks better than a
// title match spread over thousands of articles. It lives
// on disk (LAWS_INDEX_DIR), so a restart opens it in milliseconds; it is a
// cache of the database, brought up to date from laws.changes.
type searchIndex struct {
	log  *slog.Logger
	pool *pgxpool.Pool
	dir  string

	mu    sync.RWMutex
	idx   bleve.Index
	meta  map[int64]docMeta // every document, for ranking and filters
	namer *lawNamer
	syn   map[string][]string

	seq      atomic.Int64 // last change applied
	ready    atomic.Bool
	progress atomic.Int64 // articles indexed by a running build
	total    atomic.Int64
	catchMu  sync.Mutex
}

// docMeta is what ranking needs of a document, held in memory.
type docMeta struct {
	ID        int64
	Title     string
	Short     string
	Family    string
	Nature    string
	Status    string
	Body      string
	Region    string
	Published string
	CurrentID int64
}

func newSearchIndex(log *slog.Logger, pool *pgxpool.Pool, dir string) *searchIndex {
	return &searchIndex{log: log, pool: pool, dir: dir, meta: map[int64]docMeta{}, namer: newLawNamer(nil),
		syn: parsePairs(synonymsText)}
}

func indexMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	m.ScoringModel = bindex.BM25Scoring
	m.DefaultAnalyzer = "cjk"
	doc := bleve.NewDocumentMapping()
	text := bleve.NewTextFieldMapping()
	text.Analyzer, text.Store, text.IncludeTermVectors, text.DocValues = "cjk", false, false, false
	doc.AddFieldMappingsAt("text", text)
	for _, k := range []string{"doc", "family", "nature", "status", "body", "region"} {
		f := bleve.NewKeywordFieldMapping()
		f.Store, f.IncludeTermVectors = false, false
		doc.AddFieldMappingsAt(k, f)
	}
	pub := bleve.NewNumericFieldMapping()
	pub.Store = false
	doc.AddFieldMappingsAt("pub", pub)
	m.DefaultMapping = doc
	m.StoreDynamic, m.IndexDynamic, m.DocValuesDynamic = false, false, false
	return m
}

// indexID names an article in the index: "<document>/<seq>/<number>"
// (the number lets a search fold one article's versions together).
func indexID(doc int64, a Article) string {
	return articleID(doc, a.Seq) + "/" + strconv.Itoa(a.Number)
}

func articleID(doc int64, seq int) string {
	return strconv.FormatInt(doc, 10) + "/" + strconv.Itoa(seq)
}

func parseIndexID(id string) (doc int64, seq, number int, ok bool) {
	p := strings.Split(id, "/")
	if len(p) != 3 {
		return 0, 0, 0, false
	}
	d, err1 := strconv.ParseInt(p[0], 10, 64)
	s, err2 := strconv.Atoi(p[1])
	n, err3 := strconv.Atoi(p[2])
	return d, s, n, err1 == nil && err2 == nil && err3 == nil
}

func pubNumber(date string) float64 {
	n, _ := strconv.Atoi(strings.ReplaceAll(date, "-", ""))
	return float64(n)
}

func (m docMeta) fields(a Article) map[string]any {
	return map[string]any{"text": a.Text(), "doc": strconv.FormatInt(m.ID, 10),
		"family": m.Family, "nature": m.Nature, "status": m.Status, "body": m.Body, "region": m.Region, "pub": pubNumber(m.Published)}
}

// rebuildAbove is how many changed documents make a catch-up rebuild the
// index instead.
const rebuildAbove = 200

var internalSeq = []byte("laws_seq")
var internalFormat = []byte("laws_format")

// open opens the index on disk when it is of this format, else builds it.
// It returns once the index answers; a build runs in the background when
// background is set.
func (s *searchIndex) open(ctx context.Context, background bool) error {
	if err := s.reloadMeta(ctx); err != nil {
		return err
	}
	if idx, seq, ok := s.openExisting(); ok {
		s.mu.Lock()
		s.idx = idx
		s.mu.Unlock()
		s.seq.Store(seq)
		s.ready.Store(true)
		return s.catchUp(ctx)
	}
	if background {
		go func() {
			if err := s.rebuild(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("laws: building the search index failed", "err", err)
			}
		}()
		return nil
	}
	return s.rebuild(ctx)
}

func (s *searchIndex) openExisting() (bleve.Index, int64, bool) {
	if _, err := os.Stat(filepath.Join(s.dir, "index_meta.json")); err != nil {
		return nil, 0, false
	}
	idx, err := bleve.Open(s.dir)
	if err != nil {
		s.log.Warn("laws: the search index on disk cannot be opened; rebuilding", "dir", s.dir, "err", err)
		return nil, 0, false
	}
	f, _ := idx.GetInternal(internalFormat)
	sq, _ := idx.GetInternal(internalSeq)
	if len(f) != 8 || binary.BigEndian.Uint64(f) != indexFormat || len(sq) != 8 {
		_ = idx.Close()
		return nil, 0, false
	}
	return idx, int64(binary.BigEndian.Uint64(sq)), true
}

func u64(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

// rebuild indexes every article into a new directory and swaps it in.
func (s *searchIndex) rebuild(ctx context.Context) error {
	s.catchMu.Lock()
	err := s.build(ctx)
	s.catchMu.Unlock()
	if err != nil {
		return err
	}
	// Changes committed while building are applied now.
	return s.catchUp(ctx)
}

func (s *searchIndex) build(ctx context.Context) error {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM laws.changes`).Scan(&seq); err != nil {
		return store.Classify(err)
	}
	if err := s.reloadMeta(ctx); err != nil {
		return err
	}
	tmp := s.dir + ".building"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return err
	}
	idx, err := bleve.New(tmp, indexMapping())
	if err != nil {
		return fmt.Errorf("laws: create index: %w", err)
	}
	var total int64
	_ = s.pool.QueryRow(ctx, `SELECT count(*) FROM laws.articles`).Scan(&total)
	s.total.Store(total)
	s.progress.Store(0)
	start := time.Now()
	if err := s.indexAll(ctx, idx); err != nil {
		_ = idx.Close()
		_ = os.RemoveAll(tmp)
		return err
	}
	if err := idx.SetInternal(internalFormat, u64(indexFormat)); err != nil {
		return err
	}
	if err := idx.SetInternal(internalSeq, u64(seq)); err != nil {
		return err
	}
	if err := idx.Close(); err != nil {
		return err
	}
	s.mu.Lock()
	old := s.idx
	s.idx = nil
	if old != nil {
		_ = old.Close()
	}
	_ = os.RemoveAll(s.dir)
	err = os.Rename(tmp, s.dir)
	if err == nil {
		s.idx, err = bleve.Open(s.dir)
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("laws: open the new index: %w", err)
	}
	s.seq.Store(seq)
	s.ready.Store(true)
	s.log.Info("laws: search index built", "articles", s.progress.Load(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (s *searchIndex) indexAll(ctx context.Context, idx bleve.Index) error {
	rows, err := s.pool.Query(ctx, `SELECT document_id, seq, number, label, paragraphs FROM laws.articles ORDER BY document_id, seq`)
	if err != nil {
		return store.Classify(err)
	}
	defer rows.Close()
	b := idx.NewBatch()
	s.mu.RLock()
	meta := s.meta
	s.mu.RUnlock()
	for rows.Next() {
		var doc int64
		var a Article
		if err := rows.Scan(&doc, &a.Seq, &a.Number, &a.Label, &a.Paragraphs); err != nil {
			return store.Classify(err)
		}
		m, ok := meta[doc]
		if !ok {
			continue
		}
		if err := b.Index(indexID(doc, a), m.fields(a)); err != nil {
			return err
		}
		if b.Size() >= 2000 {
			if err := idx.Batch(b); err != nil {
				return err
			}
			s.progress.Add(int64(b.Size()))
			b.Reset()
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if err := rows.Err(); err != nil {
		return store.Classify(err)
	}
	s.progress.Add(int64(b.Size()))
	return idx.Batch(b)
}

// reloadMeta reads every document's ranking fields and the law names.
func (s *searchIndex) reloadMeta(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT id, title, short_title, family, nature, status, body, region,
		coalesce(to_char(published_on, 'YYYY-MM-DD'), ''), coalesce(current_id, id) FROM laws.documents`)
	if err != nil {
		return store.Classify(err)
	}
	defer rows.Close()
	meta := map[int64]docMeta{}
	for rows.Next() {
		var m docMeta
		if err := rows.Scan(&m.ID, &m.Title, &m.Short, &m.Family, &m.Nature, &m.Status, &m.Body, &m.Region, &m.Published, &m.CurrentID); err != nil {
			return store.Classify(err)
		}
		meta[m.ID] = m
	}
	if err := rows.Err(); err != nil {
		return store.Classify(err)
	}
	db, err := loadAliases(ctx, s.pool)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.meta = meta
	s.namer = newLawNamer(aliasMap(meta, db))
	s.mu.Unlock()
	return nil
}

// aliasMap is every name a law is known by: its short title, its title,
// the built-in abbreviations and those added in the console, each kept
// only when its law is in the library.
func aliasMap(meta map[int64]docMeta, db map[string]string) map[string]string {
	families := map[string]bool{}
	out := map[string]string{}
	for _, m := range meta {
		if m.Nature == "案例" || m.Nature == "其他" {
			continue
		}
		families[m.Family] = true
		out[m.Family] = m.Family
		if utf8Len(m.Short) >= 3 {
			out[m.Short] = m.Family
		}
		if t := strings.TrimPrefix(m.Title, "中华人民共和国"); utf8Len(t) >= 3 {
			out[t] = m.Family
		}
	}
	for a, fams := range parsePairs(builtinAliases) {
		if families[fams[0]] {
			out[a] = fams[0]
		}
	}
	for a, f := range db {
		if families[f] {
			out[a] = f
		}
	}
	return out
}

func utf8Len(s string) int { return len([]rune(s)) }

// catchUp applies the changes after the last one the index holds.
func (s *searchIndex) catchUp(ctx context.Context) error {
	if !s.ready.Load() {
		return nil
	}
	s.catchMu.Lock()
	defer s.catchMu.Unlock()
	for {
		from := s.seq.Load()
		rows, err := s.pool.Query(ctx, `SELECT seq, document_id FROM laws.changes WHERE seq > $1 ORDER BY seq LIMIT 5000`, from)
		if err != nil {
			return store.Classify(err)
		}
		var last int64
		docs := map[int64]bool{}
		for rows.Next() {
			var seq, doc int64
			if err := rows.Scan(&seq, &doc); err != nil {
				rows.Close()
				return store.Classify(err)
			}
			last, docs[doc] = seq, true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return store.Classify(err)
		}
		if len(docs) == 0 {
			return nil
		}
		if len(docs) > rebuildAbove {
			// A whole corpus changed (a first import): building anew is
			// several times faster than replacing document by document.
			s.catchMu.Unlock()
			err := s.rebuild(ctx)
			s.catchMu.Lock()
			if err != nil {
				return err
			}
			continue
		}
		if err := s.reloadMeta(ctx); err != nil {
			return err
		}
		if err := s.reindex(ctx, docs); err != nil {
			return err
		}
		s.mu.RLock()
		err = s.idx.SetInternal(internalSeq, u64(last))
		s.mu.RUnlock()
		if err != nil {
			return err
		}
		s.seq.Store(last)
	}
}

// reindex replaces the articles of the given documents.
func (s *searchIndex) reindex(ctx context.Context, docs map[int64]bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := s.idx.NewBatch()
	for doc := range docs {
		q := bleve.NewTermQuery(strconv.FormatInt(doc, 10))
		q.SetField("doc")
		req := bleve.NewSearchRequestOptions(q, 100000, 0, false)
		res, err := s.idx.SearchInContext(ctx, req)
		if err != nil {
			return err
		}
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		m, ok := s.meta[doc]
		if !ok {
			continue // deleted
		}
		arts, err := loadArticles(ctx, s.pool, doc)
		if err != nil {
			return err
		}
		for _, a := range arts {
			if err := b.Index(indexID(doc, a), m.fields(a)); err != nil {
				return err
			}
		}
	}
	return s.idx.Batch(b)
}

func (s *searchIndex) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx == nil {
		return nil
	}
	err := s.idx.Close()
	s.idx = nil
	s.ready.Store(false)
	return err
}

var errIndexBuilding = errors.New("laws: index building")
