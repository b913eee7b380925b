package laws

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Article is one unit of a document's text: an article (条) with its
// paragraphs (款, each keeping its items 项), or, in a text without
// articles (a case, a notice), one headed section.
type Article struct {
	Seq        int      `json:"seq"`              // order in the document, from 1
	Number     int      `json:"number,omitempty"` // 第九条 → 9; 0 for a section without a number
	Label      string   `json:"label"`            // 第九条, 第十条之一, 序言, 基本案情
	Part       string   `json:"part,omitempty"`   // 编 (and 分编), e.g. 第三编 合同
	Chapter    string   `json:"chapter,omitempty"`
	Section    string   `json:"section,omitempty"`
	Paragraphs []string `json:"paragraphs"`
}

// Text is the article as one string: its label and its paragraphs.
func (a Article) Text() string {
	return a.Label + " " + strings.Join(a.Paragraphs, "\n")
}

// Event is one line of a document's history: when it was passed,
// published, amended, revised or brought into force, and by whom.
type Event struct {
	Date string `json:"date"` // YYYY-MM-DD
	Kind string `json:"kind"` // 通过, 公布, 修正, 修订, 施行, 发布, 废止, 其他
	Text string `json:"text"`
}

// Parsed is a document's text as the corpus (or an editor) writes it.
type Parsed struct {
	Title    string
	History  []Event
	Notes    []string // the other lines before the text (a covering notice, a signer)
	Articles []Article
}

const infoEnd = "<!-- INFO END -->"

