package render

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"

	"github.com/go-pdf/fpdf"
)

// sfnt is a TrueType font read by the tests on their own (not through
// fpdf), to check that a character really has an outline in the font that
// draws it: a character without one prints as the empty .notdef box while
// text extraction still shows it.
type sfnt struct {
	tables map[string][]byte
}

func parseSfnt(t *testing.T, b []byte) sfnt {
	t.Helper()
	f := sfnt{tables: map[string][]byte{}}
	n := int(binary.BigEndian.Uint16(b[4:]))
	for i := 0; i < n; i++ {
		rec := b[12+16*i:]
		off, size := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		f.tables[string(rec[:4])] = b[off : off+size]
	}
	for _, tag := range []string{"cmap", "head", "maxp", "loca", "glyf", "hmtx"} {
		if f.tables[tag] == nil {
			t.Fatalf("font lacks %s", tag)
		}
	}
	return f
}

// glyph returns r's glyph id in the (3,1) format-4 cmap, the one fpdf
// reads.
func (f sfnt) glyph(r rune) int {
	cm := f.tables["cmap"]
	u16 := func(b []byte, at int) int { return int(binary.BigEndian.Uint16(b[at:])) }
	for i := 0; i < u16(cm, 2); i++ {
		rec := 4 + 8*i
		if u16(cm, rec) != 3 || u16(cm, rec+2) != 1 {
			continue
		}
		st := cm[binary.BigEndian.Uint32(cm[rec+4:]):]
		if u16(st, 0) != 4 {
			continue
		}
		seg2 := u16(st, 6)
		for s := 0; s < seg2; s += 2 {
			end, start := u16(st, 14+s), u16(st, 16+seg2+s)
			if int(r) < start || int(r) > end {
				continue
			}
			delta, roAt := u16(st, 16+2*seg2+s), 16+3*seg2+s
			if ro := u16(st, roAt); ro != 0 {
				g := u16(st, roAt+ro+2*(int(r)-start))
				if g == 0 {
					return 0
				}
				return (g + delta) & 0xFFFF
			}
			return (int(r) + delta) & 0xFFFF
		}
	}
	return 0
}

// contours is the number of contours of glyph id g (0: no outline).
func (f sfnt) contours(g int) int {
	n := int(binary.BigEndian.Uint16(f.tables["maxp"][4:]))
	if g <= 0 || g >= n {
		return 0
	}
	loca := f.tables["loca"]
	var off, next int
	if binary.BigEndian.Uint16(f.tables["head"][50:]) == 0 {
		off, next = 2*int(binary.BigEndian.Uint16(loca[2*g:])), 2*int(binary.BigEndian.Uint16(loca[2*g+2:]))
	} else {
		off, next = int(binary.BigEndian.Uint32(loca[4*g:])), int(binary.BigEndian.Uint32(loca[4*g+4:]))
	}
	if next <= off {
		return 0
	}
	return int(int16(binary.BigEndian.Uint16(f.tables["glyf"][off:])))
}

// fontOf reads the font file behind an fpdf family of the chain.
func fontOf(t *testing.T, fonts fs.FS, family string) sfnt {
	t.Helper()
	if family == "base" {
		b, err := fs.ReadFile(fonts, "fonts/base.ttf")
		if err != nil {
			t.Fatal(err)
		}
		return parseSfnt(t, b)
	}
	face, start, _ := strings.Cut(family, "-")
	b, err := (&typesetter{fonts: fonts}).chunk("fonts/" + face + "/" + strings.ToUpper(start) + ".ttf.gz")
	if err != nil {
		t.Fatalf("%s: %v", family, err)
	}
	return parseSfnt(t, b)
}

func layout(t *testing.T, fonts fs.FS, s string) []glyph {
	t.Helper()
	ts, err := newTypesetter(fpdf.New("P", "mm", "A4", ""), fonts, false)
	if err != nil {
		t.Fatal(err)
	}
	return ts.glyphs(s)
}

