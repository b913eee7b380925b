// Package pdffonttest checks, on the font files themselves (not through
// fpdf), that every glyph pdffont lays out has an outline in the font that
// draws it: a character without one prints as the empty .notdef box while
// text extraction still shows it, so pdftotext alone cannot tell.
package pdffonttest

import (
	"encoding/binary"
	"io/fs"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"

	"github.com/sjzamr/smartreg/shared/pdffont"
)

// Sfnt is a TrueType font read on its own.
type Sfnt struct {
	tables map[string][]byte
}

// Parse reads the tables of a TrueType font.
func Parse(t testing.TB, b []byte) Sfnt {
	t.Helper()
	f := Sfnt{tables: map[string][]byte{}}
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

// Glyph returns r's glyph id in the (3,1) format-4 cmap, the one fpdf
// reads.
func (f Sfnt) Glyph(r rune) int {
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

// Contours is the number of contours of glyph id g (0: no outline).
func (f Sfnt) Contours(g int) int {
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

// FontOf reads the font file behind an fpdf family of the chain ("base",
// "scsip-20800").
func FontOf(t testing.TB, fonts fs.FS, family string) Sfnt {
	t.Helper()
	if family == "base" {
		b, err := fs.ReadFile(fonts, "fonts/base.ttf")
		if err != nil {
			t.Fatal(err)
		}
		return Parse(t, b)
	}
	face, start, _ := strings.Cut(family, "-")
	b, err := pdffont.Chunk(fonts, "fonts/"+face+"/"+strings.ToUpper(start)+".ttf.gz")
	if err != nil {
		t.Fatalf("%s: %v", family, err)
	}
	return Parse(t, b)
}

// Layout lays s out with the chain in fonts on a scratch document.
func Layout(t testing.TB, fonts fs.FS, s string) []pdffont.Glyph {
	t.Helper()
	ts, err := pdffont.New(fpdf.New("P", "mm", "A4", ""), fonts, false)
	if err != nil {
		t.Fatal(err)
	}
	return ts.Glyphs(s)
}

// AssertDrawn checks that every glyph of gs has an outline in its font of
// the embedded chain, except the replacements of the characters in
// missing.
func AssertDrawn(t testing.TB, gs []pdffont.Glyph, missing string) {
	t.Helper()
	fonts := map[string]Sfnt{}
	for _, g := range gs {
		if g.Text != "" && strings.Contains(missing, g.Text) {
			if g.Family != "base" || g.Draw != string(pdffont.Replacement) {
				t.Errorf("%q: drawn as %q in %s, want the replacement %q", g.Text, g.Draw, g.Family, pdffont.Replacement)
			}
			continue
		}
		if g.Text == " " || g.Draw == "" {
			continue
		}
		f, ok := fonts[g.Family]
		if !ok {
			f = FontOf(t, pdffont.Files(), g.Family)
			fonts[g.Family] = f
		}
		r := []rune(g.Draw)[0]
		if gid := f.Glyph(r); f.Contours(gid) <= 0 {
			t.Errorf("%q (U+%04X) drawn as U+%04X in %s: glyph %d has no outline", g.Text, []rune(g.Text)[0], r, g.Family, gid)
		}
	}
}
