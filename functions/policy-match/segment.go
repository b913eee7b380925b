package policymatch

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-ego/gse"
)

// zhDict is gse's simplified-Chinese dictionary (data/dict/zh/s_1.txt of
// github.com/go-ego/gse v0.80.3, Apache-2.0, dict/GSE-LICENSE) cut to the
// 68 000 words seen at least 30 times: it loads in a quarter of a second
// instead of six, which matters for a function that scales from zero, and
// segments policy titles, issuers and business scopes as well as the full
// one (segment_test.go holds examples).
//
//go:embed dict/zh_s.txt
var zhDict string

// domainWords are terms the rules match that the general dictionary splits
// (专精特新 → 专精特 新) or lacks; they are added with a high frequency so
// the segmenter keeps them whole.
var domainWords = []string{
	"专精特新", "小巨人", "小微企业", "个体工商户", "小规模纳税人", "高新技术企业", "科技型中小企业", "瞪羚企业",
	"研发费用", "加计扣除", "留抵退税", "增值税", "企业所得税", "社会保险费", "稳岗返还", "以工代训", "创业担保贷款",
	"首台套", "技术改造", "数字化转型", "专利", "知识产权", "质量强市", "标准化", "品牌", "消费券", "以旧换新",
	"政府采购", "融资担保", "贷款贴息", "普惠金融", "中小微企业", "经营异常名录", "严重违法失信", "营商环境",
	"国家税务总局", "财政部", "人力资源社会保障部", "工业和信息化部", "市场监管总局", "商务部", "科技部",
	"农业农村部", "国家发展改革委", "中国人民银行", "国家金融监督管理总局", "国务院办公厅", "国务院",
	"河北省人民政府", "石家庄市人民政府", "申报条件", "申报材料", "申报时间", "申报方式",
}

// Segmenter cuts Chinese text into words (gse, dictionary above). Loading
// the dictionary takes a quarter of a second, so it is done once, on
// first use, and shared by every request.
type Segmenter struct {
	once sync.Once
	seg  gse.Segmenter
	err  error
}

func (s *Segmenter) load() {
	s.once.Do(func() {
		s.seg.SkipLog = true
		var b strings.Builder
		b.Grow(len(zhDict) + 40*len(domainWords))
		b.WriteString(zhDict)
		for _, w := range slices.Concat(domainWords, rulesTerms(), lexiconWords()) {
			fmt.Fprintf(&b, "\n%s 100000 n", w)
		}
		s.err = s.seg.LoadDictStr(b.String())
	})
}

// Words returns the words of text in order, without punctuation, spaces
// and single non-Han characters.
func (s *Segmenter) Words(text string) []string {
	s.load()
	if s.err != nil {
		// The embedded dictionary is fixed at build time; a failure here
		// is a build defect, and the tests load it.
		panic("policy-match: load dictionary: " + s.err.Error())
	}
	raw := s.seg.Cut(text, true)
	out := raw[:0]
	for _, w := range raw {
		w = strings.TrimSpace(w)
		if w == "" || !wordLike(w) {
			continue
		}
		out = append(out, w)
	}
	return out
}

// wordLike keeps Han words and alphanumeric tokens; punctuation goes.
func wordLike(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.Is(unicode.Han, r) || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// SearchWords are the words of text in search mode: each word and the
// shorter words inside it (蔬菜种植 and 蔬菜, 种植), without punctuation.
func (s *Segmenter) SearchWords(text string) []string {
	s.load()
	var out []string
	for _, w := range s.seg.CutSearch(text, true) {
		if w = strings.TrimSpace(w); w != "" && wordLike(w) {
			out = append(out, w)
		}
	}
	return out
}

// termSet is a text's words, for rules that test whether a term occurs as
// a word (not as a substring: 消费 in 消费税 is a tax, not consumption).
type termSet map[string]bool

func (s *Segmenter) terms(text string) termSet {
	ts := termSet{}
	// Search mode also yields the words inside a longer one (中小企业 in
	// 科技型中小企业), so a rule's term is found wherever it stands.
	for _, w := range s.SearchWords(text) {
		ts[w] = true
	}
	return ts
}

// hits returns the terms of list present in ts, in list order.
func (ts termSet) hits(list []string) []string {
	var out []string
	for _, t := range list {
		if ts[t] {
			out = append(out, t)
		}
	}
	return out
}
