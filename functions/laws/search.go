package laws

import (
	"context"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// SearchRequest is a full-text search over articles (FP-68–75).
type SearchRequest struct {
	Q       string
	Nature  string
	Status  string
	Body    string
	Region  string
	PubFrom *time.Time
	PubTo   *time.Time
	Page    int
	Size    int
}

// Hit is one article found, with why it ranks where it does.
type Hit struct {
	DocumentID   int64    `json:"document_id"`
	Seq          int      `json:"seq"`
	Title        string   `json:"title"`
	ShortTitle   string   `json:"short_title"`
	Label        string   `json:"label"`
	Number       int      `json:"number,omitempty"`
	Part         string   `json:"part,omitempty"`
	Chapter      string   `json:"chapter,omitempty"`
	Section      string   `json:"section,omitempty"`
	Nature       string   `json:"nature"`
	Status       string   `json:"status"`
	Body         string   `json:"body"`
	PublishedOn  string   `json:"published_on,omitempty"`
	CurrentID    int64    `json:"current_id"`
	Snippet      string   `json:"snippet"` // HTML: escaped text, matches in <em>
	Paragraphs   []string `json:"paragraphs"`
	Score        float64  `json:"score"`
	BM25         float64  `json:"bm25"`
	Factors      []string `json:"factors"`
	OtherVersion int      `json:"other_versions,omitempty"` // the same article in other versions, folded into this hit
}

// LawRef is a law the query names.
type LawRef struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Status      string `json:"status"`
	PublishedOn string `json:"published_on,omitempty"`
}

// SearchResult is a page of hits.
type SearchResult struct {
	Query      parsedQuery `json:"query"`
	Laws       []LawRef    `json:"laws"`
	Hits       []Hit       `json:"hits"`
	Total      int         `json:"total"` // articles matched, before folding versions
	Page       int         `json:"page"`
	PageSize   int         `json:"page_size"`
	Message    string      `json:"message,omitempty"`
	TookMillis float64     `json:"took_ms"`
}

// Ranking weights: BM25 × status × type. The in-force version of an
// article outranks the same words in an amended or repealed version
// (FP-67); a law outranks a case that quotes it.
var (
	statusWeight = map[string]float64{StatusInForce: 1, StatusPending: 0.8, StatusAmended: 0.45, StatusRepealed: 0.3}
	// By rank in the hierarchy of norms (效力位阶): a law before the rule or
	// interpretation that repeats its words, any norm before a case.
	natureWeight = map[string]float64{"行政法规": 0.95, "监察法规": 0.95, "地方性法规": 0.9, "自治条例和单行条例": 0.9, "部门规章": 0.85,
		"地方政府规章": 0.85, "司法解释": 0.85, "规范性文件": 0.75, "案例": 0.6, "其他": 0.5}
)

// candidates is how many BM25 hits are re-ranked and folded per query.
const candidates = 150

// ErrIndexBuilding answers a search while the index is first being built.
func (s *searchIndex) building() error {
	done, total := s.progress.Load(), s.total.Load()
	pct := 0
	if total > 0 {
		pct = int(done * 100 / total)
	}
	return &errs.Error{Code: errs.Unavailable, Message: fmt.Sprintf("法规检索索引正在建立（已完成 %d%%），请稍后再试", pct), Err: errIndexBuilding}
}

