// Package pdffont typesets text for PDFs written with github.com/go-pdf/fpdf
// in a chain of embedded CJK fonts that covers every character a Chinese
// name can hold: ASCII, GB2312, the rest of GBK and GB18030, CJK
// Extension A and all of Extension B (𠮷, 𡈼…). The QR poster
// (qr-generate/render) and the documents function draw with it, so a rare
// character prints the same in both (FP-23, FP-38).
//
// Every character prints with the first font of the chain that has it, or
// as 〓 when none has; the page's text (search, copy, pdftotext) is the
// input either way, through ActualText. Files, origin and licences are in
// fonts/README.md.
package pdffont

import (
	"compress/gzip"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/go-pdf/fpdf"
)

// files is the font chain, made by fonts/mkfont.py.
//
//go:embed fonts/base.ttf fonts/*.cov fonts/scbmp fonts/scsip fonts/hanb
var files embed.FS

// Files is the embedded font chain, laid out as New reads it:
// fonts/base.ttf, fonts/<face>.cov and fonts/<face>/<start>.ttf.gz.
func Files() fs.FS { return files }

// A Face is one font of the chain. Every face but base is cut into chunks
// of ChunkSpan code points, "<name>/<first code point in hex>.ttf.gz", so a
// document parses only the few small fonts its text needs: fpdf parses a
// whole font file for every document, and the chain holds about 73 000
// glyphs.
type Face struct {
	Name    string // fonts/<name>.cov and fonts/<name>/; fpdf family prefix
	Chunked bool
	// Proxy: fpdf addresses a glyph by the UTF-16 code unit of the
	// character (CID = code point, one format-4 cmap), so it cannot draw
	// anything above U+FFFF and panics on it. These chunks map their
	// characters to ProxyBase + (code point - chunk start) instead, and
	// the real characters go into the page as ActualText.
	Proxy bool
}

// Chain is tried in order for every character; the first face that has
// its glyph draws it (FP-23: every character an entity name can hold).
var Chain = [...]Face{
	{Name: "base"},                              // Noto Sans CJK SC: ASCII, Latin-1, punctuation, GB2312
	{Name: "scbmp", Chunked: true},              // Noto Sans CJK SC: the rest of the BMP (GBK/GB18030, Ext-A)
	{Name: "scsip", Chunked: true, Proxy: true}, // Noto Sans CJK SC above the BMP (𠮷, 𡈼, ...)
	{Name: "hanb", Chunked: true, Proxy: true},  // HanaMinB: the rest of CJK Extension B
}

const (
	ChunkSpan = 0x400
	CovLimit  = 0x40000 // coverage bitmaps span planes 0-3
	ProxyBase = 0xE000  // Private Use Area
	// Replacement is drawn for a character no face has (an emoji, a
	// script the chain does not cover): GB2312's 〓 is what Chinese
	// typesetting prints for a missing character. The real character
	// still goes into the page as ActualText.
	Replacement = '〓'
)

// A Glyph is one character laid out: what is drawn, in which fpdf font,
// and the text it stands for.
type Glyph struct {
	Family string  // fpdf family
	Draw   string  // "" for a character with no visible form (variation selector, ZWJ)
	Text   string  // the character itself
	W      float64 // advance in 1/1000 em
}

// Typesetter maps text to glyphs of the chain, adding each chunk to the
// document the first time a character needs it. It belongs to one
// document and is not safe for concurrent use.
type Typesetter struct {
	pdf    *fpdf.Fpdf
	fonts  fs.FS
	cov    [len(Chain)][]byte // nil: face not used
	loaded map[string]bool    // family -> added (false: unusable, do not retry)
}

// New adds the base font to pdf. fonts is the chain to draw with (nil: the
// embedded one). safe limits the chain to the base font: the fallback
// after drawing with the whole chain failed.
func New(pdf *fpdf.Fpdf, fonts fs.FS, safe bool) (*Typesetter, error) {
	if fonts == nil {
		fonts = files
	}
	t := &Typesetter{pdf: pdf, fonts: fonts, loaded: map[string]bool{}}
	for i, f := range Chain {
		if safe && i > 0 {
			break
		}
		b, err := fs.ReadFile(fonts, "fonts/"+f.Name+".cov")
		if err != nil && i == 0 {
			return nil, fmt.Errorf("pdffont: font coverage: %w", err)
		}
		t.cov[i] = b // a face without coverage is skipped
	}
	b, err := fs.ReadFile(fonts, "fonts/base.ttf")
	if err != nil {
		return nil, fmt.Errorf("pdffont: base font: %w", err)
	}
	if err := t.add("base", b); err != nil {
		return nil, fmt.Errorf("pdffont: base font: %w", err)
	}
	t.loaded["base"] = true
	return t, nil
}

// add gives the font to the document. fpdf only prints a parse error and
// leaves the font out, so whether it arrived is read back.
func (t *Typesetter) add(family string, ttf []byte) error {
	t.pdf.AddUTF8FontFromBytes(family, "", ttf)
	if err := t.pdf.Error(); err != nil {
		return err
	}
	if t.pdf.GetFontDesc(family, "").Ascent == 0 {
		return fmt.Errorf("pdffont: font %s unreadable", family)
	}
	return nil
}

