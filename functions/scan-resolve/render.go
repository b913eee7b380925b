package scanresolve

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// The public page is written by hand, not by html/template: on a cache miss
// the template's reflection cost more CPU than the database query
// (profiled at 1.5 M entities: 24 % of the process). Only text from the
// registry goes through here, always escaped; the parts with URLs (the
// consumer-rights block, configured) and the inspector's form are
// html/template fragments of page.html, rendered once at start or only for
// an inspector.

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"tel": func(s string) template.URL { return template.URL("tel:" + strings.Map(telRune, s)) },
	// img trusts only the QR images this function renders (rightsqr.go);
	// a configured address goes through html/template's URL filter.
	"img": func(s string) any {
		if strings.HasPrefix(s, qrDataPrefix) {
			return template.URL(s)
		}
		return s
	},
}).Parse(pageHTML))

func telRune(r rune) rune {
	if (r >= '0' && r <= '9') || r == '+' || r == '-' {
		return r
	}
	return -1
}

// chrome is the page around the entity's parts, rendered once.
type chrome struct {
	head string // doctype through </style>; the <title> follows
	tail string // consumer-rights block, footer, </html>
}

func newChrome(hotline string, rights []rightsChannel) (chrome, error) {
	var head, tail bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&head, "head", nil); err != nil {
		return chrome{}, fmt.Errorf("render page head: %w", err)
	}
	data := struct {
		Hotline string
		Rights  []rightsChannel
	}{hotline, rights}
	if err := pageTmpl.ExecuteTemplate(&tail, "tail", data); err != nil {
		return chrome{}, fmt.Errorf("render page tail: %w", err)
	}
	return chrome{head: head.String(), tail: tail.String()}, nil
}

// htmlWriter appends HTML; text is escaped, raw is trusted markup.
type htmlWriter struct{ b []byte }

func (w *htmlWriter) raw(s string) { w.b = append(w.b, s...) }

func (w *htmlWriter) int(n int) { w.b = strconv.AppendInt(w.b, int64(n), 10) }

// text escapes the five characters html/template escapes in text and
// quoted attributes, so the output is safe in both.
func (w *htmlWriter) text(s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case 0:
			esc = "\uFFFD"
		default:
			continue
		}
		w.b = append(w.b, s[last:i]...)
		w.b = append(w.b, esc...)
		last = i + 1
	}
	w.b = append(w.b, s[last:]...)
}

// renderPage writes the public page, with the inspector's form when form
// is not nil.
func (f *Function) renderPage(v View, form *inspectorForm) ([]byte, error) {
	w := htmlWriter{b: make([]byte, 0, 8<<10)}
	title := "经营主体信用信息"
	if v.Entity != nil {
		title = v.Entity.Name
	}
	w.raw(f.chrome.head)
	w.raw("<title>")
	w.text(title)
	w.raw("</title></head><body>\n<header><h1>")
	w.text(title)
	w.raw("</h1><p>石家庄市市场监督管理局 · 扫码查看经营主体信用信息</p></header>\n")
	if v.Entity == nil {
		writeMessage(&w, v)
	} else {
		writeBasic(&w, v.Entity)
		if form != nil {
			var b bytes.Buffer
			if err := pageTmpl.ExecuteTemplate(&b, "inspector", form); err != nil {
				return nil, fmt.Errorf("render inspector form: %w", err)
			}
			w.raw(b.String())
			w.raw("\n")
		}
		for i := range v.Sections {
			writeSection(&w, &v.Sections[i], v.ListStatus)
		}
	}
	w.raw(f.chrome.tail)
	return w.b, nil
}

func writeMessage(w *htmlWriter, v View) {
	w.raw(`<section class="msg"><h2>`)
	w.text(v.Message)
	w.raw("</h2>")
	switch v.Status {
	case "invalid":
		w.raw("<p>该经营主体的码已被注销或停用，不再展示主体信息。</p>")
	case "pending", "rejected":
		w.raw("<p>该码正在审核中，审核通过后即可查看主体信息。</p>")
	}
	w.raw("</section>\n")
}