// assertDrawn checks that every glyph of gs has an outline in its font,
// except the replacements of the characters in missing.
func assertDrawn(t *testing.T, gs []glyph, missing string) {
	t.Helper()
	fonts := map[string]sfnt{}
	for _, g := range gs {
		if strings.Contains(missing, g.text) {
			if g.family != "base" || g.draw != string(replacement) {
				t.Errorf("%q: drawn as %q in %s, want the replacement %q", g.text, g.draw, g.family, replacement)
			}
			continue
		}
		if g.text == " " || g.draw == "" {
			continue
		}
		f, ok := fonts[g.family]
		if !ok {
			f = fontOf(t, fontFiles, g.family)
			fonts[g.family] = f
		}
		r := []rune(g.draw)[0]
		if gid := f.glyph(r); f.contours(gid) <= 0 {
			t.Errorf("%q (U+%04X) drawn as U+%04X in %s: glyph %d has no outline", g.text, []rune(g.text)[0], r, g.family, gid)
		}
	}
}

// FP-23. Each character takes the first face of the chain that has it: Noto for
// everything it covers (𠮷 and 𡈼 too), HanaMinB only for the rest of
// Extension B, 〓 when no face has it.
func TestChainOrder(t *testing.T) {
	gs := layout(t, fontFiles, "𠮷\U00020001喆A·😀葛\U000E0100")
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%s:%U", g.family, []rune(g.draw + "\x00")[0]))
	}
	want := []string{"scsip-20800:U+E3B7", "hanb-20000:U+E001", "scbmp-5400:U+5586", "base:U+0041",
		"base:U+00B7", "base:U+3013", "base:U+845B", "base:U+0000"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("layout\n got %v\nwant %v", got, want)
	}
	if gs[7].text != "\U000E0100" || gs[7].w != 0 {
		t.Errorf("variation selector %+v, want no advance and its text kept", gs[7])
	}
	assertDrawn(t, gs, "😀")
	// The check can fail: the base font alone (the old poster font) has no
	// outline for 喆, which printed as an empty box.
	if base := fontOf(t, fontFiles, "base"); base.contours(base.glyph('喆')) != 0 || base.contours(base.glyph('张')) == 0 {
		t.Error("the outline check does not tell a missing glyph from a present one")
	}
}

// FP-23. Every character of every face's coverage bitmap has an outline at its
// place in its chunk, and the chain covers what a name can hold: GBK's and
// GB18030's hanzi of the BMP, CJK Extension A and B whole, and the
// punctuation people put in names.
func TestFontChainCoverage(t *testing.T) {
	var covered [covLimit]bool
	for i, f := range chain {
		cov, err := fs.ReadFile(fontFiles, "fonts/"+f.name+".cov")
		if err != nil || len(cov) != covLimit/8 {
			t.Fatalf("%s coverage: %d bytes, %v", f.name, len(cov), err)
		}
		fonts := map[rune]sfnt{}
		n := 0
		for r := rune(0); r < covLimit; r++ {
			if cov[r>>3]&(1<<(r&7)) == 0 {
				continue
			}
			n++
			if covered[r] && i > 0 {
				t.Fatalf("U+%04X in %s and an earlier face: the cut should keep only the first", r, f.name)
			}
			covered[r] = true
			start, d := rune(0), r
			if f.chunked {
				start = r &^ (chunkSpan - 1)
			}
			if f.proxy {
				d = proxyBase + r - start
			}
			font, ok := fonts[start]
			if !ok {
				family := f.name
				if f.chunked {
					family = fmt.Sprintf("%s-%x", f.name, start)
				}
				font = fontOf(t, fontFiles, family)
				fonts[start] = font
			}
			// Spaces and format characters are the only empty glyphs.
			if gid := font.glyph(d); gid == 0 || font.contours(gid) == 0 && !blank(r) {
				t.Fatalf("%s: U+%04X (as U+%04X) has glyph %d with no outline", f.name, r, d, gid)
			}
		}
		t.Logf("%s: %d characters in %d font files", f.name, n, len(fonts))
	}
	want := []struct{ lo, hi rune }{
		{0x20, 0x7E},       // ASCII
		{0x3400, 0x4DB5},   // CJK Extension A (GB18030)
		{0x4E00, 0x9FA5},   // the CJK Unified Ideographs of GBK
		{0x9FA6, 0x9FBB},   // added by GB18030-2005
		{0x20000, 0x2A6D6}, // CJK Extension B (Unicode 3.1), the whole block
	}
	for _, w := range want {
		for r := w.lo; r <= w.hi; r++ {
			if !covered[r] {
				t.Fatalf("U+%04X is in no face", r)
			}
		}
	}
	for _, r := range "·•‧・･（）()【】《》〈〉「」『』—–-、，。：；“”‘’＆&№〇〓" {
		if !covered[r] {
			t.Errorf("%q (U+%04X) is in no face", r, r)
		}
	}
}

