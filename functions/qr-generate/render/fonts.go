package render

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

// fontFiles is the poster's font chain, made by fonts/mkfont.py; origin,
// licences and sizes are in fonts/README.md.
//
//go:embed fonts/base.ttf fonts/*.cov fonts/scbmp fonts/scsip fonts/hanb
var fontFiles embed.FS

// A face is one font of the chain. Every face but base is cut into chunks
// of chunkSpan code points, "<name>/<first code point in hex>.ttf.gz", so a
// poster parses only the few small fonts its text needs: fpdf parses a
// whole font file for every document, and the chain holds about 73 000
// glyphs.
type face struct {
	name    string // fonts/<name>.cov and fonts/<name>/; fpdf family prefix
	chunked bool
	// proxy: fpdf addresses a glyph by the UTF-16 code unit of the
	// character (CID = code point, one format-4 cmap), so it cannot draw
	// anything above U+FFFF and panics on it. These chunks map their
	// characters to proxyBase + (code point - chunk start) instead, and
	// the real characters go into the page as ActualText.
	proxy bool
}

// chain is tried in order for every character; the first face that has
// its glyph draws it (FP-23: every character an entity name can hold).
var chain = [...]face{
	{name: "base"},                              // Noto Sans CJK SC: ASCII, Latin-1, punctuation, GB2312
	{name: "scbmp", chunked: true},              // Noto Sans CJK SC: the rest of the BMP (GBK/GB18030, Ext-A)
	{name: "scsip", chunked: true, proxy: true}, // Noto Sans CJK SC above the BMP (𠮷, 𡈼, ...)
	{name: "hanb", chunked: true, proxy: true},  // HanaMinB: the rest of CJK Extension B
}

const (
	chunkSpan = 0x400
	covLimit  = 0x40000 // coverage bitmaps span planes 0-3
	proxyBase = 0xE000  // Private Use Area
	// replacement is drawn for a character no face has (an emoji, a
	// script the chain does not cover): GB2312's 〓 is what Chinese
	// typesetting prints for a missing character. The real character
	// still goes into the page as ActualText.
	replacement = '〓'
)

// A glyph is one character laid out: what is drawn, in which fpdf font,
// and the text it stands for.
type glyph struct {
	family string  // fpdf family
	draw   string  // "" for a character with no visible form (variation selector, ZWJ)
	text   string  // the character itself
	w      float64 // advance in 1/1000 em
}

// typesetter maps text to glyphs of the chain, adding each chunk to the
// document the first time a character needs it.
type typesetter struct {
	pdf    *fpdf.Fpdf
	fonts  fs.FS
	cov    [len(chain)][]byte // nil: face not used
	loaded map[string]bool    // family -> added (false: unusable, do not retry)
}

// newTypesetter adds the base font to pdf. safe limits the chain to the
// base font: the fallback after drawing with the whole chain failed.
func newTypesetter(pdf *fpdf.Fpdf, fonts fs.FS, safe bool) (*typesetter, error) {
	t := &typesetter{pdf: pdf, fonts: fonts, loaded: map[string]bool{}}
	for i, f := range chain {
		if safe && i > 0 {
			break
		}
		b, err := fs.ReadFile(fonts, "fonts/"+f.name+".cov")
		if err != nil && i == 0 {
			return nil, fmt.Errorf("render: font coverage: %w", err)
		}
		t.cov[i] = b // a face without coverage is skipped
	}
	b, err := fs.ReadFile(fonts, "fonts/base.ttf")
	if err != nil {
		return nil, fmt.Errorf("render: base font: %w", err)
	}
	if err := t.add("base", b); err != nil {
		return nil, fmt.Errorf("render: base font: %w", err)
	}
	t.loaded["base"] = true
	return t, nil
}

// add gives the font to the document. fpdf only prints a parse error and
// leaves the font out, so whether it arrived is read back.
func (t *typesetter) add(family string, ttf []byte) error {
	t.pdf.AddUTF8FontFromBytes(family, "", ttf)
	if err := t.pdf.Error(); err != nil {
		return err
	}
	if t.pdf.GetFontDesc(family, "").Ascent == 0 {
		return fmt.Errorf("render: font %s unreadable", family)
	}
	return nil
}

