package policymatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Document kinds an import accepts.
const (
	KindHTML     = "html"
	KindPDF      = "pdf"
	KindMarkdown = "markdown"
)

// MaxDocumentBytes bounds one imported document.
const MaxDocumentBytes = 20 << 20

// KindOf decides a document's kind from its name, content type and first bytes.
func KindOf(name, contentType string, data []byte) (string, error) {
	ct, _, _ := mime.ParseMediaType(contentType)
	ext := strings.ToLower(path.Ext(name))
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")) || ct == "application/pdf" || ext == ".pdf":
		return KindPDF, nil
	case ext == ".md" || ext == ".markdown" || ct == "text/markdown":
		return KindMarkdown, nil
	case ext == ".html" || ext == ".htm" || ext == ".shtml" || ct == "text/html" || ct == "application/xhtml+xml":
		return KindHTML, nil
	}
	return "", errs.New(errs.Invalid, "不支持的文件类型（"+name+"）：请上传 HTML、PDF 或 Markdown 文件")
}

// Parse reads a document of the kind into a policy input: the title, the
// number, the issuer, the dates, the conditions section and the
// application link, as government pages and documents write them.
func (f *Function) Parse(ctx context.Context, kind, name string, data []byte) (PolicyInput, error) {
	if len(data) == 0 {
		return PolicyInput{}, errs.New(errs.Invalid, "文件为空")
	}
	if len(data) > MaxDocumentBytes {
		return PolicyInput{}, errs.New(errs.Invalid, "文件超过 20MB")
	}
	switch kind {
	case KindHTML:
		if !utf8.Valid(data) {
			return PolicyInput{}, errs.New(errs.Invalid, "HTML 文件不是 UTF-8 编码")
		}
		return parseHTML(data)
	case KindMarkdown:
		if !utf8.Valid(data) {
			return PolicyInput{}, errs.New(errs.Invalid, "Markdown 文件不是 UTF-8 编码")
		}
		var buf bytes.Buffer
		if err := goldmark.Convert(data, &buf); err != nil {
			return PolicyInput{}, errs.Wrap(errs.Invalid, "无法解析 Markdown 文件", err)
		}
		return parseHTML(buf.Bytes())
	case KindPDF:
		text, err := f.pdfText(ctx, data)
		if err != nil {
			return PolicyInput{}, err
		}
		return parseText(text, "", "")
	}
	return PolicyInput{}, errs.New(errs.Invalid, "不支持的文件类型")
}

// pdfText extracts a PDF's text layer with pdftotext (poppler-utils). A
// scanned PDF without one is refused: OCR is not done here.
func (f *Function) pdfText(ctx context.Context, data []byte) (string, error) {
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return "", errs.New(errs.Invalid, "文件不是有效的 PDF（缺少 %PDF 文件头）")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.cfg.PDFToText, "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(data)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", errs.Wrap(errs.Invalid, "PDF 文件已损坏或无法读取："+firstLine(stderr.String()), err)
		}
		return "", errs.Wrap(errs.Unavailable, "PDF 文字提取程序不可用", err)
	}
	text := strings.ReplaceAll(out.String(), "\f", "\n")
	if strings.TrimSpace(text) == "" {
		return "", errs.New(errs.Invalid, "PDF 没有文字层（可能是扫描件），请上传可复制文字的 PDF")
	}
	return text, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// parseHTML takes the page's metadata (government sites publish
