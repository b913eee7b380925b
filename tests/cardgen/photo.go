package cardgen

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Shot is how a document was photographed.
type Shot struct {
	Width, Height int           // photo size, px
	Corners       [4][2]float64 // where the document's corners landed (TL, TR, BR, BL), px
	Rotation      float64       // degrees
	Quality       int           // JPEG quality
	Blur          float64       // Gaussian sigma, px
	Background    string
}

// ShotOptions bound the distortions; Realistic is what the phone
// photos allow.
type ShotOptions struct {
	MaxRotation   float64 // degrees either way
	Perspective   float64 // corner jitter as a fraction of the document width
	MinFill       float64 // document width as a fraction of the photo width
	MaxFill       float64
	MaxBlur       float64 // sigma, px
	MinQ, MaxQ    int     // JPEG quality
	Light         float64 // depth of the lighting gradient, 0..1
	Noise         float64 // sensor noise sigma, 0..255
	Width, Height int     // photo size; 0 means a random phone-like size
}

// Realistic: ±15°, some perspective, uneven light, blur, JPEG 40–90.
var Realistic = ShotOptions{MaxRotation: 15, Perspective: 0.04, MinFill: 0.5, MaxFill: 0.8, MaxBlur: 1.3,
	MinQ: 40, MaxQ: 90, Light: 0.3, Noise: 4}

// Photograph puts doc on a background as a phone would, and answers the
// JPEG and how it was taken.
func Photograph(doc image.Image, r *rand.Rand, o ShotOptions) ([]byte, Shot) {
	img, shot := Compose(doc, r, o)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: shot.Quality}); err != nil {
		panic(err)
	}
	return buf.Bytes(), shot
}

// Compose is Photograph before the JPEG encoding.
func Compose(doc image.Image, r *rand.Rand, o ShotOptions) (*image.RGBA, Shot) {
	w, h := o.Width, o.Height
	if w == 0 {
		w = 1200 + 100*r.IntN(5)
		h = w * 3 / 4
	}
	shot := Shot{Width: w, Height: h, Quality: o.MinQ + r.IntN(o.MaxQ-o.MinQ+1)}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	shot.Background = background(out, r)

	db := doc.Bounds()
	dw, dh := float64(db.Dx()), float64(db.Dy())
	fill := o.MinFill + r.Float64()*(o.MaxFill-o.MinFill)
	cw := fill * float64(w)
	ch := cw * dh / dw
	if ch > 0.85*float64(h) {
		ch = 0.85 * float64(h)
		cw = ch * dw / dh
	}
	// Drawn again until every corner is inside the frame with a margin:
	// the photos show the whole document, as the do.
	for try := 0; ; try++ {
		rot := (r.Float64()*2 - 1) * o.MaxRotation
		shot.Rotation = rot
		th := rot * math.Pi / 180
		// Bounding box of the rotated document, to keep it in the frame.
		bw := math.Abs(cw*math.Cos(th)) + math.Abs(ch*math.Sin(th))
		bh := math.Abs(cw*math.Sin(th)) + math.Abs(ch*math.Cos(th))
		mx, my := (float64(w)-bw)/2-0.03*float64(w), (float64(h)-bh)/2-0.03*float64(h)
		cx := float64(w)/2 + (r.Float64()*2-1)*math.Max(mx, 0)
		cy := float64(h)/2 + (r.Float64()*2-1)*math.Max(my, 0)
		local := [4][2]float64{{-cw / 2, -ch / 2}, {cw / 2, -ch / 2}, {cw / 2, ch / 2}, {-cw / 2, ch / 2}}
		for i, p := range local {
			jx := (r.Float64()*2 - 1) * o.Perspective * cw
			jy := (r.Float64()*2 - 1) * o.Perspective * cw
			x, y := p[0]+jx, p[1]+jy
			shot.Corners[i] = [2]float64{cx + x*math.Cos(th) - y*math.Sin(th), cy + x*math.Sin(th) + y*math.Cos(th)}
		}
		if try > 50 || framed(shot.Corners, w, h) {
			break
		}
	}
	src := [4][2]float64{{0, 0}, {dw, 0}, {dw, dh}, {0, dh}}
	hm := homography(shot.Corners, src) // photo → document
	shadow(out, shot.Corners)
	warp(out, doc, hm, shot.Corners)

	light(out, r, o.Light)
	if o.MaxBlur > 0 {
		shot.Blur = 0.3 + r.Float64()*(o.MaxBlur-0.3)
		gaussian(out, shot.Blur)
	}
	noise(out, r, o.Noise)
	return out, shot
}