var (
	reArticle = regexp.MustCompile(`^第([零〇一二三四五六七八九十百千两0-9]+)条(之[一二三四五六七八九十]+)?(?:[\s\x{3000}]+|$)`)
	reHeading = regexp.MustCompile(`^第([零〇一二三四五六七八九十百千两0-9]+)(编|分编|章|节)(?:[\s\x{3000}]+|$)`)
	// A line that starts like a date must be one the parser reads.
	reDateLike = regexp.MustCompile(`^([0-9]{4}\s*[年/.\-]|[零〇一二三四五六七八九]{4}年)`)
	reDateCN   = regexp.MustCompile(`^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日`)
	reDateISO  = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:\s|$)`)
	reDateHan  = regexp.MustCompile(`^([零〇一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日`)
	reItem     = regexp.MustCompile(`^[（(][一二三四五六七八九十]+[）)]`)
)

// DateError is a date the parser cannot read.
type DateError struct{ Value string }

func (e *DateError) Error() string {
	return fmt.Sprintf("无法识别的日期格式“%s”（应为 YYYY-MM-DD 或 YYYY年M月D日）", clip(e.Value, 30))
}

// ParseText reads a document in the corpus's Markdown: "# 标题", history
// lines, "<!-- INFO END -->", then the text with 编/章/节 headings and
// 第N条 articles. A text without the marker is read as text only.
func ParseText(src string) (Parsed, error) {
	var p Parsed
	if !utf8.ValidString(src) {
		return p, fmt.Errorf("文件不是有效的 UTF-8 文本")
	}
	src = strings.ReplaceAll(strings.TrimPrefix(src, "\ufeff"), "\r\n", "\n")
	head, body, ok := strings.Cut(src, infoEnd)
	if !ok {
		head, body = "", src
		// The title may still open the text.
		if t, rest, found := strings.Cut(body, "\n"); found && strings.HasPrefix(t, "# ") {
			head, body = t, rest
		}
	}
	if err := p.readHead(head); err != nil {
		return p, err
	}
	p.Articles = splitArticles(body)
	if p.Title == "" {
		return p, fmt.Errorf("缺少标题（第一行应为“# 标题”）")
	}
	if len(p.Articles) == 0 {
		return p, fmt.Errorf("没有正文")
	}
	return p, nil
}

func (p *Parsed) readHead(head string) error {
	var titles []string
	for _, raw := range strings.Split(head, "\n") {
		l := strings.TrimSpace(strings.Trim(raw, "\u3000"))
		if l == "" {
			continue
		}
		if t, ok := strings.CutPrefix(l, "# "); ok {
			titles = append(titles, strings.TrimSpace(t))
			continue
		}
		if reDateLike.MatchString(l) || reDateHan.MatchString(l) {
			d, rest, err := leadingDate(l)
			if err != nil {
				return err
			}
			p.History = append(p.History, Event{Date: d, Kind: eventKind(rest), Text: strings.TrimSpace(rest)})
			continue
		}
		// A line continuing the previous history line (a long decision
		// title wrapped by the source), or a note.
		if n := len(p.History); n > 0 && (strings.HasPrefix(l, "〈") || strings.HasPrefix(l, "<") || strings.HasPrefix(l, "第")) && !strings.HasSuffix(p.History[n-1].Text, "修正") {
			p.History[n-1].Text += l
			p.History[n-1].Kind = eventKind(p.History[n-1].Text)
			continue
		}
		p.Notes = append(p.Notes, l)
	}
	p.Title = strings.Join(titles, "·")
	return nil
}

// leadingDate reads the date opening a history line.
func leadingDate(l string) (date, rest string, err error) {
	if m := reDateCN.FindStringSubmatch(l); m != nil {
		d, err := ymd(m[1], m[2], m[3], l)
		return d, l[len(m[0]):], err
	}
	if m := reDateISO.FindStringSubmatch(l); m != nil {
		d, err := ymd(m[1], m[2], m[3], l)
		return d, l[len(m[0]):], err
	}
	if m := reDateHan.FindStringSubmatch(l); m != nil {
		y := ""
		for _, r := range m[1] {
			y += strconv.Itoa(hanDigit(r))
		}
		mo, _ := hanNumber(m[2])
		da, _ := hanNumber(m[3])
		d, err := ymd(y, strconv.Itoa(mo), strconv.Itoa(da), l)
		return d, l[len(m[0]):], err
	}
	return "", "", &DateError{Value: l}
}

func ymd(y, m, d, raw string) (string, error) {
	yi, _ := strconv.Atoi(y)
	mi, _ := strconv.Atoi(m)
	di, _ := strconv.Atoi(d)
	t := time.Date(yi, time.Month(mi), di, 0, 0, 0, 0, time.UTC)
	if yi < 1900 || yi > 2200 || t.Month() != time.Month(mi) || t.Day() != di {
		return "", &DateError{Value: raw}
	}
	return t.Format(time.DateOnly), nil
}

// ParseDate reads a metadata date: "" (none), YYYY-MM-DD or YYYY年M月D日;
// anything else is a DateError.
func ParseDate(s string) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return &t, nil
	}
	if m := reDateCN.FindStringSubmatch(s); m != nil && len(m[0]) == len(s) {
		d, err := ymd(m[1], m[2], m[3], s)
		if err != nil {
			return nil, err
		}
		t, _ := time.Parse(time.DateOnly, d)
		return &t, nil
	}
	return nil, &DateError{Value: s}
}

func eventKind(s string) string {
	for _, k := range []string{"废止", "修正", "修订", "施行", "执行", "通过", "公布", "发布", "批准", "印发"} {
		if strings.Contains(s, k) {
			switch k {
			case "执行":
				return "施行"
			case "批准", "印发":
				return "发布"
			}
			return k
		}
	}
	return "其他"
}

// splitArticles cuts the text into articles under their headings.
func splitArticles(body string) []Article {
	var (
		out                 []Article
		book, part, chapter string
		section             string
		cur                 *Article
		loose               []string // text outside any article
		looseLabel          string
	)
	flushLoose := func() {
		if len(loose) > 0 {
			label := looseLabel
			if label == "" {
				label = "正文"
				if len(out) == 0 {
					label = "序言"
				}
			}
			out = append(out, Article{Label: label, Part: part, Chapter: chapter, Section: section, Paragraphs: loose})
		}
		loose, looseLabel = nil, ""
	}
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	for _, raw := range strings.Split(body, "\n") {
		l := strings.TrimSpace(strings.Trim(raw, "\u3000"))
		if l == "" || l == "---" {
			continue
		}
		// A heading: "## 第一章 总则", or typed bare in the console.
		bare := !strings.HasPrefix(l, "#") && reHeading.MatchString(l) && utf8.RuneCountInString(l) <= 30
		if strings.HasPrefix(l, "#") || bare {
			h := strings.TrimSpace(strings.TrimLeft(l, "#"))
			h = strings.Join(strings.Fields(h), " ")
			flush()
			flushLoose()
			if m := reHeading.FindStringSubmatch(h); m != nil {
				switch m[2] {
				case "编":
					book, part, chapter, section = h, h, "", ""
				case "分编":
					part, chapter, section = strings.TrimSpace(book+" "+h), "", ""
				case "章":
					chapter, section = h, ""
				case "节":
					section = h
				}
				continue
			}
			// Another heading (一、总则 / 基本案情): a chapter-level
			// heading in a text with articles, a section label otherwise.
			chapter, section, looseLabel = h, "", h
			continue
		}
		if m := reArticle.FindStringSubmatch(l); m != nil {
			flush()
			flushLoose()
			n, _ := hanNumber(m[1])
			label := "第" + m[1] + "条" + m[2]
			rest := strings.TrimSpace(strings.Trim(l[len(m[0]):], "\u3000"))
			cur = &Article{Number: n, Label: label, Part: part, Chapter: chapter, Section: section}
			if rest != "" {
				cur.Paragraphs = append(cur.Paragraphs, rest)
			}
			continue
		}
		if cur != nil {
			// An item (项) belongs to the paragraph (款) it lists under.
			if reItem.MatchString(l) && len(cur.Paragraphs) > 0 {
				cur.Paragraphs[len(cur.Paragraphs)-1] += "\n" + l
			} else {
				cur.Paragraphs = append(cur.Paragraphs, l)
			}
			continue
		}
		loose = append(loose, l)
	}
	flush()
	flushLoose()
	for i := range out {
		out[i].Seq = i + 1
		if out[i].Paragraphs == nil {
			out[i].Paragraphs = []string{}
		}
	}
	return out
}

func hanDigit(r rune) int {
	switch r {
	case '零', '〇':
		return 0
	case '一':
		return 1
	case '二', '两':
		return 2
	case '三':
		return 3
	case '四':
		return 4
	case '五':
		return 5
	case '六':
		return 6
	case '七':
		return 7
	case '八':
		return 8
	case '九':
		return 9
	}
	return -1
}

// hanNumber reads 九, 十二, 一百零五, 一千一百六十五 or 105.
func hanNumber(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	total, cur := 0, 0
	for _, r := range s {
		switch r {
		case '十', '百', '千':
			unit := map[rune]int{'十': 10, '百': 100, '千': 1000}[r]
			if cur == 0 {
				cur = 1
			}
			total += cur * unit
			cur = 0
		default:
			d := hanDigit(r)
			if d < 0 {
				return 0, false
			}
			cur = d
		}
	}
	return total + cur, s != ""
}

// hanLabel writes n as the article label's numeral: 9 → 九, 165 → 一百六十五.
func hanLabel(n int) string {
	digits := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}
	if n <= 0 {
		return ""
	}
	var b strings.Builder
	units := []struct {
		v int
		s string
	}{{1000, "千"}, {100, "百"}, {10, "十"}}
	zero := false
	started := false
	for _, u := range units {
		d := n / u.v
		n %= u.v
		switch {
		case d > 0:
			if zero {
				b.WriteString("零")
				zero = false
			}
			if !(u.v == 10 && d == 1 && !started) {
				b.WriteString(digits[d])
			}
			b.WriteString(u.s)
			started = true
		case started:
			zero = true
		}
	}
	if n > 0 {
		if zero {
			b.WriteString("零")
		}
		b.WriteString(digits[n])
	}
	return b.String()
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
