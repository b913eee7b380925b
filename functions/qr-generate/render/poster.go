package render

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// cjkFont is Noto Sans CJK SC Regular cut down to ASCII, CJK punctuation
// and the GB2312 hanzi, converted to TrueType outlines because fpdf reads
// only glyf fonts. See fonts/README.md for its origin, licence (SIL OFL
// 1.1) and the script that makes it.
//
//go:embed fonts/NotoSansSC-Regular-GB2312.ttf
var cjkFont []byte

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
// any size without seams between modules; the font is embedded as a subset
// of the characters used, keeping a poster around 20 KB.
func (r *Renderer) Poster(p PosterInput) ([]byte, error) {
	if strings.TrimSpace(p.Name) == "" || strings.TrimSpace(p.CreditCode) == "" || p.URL == "" {
		return nil, ErrPosterData
	}
	paper := strings.ToUpper(p.Paper)
	if paper == "" {
		paper = "A4"
	}
	var w, h float64
	switch paper {
	case "A4":
		w, h = 210, 297
	case "A5":
		w, h = 148, 210
	default:
		return nil, fmt.Errorf("%w: %q", ErrPaper, p.Paper)
	}
	m, err := r.Matrix(p.URL)
	if err != nil {
		return nil, err
	}
	title := p.Title
	if title == "" {
		title = PosterTitle
	}
	k := w / 210 // everything is laid out for A4 and scaled

	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: paper})
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetTitle(title+" "+p.Name, true)
	pdf.SetCreator("SmartReg qr-generate", true)
	if !p.Date.IsZero() {
		pdf.SetCreationDate(p.Date)
		pdf.SetModificationDate(p.Date)
	}
	pdf.AddUTF8FontFromBytes("cjk", "", cjkFont)
	pdf.AddPage()

	const red, gray = 0xC8, 0x33
	// Frame.
	pdf.SetDrawColor(red, 0x10, 0x2E)
	pdf.SetLineWidth(1.2 * k)
	pdf.Rect(8*k, 8*k, w-16*k, h-16*k, "D")
	pdf.SetLineWidth(0.3 * k)
	pdf.Rect(10.5*k, 10.5*k, w-21*k, h-21*k, "D")

	inner := w - 36*k
	center := func(y, size float64, text string) {
		pdf.SetFont("cjk", "", size*k)
		pdf.SetXY(18*k, y)
		pdf.CellFormat(inner, size*k*0.5, text, "", 0, "C", false, 0, "")
	}

	pdf.SetTextColor(red, 0x10, 0x2E)
	center(20*k, 28, title)

	// Entity name: shrink until it fits in two lines.
	pdf.SetTextColor(gray, gray, gray)
	size := 22.0
	var lines []string
	for ; ; size-- {
		pdf.SetFont("cjk", "", size*k)
		if lines = wrap(pdf, p.Name, inner); len(lines) <= 2 || size <= 10 {
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
	center(62*k, 13, "统一社会信用代码："+p.CreditCode)

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

	center(200*k, 18, PosterScan)
	pdf.SetTextColor(red, 0x10, 0x2E)
	center(216*k, 18, PosterHotline)
	if p.Authority != "" {
		pdf.SetTextColor(gray, gray, gray)
		center(h-32*k, 14, p.Authority)
	}

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render: poster: %w", err)
	}
	return buf.Bytes(), nil
}

// wrap breaks text into lines no wider than w at any character: Chinese
// names have no spaces. (fpdf's SplitText drops the character at a break
// that is not a space.)
func wrap(pdf *fpdf.Fpdf, text string, w float64) []string {
	var lines []string
	var cur []rune
	for _, r := range strings.TrimSpace(text) {
		if len(cur) > 0 && pdf.GetStringWidth(string(append(cur, r))) > w {
			lines = append(lines, string(cur))
			cur = cur[:0]
		}
		cur = append(cur, r)
	}
	return append(lines, string(cur))
}
