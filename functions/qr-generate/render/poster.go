package render

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/sjzamr/smartreg/shared/pdffont"
)

// Poster texts fixed by the requirement (FP-23).
const (
	PosterTitle   = "经营主体信用信息公示码"
	PosterScan    = "扫码查看经营主体信用信息"
	PosterHotline = "消费维权热线：12315"
)

// PosterInput is what a shop-front poster shows.
type PosterInput struct {
	Name       string // entity name
	CreditCode string // unified social credit code
	URL        string // the code's content
	Paper      string // "A4" (default) or "A5"
	Authority  string // issuing authority, e.g. "石家庄市市场监督管理局"
	Title      string // optional; PosterTitle when empty
	Date       time.Time
}

// Poster renders a print-ready PDF poster. The QR is drawn as one vector
// path (every dark run a sub-path of a single fill), so it prints sharp at
// any size without seams between modules; the fonts are embedded as
// subsets of the characters used, keeping a poster around 20 KB.
//
// Every character prints with the first font of the chain (shared/pdffont) that
// has it, or as 〓 when none has; the text of the page (search, copy,
// pdftotext) is the input either way. A name never fails a poster: if
// drawing with the chain fails or the PDF library panics, the poster is
// drawn again with the base font alone, every other character as 〓.
func (r *Renderer) Poster(p PosterInput) ([]byte, error) {
	if pdffont.NormalizeSpace(p.Name) == "" || pdffont.NormalizeSpace(p.CreditCode) == "" || p.URL == "" {
		return nil, ErrPosterData
	}
	paper := strings.ToUpper(p.Paper)
	if paper == "" {
		paper = "A4"
	}
	if paper != "A4" && paper != "A5" {
		return nil, fmt.Errorf("%w: %q", ErrPaper, p.Paper)
	}
	m, err := r.Matrix(p.URL)
	if err != nil {
		return nil, err
	}
	pdf, err := r.poster(p, paper, m, false)
	if err == nil {
		return pdf, nil
	}
	pdf, err2 := r.poster(p, paper, m, true)
	if err2 != nil {
		return nil, fmt.Errorf("render: poster: %w (with the base font only: %v)", err, err2)
	}
	return pdf, nil
}

// poster draws one poster; safe restricts it to the base font. A panic in
// fpdf (it has index-out-of-range paths on unusual fonts and text) is
// returned as an error.
func (r *Renderer) poster(p PosterInput, paper string, m Matrix, safe bool) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("render: poster: PDF library panicked: %v", v)
		}
	}()
	w, h := 210.0, 297.0
	if paper == "A5" {
		w, h = 148, 210
	}
	title := p.Title
	if title == "" {
		title = PosterTitle
	}
	k := w / 210 // everything is laid out for A4 and scaled

	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: paper})
	pdf.SetMargins(0, 0, 0)
	pdf.SetCellMargin(0) // runs of one line are placed end to end
	pdf.SetAutoPageBreak(false, 0)
	// Info strings are written as UTF-16 here: fpdf's own conversion
	// mangles characters above U+FFFF.
	pdf.SetTitle(string(pdffont.UTF16BE(pdffont.NormalizeSpace(title+" "+p.Name))), false)
	pdf.SetCreator("SmartReg qr-generate", true)
	if !p.Date.IsZero() {
		pdf.SetCreationDate(p.Date)
		pdf.SetModificationDate(p.Date)
	}
	ts, err := pdffont.New(pdf, r.fontsOrEmbedded(), safe)
	if err != nil {
		return nil, err
	}
	// Every text is laid out before the page exists: measuring selects
	// fonts, which on a page would write font switches into its content.
	var (
		titleG   = ts.Glyphs(title)
		nameG    = ts.Glyphs(p.Name)
		codeG    = ts.Glyphs("统一社会信用代码：" + p.CreditCode)
		scanG    = ts.Glyphs(PosterScan)
		hotlineG = ts.Glyphs(PosterHotline)
		authG    = ts.Glyphs(p.Authority)
	)
	pdf.AddPage()

	const red, gray = 0xC8, 0x33
	// Frame.
	pdf.SetDrawColor(red, 0x10, 0x2E)
	pdf.SetLineWidth(1.2 * k)
	pdf.Rect(8*k, 8*k, w-16*k, h-16*k, "D")
	pdf.SetLineWidth(0.3 * k)
	pdf.Rect(10.5*k, 10.5*k, w-21*k, h-21*k, "D")

	inner := w - 36*k
	center := func(y, size float64, gs []pdffont.Glyph) {
		size *= k
		ts.Draw(gs, 18*k+(inner-ts.Width(gs, size))/2, y, size, size*0.5)
	}

	pdf.SetTextColor(red, 0x10, 0x2E)
	center(20*k, 28, titleG)

	// Entity name: shrink until it fits in two lines.
	pdf.SetTextColor(gray, gray, gray)
	size := 22.0
	var lines [][]pdffont.Glyph
	for ; ; size-- {
		if lines = ts.Wrap(nameG, size*k, inner); len(lines) <= 2 || size <= 10 {
			break
		}
	}
	lineH := size * k * 0.5
	y := 40 * k
	if len(lines) == 1 {
		y += lineH / 2
	}
	for _, ln := range lines {
		center(y, size, ln)
		y += lineH
	}
	center(62*k, 13, codeG)

	// The code: one path, a rectangle per horizontal run of dark modules.
	qrSide := 120 * k
	mod := qrSide / float64(m.Size)
	x0, y0 := (w-qrSide)/2, 72*k
	pdf.SetFillColor(0, 0, 0)
	for my := 0; my < m.Size; my++ {
		for mx := 0; mx < m.Size; {
			if !m.Dark(mx, my) {
				mx++
				continue
			}
			start := mx
			for mx < m.Size && m.Dark(mx, my) {
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

	center(200*k, 18, scanG)
	pdf.SetTextColor(red, 0x10, 0x2E)
	center(216*k, 18, hotlineG)
	if len(authG) > 0 {
		pdf.SetTextColor(gray, gray, gray)
		center(h-32*k, 14, authG)
	}

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render: poster: %w", err)
	}
	return buf.Bytes(), nil
}
