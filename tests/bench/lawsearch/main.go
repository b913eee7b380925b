// Command lawsearch measures the law library's article search (issue 13)
// and writes the results into docs/benchmarks.md:
//
//   - quality: a labelled set of natural-language questions consumers,
//     enterprises and inspectors ask (questions.json, each with the law and
//     article that answers it); the hit rate at 1, 3 and 10 and the mean
//     reciprocal rank of the search, against two plain substring searches
//     over the same articles as anchors — the whole question as typed, and
//     every word group of it (the question split at punctuation and
//     question words, all required, newest document first), which is what a
//     title-and-keyword search such as the national database offers;
//   - in-force first: articles whose text is the same in an amended and in
//     the current version of a law (300 of them), searched by the law's
//     name and the article's opening words; the share where the current
//     version ranks above the amended one, with the anchor's share (the
//     opening words as a substring, newest first);
//   - latency over every article of the corpus: the questions and a sample
//     of phrases cut from random articles, sequentially after a warm-up,
//     p50/p95/p99 against the substring anchor on the same queries.
//
// The corpus is imported into its own database once (-reuse keeps it).
//
// Usage: go run ./tests/bench/lawsearch [-db URL] [-reuse] [-n 1000] [-out docs/benchmarks.md]
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/laws"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

//go:embed questions.json
var questionsJSON []byte

type question struct {
	Who     string `json:"who"`
	Q       string `json:"q"`
	Law     string `json:"law"`
	Article string `json:"article"`
}

type hit struct {
	family, label, status string
	doc                   int64
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lawsearch:", err)
		os.Exit(1)
	}
}

type noVerifier struct{}

func (noVerifier) Middleware(h http.Handler) http.Handler { return h }