// background paints a desk: wood, cloth, stone or a plain surface.
func background(img *image.RGBA, r *rand.Rand) string {
	kinds := []string{"wood", "cloth", "plain", "stone", "dark"}
	k := kinds[r.IntN(len(kinds))]
	base := [3]float64{float64(60 + r.IntN(120)), float64(50 + r.IntN(110)), float64(40 + r.IntN(100))}
	if k == "dark" {
		base = [3]float64{float64(20 + r.IntN(40)), float64(20 + r.IntN(40)), float64(25 + r.IntN(40))}
	}
	f1, f2 := 0.01+r.Float64()*0.04, r.Float64()*6
	b := img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			var v float64
			fx, fy := float64(x), float64(y)
			switch k {
			case "wood":
				v = 18*math.Sin(fy*f1+4*math.Sin(fx*0.004+f2)) + 6*math.Sin(fy*0.3+fx*0.01)
			case "cloth":
				v = 10 * math.Sin(fx*0.5) * math.Sin(fy*0.5)
			case "stone":
				v = 14*math.Sin(fx*0.05+f2)*math.Cos(fy*0.07) + 8*math.Sin((fx+fy)*0.13)
			default:
				v = 20 * (fx/float64(b.Dx()) - 0.5)
			}
			img.SetRGBA(x, y, color.RGBA{clamp8(base[0] + v), clamp8(base[1] + v*0.9), clamp8(base[2] + v*0.8), 255})
		}
	}
	return k
}

// shadow darkens a soft band below and right of the document.
func shadow(img *image.RGBA, c [4][2]float64) {
	var sh [4][2]float64
	for i := range c {
		sh[i] = [2]float64{c[i][0] + 6, c[i][1] + 8}
	}
	b := img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if inside(sh, float64(x), float64(y)) {
				p := img.RGBAAt(x, y)
				img.SetRGBA(x, y, color.RGBA{p.R * 3 / 4, p.G * 3 / 4, p.B * 3 / 4, 255})
			}
		}
	}
}

func inside(q [4][2]float64, x, y float64) bool {
	sign := 0.0
	for i := 0; i < 4; i++ {
		a, b := q[i], q[(i+1)%4]
		cr := (b[0]-a[0])*(y-a[1]) - (b[1]-a[1])*(x-a[0])
		if cr == 0 {
			continue
		}
		if sign == 0 {
			sign = cr
		} else if (cr > 0) != (sign > 0) {
			return false
		}
	}
	return true
}

// warp draws doc into out where the quad lies, sampling bilinearly through
// hm (out → doc), with 2×2 supersampling at the edges.
func warp(out *image.RGBA, doc image.Image, hm [9]float64, q [4][2]float64) {
	minx, miny, maxx, maxy := q[0][0], q[0][1], q[0][0], q[0][1]
	for _, p := range q {
		minx, maxx = math.Min(minx, p[0]), math.Max(maxx, p[0])
		miny, maxy = math.Min(miny, p[1]), math.Max(maxy, p[1])
	}
	db := doc.Bounds()
	rgba, _ := doc.(*image.RGBA)
	for y := int(miny) - 1; y <= int(maxy)+1; y++ {
		for x := int(minx) - 1; x <= int(maxx)+1; x++ {
			if !image.Pt(x, y).In(out.Bounds()) {
				continue
			}
			var acc [3]float64
			n := 0
			for _, s := range [4][2]float64{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}} {
				px, py := float64(x)+s[0], float64(y)+s[1]
				u, v := apply(hm, px, py)
				if u < 0 || v < 0 || u >= float64(db.Dx()-1) || v >= float64(db.Dy()-1) {
					continue
				}
				c := bilinear(rgba, u, v)
				acc[0] += c[0]
				acc[1] += c[1]
				acc[2] += c[2]
				n++
			}
			if n == 0 {
				continue
			}
			bg := out.RGBAAt(x, y)
			a := float64(n) / 4
			out.SetRGBA(x, y, color.RGBA{
				clamp8(acc[0]/float64(n)*a + float64(bg.R)*(1-a)),
				clamp8(acc[1]/float64(n)*a + float64(bg.G)*(1-a)),
				clamp8(acc[2]/float64(n)*a + float64(bg.B)*(1-a)), 255})
		}
	}
}

func bilinear(img *image.RGBA, u, v float64) [3]float64 {
	x0, y0 := int(u), int(v)
	fx, fy := u-float64(x0), v-float64(y0)
	var out [3]float64
	at := func(x, y int) []uint8 {
		i := img.PixOffset(x, y)
		return img.Pix[i : i+3]
	}
	p00, p10, p01, p11 := at(x0, y0), at(x0+1, y0), at(x0, y0+1), at(x0+1, y0+1)
	for k := 0; k < 3; k++ {
		out[k] = (float64(p00[k])*(1-fx)+float64(p10[k])*fx)*(1-fy) + (float64(p01[k])*(1-fx)+float64(p11[k])*fx)*fy
	}
	return out
}