// Search finds articles: a direct reference ("广告法第九条") straight
// from the database, anything else through the index.
func (s *searchIndex) Search(ctx context.Context, req SearchRequest) (SearchResult, error) {
	start := time.Now()
	if req.Size <= 0 {
		req.Size = 10
	}
	if req.Page <= 0 {
		req.Page = 1
	}
	s.mu.RLock()
	namer, syn := s.namer, s.syn
	s.mu.RUnlock()
	pq := namer.parse(req.Q, syn)
	res := SearchResult{Query: pq, Laws: []LawRef{}, Hits: []Hit{}, Page: req.Page, PageSize: req.Size}
	if pq.Law != "" {
		res.Laws = s.lawRefs(pq.Law)
	}
	var err error
	switch {
	case pq.Article != "":
		err = s.lookup(ctx, pq, &res)
	case len(pq.Phrases) == 0 && pq.Law != "":
		res.Message = "已找到《" + pq.Law + "》，输入关键词可检索其中的条文"
	case len(pq.Phrases) == 0:
		return res, errs.Fields([]errs.FieldError{{Field: "q", Message: "请输入要检索的词语或问题"}})
	default:
		err = s.fullText(ctx, pq, req, &res)
	}
	res.TookMillis = math.Round(float64(time.Since(start).Microseconds())/10) / 100
	return res, err
}

// lawRefs lists a family's versions, the current one first.
func (s *searchIndex) lawRefs(family string) []LawRef {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []LawRef
	for _, m := range s.meta {
		if m.Family == family {
			out = append(out, LawRef{ID: m.ID, Title: m.Title, Status: m.Status, PublishedOn: m.Published})
		}
	}
	slices.SortFunc(out, func(a, b LawRef) int {
		if (a.Status == StatusInForce) != (b.Status == StatusInForce) {
			if a.Status == StatusInForce {
				return -1
			}
			return 1
		}
		return strings.Compare(b.PublishedOn, a.PublishedOn)
	})
	return out
}

// lookup answers "广告法第九条" with the article of the current version.
func (s *searchIndex) lookup(ctx context.Context, pq parsedQuery, res *SearchResult) error {
	if len(res.Laws) == 0 {
		res.Message = "法规库中没有《" + pq.Law + "》"
		return nil
	}
	doc := res.Laws[0].ID
	s.mu.RLock()
	if cur := s.meta[doc].CurrentID; cur != 0 {
		if _, ok := s.meta[cur]; ok {
			doc = cur
		}
	}
	m := s.meta[doc]
	s.mu.RUnlock()
	arts, err := articlesByNumber(ctx, s.pool, doc, pq.Number)
	if err != nil {
		return err
	}
	for _, a := range arts {
		if _, sub, _ := strings.Cut(a.Label, "条"); sub != pq.Sub {
			continue
		}
		h := hitOf(m, a)
		h.Score, h.Factors = 1, []string{"直接定位：《" + m.Short + "》" + a.Label + "（" + m.Status + "版本）"}
		h.Snippet = html.EscapeString(strings.Join(a.Paragraphs, "\n"))
		if pq.Para > 0 && pq.Para <= len(a.Paragraphs) {
			h.Snippet = "<em>" + html.EscapeString(a.Paragraphs[pq.Para-1]) + "</em>"
			h.Factors = append(h.Factors, "第"+hanLabel(pq.Para)+"款")
		} else if pq.Para > 0 {
			res.Message = a.Label + "只有 " + strconv.Itoa(len(a.Paragraphs)) + " 款"
		}
		res.Hits, res.Total = []Hit{h}, 1
		return nil
	}
	res.Message = "《" + m.Short + "》（" + m.Status + "版本）中没有" + pq.Article
	return nil
}

func hitOf(m docMeta, a Article) Hit {
	return Hit{DocumentID: m.ID, Seq: a.Seq, Title: m.Title, ShortTitle: m.Short, Label: a.Label, Number: a.Number, Part: a.Part,
		Chapter: a.Chapter, Section: a.Section, Nature: m.Nature, Status: m.Status, Body: m.Body, PublishedOn: m.Published,
		CurrentID: m.CurrentID, Paragraphs: a.Paragraphs}
}

func articlesByNumber(ctx context.Context, q store.Querier, doc int64, n int) ([]Article, error) {
	rows, err := q.Query(ctx, `SELECT seq, number, label, part, chapter, section, paragraphs FROM laws.articles
		WHERE document_id = $1 AND number = $2 ORDER BY seq`, doc, n)
	if err != nil {
		return nil, store.Classify(err)
	}
	return collectArticles(rows)
}

