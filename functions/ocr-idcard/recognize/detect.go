package recognize

import (
	"math"
	"sort"
)

// detectSide is the long side, in pixels, of the reduced photo the
// document is searched in: enough for a corner within a pixel or two of
// the full photo, small enough to cost a few milliseconds.
const detectSide = 480

// findDocument locates a light rectangular document of the given aspect
// ratio (long side / short side) in m and answers its corners in m's
// pixels. A document is a light, unsaturated region: the candidate masks
// threshold lightness-minus-saturation at Otsu's level and around it (so
// uneven light still separates it), and the best candidate is the
// connected region that fills its quadrilateral and has the right shape.
func findDocument(m *rgb, aspect float64) (quad, bool) {
	f := max(1, max(m.w, m.h)/detectSide)
	s := m.shrink(f)
	score := make([]uint8, s.w*s.h)
	var hist [256]int
	for i := range score {
		r, g, b := int(s.pix[3*i]), int(s.pix[3*i+1]), int(s.pix[3*i+2])
		l := (299*r + 587*g + 114*b) / 1000
		sat := max(r, g, b) - min(r, g, b)
		v := max(0, l-sat)
		score[i] = uint8(v)
		hist[v]++
	}
	t := otsu(hist[:], len(score))
	best, bestScore := quad{}, 0.0
	mask := make([]bool, len(score))
	for _, dt := range []int{0, 20, -20, 40, -40} {
		th := t + dt
		if th < 20 || th > 245 {
			continue
		}
		for i, v := range score {
			mask[i] = int(v) > th
		}
		open(mask, s.w, s.h)
		q, sc, ok := bestComponent(mask, s.w, s.h, aspect)
		if ok && sc > bestScore {
			best, bestScore = q, sc
		}
	}
	if bestScore == 0 {
		return quad{}, false
	}
	for i := range best {
		best[i][0] = best[i][0]*float64(f) + float64(f)/2
		best[i][1] = best[i][1]*float64(f) + float64(f)/2
	}
	return best, true
}

// otsu is the threshold that best separates the histogram in two.
func otsu(hist []int, n int) int {
	var sum float64
	for i, c := range hist {
		sum += float64(i * c)
	}
	var sumB, wB float64
	best, bestVar := 128, -1.0
	for t := 0; t < 256; t++ {
		wB += float64(hist[t])
		if wB == 0 {
			continue
		}
		wF := float64(n) - wB
		if wF == 0 {
			break
		}
		sumB += float64(t * hist[t])
		mB, mF := sumB/wB, (sum-sumB)/wF
		if v := wB * wF * (mB - mF) * (mB - mF); v > bestVar {
			best, bestVar = t, v
		}
	}
	return best
}

// open is a 3×3 erosion then dilation: it cuts the thin bridges texture
// and noise make between the document and its background.
func open(mask []bool, w, h int) {
	tmp := make([]bool, len(mask))
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			tmp[i] = mask[i] && mask[i-1] && mask[i+1] && mask[i-w] && mask[i+w] && mask[i-w-1] && mask[i-w+1] && mask[i+w-1] && mask[i+w+1]
		}
	}
	for i := range mask {
		mask[i] = false
	}
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			if tmp[i] {
				mask[i], mask[i-1], mask[i+1], mask[i-w], mask[i+w] = true, true, true, true, true
				mask[i-w-1], mask[i-w+1], mask[i+w-1], mask[i+w+1] = true, true, true, true
			}
		}
	}
}

// bestComponent labels the mask's 4-connected regions and answers the
// quadrilateral of the one most like the document.
func bestComponent(mask []bool, w, h int, aspect float64) (quad, float64, bool) {
	label := make([]int32, len(mask))
	var stack []int
	best, bestScore := quad{}, 0.0
	next := int32(0)
	minArea := w * h / 25
	for start := range mask {
		if !mask[start] || label[start] != 0 {
			continue
		}
		next++
		stack = append(stack[:0], start)
		label[start] = next
		var pts []int
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			pts = append(pts, i)
			x, y := i%w, i/w
			for _, j := range [4]int{i - 1, i + 1, i - w, i + w} {
				if j < 0 || j >= len(mask) || (j == i-1 && x == 0) || (j == i+1 && x == w-1) {
					continue
				}
				_ = y
				if mask[j] && label[j] == 0 {
					label[j] = next
					stack = append(stack, j)
				}
			}
		}
		if len(pts) < minArea {
			continue
		}
		q, sc, ok := fitQuad(pts, w, h, aspect)
		if ok && sc > bestScore {
			best, bestScore = q, sc
		}
	}
	return best, bestScore, bestScore > 0
}

