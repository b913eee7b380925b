package cardgen

import (
	_ "embed"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The fonts are subsets of Noto Sans/Serif CJK SC (SIL OFL, fonts/OFL.txt)
// cut by fonts/mkfonts.sh to the characters a card can carry.
var (
	//go:embed fonts/NotoSansSC-Regular.otf
	sansOTF []byte
	//go:embed fonts/NotoSansSC-Bold.otf
	sansBoldOTF []byte
	//go:embed fonts/NotoSerifSC-Regular.otf
	serifOTF []byte
)

// Font names a typeface the values are drawn in.
type Font int

const (
	Sans Font = iota
	Serif
	SansBold
)

var (
	fontsOnce sync.Once
	fonts     [3]*opentype.Font
)

func face(f Font, px float64) font.Face {
	fontsOnce.Do(func() {
		for i, b := range [][]byte{sansOTF, serifOTF, sansBoldOTF} {
			ft, err := opentype.Parse(b)
			if err != nil {
				panic(err)
			}
			fonts[i] = ft
		}
	})
	// A fresh face each time: an opentype.Face keeps scratch buffers and
	// is not safe for concurrent use (ocrbench renders on every core), and
	// making one is cheap next to drawing with it.
	fc, err := opentype.NewFace(fonts[f], &opentype.FaceOptions{Size: math.Round(px), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		panic(err)
	}
	return fc
}

// Missing lists the characters of s the fonts cannot draw.
func Missing(s string) []rune {
	fc := face(Sans, 20)
	var out []rune
	for _, r := range s {
		if r == ' ' || r == '\n' {
			continue
		}
		if _, ok := fc.GlyphAdvance(r); !ok {
			out = append(out, r)
		}
	}
	return out
}

// canvas draws in millimetres on an image of px pixels per millimetre.
type canvas struct {
	img   *image.RGBA
	scale float64
}

func newCanvas(wmm, hmm, scale float64) *canvas {
	return &canvas{img: image.NewRGBA(image.Rect(0, 0, int(wmm*scale), int(hmm*scale))), scale: scale}
}

// text draws s with its baseline at (x, y) mm, in a font of size mm
// (em height), with extra spacing mm between characters; it answers the
// x where the text ended.
func (c *canvas) text(x, y, size, spacing float64, f Font, col color.Color, s string) float64 {
	fc := face(f, size*c.scale)
	d := &font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: fc}
	px := x * c.scale
	for _, r := range s {
		d.Dot = fixed.Point26_6{X: fixed.Int26_6(px * 64), Y: fixed.Int26_6(y * c.scale * 64)}
		d.DrawString(string(r))
		adv, _ := fc.GlyphAdvance(r)
		px += float64(adv)/64 + spacing*c.scale
	}
	return px / c.scale
}

// width of s in mm.
func (c *canvas) width(size, spacing float64, f Font, s string) float64 {
	fc := face(f, size*c.scale)
	w := 0.0
	n := 0
	for _, r := range s {
		adv, _ := fc.GlyphAdvance(r)
		w += float64(adv) / 64
		n++
	}
	return w/c.scale + spacing*float64(n)
}

func (c *canvas) fill(x0, y0, x1, y1 float64, col color.Color) {
	r := image.Rect(int(x0*c.scale), int(y0*c.scale), int(x1*c.scale), int(y1*c.scale))
	draw.Draw(c.img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

// shade paints every pixel with fn(x, y in mm).
func (c *canvas) shade(fn func(x, y float64) color.RGBA) {
	b := c.img.Bounds()
	for py := b.Min.Y; py < b.Max.Y; py++ {
		for px := b.Min.X; px < b.Max.X; px++ {
			c.img.SetRGBA(px, py, fn(float64(px)/c.scale, float64(py)/c.scale))
		}
	}
}

// ellipse fills an axis-aligned ellipse.
func (c *canvas) ellipse(cx, cy, rx, ry float64, col color.RGBA) {
	b := c.img.Bounds()
	for py := int((cy - ry) * c.scale); py <= int((cy+ry)*c.scale); py++ {
		for px := int((cx - rx) * c.scale); px <= int((cx+rx)*c.scale); px++ {
			if !image.Pt(px, py).In(b) {
				continue
			}
			dx, dy := (float64(px)/c.scale-cx)/rx, (float64(py)/c.scale-cy)/ry
			if dx*dx+dy*dy <= 1 {
				c.img.SetRGBA(px, py, col)
			}
		}
	}
}

// Card geometry, in millimetres (GB/T 14916: 85.6 × 54).
const (
	CardW = 85.6
	CardH = 54.0
)

// Style varies what a real card varies: the value typeface and small
// shifts of the printing.
type Style struct {
	Font   Font
	DX, DY float64 // printing offset, mm
	Tint   float64 // background hue shift, 0..1
}

// RandomStyle draws a style.
func RandomStyle(r *rand.Rand) Style {
	f := Sans
	if r.IntN(2) == 0 {
		f = Serif
	}
	return Style{Font: f, DX: r.Float64()*1.2 - 0.6, DY: r.Float64()*1.2 - 0.6, Tint: r.Float64()}
}

var (
	labelBlue = color.RGBA{40, 90, 160, 255}
	ink       = color.RGBA{20, 20, 22, 255}
)

// cardBackground is the pale guilloche of both sides.
func cardBackground(c *canvas, tint float64) {
	c.shade(func(x, y float64) color.RGBA {
		w := math.Sin(x*0.9+3*math.Sin(y*0.25)) * math.Sin(y*0.8+2*math.Sin(x*0.2))
		base := 236 + 8*w
		r := base - 6 + 6*tint
		g := base + 2
		b := base + 8 - 8*tint
		return color.RGBA{clamp8(r), clamp8(g), clamp8(b), 255}
	})
}

func clamp8(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// AddressLines splits an address the way the card prints it: 11
// characters a line, at most three lines.
func AddressLines(a string) []string {
	rs := []rune(a)
	var out []string
	for len(rs) > 0 && len(out) < 3 {
		n := min(11, len(rs))
		out = append(out, string(rs[:n]))
		rs = rs[n:]
	}
	return out
}

// Front draws the front of the card at scale pixels per millimetre.
func Front(p Person, s Style, scale float64) *image.RGBA {
	c := newCanvas(CardW, CardH, scale)
	cardBackground(c, s.Tint)
	// Photo: a grey-blue panel with a head and shoulders.
	c.fill(55, 6, 80, 40, color.RGBA{214, 222, 232, 255})
	c.ellipse(67.5, 18, 6.2, 7.8, color.RGBA{150, 140, 135, 255})
	c.ellipse(67.5, 39, 11, 9, color.RGBA{60, 66, 80, 255})
	cardBackgroundStrip(c, s.Tint, 54, 40, 81, 49)
	dx, dy := s.DX, s.DY
	const lab = 3.0
	c.text(5.5+dx, 10.5+dy, lab, 0.8, Sans, labelBlue, "姓名")
	c.text(15+dx, 10.8+dy, 4.4, 0.3, s.Font, ink, p.Name)
	c.text(5.5+dx, 17+dy, lab, 0.8, Sans, labelBlue, "性别")
	c.text(15+dx, 17.2+dy, 3.8, 0, s.Font, ink, p.Sex)
	c.text(25+dx, 17+dy, lab, 0.8, Sans, labelBlue, "民族")
	c.text(34+dx, 17.2+dy, 3.8, 0.2, s.Font, ink, p.Ethnicity)
	c.text(5.5+dx, 23.5+dy, lab, 0.8, Sans, labelBlue, "出生")
	x := c.text(15+dx, 23.7+dy, 3.8, 0.1, s.Font, ink, p.Birth.Format("2006"))
	x = c.text(x+0.8, 23.5+dy, lab, 0, Sans, labelBlue, "年")
	x = c.text(x+0.8, 23.7+dy, 3.8, 0.1, s.Font, ink, itoa(int(p.Birth.Month())))
	x = c.text(x+0.8, 23.5+dy, lab, 0, Sans, labelBlue, "月")
	x = c.text(x+0.8, 23.7+dy, 3.8, 0.1, s.Font, ink, itoa(p.Birth.Day()))
	c.text(x+0.8, 23.5+dy, lab, 0, Sans, labelBlue, "日")
	c.text(5.5+dx, 30+dy, lab, 0.8, Sans, labelBlue, "住址")
	for i, line := range AddressLines(p.Address) {
		c.text(15+dx, 30.2+dy+float64(i)*5, 3.5, 0.05, s.Font, ink, line)
	}
	c.text(5.5+dx, 48.6+dy, lab, 0.35, Sans, labelBlue, "公民身份号码")
	c.text(27.5+dx, 48.8+dy, 4.2, 0.55, Sans, ink, p.IDNumber)
	return c.img
}

func cardBackgroundStrip(c *canvas, tint, x0, y0, x1, y1 float64) {
	sub := &canvas{img: c.img.SubImage(image.Rect(int(x0*c.scale), int(y0*c.scale), int(x1*c.scale), int(y1*c.scale))).(*image.RGBA), scale: c.scale}
	cardBackground(sub, tint)
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}

// Back draws the back: emblem, title, issuing authority and validity.
func Back(p Person, s Style, scale float64) *image.RGBA {
	c := newCanvas(CardW, CardH, scale)
	cardBackground(c, s.Tint)
	red := color.RGBA{200, 40, 40, 255}
	c.ellipse(13, 12, 7, 7, red)
	c.ellipse(13, 12, 4.5, 4.5, color.RGBA{235, 200, 60, 255})
	c.text(26, 12, 5.2, 1.4, SansBold, ink, "中华人民共和国")
	c.text(30, 23, 6.2, 1.8, SansBold, ink, "居民身份证")
	dx, dy := s.DX, s.DY
	c.text(15+dx, 42+dy, 3.0, 0.6, Sans, ink, "签发机关")
	c.text(31+dx, 42.2+dy, 3.6, 0.1, s.Font, ink, p.Authority)
	c.text(15+dx, 48.5+dy, 3.0, 0.6, Sans, ink, "有效期限")
	c.text(31+dx, 48.7+dy, 3.6, 0.15, s.Font, ink, p.ValidityText())
	return c.img
}

// Licence geometry (the copy, 副本, landscape A4), mm.
const (
	LicenceW = 297.0
	LicenceH = 210.0
)

// LicenceImage draws a business licence at scale pixels per millimetre.
func LicenceImage(l Licence, s Style, scale float64) *image.RGBA {
	c := newCanvas(LicenceW, LicenceH, scale)
	c.shade(func(x, y float64) color.RGBA {
		v := 246 + 4*math.Sin(x*0.3)*math.Sin(y*0.3)
		return color.RGBA{clamp8(v), clamp8(v - 2), clamp8(v - 10), 255}
	})
	red := color.RGBA{190, 30, 30, 255}
	// A red frame.
	c.fill(8, 8, LicenceW-8, 11, red)
	c.fill(8, LicenceH-11, LicenceW-8, LicenceH-8, red)
	c.fill(8, 8, 11, LicenceH-8, red)
	c.fill(LicenceW-11, 8, LicenceW-8, LicenceH-8, red)
	c.ellipse(LicenceW/2, 30, 9, 9, red)
	c.text(LicenceW/2-38, 58, 17, 4, SansBold, ink, "营业执照")
	c.text(LicenceW/2-8, 68, 5, 1, Sans, ink, "（副本）")
	dx, dy := s.DX*2, s.DY*2
	c.text(22+dx, 34+dy, 4.6, 0.3, Sans, ink, "统一社会信用代码")
	c.text(22+dx, 43+dy, 6.4, 0.8, Sans, ink, l.CreditCode)
	rows := []struct{ k, v string }{
		{"名称", l.Name}, {"类型", l.Type}, {"法定代表人", l.Representative}, {"经营范围", l.Scope},
	}
	for i, row := range rows {
		y := 92 + float64(i)*13 + dy
		c.text(30+dx, y, 5, 0.5, Sans, ink, row.k)
		c.text(62+dx, y, 5.4, 0.2, s.Font, ink, row.v)
	}
	right := []struct{ k, v string }{
		{"注册资本", l.Capital}, {"成立日期", l.Founded.Format("2006年01月02日")}, {"住所", l.Address},
	}
	for i, row := range right {
		y := 92 + float64(i)*13 + dy
		c.text(170+dx, y, 5, 0.5, Sans, ink, row.k)
		v := row.v
		if len([]rune(v)) > 18 {
			v = string([]rune(v)[:18])
		}
		c.text(196+dx, y, 4.8, 0.1, s.Font, ink, v)
	}
	c.text(190, 180, 5, 0.5, Sans, ink, "登记机关")
	c.ellipse(245, 175, 17, 17, color.RGBA{220, 70, 70, 255})
	c.ellipse(245, 175, 14.5, 14.5, color.RGBA{246, 236, 230, 255})
	return c.img
}
