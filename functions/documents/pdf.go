package documents

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/sjzamr/smartreg/shared/pdffont"
)

// Meta is what the output prints around the text: the entity, the
// version, and for a published version the verification code and page.
type Meta struct {
	EntityName string
	CreditCode string
	Version    string
	Authority  string
	Code       string // verification code; "" for an unpublished version
	VerifyURL  string
	Date       time.Time
}

func (m Meta) published() bool { return m.Code != "" }

// A4 layout, in millimetres and points.
const (
	pageW, pageH       = 210.0, 297.0
	marginX, marginTop = 25.0, 25.0
	marginBottom       = 28.0
	bodySize           = 12.0
	titleSize          = 18.0
	smallSize          = 8.0
	ptToMM             = 25.4 / 72
)

// PDF prints a rendered document as renderPDF does; the benchmark
// (tests/bench/docsbench) measures it.
func PDF(r Rendered, m Meta) ([]byte, error) { return renderPDF(r, m) }

// DOCX writes a rendered document as renderDOCX does.
func DOCX(r Rendered, m Meta) ([]byte, error) { return renderDOCX(r, m) }

// renderPDF prints a rendered document on A4 with the shared CJK font
// chain (FP-38): every character a name can hold, 𠮷 included, prints
// with a real glyph, and the page's text (pdftotext, search, copy) is the
// document's text. A published version ends with a QR code to its
// verification page. If drawing with the whole chain fails, the document
// is drawn again with the base font alone rather than not at all.
func renderPDF(r Rendered, m Meta) ([]byte, error) {
	out, err := drawPDF(r, m, false)
	if err == nil {
		return out, nil
	}
	out, err2 := drawPDF(r, m, true)
	if err2 != nil {
		return nil, fmt.Errorf("documents: pdf: %w (with the base font only: %v)", err, err2)
	}
	return out, nil
}