func collectArticles(rows interface {
	Next() bool
	Scan(...any) error
	Close()
	Err() error
}) ([]Article, error) {
	defer rows.Close()
	var out []Article
	for rows.Next() {
		var a Article
		if err := rows.Scan(&a.Seq, &a.Number, &a.Label, &a.Part, &a.Chapter, &a.Section, &a.Paragraphs); err != nil {
			return nil, store.Classify(err)
		}
		out = append(out, a)
	}
	return out, store.Classify(rows.Err())
}

// filterQuery matches a keyword field without adding to the score.
func filterQuery(field, value string) query.Query {
	q := bleve.NewTermQuery(value)
	q.SetField(field)
	q.SetBoost(1e-9)
	return q
}

func (s *searchIndex) fullText(ctx context.Context, pq parsedQuery, req SearchRequest, res *SearchResult) error {
	if !s.ready.Load() {
		return s.building()
	}
	var should []query.Query
	for _, p := range pq.Phrases {
		t := bleve.NewMatchQuery(p)
		t.SetField("text")
		should = append(should, t)
	}
	for _, e := range pq.Expanded {
		t := bleve.NewMatchQuery(e)
		t.SetField("text")
		t.SetBoost(0.7)
		should = append(should, t)
	}
	must := []query.Query{bleve.NewDisjunctionQuery(should...)}
	if pq.Law != "" {
		must = append(must, filterQuery("family", pq.Law))
	}
	for field, v := range map[string]string{"nature": req.Nature, "status": req.Status, "body": req.Body, "region": req.Region} {
		if v != "" {
			must = append(must, filterQuery(field, v))
		}
	}
	if req.PubFrom != nil || req.PubTo != nil {
		var lo, hi *float64
		if req.PubFrom != nil {
			v := pubNumber(req.PubFrom.Format(time.DateOnly))
			lo = &v
		}
		if req.PubTo != nil {
			v := pubNumber(req.PubTo.Format(time.DateOnly))
			hi = &v
		}
		incl := true
		r := bleve.NewNumericRangeInclusiveQuery(lo, hi, &incl, &incl)
		r.SetField("pub")
		r.SetBoost(1e-9)
		must = append(must, r)
	}
	sr := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(must...), candidates, 0, false)
	s.mu.RLock()
	idx, meta := s.idx, s.meta
	if idx == nil {
		s.mu.RUnlock()
		return s.building()
	}
	out, err := idx.SearchInContext(ctx, sr)
	s.mu.RUnlock()
	if err != nil {
		return errs.Wrap(errs.Unavailable, "检索失败，请稍后重试", err)
	}
	type cand struct {
		m     docMeta
		seq   int
		num   int
		bm25  float64
		score float64
	}
	cands := make([]cand, 0, len(out.Hits))
	for _, h := range out.Hits {
		doc, seq, num, ok := parseIndexID(h.ID)
		m, known := meta[doc]
		if !ok || !known {
			continue
		}
		w := statusWeight[m.Status] * natureOf1(m.Nature)
		cands = append(cands, cand{m: m, seq: seq, num: num, bm25: h.Score, score: h.Score * w})
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return strings.Compare(b.m.Published, a.m.Published)
	})
	res.Total = int(out.Total)
	// Fold the same article of other versions (same law, same number)
	// into the best-ranked one.
	type key struct {
		family string
		n      int
	}
	var kept []cand
	folded := map[key]int{}
	pos := map[key]int{}
	for _, c := range cands {
		k := key{c.m.Family, c.num}
		if c.num == 0 {
			k = key{fmt.Sprint(c.m.ID), -c.seq}
		}
		if _, ok := pos[k]; ok {
			folded[k]++
			continue
		}
		pos[k] = len(kept)
		kept = append(kept, c)
	}
	from := (req.Page - 1) * req.Size
	if from >= len(kept) {
		return nil
	}
	page := kept[from:min(from+req.Size, len(kept))]
	docs, seqs := make([]int64, len(page)), make([]int32, len(page))
	for i, c := range page {
		docs[i], seqs[i] = c.m.ID, int32(c.seq)
	}
	arts, err := articlesAt(ctx, s.pool, docs, seqs)
	if err != nil {
		return err
	}
	hl := terms(append(slices.Clone(pq.Phrases), pq.Expanded...))
	for _, c := range page {
		a, ok := arts[articleID(c.m.ID, c.seq)]
		if !ok {
			continue // changed since the index saw it
		}
		h := hitOf(c.m, a)
		h.BM25, h.Score = round3(c.bm25), round3(c.score)
		h.Factors = []string{fmt.Sprintf("BM25 %.3f", c.bm25), fmt.Sprintf("%s ×%.2f", c.m.Status, statusWeight[c.m.Status])}
		if w := natureOf1(c.m.Nature); w != 1 {
			h.Factors = append(h.Factors, fmt.Sprintf("%s ×%.2f", c.m.Nature, w))
		}
		if pq.Law != "" {
			h.Factors = append(h.Factors, "限定于《"+pq.Law+"》（“"+pq.Alias+"”）")
		}
		h.OtherVersion = folded[key{c.m.Family, c.num}]
		if c.num == 0 {
			h.OtherVersion = 0
		}
		h.Snippet = highlight(strings.Join(a.Paragraphs, "\n"), hl, 160)
		res.Hits = append(res.Hits, h)
	}
	return nil
}