// ArticleTitle, PubDate, ContentSource and 发文字号 as meta tags or a
// table above the text), its main text and its application link.
func parseHTML(data []byte) (PolicyInput, error) {
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		return PolicyInput{}, errs.Wrap(errs.Invalid, "无法解析 HTML 文件", err)
	}
	meta := map[string]string{}
	var title, h1 string
	var link, linkText string
	var body strings.Builder
	var walk func(n *html.Node, skip bool)
	walk = func(n *html.Node, skip bool) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script, atom.Style, atom.Noscript, atom.Nav, atom.Footer, atom.Header:
				skip = true
			case atom.Meta:
				name := strings.ToLower(attr(n, "name"))
				if name != "" {
					meta[name] = strings.TrimSpace(attr(n, "content"))
				}
			case atom.Title:
				title, skip = textOf(n), true
			case atom.H1:
				if h1 == "" {
					h1 = textOf(n)
				}
			case atom.A:
				t := textOf(n)
				href := strings.TrimSpace(attr(n, "href"))
				if link == "" && (strings.Contains(t, "申报") || strings.Contains(t, "办理") || strings.Contains(t, "入口") || attr(n, "data-apply") != "") &&
					(strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "http://")) {
					link, linkText = href, t
				}
			}
		}
		if n.Type == html.TextNode && !skip {
			if t := strings.TrimSpace(n.Data); t != "" {
				body.WriteString(t)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, skip)
		}
		if n.Type == html.ElementNode && blockElement(n.DataAtom) && !skip {
			body.WriteString("\n")
		}
	}
	walk(doc, false)
	text := body.String()
	// The sites put the document in one container (TRS_Editor, UCAP-CONTENT,
	// zoom, article); around it are menus, the 信息公开 table and the
	// footer. When the container is there, only its text is the document.
	if c := findContent(doc); c != nil {
		body.Reset()
		walk(c, false)
		text = body.String()
	}
	head := meta["articletitle"]
	if head == "" {
		head = h1
	}
	if head == "" {
		head = title
	}
	in, err := parseText(text, head, meta["contentsource"])
	if err != nil {
		return in, err
	}
	if v := meta["pubdate"]; v != "" && !in.PublishedOn.Valid {
		if len(v) > 10 {
			v = v[:10]
		}
		d, err := parseDate(v)
		if err != nil {
			return in, err
		}
		in.PublishedOn = d
	}
	if v := meta["filenumber"]; v != "" {
		in.DocNo = v
	}
	if link != "" {
		in.ApplyURL = link
		if in.ApplyPlatform == "" {
			in.ApplyPlatform = linkText
		}
	}
	return in, nil
}

