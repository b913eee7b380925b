package pdffont_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"unicode"

	"github.com/sjzamr/smartreg/shared/pdffont"
	"github.com/sjzamr/smartreg/shared/pdffont/pdffonttest"
)

// FP-23, FP-38. Each character takes the first face of the chain that has
// it: Noto for everything it covers (𠮷 and 𡈼 too), HanaMinB only for the
// rest of Extension B, 〓 when no face has it.
func TestChainOrder(t *testing.T) {
	files := pdffont.Files()
	gs := pdffonttest.Layout(t, files, "𠮷\U00020001喆A·😀葛\U000E0100")
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%s:%U", g.Family, []rune(g.Draw + "\x00")[0]))
	}
	want := []string{"scsip-20800:U+E3B7", "hanb-20000:U+E001", "scbmp-5400:U+5586", "base:U+0041",
		"base:U+00B7", "base:U+3013", "base:U+845B", "base:U+0000"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("layout\n got %v\nwant %v", got, want)
	}
	if gs[7].Text != "\U000E0100" || gs[7].W != 0 {
		t.Errorf("variation selector %+v, want no advance and its text kept", gs[7])
	}
	pdffonttest.AssertDrawn(t, gs, "😀")
	// The check can fail: the base font alone (the old poster font) has no
	// outline for 喆, which printed as an empty box.
	if base := pdffonttest.FontOf(t, files, "base"); base.Contours(base.Glyph('喆')) != 0 || base.Contours(base.Glyph('张')) == 0 {
		t.Error("the outline check does not tell a missing glyph from a present one")
	}
}

// FP-23, FP-38. Every character of every face's coverage bitmap has an
// outline at its place in its chunk, and the chain covers what a name can
// hold: GBK's and GB18030's hanzi of the BMP, CJK Extension A and B whole,
// and the punctuation people put in names.
func TestFontChainCoverage(t *testing.T) {
	files := pdffont.Files()
	var covered [pdffont.CovLimit]bool
	for i, f := range pdffont.Chain {
		cov, err := fs.ReadFile(files, "fonts/"+f.Name+".cov")
		if err != nil || len(cov) != pdffont.CovLimit/8 {
			t.Fatalf("%s coverage: %d bytes, %v", f.Name, len(cov), err)
		}
		fonts := map[rune]pdffonttest.Sfnt{}
		n := 0
		for r := rune(0); r < pdffont.CovLimit; r++ {
			if cov[r>>3]&(1<<(r&7)) == 0 {
				continue
			}
			n++
			if covered[r] && i > 0 {
				t.Fatalf("U+%04X in %s and an earlier face: the cut should keep only the first", r, f.Name)
			}
			covered[r] = true
			start, d := rune(0), r
			if f.Chunked {
				start = r &^ (pdffont.ChunkSpan - 1)
			}
			if f.Proxy {
				d = pdffont.ProxyBase + r - start
			}
			font, ok := fonts[start]
			if !ok {
				family := f.Name
				if f.Chunked {
					family = fmt.Sprintf("%s-%x", f.Name, start)
				}
				font = pdffonttest.FontOf(t, files, family)
				fonts[start] = font
			}
			// Spaces and format characters are the only empty glyphs.
			if gid := font.Glyph(d); gid == 0 || font.Contours(gid) == 0 && !blank(r) {
				t.Fatalf("%s: U+%04X (as U+%04X) has glyph %d with no outline", f.Name, r, d, gid)
			}
		}
		t.Logf("%s: %d characters in %d font files", f.Name, n, len(fonts))
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
		if got := pdffont.NormalizeSpace(in); got != want {
			t.Errorf("NormalizeSpace(%q) = %q, want %q", in, got, want)
		}
	}
}

// FP-38. A line wider than the measure breaks at any character, and no
// line starts with a space.
func TestWrap(t *testing.T) {
	ts, err := pdffont.New(newPDF(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	gs := ts.Glyphs(strings.Repeat("石家庄𠮷", 10) + " 有限公司")
	lines := ts.Wrap(gs, 12, 50)
	if len(lines) < 2 {
		t.Fatalf("%d lines, want several", len(lines))
	}
	var all strings.Builder
	for _, ln := range lines {
		if ts.Width(ln, 12) > 50+1e-9 {
			t.Errorf("line %.1f wide, over 50", ts.Width(ln, 12))
		}
		if ln[0].Text == " " {
			t.Error("a line starts with a space")
		}
		for _, g := range ln {
			all.WriteString(g.Text)
		}
	}
	if !strings.Contains(all.String(), "𠮷") {
		t.Error("wrapped text lost 𠮷")
	}
}
