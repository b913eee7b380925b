package laws

import (
	_ "embed"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// builtinAliases are the abbreviations readers use for laws (FP-70): the
// short forms of lawyers' and inspectors' speech. Each line is
// "简称 全称…"; an alias whose law is not in the library is ignored.
//
//go:embed aliases.txt
var builtinAliases string

// synonymsText maps everyday words to the words the law uses (网购 →
// 网络购买, 七天 → 七日, 商家 → 经营者), so a question in plain speech
// finds the article; one "口语 法言法语…" per line.
//
//go:embed synonyms.txt
var synonymsText string

func parsePairs(text string) map[string][]string {
	out := map[string][]string{}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		out[f[0]] = append(out[f[0]], f[1:]...)
	}
	return out
}

// fillers are the question words of plain speech; they split a question
// into the phrases worth searching. Longest first.
var fillers = []string{"是不是", "有没有", "能不能", "可不可以", "会不会", "要不要", "怎么办", "怎么样", "为什么", "什么样",
	"请问", "怎么", "如何", "什么", "哪些", "哪个", "是否", "可以", "能否", "应该", "应当", "需要", "一下", "我们", "他们",
	"的话", "时候", "情况", "多少", "多久", "规定", "法律", "哪里", "谁来", "我的", "我", "你", "他", "她", "吗", "呢", "吧",
	"啊", "呀", "嘛", "么", "的", "了"}

var reArticleRef = regexp.MustCompile(`^(.{1,60}?)第([零〇一二三四五六七八九十百千两0-9]+)条(之[一二三四五六七八九十]+)?(?:第([零〇一二三四五六七八九十0-9]+)款)?$`)

// parsedQuery is what the search makes of the reader's words; it is
// returned with the answer, so the ranking explains itself.
type parsedQuery struct {
	Text     string   `json:"text"`
	Law      string   `json:"law,omitempty"`     // the family the query names (by title or abbreviation)
	Alias    string   `json:"alias,omitempty"`   // the words that named it
	Article  string   `json:"article,omitempty"` // 第九条 in a direct lookup
	Number   int      `json:"number,omitempty"`  // 9
	Sub      string   `json:"sub,omitempty"`     // 之一
	Para     int      `json:"paragraph,omitempty"`
	Phrases  []string `json:"phrases"`            // what is searched
	Expanded []string `json:"expanded,omitempty"` // legal words added for plain ones
}

// normalize folds widths and spaces.
func normalize(s string) string {
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// lawNamer finds law names in a query.
type lawNamer struct {
	names []string          // longest first
	to    map[string]string // name → family
}

func newLawNamer(aliases map[string]string) *lawNamer {
	n := &lawNamer{to: aliases}
	for a := range aliases {
		n.names = append(n.names, a)
	}
	sort.Slice(n.names, func(i, j int) bool {
		li, lj := utf8.RuneCountInString(n.names[i]), utf8.RuneCountInString(n.names[j])
		if li != lj {
			return li > lj
		}
		return n.names[i] < n.names[j]
	})
	return n
}

// find returns the longest law name inside q (and its family).
func (n *lawNamer) find(q string) (name, family string) {
	for _, a := range n.names {
		if strings.Contains(q, a) {
			return a, n.to[a]
		}
	}
	return "", ""
}

// exact resolves a whole string naming a law.
func (n *lawNamer) exact(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "《"), "中华人民共和国"), "》")
	f, ok := n.to[s]
	return f, ok
}

// parse reads a query: a direct article reference ("广告法第九条"), a
// law named by title or abbreviation, and the phrases left to search.
func (n *lawNamer) parse(raw string, synonyms map[string][]string) parsedQuery {
	q := normalize(raw)
	pq := parsedQuery{Text: q}
	compact := strings.ReplaceAll(q, " ", "")
	if m := reArticleRef.FindStringSubmatch(compact); m != nil {
		if fam, ok := n.exact(m[1]); ok {
			num, _ := hanNumber(m[2])
			pq.Law, pq.Alias, pq.Number, pq.Sub = fam, m[1], num, m[3]
			pq.Article = "第" + hanLabel(num) + "条" + m[3]
			if m[4] != "" {
				pq.Para, _ = hanNumber(m[4])
			}
			pq.Phrases = []string{}
			return pq
		}
	}
	rest := q
	if name, fam := n.find(compact); name != "" {
		pq.Law, pq.Alias = fam, name
		rest = strings.Replace(compact, name, " ", 1)
		rest = strings.NewReplacer("《", " ", "》", " ", "中华人民共和国", " ").Replace(rest)
	}
	pq.Phrases = phrases(rest)
	for _, p := range pq.Phrases {
		for word, legal := range synonyms {
			if strings.Contains(p, word) {
				pq.Expanded = append(pq.Expanded, legal...)
			}
		}
	}
	sort.Strings(pq.Expanded)
	pq.Expanded = compactStrings(pq.Expanded)
	return pq
}

// phrases splits plain speech at punctuation and question words.
func phrases(s string) []string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return ' '
		}
		return r
	}, s)
	for _, f := range fillers {
		s = strings.ReplaceAll(s, f, " ")
	}
	out := []string{}
	for _, p := range strings.Fields(s) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// terms are the units highlighted in a hit: each phrase's CJK bigrams
// (the index's own units), and runs of letters or digits.
func terms(ps []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, p := range ps {
		rs := []rune(p)
		var latin []rune
		for i, r := range rs {
			if isCJK(r) {
				if len(latin) > 0 {
					add(strings.ToLower(string(latin)))
					latin = nil
				}
				if i+1 < len(rs) && isCJK(rs[i+1]) {
					add(string(rs[i : i+2]))
				} else if (i == 0 || !isCJK(rs[i-1])) && (i+1 == len(rs) || !isCJK(rs[i+1])) {
					add(string(r))
				}
				continue
			}
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				latin = append(latin, r)
			}
		}
		if len(latin) > 0 {
			add(strings.ToLower(string(latin)))
		}
	}
	return out
}

func isCJK(r rune) bool { return unicode.Is(unicode.Han, r) }