func writeBasic(w *htmlWriter, e *EntityView) {
	w.raw(`<section id="basic"><h2>基本信息</h2><dl>` + "\n")
	dd := func(label, value string) {
		w.raw("<dt>")
		w.raw(label)
		w.raw("</dt><dd>")
		w.text(value)
		w.raw("</dd>")
	}
	dd("统一社会信用代码", e.CreditCode)
	dd("主体名称", e.Name)
	dd("主体类型", e.EntityTypeName)
	dd("法定代表人", e.LegalRep)
	dd("成立日期", e.EstablishedOn)
	dd("注册资本", e.RegisteredCapital+" 万元")
	dd("登记状态", e.StatusName)
	area := e.DistrictName
	if e.TownshipName != "" {
		area += " " + e.TownshipName
	}
	dd("所属区域", area)
	dd("行业", e.IndustryName)
	dd("住所", e.Address)
	if e.BusinessScope != "" {
		dd("经营范围", e.BusinessScope)
	}
	w.raw("\n</dl></section>\n")
}

func writeSection(w *htmlWriter, s *SectionView, lists []ListStatus) {
	w.raw(`<section id="`)
	w.text(s.Key)
	w.raw(`"><h2>`)
	w.text(s.Title)
	if s.Total > 0 {
		w.raw(` <span class="m">（`)
		w.int(s.Total)
		w.raw(`）</span>`)
	}
	w.raw("</h2>\n")
	if s.Key == "lists" {
		for _, l := range lists {
			if l.Listed {
				w.raw(`<p><span class="tag bad">已列入</span>`)
			} else {
				w.raw(`<p><span class="tag ok">未列入</span>`)
			}
			w.text(l.Text)
			w.raw("</p>")
		}
	}
	for i := range s.Records {
		writeRecord(w, &s.Records[i], len(s.Kinds) > 1)
	}
	if len(s.Records) == 0 {
		w.raw(`<p class="empty">暂无记录</p>`)
	}
	if s.Total > len(s.Records) {
		w.raw(`<p class="m">仅显示最近 `)
		w.int(len(s.Records))
		w.raw(` 条，共 `)
		w.int(s.Total)
		w.raw(` 条</p>`)
	}
	w.raw("\n</section>\n")
}

func writeRecord(w *htmlWriter, r *RecordView, showKind bool) {
	w.raw(`<div class="rec"><b>`)
	w.text(r.Title)
	w.raw("</b>\n" + `<div class="m">`)
	if showKind {
		w.raw(`<span class="tag">`)
		w.text(r.KindName)
		w.raw(`</span>`)
	}
	w.text(r.OccurredOn)
	for _, part := range [...]struct{ prefix, value string }{
		{" · ", r.Authority}, {" · ", r.RefNo}, {" · 有效期至 ", r.ValidUntil}, {" · ", r.Status},
	} {
		if part.value != "" {
			w.raw(part.prefix)
			w.text(part.value)
		}
	}
	w.raw("</div>\n")
	if len(r.Items) > 0 {
		w.raw("<ul>")
		for _, it := range r.Items {
			w.raw("<li>")
			w.text(it.Name)
			for _, v := range [...]string{it.Value, it.Result} {
				if v != "" {
					w.raw("：")
					w.text(v)
				}
			}
			if it.Reason != "" {
				w.raw("（")
				w.text(it.Reason)
				w.raw("）")
			}
			w.raw("</li>")
		}
		w.raw("</ul>\n")
	}
	if p := r.Penalty; p != nil {
		w.raw("<dl>")
		for _, row := range [...]struct{ name, value string }{
			{"处罚种类", p.Type}, {"罚没金额", p.Amount}, {"处罚依据", p.Basis}, {"执行情况", p.Execution},
		} {
			if row.value == "" {
				continue
			}
			w.raw("<dt>" + row.name + "</dt><dd>")
			w.text(row.value)
			if row.name == "罚没金额" {
				w.raw(" 元")
			}
			w.raw("</dd>")
		}
		w.raw("</dl>\n")
	}
	if r.Conclusion != "" {
		w.raw("<div>结论：")
		w.text(r.Conclusion)
		w.raw("</div>")
	}
	if r.Remarks != "" {
		w.raw(`<div class="m">`)
		w.text(r.Remarks)
		w.raw("</div>")
	}
	if len(r.Photos) > 0 {
		// Links, not images: a photo may be megabytes, the page is read on 4G.
		w.raw(`<div class="m">现场照片：`)
		for i, u := range r.Photos {
			w.raw(`<a href="`)
			w.text(u)
			w.raw(`" target="_blank" rel="noopener">照片`)
			w.int(i + 1)
			w.raw(`</a> `)
		}
		w.raw("</div>")
	}
	w.raw("</div>\n")
}