// blank characters have no outline of their own.
func blank(r rune) bool {
	return unicode.In(r, unicode.Zs, unicode.Cf, unicode.Cc) || r == 0xFFA0 // half-width Hangul filler
}

func TestNormalizeSpace(t *testing.T) {
	for in, want := range map[string]string{
		"石家庄市\n惠民超市":           "石家庄市 惠民超市",
		" \t石家庄\r\n\r\n 超市 \n": "石家庄 超市",
		"张\u3000三\x00店":        "张 三 店",
		"":                     "",
	} {
		if got := normalizeSpace(in); got != want {
			t.Errorf("normalizeSpace(%q) = %q, want %q", in, got, want)
		}
	}
}

// FP-23. A font that makes the PDF library panic (here a chunk cut short) does
// not fail the poster: it is drawn again with the base font alone, the
// characters it lacks as 〓, and the page's text is still the name.
func TestPosterSurvivesBrokenFont(t *testing.T) {
	broken := fstest.MapFS{}
	err := fs.WalkDir(fontFiles, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			var b []byte
			if b, err = fs.ReadFile(fontFiles, p); err == nil {
				broken[p] = &fstest.MapFile{Data: b}
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := (&typesetter{fonts: fontFiles}).chunk("fonts/scsip/20800.ttf.gz")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw[:1000])
	zw.Close()
	broken["fonts/scsip/20800.ttf.gz"] = &fstest.MapFile{Data: z.Bytes()}
	// Another chunk that is not even gzip: the chain passes over it.
	broken["fonts/hanb/20000.ttf.gz"] = &fstest.MapFile{Data: []byte("not a font")}

	r := &Renderer{fonts: broken}
	in := PosterInput{Name: "石家庄市𠮷祥超市", CreditCode: "91130102MA0CXXXX1K", URL: testURLs[0]}
	m, _ := r.Matrix(in.URL)
	if _, err := r.poster(in, "A4", m, false); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("the cut-short font should make fpdf panic, got %v", err)
	}
	pdf, err := r.Poster(in)
	if err != nil {
		t.Fatalf("Poster: %v", err)
	}
	if text := pdftotext(t, pdf); !strings.Contains(text, in.Name) {
		t.Errorf("text lacks %q:\n%s", in.Name, text)
	}
	if fonts := pdffonts(t, pdf); len(fonts) != 1 || fonts[0] != "utf8base" {
		t.Errorf("fonts %v, want the base font only", fonts)
	}

	in.Name = "石家庄\U00020001商店" // only the not-gzip chunk has it
	pdf, err = r.Poster(in)
	if err != nil {
		t.Fatalf("Poster: %v", err)
	}
	if text := pdftotext(t, pdf); !strings.Contains(text, in.Name) {
		t.Errorf("text lacks %q:\n%s", in.Name, text)
	}
}

// pdffonts lists the fonts a PDF embeds (poppler-utils).
func pdffonts(t *testing.T, pdf []byte) []string {
	t.Helper()
	out, err := exec.Command("pdffonts", writeTemp(t, "f.pdf", pdf)).CombinedOutput()
	if err != nil {
		t.Fatalf("pdffonts: %v: %s", err, out)
	}
	var names []string
	for i, ln := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(ln); i >= 2 && len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}