func drawPDF(r Rendered, m Meta, safe bool) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("documents: pdf: PDF library panicked: %v", v)
		}
	}()
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetMargins(0, 0, 0)
	pdf.SetCellMargin(0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetTitle(string(pdffont.UTF16BE(pdffont.NormalizeSpace(r.Title+" "+m.EntityName))), false)
	pdf.SetCreator("SmartReg documents", true)
	if !m.Date.IsZero() {
		pdf.SetCreationDate(m.Date)
		pdf.SetModificationDate(m.Date)
	}
	ts, err := pdffont.New(pdf, nil, safe)
	if err != nil {
		return nil, err
	}
	width := pageW - 2*marginX
	lineH := bodySize * ptToMM * 1.75
	// Everything is laid out before the first page: measuring selects
	// fonts, which on a page would write font switches into it.
	titleLines := ts.Wrap(ts.Glyphs(r.Title), titleSize, width)
	type line struct {
		gs     []pdffont.Glyph
		right  bool
		gap    bool    // an empty paragraph
		indent float64 // the first line's indent
	}
	em := bodySize * ptToMM
	var lines []line
	for _, b := range r.Blocks {
		if pdffont.NormalizeSpace(b.Text) == "" {
			lines = append(lines, line{gap: true})
			continue
		}
		// A paragraph's leading ideographic spaces are its first line's
		// indent (Glyphs drops leading white space).
		indent := float64(len([]rune(b.Text))-len([]rune(strings.TrimLeft(b.Text, "\u3000")))) * em
		gs := ts.Glyphs(b.Text)
		first := ts.Wrap(gs, bodySize, width-indent)
		wrapped := first[:1]
		if len(first) > 1 {
			rest := gs[len(first[0]):]
			wrapped = append(wrapped, ts.Wrap(rest, bodySize, width)...)
		}
		for i, ln := range kinsoku(wrapped) {
			l := line{gs: ln, right: b.Align == "right"}
			if i == 0 {
				l.indent = indent
			}
			lines = append(lines, l)
		}
	}
	footer := "版本 " + m.Version
	if m.published() {
		footer += "　验证码 " + m.Code
	} else {
		footer += "　未发布，仅供核对"
	}
	var verifyG, codeG []pdffont.Glyph
	if m.published() {
		verifyG = ts.Glyphs("扫码核验文书真伪、状态和版本")
		codeG = ts.Glyphs(m.Authority + " 发布于 " + m.Date.Format("2006年1月2日"))
	}
	page := 0
	pageFooters := []int{}
	newPage := func() float64 {
		pdf.AddPage()
		page++
		pageFooters = append(pageFooters, page)
		return marginTop
	}
	y := newPage()
	pdf.SetTextColor(0x11, 0x11, 0x11)
	for _, tl := range titleLines {
		ts.Draw(tl, marginX+(width-ts.Width(tl, titleSize))/2, y, titleSize, titleSize*ptToMM*1.4)
		y += titleSize * ptToMM * 1.6
	}
	y += lineH * 0.5
	for _, ln := range lines {
		if y+lineH > pageH-marginBottom {
			y = newPage()
		}
		if ln.gap {
			y += lineH * 0.6
			continue
		}
		x := marginX + ln.indent
		if ln.right {
			x = pageW - marginX - ts.Width(ln.gs, bodySize)
		}
		ts.Draw(ln.gs, x, y, bodySize, lineH)
		y += lineH
	}
	if m.published() {
		const side = 28.0
		if y+side+12 > pageH-marginBottom {
			y = newPage()
		}
		y += 6
		if err := drawQR(pdf, m.VerifyURL, pageW-marginX-side, y, side); err != nil {
			return nil, err
		}
		pdf.SetTextColor(0x55, 0x55, 0x55)
		ts.Draw(verifyG, pageW-marginX-side-4-ts.Width(verifyG, 9), y+side/2-4, 9, 5)
		ts.Draw(codeG, pageW-marginX-side-4-ts.Width(codeG, 9), y+side/2+2, 9, 5)
	}
	// Footers last, page by page: their text is laid out on the page it
	// goes to.
	pdf.SetTextColor(0x77, 0x77, 0x77)
	for _, n := range pageFooters {
		pdf.SetPage(n)
		fg := ts.Glyphs(fmt.Sprintf("%s　第 %d 页", footer, n))
		ts.Draw(fg, marginX+(width-ts.Width(fg, smallSize))/2, pageH-16, smallSize, 4)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("documents: pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// noLineStart are the marks Chinese typesetting keeps off the start of a
// line (GB/T 15834 punctuation, 行首禁则).
const noLineStart = "，。、：；！？）》」』”’〉】…—%"

// kinsoku moves a closing mark that would start a line to the end of the
// line before it, where it hangs into the margin.
func kinsoku(lines [][]pdffont.Glyph) [][]pdffont.Glyph {
	for i := 1; i < len(lines); i++ {
		for len(lines[i]) > 1 && strings.Contains(noLineStart, lines[i][0].Text) {
			lines[i-1] = append(lines[i-1][:len(lines[i-1]):len(lines[i-1])], lines[i][0])
			lines[i] = lines[i][1:]
		}
	}
	return lines
}

// drawQR draws content's QR code as one vector path (a rectangle per run
// of dark modules), sharp at any print size.
func drawQR(pdf *fpdf.Fpdf, content string, x0, y0, side float64) error {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("documents: qr: %w", err)
	}
	bits := q.Bitmap()
	n := len(bits)
	mod := side / float64(n)
	pdf.SetFillColor(0, 0, 0)
	for my := 0; my < n; my++ {
		for mx := 0; mx < n; {
			if !bits[my][mx] {
				mx++
				continue
			}
			start := mx
			for mx < n && bits[my][mx] {
				mx++
			}
			x, y := x0+float64(start)*mod, y0+float64(my)*mod
			pdf.MoveTo(x, y)
			pdf.LineTo(x+float64(mx-start)*mod, y)
			pdf.LineTo(x+float64(mx-start)*mod, y+mod)
			pdf.LineTo(x, y+mod)
			pdf.ClosePath()
		}
	}
	pdf.DrawPath("F")
	return nil
}