// findContent is the element holding a government page's document text.
func findContent(n *html.Node) *html.Node {
	if n.Type == html.ElementNode {
		id, class := attr(n, "id"), " "+attr(n, "class")+" "
		if id == "UCAP-CONTENT" || id == "zoom" || strings.Contains(class, "TRS_Editor") || strings.Contains(class, " article-content ") {
			return n
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findContent(c); f != nil {
			return f
		}
	}
	return nil
}

func blockElement(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Br, atom.H1, atom.H2, atom.H3, atom.H4, atom.Li, atom.Tr, atom.Table, atom.Section, atom.Article, atom.Td:
		return true
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
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
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

var (
	reDocNo     = regexp.MustCompile(`[\p{Han}]{1,12}(?:〔|\[|（|\()\s*\d{4}\s*(?:〕|\]|）|\))\s*\d{1,4}\s*号|(?:公告|令)\s*\d{4}\s*年第\s*\d{1,4}\s*号`)
	reField     = regexp.MustCompile(`(?m)^\s*(发文机关|发布机构|发文单位|发文字号|文号|成文日期|发布日期|生效日期|施行日期|截止日期|有效期至|申报平台|申报链接|来源)\s*[:：]\s*(.+?)\s*$`)
	reDate      = `(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{1,2}-\d{1,2})`
	reEffective = regexp.MustCompile(`自\s*` + reDate + `\s*起(?:施行|执行|实施|生效)`)
	reExpires   = regexp.MustCompile(`(?:执行至|有效期至|实施至|截至|截止到|截止至)\s*` + reDate)
	reSpaces    = regexp.MustCompile(`\s+`)
)

func compactDate(s string) string { return reSpaces.ReplaceAllString(s, "") }

// parseText reads the fields from a document's text.
func parseText(text, title, issuer string) (PolicyInput, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var in PolicyInput
	lines := strings.Split(text, "\n")
	if title == "" {
		for _, l := range lines {
			if l = strings.TrimSpace(strings.TrimLeft(l, "# ")); l != "" {
				title = l
				break
			}
		}
	}
	in.Title = strings.TrimSpace(title)
	in.Issuer = issuer
	var bad []string
	for _, m := range reField.FindAllStringSubmatch(text, -1) {
		v := strings.TrimSpace(m[2])
		var err error
		switch m[1] {
		case "发文机关", "发布机构", "发文单位":
			in.Issuer = v
		case "发文字号", "文号":
			in.DocNo = v
		case "发布日期":
			in.PublishedOn, err = parseDate(compactDate(v))
		case "成文日期":
			var d Date
			if d, err = parseDate(compactDate(v)); err == nil && !in.PublishedOn.Valid {
				in.PublishedOn = d
			}
		case "生效日期", "施行日期":
			in.EffectiveOn, err = parseDate(compactDate(v))
		case "截止日期", "有效期至":
			in.ExpiresOn, err = parseDate(compactDate(v))
		case "申报平台":
			in.ApplyPlatform = v
		case "申报链接":
			in.ApplyURL = v
		case "来源":
			in.SourceRef = v
		}
		if err != nil {
			bad = append(bad, m[1]+"“"+v+"”")
		}
	}
	if len(bad) > 0 {
		return in, errs.New(errs.Invalid, "无法识别的日期格式："+strings.Join(bad, "、")+"，应为 YYYY-MM-DD 或 YYYY年M月D日")
	}
	if in.DocNo == "" {
		head := text
		if len(head) > 3000 {
			head = head[:3000]
		}
		in.DocNo = reSpaces.ReplaceAllString(reDocNo.FindString(head), "")
	}
	if m := reEffective.FindStringSubmatch(text); m != nil && !in.EffectiveOn.Valid {
		in.EffectiveOn, _ = parseDate(compactDate(m[1]))
	}
	if m := reExpires.FindStringSubmatch(text); m != nil && !in.ExpiresOn.Valid {
		in.ExpiresOn, _ = parseDate(compactDate(m[1]))
	}
	in.ConditionsText = section(lines, []string{"申报条件", "支持对象", "适用对象", "申请条件", "享受主体"})
	in.Body = strings.TrimSpace(text)
	if in.Title == "" {
		return in, errs.New(errs.Invalid, "文档中找不到标题")
	}
	return in, nil
}

// section returns the lines after a heading naming one of heads, up to the
// next heading-like line (一、二、… or （一）).
func section(lines []string, heads []string) string {
	var out []string
	in := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		isHead := reHeading.MatchString(t)
		if in && isHead && !containsAny(t, heads) {
			break
		}
		if !in && containsAny(t, heads) && utf8.RuneCountInString(t) < 30 {
			in = true
			continue
		}
		if in && t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, "\n")
}

var reHeading = regexp.MustCompile(`^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+条|#+\s)`)

func containsAny(s string, list []string) bool {
	for _, x := range list {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// ImportResult is the outcome of one imported document: saved (created
// or updated), or refused with its reason. Each document is written in
// its own transaction, so a bad one leaves nothing behind and does not
// hold back the others.
type ImportResult struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Created  bool   `json:"created"`
	PolicyID int64  `json:"policy_id,omitempty"`
	Title    string `json:"title,omitempty"`
	Error    string `json:"error,omitempty"`
}

// ImportDocument parses and saves one document.
func (f *Function) ImportDocument(ctx context.Context, a Actor, sourceKind, name, contentType string, data []byte) ImportResult {
	res := ImportResult{Name: name}
	kind, err := KindOf(name, contentType, data)
	if err == nil {
		var in PolicyInput
		if in, err = f.Parse(ctx, kind, name, data); err == nil {
			if in.SourceRef == "" || sourceKind == "url" {
				in.SourceRef = name
			}
			if sourceKind == "" {
				sourceKind = kind
			}
			var p Policy
			if p, res.Created, err = f.Save(ctx, a, sourceKind, in); err == nil {
				res.OK, res.PolicyID, res.Title = true, p.ID, p.Title
				return res
			}
		}
	}
	res.Error = describe(err)
	return res
}

// describe is an error as the import report shows it: the message, and
// each field's problem.
func describe(err error) string {
	e := errs.As(err)
	if e == nil {
		return "导入失败"
	}
	msg := e.Message
	for _, fe := range e.Fields {
		msg += "；" + fe.Field + "：" + fe.Message
	}
	return msg
}

// MaxURLs bounds one address-list import.
const MaxURLs = 50

// ImportURLs fetches each address through the Fetcher and imports what it
// serves (FP-57); a failing address is reported and the rest go on.
func (f *Function) ImportURLs(ctx context.Context, a Actor, urls []string) ([]ImportResult, error) {
	if len(urls) == 0 || len(urls) > MaxURLs {
		return nil, errs.Fields([]errs.FieldError{{Field: "urls", Message: fmt.Sprintf("请提供 1 至 %d 个网址", MaxURLs)}})
	}
	out := make([]ImportResult, 0, len(urls))
	for _, raw := range urls {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			out = append(out, ImportResult{Name: raw, Error: "网址应以 http:// 或 https:// 开头"})
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, f.cfg.FetchTimeout)
		body, ct, err := f.fetcher.Fetch(fctx, raw)
		cancel()
		if err != nil {
			out = append(out, ImportResult{Name: raw, Error: "抓取失败：" + err.Error()})
			continue
		}
		out = append(out, f.ImportDocument(ctx, a, "url", raw, ct, body))
	}
	return out, nil
}