// light multiplies by a smooth gradient and adds a soft highlight.
func light(img *image.RGBA, r *rand.Rand, depth float64) {
	if depth <= 0 {
		return
	}
	b := img.Bounds()
	ang := r.Float64() * 2 * math.Pi
	gx, gy := math.Cos(ang), math.Sin(ang)
	hx, hy := r.Float64()*float64(b.Dx()), r.Float64()*float64(b.Dy())
	hr := float64(b.Dx()) * (0.15 + 0.2*r.Float64())
	hs := r.Float64() * 40 * depth
	diag := math.Hypot(float64(b.Dx()), float64(b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			t := ((float64(x)-float64(b.Dx())/2)*gx + (float64(y)-float64(b.Dy())/2)*gy) / diag
			f := 1 - depth*(t+0.5)*0.9
			d := math.Hypot(float64(x)-hx, float64(y)-hy) / hr
			add := hs * math.Exp(-d*d)
			i := img.PixOffset(x, y)
			for k := 0; k < 3; k++ {
				img.Pix[i+k] = clamp8(float64(img.Pix[i+k])*f + add)
			}
		}
	}
}

// gaussian blurs in place with three box passes per axis.
func gaussian(img *image.RGBA, sigma float64) {
	// Box width for three passes (Kovesi).
	wIdeal := math.Sqrt(12*sigma*sigma/3 + 1)
	rad := int(math.Max(0, math.Floor((wIdeal-1)/2)))
	if rad == 0 {
		// Small sigma: one [1 2 1]/4 pass.
		kernel121(img)
		return
	}
	for pass := 0; pass < 3; pass++ {
		boxH(img, rad)
		boxV(img, rad)
	}
}

func kernel121(img *image.RGBA) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	tmp := make([]uint8, len(img.Pix))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for k := 0; k < 3; k++ {
				l, c, r := img.Pix[img.PixOffset(max(x-1, 0), y)+k], img.Pix[img.PixOffset(x, y)+k], img.Pix[img.PixOffset(min(x+1, w-1), y)+k]
				tmp[img.PixOffset(x, y)+k] = uint8((int(l) + 2*int(c) + int(r) + 2) / 4)
			}
			tmp[img.PixOffset(x, y)+3] = 255
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for k := 0; k < 3; k++ {
				u, c, d := tmp[img.PixOffset(x, max(y-1, 0))+k], tmp[img.PixOffset(x, y)+k], tmp[img.PixOffset(x, min(y+1, h-1))+k]
				img.Pix[img.PixOffset(x, y)+k] = uint8((int(u) + 2*int(c) + int(d) + 2) / 4)
			}
		}
	}
}

func boxH(img *image.RGBA, rad int) {
	b := img.Bounds()
	w := b.Dx()
	row := make([]int, w*3)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			row[x*3], row[x*3+1], row[x*3+2] = int(img.Pix[i]), int(img.Pix[i+1]), int(img.Pix[i+2])
		}
		for k := 0; k < 3; k++ {
			sum := 0
			for x := -rad; x <= rad; x++ {
				sum += row[min(max(x, 0), w-1)*3+k]
			}
			for x := 0; x < w; x++ {
				img.Pix[img.PixOffset(x, y)+k] = uint8(sum / (2*rad + 1))
				sum += row[min(x+rad+1, w-1)*3+k] - row[max(x-rad, 0)*3+k]
			}
		}
	}
}

func boxV(img *image.RGBA, rad int) {
	b := img.Bounds()
	h := b.Dy()
	col := make([]int, h*3)
	for x := 0; x < b.Dx(); x++ {
		for y := 0; y < h; y++ {
			i := img.PixOffset(x, y)
			col[y*3], col[y*3+1], col[y*3+2] = int(img.Pix[i]), int(img.Pix[i+1]), int(img.Pix[i+2])
		}
		for k := 0; k < 3; k++ {
			sum := 0
			for y := -rad; y <= rad; y++ {
				sum += col[min(max(y, 0), h-1)*3+k]
			}
			for y := 0; y < h; y++ {
				img.Pix[img.PixOffset(x, y)+k] = uint8(sum / (2*rad + 1))
				sum += col[min(y+rad+1, h-1)*3+k] - col[max(y-rad, 0)*3+k]
			}
		}
	}
}

func noise(img *image.RGBA, r *rand.Rand, sigma float64) {
	if sigma <= 0 {
		return
	}
	for i := 0; i < len(img.Pix); i += 4 {
		n := r.NormFloat64() * sigma
		for k := 0; k < 3; k++ {
			img.Pix[i+k] = clamp8(float64(img.Pix[i+k]) + n)
		}
	}
}

// homography maps the four points from onto to (a 3×3 matrix, row-major,
// h[8] = 1), by solving the 8×8 system with Gaussian elimination.
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
		for r := 0; r < 8; r++ {
			if r == c || a[c][c] == 0 {
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
		h[i] = a[i][8] / a[i][i]
	}
	h[8] = 1
	return h
}

func apply(h [9]float64, x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}

func framed(c [4][2]float64, w, h int) bool {
	for _, p := range c {
		if p[0] < 0.01*float64(w) || p[1] < 0.01*float64(h) || p[0] > 0.99*float64(w) || p[1] > 0.99*float64(h) {
			return false
		}
	}
	return true
}
