package recognize

import (
	"image"
	"sort"
)

// zone is a field's place on the normalised document, in millimetres.
type zone struct{ x0, y0, x1, y1 float64 }

// channel picks what a field image is made of: the blue channel on the
// front, where the labels are printed in blue (light in that channel) and
// the values in black, so the labels vanish; luminance elsewhere.
type channel int

const (
	lum channel = iota
	blue
)

// fieldImage cuts a zone from the normalised document (scale px/mm),
// stretches it so the ink is black and the card white, whitens what is
// lighter than half-way (labels, guilloche), and crops it to the text
// with a white margin, as Tesseract likes it. It answers nil when the
// zone holds no ink.
func fieldImage(doc *rgb, scale float64, z zone, ch channel) *image.Gray {
	return fieldImageAt(doc, scale, z, ch, 0)
}

// fieldImageAt is fieldImage resampled so the text is about textPx pixels
// high (0 keeps the document's resolution): chi_sim reads characters of
// about 30 px better than larger ones.
func fieldImageAt(doc *rgb, scale float64, z zone, ch channel, textPx int) *image.Gray {
	x0, y0 := int(z.x0*scale), int(z.y0*scale)
	x1, y1 := min(int(z.x1*scale), doc.w), min(int(z.y1*scale), doc.h)
	w, h := x1-x0, y1-y0
	if w <= 4 || h <= 4 {
		return nil
	}
	v := make([]float64, w*h)
	vals := make([]float64, 0, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 3 * ((y0+y)*doc.w + x0 + x)
			r, g, b := float64(doc.pix[i]), float64(doc.pix[i+1]), float64(doc.pix[i+2])
			var s float64
			if ch == blue {
				s = b
			} else {
				s = 0.299*r + 0.587*g + 0.114*b
			}
			v[y*w+x] = s
			vals = append(vals, s)
		}
	}
	sort.Float64s(vals)
	ink, bg := vals[len(vals)/200], vals[len(vals)*9/10]
	if bg-ink < 40 {
		return nil // nothing printed here
	}
	dark := make([]bool, w*h)
	out := image.NewGray(image.Rect(0, 0, w, h))
	for i, s := range v {
		t := (s - ink) / (bg - ink)
		switch {
		case t > 0.62:
			t = 1
		case t < 0:
			t = 0
		}
		out.Pix[i] = uint8(255 * t)
		dark[i] = t < 0.45
	}
	// Rows and columns that hold ink: the text's box inside the zone.
	rows := make([]int, h)
	cols := make([]int, w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if dark[y*w+x] {
				rows[y]++
				cols[x]++
			}
		}
	}
	ty0, ty1 := span(rows, max(2, w/200))
	tx0, tx1 := span(cols, 1)
	if ty1 <= ty0 || tx1 <= tx0 {
		return nil
	}
	if textPx > 0 {
		// Resample the zone so one line of text is textPx high, then cut.
		lineH := float64(ty1 - ty0)
		if lines := float64(ty1-ty0) / (0.45 * scale * 9); lines > 1.5 {
			lineH = float64(ty1-ty0) / roundF(lines)
		}
		if f := float64(textPx) / lineH; f < 0.95 || f > 1.05 {
			out = resize(out, f)
			w, h = out.Rect.Dx(), out.Rect.Dy()
			ty0, ty1 = int(float64(ty0)*f), min(h, int(float64(ty1)*f+1))
			tx0, tx1 = int(float64(tx0)*f), min(w, int(float64(tx1)*f+1))
			scale *= f
		}
	}
	pad := int(1.5 * scale)
	ty0, ty1 = max(0, ty0-pad/2), min(h, ty1+pad/2)
	tx0, tx1 = max(0, tx0-pad/2), min(w, tx1+pad/2)
	cw, chh := tx1-tx0+2*pad, ty1-ty0+2*pad
	crop := image.NewGray(image.Rect(0, 0, cw, chh))
	for i := range crop.Pix {
		crop.Pix[i] = 255
	}
	for y := ty0; y < ty1; y++ {
		copy(crop.Pix[(y-ty0+pad)*cw+pad:], out.Pix[y*w+tx0:y*w+tx1])
	}
	return crop
}

// span is the first and last index (exclusive) where counts reach at
// least min, ignoring isolated spikes one index wide.
func span(counts []int, minCount int) (int, int) {
	first, last := -1, -1
	for i, c := range counts {
		if c < minCount {
			continue
		}
		if i+1 < len(counts) && counts[i+1] < minCount && (i == 0 || counts[i-1] < minCount) {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i + 1
	}
	return first, last
}

func roundF(v float64) float64 { return float64(int(v + 0.5)) }

// resize scales a grey image by f with area averaging (f < 1) or
// bilinear interpolation (f > 1).
func resize(src *image.Gray, f float64) *image.Gray {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := max(1, int(float64(sw)*f)), max(1, int(float64(sh)*f))
	dst := image.NewGray(image.Rect(0, 0, dw, dh))
	inv := 1 / f
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			if f < 1 {
				x0, y0 := float64(x)*inv, float64(y)*inv
				x1, y1 := min(float64(sw), x0+inv), min(float64(sh), y0+inv)
				var sum, wsum float64
				for yy := int(y0); float64(yy) < y1; yy++ {
					wy := min(y1, float64(yy+1)) - max(y0, float64(yy))
					for xx := int(x0); float64(xx) < x1; xx++ {
						wx := min(x1, float64(xx+1)) - max(x0, float64(xx))
						sum += float64(src.Pix[yy*sw+xx]) * wx * wy
						wsum += wx * wy
					}
				}
				dst.Pix[y*dw+x] = uint8(sum/wsum + 0.5)
				continue
			}
			u, v := (float64(x)+0.5)*inv-0.5, (float64(y)+0.5)*inv-0.5
			u, v = max(0, min(u, float64(sw-1))), max(0, min(v, float64(sh-1)))
			x0, y0 := int(u), int(v)
			x1, y1 := min(x0+1, sw-1), min(y0+1, sh-1)
			fx, fy := u-float64(x0), v-float64(y0)
			a := float64(src.Pix[y0*sw+x0])*(1-fx) + float64(src.Pix[y0*sw+x1])*fx
			b := float64(src.Pix[y1*sw+x0])*(1-fx) + float64(src.Pix[y1*sw+x1])*fx
			dst.Pix[y*dw+x] = uint8(a*(1-fy) + b*fy + 0.5)
		}
	}
	return dst
}