func run() error {
	dbURL := flag.String("db", envOr("LAWBENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smartreg_bench_laws?sslmode=disable"), "database (created if missing)")
	reuse := flag.Bool("reuse", false, "keep an imported corpus and index from an earlier run")
	n := flag.Int("n", 1000, "latency queries")
	out := flag.String("out", "docs/benchmarks.md", "results file")
	flag.Parse()
	ctx := context.Background()
	if err := store.EnsureDatabase(ctx, *dbURL); err != nil {
		return err
	}
	pool, err := store.Connect(ctx, *dbURL, 8)
	if err != nil {
		return err
	}
	defer pool.Close()
	if !*reuse {
		if _, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS laws CASCADE; DROP SCHEMA IF EXISTS platform CASCADE; DROP TABLE IF EXISTS public.schema_migrations`); err != nil {
			return err
		}
	}
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, laws.Migrations()...)...); err != nil {
		return err
	}
	cfg := config.Defaults[laws.Config]()
	cfg.IndexDir = filepath.Join(os.TempDir(), "smartreg-lawbench-index")
	if !*reuse {
		_ = os.RemoveAll(cfg.IndexDir)
	}
	fn, err := laws.New(laws.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: time.Now, Verifier: noVerifier{}}, cfg)
	if err != nil {
		return err
	}
	var have int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM laws.documents`).Scan(&have)
	start := time.Now()
	if have == 0 {
		fsys, err := laws.Corpus()
		if err != nil {
			return err
		}
		if _, err := fn.Import(ctx, laws.Actor{Username: "bench"}, fsys, "bench"); err != nil {
			return err
		}
	}
	importTook := time.Since(start)
	start = time.Now()
	if err := fn.Start(ctx); err != nil {
		return err
	}
	defer fn.Stop(ctx) //nolint:errcheck
	if err := fn.WaitIndexed(ctx); err != nil {
		return err
	}
	indexTook := time.Since(start)
	var docs, articles int
	_ = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM laws.documents), (SELECT count(*) FROM laws.articles)`).Scan(&docs, &articles)
	fmt.Printf("corpus: %d documents, %d articles (import %s, index %s)\n", docs, articles, importTook.Round(time.Second), indexTook.Round(time.Second))

	var qs []question
	if err := json.Unmarshal(questionsJSON, &qs); err != nil {
		return err
	}
	search := func(q string, k int) ([]hit, error) {
		res, err := fn.Search(ctx, laws.SearchRequest{Q: q, Size: k})
		var hs []hit
		for _, h := range res.Hits {
			hs = append(hs, hit{family: familyOf(h.ShortTitle), label: h.Label, status: h.Status, doc: h.DocumentID})
		}
		return hs, err
	}
	whole := func(q string, k int) ([]hit, error) { return substring(ctx, pool, []string{q}, k) }
	words := func(q string, k int) ([]hit, error) { return substring(ctx, pool, wordGroups(q), k) }

	// Quality.
	type score struct{ at1, at3, at10, rr float64 }
	eval := func(f func(string, int) ([]hit, error)) (score, map[string]score, []string, error) {
		var s score
		per := map[string]score{}
		var misses []string
		for _, q := range qs {
			hs, err := f(q.Q, 10)
			if err != nil {
				return s, nil, nil, fmt.Errorf("%s: %w", q.Q, err)
			}
			rank := 0
			for i, h := range hs {
				if h.family == q.Law && h.label == q.Article {
					rank = i + 1
					break
				}
			}
			p := per[q.Who]
			add := func(x *score) {
				if rank == 1 {
					x.at1++
				}
				if rank >= 1 && rank <= 3 {
					x.at3++
				}
				if rank >= 1 {
					x.at10++
					x.rr += 1 / float64(rank)
				}
			}
			add(&s)
			add(&p)
			per[q.Who] = p
			if rank == 0 || rank > 3 {
				top := ""
				if len(hs) > 0 {
					top = hs[0].family + hs[0].label
				}
				misses = append(misses, fmt.Sprintf("%s（应为%s%s，排名 %d，首条 %s）", q.Q, q.Law, q.Article, rank, top))
			}
		}
		return s, per, misses, nil
	}
	ours, oursPer, misses, err := eval(search)
	if err != nil {
		return err
	}
	wholeS, _, _, err := eval(whole)
	if err != nil {
		return err
	}
	wordsS, wordsPer, _, err := eval(words)
	if err != nil {
		return err
	}
	total := float64(len(qs))
	pct := func(v float64, of float64) string { return fmt.Sprintf("%.0f%%", 100*v/of) }
	fmt.Printf("quality: top-3 %s (anchor whole %s, words %s)\n", pct(ours.at3, total), pct(wholeS.at3, total), pct(wordsS.at3, total))
	for _, m := range misses {
		fmt.Println("  miss:", m)
	}

	// In-force first.
	pairs, err := sameTextPairs(ctx, pool)
	if err != nil {
		return err
	}
	var oursFirst, anchorFirst, tried int
	for _, p := range pairs {
		hs, err := search(p.query, 20)
		if err != nil {
			return err
		}
		tried++
		for _, h := range hs {
			if h.family == p.family && (h.doc == p.current || h.doc == p.amended) {
				if h.doc == p.current && h.status == laws.StatusInForce {
					oursFirst++
				}
				break
			}
		}
		_, words, _ := strings.Cut(p.query, " ")
		as, err := substring(ctx, pool, []string{words}, 20)
		if err != nil {
			return err
		}
		for _, h := range as {
			if h.doc == p.current || h.doc == p.amended {
				if h.doc == p.current {
					anchorFirst++
				}
				break
			}
		}
	}
	fmt.Printf("in force first: %d/%d (anchor %d/%d)\n", oursFirst, tried, anchorFirst, tried)

	// Latency over every article.
	queries, err := latencyQueries(ctx, pool, qs, *n)
	if err != nil {
		return err
	}
	for _, q := range queries[:min(100, len(queries))] { // warm-up
		_, _ = search(q, 10)
	}
	oursLat, err := timeAll(queries, func(q string) error { _, err := search(q, 10); return err })
	if err != nil {
		return err
	}
	anchorLat, err := timeAll(queries[:min(200, len(queries))], func(q string) error { _, err := substring(ctx, pool, []string{q}, 10); return err })
	if err != nil {
		return err
	}
	fmt.Printf("latency: p50 %s p95 %s p99 %s (anchor p95 %s)\n", oursLat[0], oursLat[1], oursLat[2], anchorLat[1])

	ok := func(b bool) string {
		if b {
			return "✔"
		}
		return "✘"
	}
	per := func(m map[string]score, who string, n int) string {
		return pct(m[who].at3, float64(n))
	}
	counts := map[string]int{}
	for _, q := range qs {
		counts[q.Who]++
	}
	rows := [][]string{{"measure", "laws search", "anchor", "ratio", "target", ""}}
	rows = append(rows,
		[]string{fmt.Sprintf("top-3 hit rate, %d questions", len(qs)), pct(ours.at3, total), fmt.Sprintf("%s (whole question) / %s (all word groups)", pct(wholeS.at3, total), pct(wordsS.at3, total)),
			ratioText(ours.at3, max(wholeS.at3, wordsS.at3)), "well above the anchor", ok(ours.at3 > 2*max(wholeS.at3, wordsS.at3))},
		[]string{"top-1 / top-10 hit rate, MRR", fmt.Sprintf("%s / %s, %.2f", pct(ours.at1, total), pct(ours.at10, total), ours.rr/total),
			fmt.Sprintf("%s / %s, %.2f (word groups)", pct(wordsS.at1, total), pct(wordsS.at10, total), wordsS.rr/total), "", "", ""},
		[]string{fmt.Sprintf("top-3 by asker: 消费者 %d / 企业 %d / 执法人员 %d", counts["消费者"], counts["企业"], counts["执法人员"]),
			per(oursPer, "消费者", counts["消费者"]) + " / " + per(oursPer, "企业", counts["企业"]) + " / " + per(oursPer, "执法人员", counts["执法人员"]),
			per(wordsPer, "消费者", counts["消费者"]) + " / " + per(wordsPer, "企业", counts["企业"]) + " / " + per(wordsPer, "执法人员", counts["执法人员"]), "", "", ""},
		[]string{fmt.Sprintf("in-force version above the amended one, %d articles with the same text in both", tried),
			fmt.Sprintf("%d/%d", oursFirst, tried), fmt.Sprintf("%d/%d (newest first)", anchorFirst, tried), "", "all", ok(oursFirst == tried)},
		[]string{fmt.Sprintf("latency over all %d articles, %d queries (p50 / p95 / p99)", articles, len(queries)),
			fmt.Sprintf("%s / %s / %s", oursLat[0], oursLat[1], oursLat[2]), fmt.Sprintf("%s / %s / %s (ILIKE, %d queries)", anchorLat[0], anchorLat[1], anchorLat[2], min(200, len(queries))),
			fmt.Sprintf("%.2f× the anchor's p95", float64(oursLat[1])/float64(max(1, anchorLat[1]))), "p95 < 50 ms", ok(oursLat[1] < 50*time.Millisecond)},
	)
	intro := fmt.Sprintf("`go run ./tests/bench/lawsearch` (%s): the shipped corpus, %d documents and %d articles, imported in %s and indexed in %s "+
		"(Bleve, BM25, CJK bigrams; reopening the stored index takes milliseconds). Questions: tests/bench/lawsearch/questions.json, written for this "+
		"benchmark with the article that answers each; the anchors search the same articles in PostgreSQL by plain substring (ILIKE), newest document first. "+
		"Every query runs in-process, one at a time, on the shared 2-core machine.", time.Now().Format("2006-01-02"), docs, articles,
		importTook.Round(time.Second), indexTook.Round(time.Second))
	if len(misses) > 0 {
		intro += "\n\nQuestions not answered in the top 3:\n\n- " + strings.Join(misses, "\n- ")
	}
	return report.Write(*out, "laws", report.Section{Title: "Law search (laws, issue 13)", Intro: intro, Rows: rows})
}

// ratioText is ours against the better anchor; an anchor that finds
// nothing has no ratio.
func ratioText(ours, anchor float64) string {
	if anchor == 0 {
		return fmt.Sprintf("the anchors answer none; %.0f answered", ours)
	}
	return fmt.Sprintf("%.1f× the better anchor", ours/anchor)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func familyOf(short string) string {
	return strings.NewReplacer("(", "（", ")", "）", " ", "").Replace(short)
}

// fillers are the question words the word-group anchor drops.
var fillers = []string{"是不是", "有没有", "能不能", "可不可以", "要不要", "怎么办", "为什么", "请问", "怎么", "如何", "什么", "哪些", "是否", "可以", "吗", "呢", "吧", "的", "了"}

func wordGroups(q string) []string {
	for _, p := range []string{"，", "。", "？", "?", "！", "、", "；", " ", ",", "“", "”"} {
		q = strings.ReplaceAll(q, p, " ")
	}
	for _, f := range fillers {
		q = strings.ReplaceAll(q, f, " ")
	}
	return strings.Fields(q)
}

// substring is the anchor: articles containing every term, newest first.
func substring(ctx context.Context, pool *pgxpool.Pool, terms []string, k int) ([]hit, error) {
	var w store.Where
	for _, t := range terms {
		w.Add("array_to_string(a.paragraphs, '') ILIKE ?", store.Contains(t))
	}
	rows, err := pool.Query(ctx, `SELECT d.family, a.label, d.status, d.id FROM laws.articles a JOIN laws.documents d ON d.id = a.document_id`+
		w.SQL()+` ORDER BY d.published_on DESC NULLS LAST, a.document_id, a.seq LIMIT `+w.Next(k), w.Args()...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (hit, error) {
		var h hit
		return h, r.Scan(&h.family, &h.label, &h.status, &h.doc)
	})
}

type pair struct {
	family, query    string
	current, amended int64
}

// sameTextPairs are articles with the same text in an amended version and
// the current one of the same law.
func sameTextPairs(ctx context.Context, pool *pgxpool.Pool) ([]pair, error) {
	rows, err := pool.Query(ctx, `SELECT c.family, c.short_title || ' ' || substr(array_to_string(ca.paragraphs, ''), 1, 24), c.id, o.id
		FROM laws.documents c JOIN laws.documents o ON o.family = c.family AND o.status = '已修改'
		JOIN laws.articles ca ON ca.document_id = c.id JOIN laws.articles oa ON oa.document_id = o.id AND oa.number = ca.number
		WHERE c.status = '现行有效' AND ca.number > 0 AND ca.paragraphs = oa.paragraphs AND length(array_to_string(ca.paragraphs, '')) >= 30
		ORDER BY md5(c.id::text || ca.seq::text) LIMIT 300`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		return p, r.Scan(&p.family, &p.query, &p.current, &p.amended)
	})
}

// latencyQueries are the questions and phrases cut from random articles.
func latencyQueries(ctx context.Context, pool *pgxpool.Pool, qs []question, n int) ([]string, error) {
	var out []string
	for _, q := range qs {
		out = append(out, q.Q)
	}
	rows, err := pool.Query(ctx, `SELECT array_to_string(paragraphs, '') FROM laws.articles TABLESAMPLE SYSTEM (5) REPEATABLE (7) LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, t := range texts {
		rs := []rune(t)
		if len(rs) < 12 {
			continue
		}
		l := 4 + r.IntN(9)
		s := r.IntN(len(rs) - l + 1)
		out = append(out, string(rs[s:s+l]))
		if len(out) >= n {
			break
		}
	}
	return out, nil
}

// timeAll runs each query once and returns p50, p95, p99.
func timeAll(qs []string, f func(string) error) ([3]time.Duration, error) {
	var ds []time.Duration
	for _, q := range qs {
		t := time.Now()
		if err := f(q); err != nil && !strings.Contains(err.Error(), "请输入") {
			return [3]time.Duration{}, err
		}
		ds = append(ds, time.Since(t))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) time.Duration {
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(100 * time.Microsecond)
	}
	return [3]time.Duration{at(0.5), at(0.95), at(0.99)}, nil
}