func (t *typesetter) has(i int, r rune) bool {
	c := t.cov[i]
	return r >= 0 && r < covLimit && int(r>>3) < len(c) && c[r>>3]&(1<<(r&7)) != 0
}

// family returns the fpdf family of face i that draws r, adding the chunk
// to the document on first use; ok is false when the chunk is unusable.
func (t *typesetter) family(i int, r rune) (string, bool) {
	f := chain[i]
	if !f.chunked {
		return f.name, true
	}
	start := r &^ (chunkSpan - 1)
	fam := fmt.Sprintf("%s-%x", f.name, start)
	if ok, seen := t.loaded[fam]; seen {
		return fam, ok
	}
	b, err := t.chunk(fmt.Sprintf("fonts/%s/%X.ttf.gz", f.name, start))
	if err == nil {
		err = t.add(fam, b)
	}
	t.loaded[fam] = err == nil
	return fam, err == nil
}

func (t *typesetter) chunk(path string) ([]byte, error) {
	z, err := t.fonts.Open(path)
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

// glyphs lays out s. Runs of white space and control characters (a
// newline typed into a name) become one space; characters with no visible
// form (variation selectors, joiners) draw nothing but stay in the text.
func (t *typesetter) glyphs(s string) []glyph {
	var out []glyph
	for _, r := range normalizeSpace(s) {
		if unicode.In(r, unicode.Cf, unicode.Variation_Selector) {
			fam := "base"
			if n := len(out); n > 0 {
				fam = out[n-1].family
			}
			out = append(out, glyph{family: fam, text: string(r)})
			continue
		}
		g := glyph{family: "base", draw: string(replacement), text: string(r)}
		for i, f := range chain {
			if !t.has(i, r) {
				continue
			}
			fam, ok := t.family(i, r)
			if !ok {
				continue
			}
			d := r
			if f.proxy {
				d = proxyBase + r&(chunkSpan-1)
			}
			g.family, g.draw = fam, string(d)
			break
		}
		t.pdf.SetFont(g.family, "", 10)
		g.w = float64(t.pdf.GetStringSymbolWidth(g.draw))
		out = append(out, g)
	}
	return out
}

// normalizeSpace trims s and turns every run of white space or control
// characters into one space: a poster line has no line breaks of its own.
func normalizeSpace(s string) string {
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

// width of gs in user units at size points.
func (t *typesetter) width(gs []glyph, size float64) float64 {
	var w float64
	for _, g := range gs {
		w += g.w
	}
	return w * size / 1000 / t.pdf.GetConversionRatio()
}

// draw writes gs from (x, y) in cells of height h: one fpdf cell per run
// of glyphs in one font. A run whose drawn characters differ from its text
// (proxies, replacements, invisible characters) is marked with its real
// text as ActualText (PDF 32000-1 §14.9.4), which text extraction, search
// and copy use instead of the glyphs' own Unicode mapping.
func (t *typesetter) draw(gs []glyph, x, y, size, h float64) {
	for len(gs) > 0 {
		n := 1
		for n < len(gs) && gs[n].family == gs[0].family {
			n++
		}
		run := gs[:n]
		gs = gs[n:]
		var draw, text strings.Builder
		for _, g := range run {
			draw.WriteString(g.draw)
			text.WriteString(g.text)
		}
		w := t.width(run, size)
		t.pdf.SetFont(run[0].family, "", size)
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

// utf16BE is s as a PDF text string: UTF-16BE with a byte-order mark,
// characters above U+FFFF as surrogate pairs (fpdf's own conversion drops
// them).
func utf16BE(s string) []byte {
	b := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func utf16Hex(s string) string { return strings.ToUpper(hex.EncodeToString(utf16BE(s))) }

// fontsOrEmbedded is the font chain a Renderer draws with.
func (r *Renderer) fontsOrEmbedded() fs.FS {
	if r.fonts != nil {
		return r.fonts
	}
	return fontFiles
}
