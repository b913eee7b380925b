package recognize

import (
	"image"
	"image/draw"
	"math"
)

// rgb is a packed 8-bit RGB raster, the one format the pipeline works in.
type rgb struct {
	w, h int
	pix  []uint8 // 3 bytes a pixel
}

func toRGB(img image.Image) *rgb {
	b := img.Bounds()
	out := &rgb{w: b.Dx(), h: b.Dy(), pix: make([]uint8, 3*b.Dx()*b.Dy())}
	switch src := img.(type) {
	case *image.YCbCr:
		for y := 0; y < out.h; y++ {
			for x := 0; x < out.w; x++ {
				yi := src.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := src.COffset(b.Min.X+x, b.Min.Y+y)
				yy, cb, cr := int32(src.Y[yi])*0x10101, int32(src.Cb[ci])-128, int32(src.Cr[ci])-128
				r := (yy + 91881*cr) >> 16
				g := (yy - 22554*cb - 46802*cr) >> 16
				bl := (yy + 116130*cb) >> 16
				i := 3 * (y*out.w + x)
				out.pix[i], out.pix[i+1], out.pix[i+2] = clampI(r), clampI(g), clampI(bl)
			}
		}
	default:
		rgba, ok := img.(*image.RGBA)
		if !ok {
			rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
			draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
		}
		rb := rgba.Bounds()
		for y := 0; y < out.h; y++ {
			for x := 0; x < out.w; x++ {
				si := rgba.PixOffset(rb.Min.X+x, rb.Min.Y+y)
				i := 3 * (y*out.w + x)
				copy(out.pix[i:i+3], rgba.Pix[si:si+3])
			}
		}
	}
	return out
}

func clampI(v int32) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// shrink averages boxes of f×f pixels (f ≥ 1).
func (m *rgb) shrink(f int) *rgb {
	if f <= 1 {
		return m
	}
	w, h := m.w/f, m.h/f
	out := &rgb{w: w, h: h, pix: make([]uint8, 3*w*h)}
	n := f * f
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s [3]int
			for dy := 0; dy < f; dy++ {
				row := 3 * ((y*f+dy)*m.w + x*f)
				for dx := 0; dx < f; dx++ {
					s[0] += int(m.pix[row+3*dx])
					s[1] += int(m.pix[row+3*dx+1])
					s[2] += int(m.pix[row+3*dx+2])
				}
			}
			i := 3 * (y*w + x)
			out.pix[i], out.pix[i+1], out.pix[i+2] = uint8(s[0]/n), uint8(s[1]/n), uint8(s[2]/n)
		}
	}
	return out
}

// sample is bilinear interpolation at (u, v); outside answers white.
func (m *rgb) sample(u, v float64, out []uint8) {
	if u < 0 || v < 0 || u > float64(m.w-1) || v > float64(m.h-1) {
		out[0], out[1], out[2] = 255, 255, 255
		return
	}
	x0, y0 := int(u), int(v)
	x1, y1 := min(x0+1, m.w-1), min(y0+1, m.h-1)
	fx, fy := u-float64(x0), v-float64(y0)
	i00, i10, i01, i11 := 3*(y0*m.w+x0), 3*(y0*m.w+x1), 3*(y1*m.w+x0), 3*(y1*m.w+x1)
	for k := 0; k < 3; k++ {
		a := float64(m.pix[i00+k])*(1-fx) + float64(m.pix[i10+k])*fx
		b := float64(m.pix[i01+k])*(1-fx) + float64(m.pix[i11+k])*fx
		out[k] = uint8(a*(1-fy) + b*fy + 0.5)
	}
}

// quad is a document's corners in the photo: TL, TR, BR, BL.
type quad [4][2]float64

// warp maps q onto a w×h raster (perspective), averaging 2×2 samples
// a pixel when the source is much larger than the target.
func (m *rgb) warp(q quad, w, h int) *rgb {
	hm := homography([4][2]float64{{0, 0}, {float64(w), 0}, {float64(w), float64(h)}, {0, float64(h)}}, q)
	out := &rgb{w: w, h: h, pix: make([]uint8, 3*w*h)}
	// Source pixels per target pixel along the top edge.
	ratio := math.Hypot(q[1][0]-q[0][0], q[1][1]-q[0][1]) / float64(w)
	var s [3]uint8
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 3 * (y*w + x)
			if ratio > 1.6 {
				var acc [3]int
				for _, o := range [4][2]float64{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}} {
					u, v := apply(hm, float64(x)+o[0], float64(y)+o[1])
					m.sample(u, v, s[:])
					acc[0] += int(s[0])
					acc[1] += int(s[1])
					acc[2] += int(s[2])
				}
				out.pix[i], out.pix[i+1], out.pix[i+2] = uint8(acc[0]/4), uint8(acc[1]/4), uint8(acc[2]/4)
				continue
			}
			u, v := apply(hm, float64(x)+0.5, float64(y)+0.5)
			m.sample(u, v, out.pix[i:i+3])
		}
	}
	return out
}

// homography maps the four points from onto to (row-major 3×3, h[8] = 1).
func homography(from, to [4][2]float64) [9]float64 {
	var a [8][9]float64
	for i := 0; i < 4; i++ {
		x, y, u, v := from[i][0], from[i][1], to[i][0], to[i][1]
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for c := 0; c < 8; c++ {
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		if a[c][c] == 0 {
			continue
		}
		for r := 0; r < 8; r++ {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for k := c; k < 9; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	var h [9]float64
	for i := 0; i < 8; i++ {
		if a[i][i] != 0 {
			h[i] = a[i][8] / a[i][i]
		}
	}
	h[8] = 1
	return h
}

func apply(h [9]float64, x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}
