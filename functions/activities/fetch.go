package activities

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Extracted is what an import read from a page.
type Extracted struct {
	URL        string            `json:"url"`
	Title      string            `json:"title"`
	SiteName   string            `json:"site_name"`
	Published  string            `json:"published"`
	Paragraphs []string          `json:"paragraphs"`
	Images     []string          `json:"images"`
	Fields     map[string]string `json:"fields"` // the labelled lines found: 活动时间, 活动地点, …
}

// ImportResult is the draft made from a page, for a person to review.
type ImportResult struct {
	Activity  Activity  `json:"activity"`
	Extracted Extracted `json:"extracted"`
	Warnings  []string  `json:"warnings"`
}

const maxPage = 5 << 20
const maxImage = 5 << 20

// Import fetches a page of the bureau's website or an official-account
// article, extracts its main text, images and the activity's particulars,
// and stores a draft with the images in object storage (FP-76). Nothing is
// public until a person reviews and publishes it.
func (f *Function) Import(ctx context.Context, who Actor, raw string) (ImportResult, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ImportResult{}, errs.Fields([]errs.FieldError{{Field: "url", Message: "请填写以 http(s):// 开头的网址"}})
	}
	if !f.allowed(u.String()) {
		return ImportResult{}, errs.Fields([]errs.FieldError{{Field: "url", Message: "只能从市局网站或官方公众号文章导入（" + strings.Join(f.cfg.allow(), "、") + "）"}})
	}
	body, ct, err := f.fetch(ctx, u.String(), maxPage)
	if err != nil {
		return ImportResult{}, err
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "text/html" && mt != "application/xhtml+xml" {
		return ImportResult{}, errs.New(errs.Invalid, "该网址不是网页（"+clip(ct, 40)+"）")
	}
	ex, err := Extract(u, body)
	if err != nil {
		return ImportResult{}, err
	}
	in, warnings := ex.draft(f.now())
	res := ImportResult{Extracted: ex, Warnings: warnings}
	if res.Activity, err = f.createDraft(ctx, who, in, u.String()); err != nil {
		return ImportResult{}, err
	}
	// The images, into object storage; one that cannot be had is a
	// warning, not a failed import.
	var photos []Photo
	for i, img := range ex.Images {
		if i >= f.cfg.MaxImages {
			res.Warnings = append(res.Warnings, fmt.Sprintf("图片超过 %d 张，其余未保存", f.cfg.MaxImages))
			break
		}
		if !f.allowed(img) {
			res.Warnings = append(res.Warnings, "图片不在允许的地址范围内，未保存："+clip(img, 80))
			continue
		}
		b, ct, err := f.fetch(ctx, img, maxImage)
		mt, _, _ := mime.ParseMediaType(ct)
		if err != nil || !strings.HasPrefix(mt, "image/") {
			res.Warnings = append(res.Warnings, "图片下载失败："+clip(img, 80))
			continue
		}
		key := fmt.Sprintf("activities/%d/imported-%02d%s", res.Activity.ID, i+1, imageExt(mt))
		if _, err := f.blob.Put(ctx, key, bytes.NewReader(b), mt); err != nil {
			return res, errs.Wrap(errs.Unavailable, "图片保存失败，请稍后重试", err)
		}
		photos = append(photos, Photo{Key: key, Caption: "导入自原文第 " + strconv.Itoa(i+1) + " 张图片"})
	}
	if len(photos) > 0 {
		err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE activities.activities SET photos = $2 WHERE id = $1`, res.Activity.ID, jsonArg(photos))
			return store.Classify(err)
		})
		if err != nil {
			return res, err
		}
		if res.Activity, err = getActivity(ctx, f.pool, res.Activity.ID, false); err != nil {
			return res, err
		}
	}
	if res.Warnings == nil {
		res.Warnings = []string{}
	}
	return res, nil
}

func imageExt(mt string) string {
	switch mt {
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ".jpg"
}

func (f *Function) fetch(ctx context.Context, u string, limit int64) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", errs.Wrap(errs.Invalid, "网址无效", err)
	}
	req.Header.Set("User-Agent", "SmartReg-Activities/1.0 (+石家庄市市场监督管理局)")
	resp, err := f.hc.Do(req)
	if err != nil {
		return nil, "", errs.Wrap(errs.Unavailable, "无法打开该网址，请稍后重试", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return nil, "", errs.New(errs.Invalid, "该网址的页面不存在")
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", errs.Wrap(errs.Unavailable, fmt.Sprintf("网站暂时无法访问（HTTP %d），请稍后重试", resp.StatusCode), fmt.Errorf("GET %s: %s", u, resp.Status))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", errs.Wrap(errs.Unavailable, "读取页面失败", err)
	}
	if int64(len(b)) > limit {
		return nil, "", errs.New(errs.Invalid, "页面或图片过大")
	}
	return b, resp.Header.Get("Content-Type"), nil
}

// Extract reads an article page: the WeChat layout (#activity-name,
// #js_name, #js_content), the government CMS layout (#zoom, .article), or
// any page by the densest block of paragraphs.
func Extract(base *url.URL, page []byte) (Extracted, error) {
	if !utf8.Valid(page) {
		return Extracted{}, errs.New(errs.Invalid, "页面不是 UTF-8 编码，无法导入")
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return Extracted{}, errs.Wrap(errs.Invalid, "页面无法解析", err)
	}
	ex := Extracted{URL: base.String(), Fields: map[string]string{}, Paragraphs: []string{}, Images: []string{}}
	meta := map[string]string{}
	var titleTag, h1 string
	var byID = map[string]*html.Node{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if id := attr(n, "id"); id != "" {
				byID[id] = n
			}
			switch n.DataAtom {
			case atom.Meta:
				if k := attr(n, "property") + attr(n, "name"); k != "" {
					meta[k] = attr(n, "content")
				}
			case atom.Title:
				titleTag = textOf(n)
			case atom.H1:
				if h1 == "" {
					h1 = textOf(n)
				}
			case atom.Script, atom.Style:
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	switch {
	case byID["activity-name"] != nil:
		ex.Title = textOf(byID["activity-name"])
	case meta["og:title"] != "":
		ex.Title = meta["og:title"]
	case meta["ArticleTitle"] != "":
		ex.Title = meta["ArticleTitle"]
	case h1 != "":
		ex.Title = h1
	default:
		ex.Title, _, _ = strings.Cut(titleTag, "_")
	}
	ex.Title = strings.TrimSpace(ex.Title)
	if n := byID["js_name"]; n != nil {
		ex.SiteName = textOf(n)
	} else if s := meta["og:site_name"]; s != "" {
		ex.SiteName = s
	} else if _, s, ok := strings.Cut(titleTag, "_"); ok {
		ex.SiteName = strings.TrimSpace(s)
	}
	if n := byID["publish_time"]; n != nil {
		ex.Published = textOf(n)
	} else {
		ex.Published = meta["PubDate"]
	}
	main := byID["js_content"]
	if main == nil {
		main = byID["zoom"]
	}
	if main == nil {
		main = densest(doc)
	}
	if main == nil {
		return ex, errs.New(errs.Invalid, "页面中没有找到正文")
	}
	collect(main, base, &ex)
	if ex.Title == "" || len(ex.Paragraphs) == 0 {
		return ex, errs.New(errs.Invalid, "页面中没有找到标题或正文")
	}
	for _, p := range ex.Paragraphs {
		for _, l := range labels {
			if m := l.re.FindStringSubmatch(p); m != nil && ex.Fields[l.key] == "" {
				ex.Fields[l.key] = strings.TrimSpace(m[1])
			}
		}
	}
	return ex, nil
}

var labels = []struct {
	key string
	re  *regexp.Regexp
}{
	{"theme", regexp.MustCompile(`^(?:活动主题|主题)[:：]\s*(.+)$`)},
	{"time", regexp.MustCompile(`^(?:活动时间|时间)[:：]\s*(.+)$`)},
	{"place", regexp.MustCompile(`^(?:活动地点|地点)[:：]\s*(.+)$`)},
	{"organiser", regexp.MustCompile(`^(?:主办单位|主办|组织单位|举办单位)[:：]\s*(.+)$`)},
	{"how_to_join", regexp.MustCompile(`^(?:报名方式|参与方式|参加方式|报名办法)[:：]\s*(.+)$`)},
}

var (
	reWhen     = regexp.MustCompile(`(\d{4})年(\d{1,2})月(\d{1,2})日\D{0,6}(\d{1,2})[:：](\d{2})(?:\s*[-—–~～至到]+\s*(\d{1,2})[:：](\d{2}))?`)
	reWhenDay  = regexp.MustCompile(`(\d{4})年(\d{1,2})月(\d{1,2})日()()()()`)
	reCapacity = regexp.MustCompile(`(?:名额|限额|限|共)\s*(\d{1,5})\s*(?:人|名)`)
)

// draft turns what was read into an activity draft, and says what the
// reviewer must check.
func (ex Extracted) draft(now time.Time) (ActivityInput, []string) {
	var warn []string
	in := ActivityInput{Theme: ex.Title, Description: strings.Join(ex.Paragraphs, "\n"), Organiser: ex.Fields["organiser"],
		Place: ex.Fields["place"], HowToJoin: ex.Fields["how_to_join"]}
	if t := ex.Fields["theme"]; t != "" && utf8.RuneCountInString(ex.Title) > 60 {
		in.Theme = t
	}
	if in.Organiser == "" {
		in.Organiser = ex.SiteName
		warn = append(warn, "未找到“主办单位”，暂用来源（"+ex.SiteName+"），请核实")
	}
	if in.Organiser == "" {
		in.Organiser = "待填写"
	}
	if in.Place == "" {
		in.Place = "待填写"
		warn = append(warn, "未找到“活动地点”，请填写")
	}
	start, end, ok := parseWhen(ex.Fields["time"])
	if !ok {
		start, end, ok = parseWhen(in.Description)
	}
	if !ok {
		d := now.In(beijing).AddDate(0, 0, 7)
		start = time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, beijing)
		end = start.Add(2 * time.Hour)
		warn = append(warn, "未识别活动时间，暂定为一周后 9:00，请修改")
	}
	in.StartsAt, in.EndsAt = start, end
	if m := reCapacity.FindStringSubmatch(in.HowToJoin + " " + in.Description); m != nil {
		in.Capacity, _ = strconv.Atoi(m[1])
		in.Waitlist = max(5, in.Capacity/5)
	} else {
		warn = append(warn, "未识别报名名额，暂不开放报名（名额 0），请按需填写")
	}
	in.Theme = clip(in.Theme, 200)
	in.Place = clip(in.Place, 200)
	in.Organiser = clip(in.Organiser, 100)
	in.HowToJoin = clip(in.HowToJoin, 2000)
	in.Description = clip(in.Description, 20000)
	return in, warn
}

func parseWhen(s string) (time.Time, time.Time, bool) {
	m := reWhen.FindStringSubmatch(s)
	if m == nil {
		m = reWhenDay.FindStringSubmatch(s)
	}
	if m == nil {
		return time.Time{}, time.Time{}, false
	}
	n := func(i int, def int) int {
		if m[i] == "" {
			return def
		}
		v, _ := strconv.Atoi(m[i])
		return v
	}
	y, mo, d := n(1, 0), n(2, 1), n(3, 1)
	start := time.Date(y, time.Month(mo), d, n(4, 9), n(5, 0), 0, 0, beijing)
	end := time.Date(y, time.Month(mo), d, n(6, n(4, 9)+2), n(7, 0), 0, 0, beijing)
	if end.Before(start) {
		end = start.Add(2 * time.Hour)
	}
	return start, end, true
}

func attr(n *html.Node, k string) string {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && (n.DataAtom == atom.Script || n.DataAtom == atom.Style) {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(strings.ReplaceAll(b.String(), "\u00a0", " ")), " ")
}

// densest is the element whose paragraphs hold the most text (the
// readability heuristic: each paragraph scores its parent, half its
// grandparent).
func densest(doc *html.Node) *html.Node {
	score := map[*html.Node]int{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.P {
			if l := utf8.RuneCountInString(textOf(n)); l >= 10 && n.Parent != nil {
				score[n.Parent] += l
				if n.Parent.Parent != nil {
					score[n.Parent.Parent] += l / 2
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	var best *html.Node
	for n, s := range score {
		if best == nil || s > score[best] {
			best = n
		}
	}
	return best
}

// collect takes the block texts and images of the main element in order.
func collect(n *html.Node, base *url.URL, ex *Extracted) {
	seen := map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		switch n.DataAtom {
		case atom.Script, atom.Style:
			return
		case atom.Img:
			src := attr(n, "data-src")
			if src == "" {
				src = attr(n, "src")
			}
			if ref, err := url.Parse(src); err == nil && src != "" && !strings.HasPrefix(src, "data:") {
				abs := base.ResolveReference(ref).String()
				if !seen[abs] {
					seen[abs] = true
					ex.Images = append(ex.Images, abs)
				}
			}
			return
		case atom.P, atom.H2, atom.H3, atom.H4, atom.Li:
			if t := textOf(n); t != "" {
				ex.Paragraphs = append(ex.Paragraphs, t)
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode {
					collectImages(c, base, ex, seen)
				}
			}
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
}

func collectImages(n *html.Node, base *url.URL, ex *Extracted, seen map[string]bool) {
	if n.Type == html.ElementNode && n.DataAtom == atom.Img {
		src := attr(n, "data-src")
		if src == "" {
			src = attr(n, "src")
		}
		if ref, err := url.Parse(src); err == nil && src != "" && !strings.HasPrefix(src, "data:") {
			abs := base.ResolveReference(ref).String()
			if !seen[abs] {
				seen[abs] = true
				ex.Images = append(ex.Images, abs)
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		collectImages(c, base, ex, seen)
	}
}
