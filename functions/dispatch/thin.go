package dispatch

import "math"

// Thinning a track to the screen's resolution (FP-148 playback): a 24-hour
// track at one fix per 5 s is 17 280 points, far more than a map draws.
// thin keeps the fixes a top-down Douglas–Peucker picks, measured by the
// synchronised Euclidean distance: a dropped fix's error is its distance
// from where playback puts the phone at that fix's time (moving linearly
// in time between the kept fixes on either side), not only from the drawn
// line. So a phone that waited an hour at one spot still waits there in
// playback, and the bound holds for the path and for the replay alike.

// metresPerDegree is the length of a degree of latitude (mean radius).
const metresPerDegree = 6371008.8 * math.Pi / 180

// thinChunk bounds Douglas–Peucker's worst case (quadratic in the points
// of a chunk) on long histories; chunk ends are kept, a few extra points.
const thinChunk = 4096

// thin returns the indices of the fixes to keep, ascending, always the
// first and the last; every dropped fix i lies within tol metres of the
// position interpolated at t[i] between the kept fixes around it. t is
// in any monotone unit (milliseconds); tol <= 0 keeps every fix.
func thin(t []int64, lat, lng []float64, tol float64) []int {
	n := len(t)
	if n <= 2 || tol <= 0 {
		keep := make([]int, n)
		for i := range keep {
			keep[i] = i
		}
		return keep
	}
	// A local equirectangular projection: metres, exact enough within a city.
	kx := metresPerDegree * math.Cos(lat[0]*math.Pi/180)
	x := func(i int) float64 { return lng[i] * kx }
	y := func(i int) float64 { return lat[i] * metresPerDegree }
	sed := func(i, a, b int) float64 {
		r := 0.0
		if t[b] != t[a] {
			r = float64(t[i]-t[a]) / float64(t[b]-t[a])
		}
		return math.Hypot(x(i)-(x(a)+r*(x(b)-x(a))), y(i)-(y(a)+r*(y(b)-y(a))))
	}
	marked := make([]bool, n)
	stack := make([][2]int, 0, 64)
	for start := 0; start < n-1; start += thinChunk {
		end := min(start+thinChunk, n-1)
		marked[start], marked[end] = true, true
		stack = append(stack[:0], [2]int{start, end})
		for len(stack) > 0 {
			a, b := stack[len(stack)-1][0], stack[len(stack)-1][1]
			stack = stack[:len(stack)-1]
			worst, at := 0.0, -1
			for i := a + 1; i < b; i++ {
				if d := sed(i, a, b); d > worst {
					worst, at = d, i
				}
			}
			if at >= 0 && worst > tol {
				marked[at] = true
				stack = append(stack, [2]int{a, at}, [2]int{at, b})
			}
		}
	}
	keep := make([]int, 0, 64)
	for i, m := range marked {
		if m {
			keep = append(keep, i)
		}
	}
	return keep
}