func natureOf1(n string) float64 {
	if w, ok := natureWeight[n]; ok {
		return w
	}
	return 1
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func articlesAt(ctx context.Context, q store.Querier, docs []int64, seqs []int32) (map[string]Article, error) {
	rows, err := q.Query(ctx, `SELECT a.document_id, a.seq, a.number, a.label, a.part, a.chapter, a.section, a.paragraphs
		FROM laws.articles a JOIN unnest($1::bigint[], $2::int[]) AS k(d, s) ON a.document_id = k.d AND a.seq = k.s`, docs, seqs)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := map[string]Article{}
	for rows.Next() {
		var doc int64
		var a Article
		if err := rows.Scan(&doc, &a.Seq, &a.Number, &a.Label, &a.Part, &a.Chapter, &a.Section, &a.Paragraphs); err != nil {
			return nil, store.Classify(err)
		}
		out[articleID(doc, a.Seq)] = a
	}
	return out, store.Classify(rows.Err())
}

// highlight cuts the window of text with the most matched characters and
// marks the matches; everything else is escaped.
func highlight(text string, terms []string, width int) string {
	rs := []rune(text)
	mark := make([]bool, len(rs))
	lower := []rune(strings.ToLower(text))
	for _, t := range terms {
		tr := []rune(t)
		if len(tr) == 0 {
			continue
		}
		for i := 0; i+len(tr) <= len(lower); i++ {
			if string(lower[i:i+len(tr)]) == t {
				for j := range tr {
					mark[i+j] = true
				}
			}
		}
	}
	start := 0
	if len(rs) > width {
		best, cur := -1, 0
		for i := 0; i < len(rs); i++ {
			if mark[i] {
				cur++
			}
			if i >= width && mark[i-width] {
				cur--
			}
			if i >= width-1 && cur > best {
				best, start = cur, i-width+1
			}
		}
		// Start at the sentence the first match is in, when near.
		for k := start; k > 0 && start-k < 20; k-- {
			if strings.ContainsRune("。；\n", rs[k-1]) {
				start = k
				break
			}
		}
	}
	end := min(len(rs), start+width)
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	in := false
	for i := start; i < end; i++ {
		if mark[i] != in {
			if mark[i] {
				b.WriteString("<em>")
			} else {
				b.WriteString("</em>")
			}
			in = mark[i]
		}
		b.WriteString(html.EscapeString(string(rs[i])))
	}
	if in {
		b.WriteString("</em>")
	}
	if end < len(rs) {
		b.WriteString("…")
	}
	return b.String()
}