// fitQuad fits the region's quadrilateral: corners from the extremes along
// the diagonals, then each side refitted as a line through the region's
// outline between them, corners at the lines' intersections.
func fitQuad(pts []int, w, h int, aspect float64) (quad, float64, bool) {
	rowMin, rowMax := make([]int, h), make([]int, h)
	colMin, colMax := make([]int, w), make([]int, w)
	for i := range rowMin {
		rowMin[i], rowMax[i] = w, -1
	}
	for i := range colMin {
		colMin[i], colMax[i] = h, -1
	}
	var c quad
	ext := [4]float64{math.Inf(1), math.Inf(-1), math.Inf(-1), math.Inf(1)} // x+y min, x-y max, x+y max, x-y min
	touches := false
	for _, i := range pts {
		x, y := i%w, i/w
		if x == 0 || y == 0 || x == w-1 || y == h-1 {
			touches = true
		}
		rowMin[y], rowMax[y] = min(rowMin[y], x), max(rowMax[y], x)
		colMin[x], colMax[x] = min(colMin[x], y), max(colMax[x], y)
		fx, fy := float64(x), float64(y)
		if s := fx + fy; s < ext[0] {
			ext[0], c[0] = s, [2]float64{fx, fy}
		}
		if d := fx - fy; d > ext[1] {
			ext[1], c[1] = d, [2]float64{fx, fy}
		}
		if s := fx + fy; s > ext[2] {
			ext[2], c[2] = s, [2]float64{fx, fy}
		}
		if d := fx - fy; d < ext[3] {
			ext[3], c[3] = d, [2]float64{fx, fy}
		}
	}
	if touches {
		// Cut off by the frame: its corners cannot be trusted.
		return quad{}, 0, false
	}
	// Outline points of each side, without the 12 % next to the corners.
	side := func(a, b [2]float64, horizontal bool, lo []int, useMin bool) [][2]float64 {
		var out [][2]float64
		if horizontal {
			x0, x1 := int(math.Min(a[0], b[0])), int(math.Max(a[0], b[0]))
			m := (x1 - x0) * 12 / 100
			for x := x0 + m; x <= x1-m; x++ {
				if x >= 0 && x < len(lo) && lo[x] >= 0 && lo[x] < h {
					out = append(out, [2]float64{float64(x), float64(lo[x])})
				}
			}
		} else {
			y0, y1 := int(math.Min(a[1], b[1])), int(math.Max(a[1], b[1]))
			m := (y1 - y0) * 12 / 100
			for y := y0 + m; y <= y1-m; y++ {
				if y >= 0 && y < len(lo) && lo[y] >= 0 && lo[y] < w {
					out = append(out, [2]float64{float64(lo[y]), float64(y)})
				}
			}
		}
		_ = useMin
		return out
	}
	lines := [4]line{}
	sides := [4][][2]float64{
		side(c[0], c[1], true, colMin, true),   // top
		side(c[1], c[2], false, rowMax, false), // right
		side(c[2], c[3], true, colMax, false),  // bottom
		side(c[3], c[0], false, rowMin, true),  // left
	}
	for i, s := range sides {
		l, ok := fitLine(s)
		if !ok {
			return quad{}, 0, false
		}
		lines[i] = l
	}
	var q quad
	for i := 0; i < 4; i++ {
		p, ok := intersect(lines[(i+3)%4], lines[i])
		if !ok {
			return quad{}, 0, false
		}
		q[i] = p
	}
	area := polyArea(q)
	if area <= 0 {
		return quad{}, 0, false
	}
	fill := float64(len(pts)) / area
	top, bottom := dist(q[0], q[1]), dist(q[3], q[2])
	left, right := dist(q[0], q[3]), dist(q[1], q[2])
	ar := (top + bottom) / (left + right)
	if fill < 0.8 || fill > 1.08 || math.Abs(math.Log(ar/aspect)) > 0.3 {
		return quad{}, 0, false
	}
	sc := math.Min(fill, 1) * math.Exp(-4*math.Abs(math.Log(ar/aspect))) * math.Sqrt(area/float64(w*h))
	return q, sc, true
}

// line is a·x + b·y = c with a² + b² = 1.
type line struct{ a, b, c float64 }

// fitLine is a total-least-squares fit, refitted once without the points
// more than two pixels off (a finger, a notch of the shadow).
func fitLine(pts [][2]float64) (line, bool) {
	if len(pts) < 5 {
		return line{}, false
	}
	l := tls(pts)
	var keep [][2]float64
	for _, p := range pts {
		if math.Abs(l.a*p[0]+l.b*p[1]-l.c) <= 2 {
			keep = append(keep, p)
		}
	}
	if len(keep) >= len(pts)/2 && len(keep) >= 5 {
		l = tls(keep)
	}
	return l, true
}

func tls(pts [][2]float64) line {
	var mx, my float64
	for _, p := range pts {
		mx += p[0]
		my += p[1]
	}
	n := float64(len(pts))
	mx, my = mx/n, my/n
	var sxx, sxy, syy float64
	for _, p := range pts {
		dx, dy := p[0]-mx, p[1]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	// Direction of largest spread; the normal is perpendicular.
	th := 0.5 * math.Atan2(2*sxy, sxx-syy)
	a, b := -math.Sin(th), math.Cos(th)
	return line{a, b, a*mx + b*my}
}

func intersect(l1, l2 line) ([2]float64, bool) {
	d := l1.a*l2.b - l2.a*l1.b
	if math.Abs(d) < 1e-6 {
		return [2]float64{}, false
	}
	return [2]float64{(l1.c*l2.b - l2.c*l1.b) / d, (l1.a*l2.c - l2.a*l1.c) / d}, true
}

func polyArea(q quad) float64 {
	s := 0.0
	for i := 0; i < 4; i++ {
		j := (i + 1) % 4
		s += q[i][0]*q[j][1] - q[j][0]*q[i][1]
	}
	return math.Abs(s) / 2
}

func dist(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }

// median of a copy of v.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	return c[len(c)/2]
}