func (t *Typesetter) has(i int, r rune) bool {
	c := t.cov[i]
	return r >= 0 && r < CovLimit && int(r>>3) < len(c) && c[r>>3]&(1<<(r&7)) != 0
}

// family returns the fpdf family of face i that draws r, adding the chunk
// to the document on first use; ok is false when the chunk is unusable.
func (t *Typesetter) family(i int, r rune) (string, bool) {
	f := Chain[i]
	if !f.Chunked {
		return f.Name, true
	}
	start := r &^ (ChunkSpan - 1)
	fam := fmt.Sprintf("%s-%x", f.Name, start)
	if ok, seen := t.loaded[fam]; seen {
		return fam, ok
	}
	b, err := Chunk(t.fonts, fmt.Sprintf("fonts/%s/%X.ttf.gz", f.Name, start))
	if err == nil {
		err = t.add(fam, b)
	}
	t.loaded[fam] = err == nil
	return fam, err == nil
}

// Chunk reads one gzipped font file of the chain.
func Chunk(fonts fs.FS, path string) ([]byte, error) {
	z, err := fonts.Open(path)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	zr, err := gzip.NewReader(z)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// Glyphs lays out s as one line. Runs of white space and control
// characters (a newline typed into a name) become one space; characters
// with no visible form (variation selectors, joiners) draw nothing but
// stay in the text. Lay text out before the page that shows it exists:
// measuring selects fonts, which on a page writes font switches into its
// content.
func (t *Typesetter) Glyphs(s string) []Glyph {
	var out []Glyph
	for _, r := range NormalizeSpace(s) {
		if unicode.In(r, unicode.Cf, unicode.Variation_Selector) {
			fam := "base"
			if n := len(out); n > 0 {
				fam = out[n-1].Family
			}
			out = append(out, Glyph{Family: fam, Text: string(r)})
			continue
		}
		g := Glyph{Family: "base", Draw: string(Replacement), Text: string(r)}
		for i, f := range Chain {
			if !t.has(i, r) {
				continue
			}
			fam, ok := t.family(i, r)
			if !ok {
				continue
			}
			d := r
			if f.Proxy {
				d = ProxyBase + r&(ChunkSpan-1)
			}
			g.Family, g.Draw = fam, string(d)
			break
		}
		t.pdf.SetFont(g.Family, "", 10)
		g.W = float64(t.pdf.GetStringSymbolWidth(g.Draw))
		out = append(out, g)
	}
	return out
}

// NormalizeSpace trims s and turns every run of white space or control
// characters into one space: a laid-out line has no line breaks of its own.
func NormalizeSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// Width of gs in user units at size points.
func (t *Typesetter) Width(gs []Glyph, size float64) float64 {
	var w float64
	for _, g := range gs {
		w += g.W
	}
	return w * size / 1000 / t.pdf.GetConversionRatio()
}

// Draw writes gs from (x, y) in cells of height h: one fpdf cell per run
// of glyphs in one font. A run whose drawn characters differ from its text
// (proxies, replacements, invisible characters) is marked with its real
// text as ActualText (PDF 32000-1 §14.9.4), which text extraction, search
// and copy use instead of the glyphs' own Unicode mapping.
func (t *Typesetter) Draw(gs []Glyph, x, y, size, h float64) {
	for len(gs) > 0 {
		n := 1
		for n < len(gs) && gs[n].Family == gs[0].Family {
			n++
		}
		run := gs[:n]
		gs = gs[n:]
		var draw, text strings.Builder
		for _, g := range run {
			draw.WriteString(g.Draw)
			text.WriteString(g.Text)
		}
		w := t.Width(run, size)
		t.pdf.SetFont(run[0].Family, "", size)
		actual := draw.String() != text.String()
		if actual {
			t.pdf.RawWriteStr("/Span <</ActualText <" + utf16Hex(text.String()) + ">>> BDC")
		}
		t.pdf.SetXY(x, y)
		t.pdf.CellFormat(w, h, draw.String(), "", 0, "L", false, 0, "")
		if actual {
			t.pdf.RawWriteStr("EMC")
		}
		x += w
	}
}

// Wrap breaks gs into lines no wider than w at size points, at any
// character: Chinese text has no spaces. A line does not start with a
// space.
func (t *Typesetter) Wrap(gs []Glyph, size, w float64) [][]Glyph {
	var lines [][]Glyph
	start, lineW := 0, 0.0
	for i, g := range gs {
		gw := t.Width(gs[i:i+1], size)
		if i > start && lineW+gw > w {
			lines = append(lines, gs[start:i])
			start, lineW = i, 0
			if g.Text == " " {
				start, gw = i+1, 0
			}
		}
		lineW += gw
	}
	return append(lines, gs[start:])
}

// UTF16BE is s as a PDF text string: UTF-16BE with a byte-order mark,
// characters above U+FFFF as surrogate pairs (fpdf's own conversion drops
// them). Document info strings (SetTitle with isUTF8 false) take it.
func UTF16BE(s string) []byte {
	b := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func utf16Hex(s string) string { return strings.ToUpper(hex.EncodeToString(UTF16BE(s))) }
