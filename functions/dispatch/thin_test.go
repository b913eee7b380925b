package dispatch

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// haversine is an independent measure of the error (thin projects).
func haversine(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371008.8
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lng2-lng1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// replayAt is where playback of the thinned track puts the phone at time
// ts: linear in time between the kept fixes around it.
func replayAt(t []int64, lat, lng []float64, keep []int, ts int64) (float64, float64) {
	j := sort.Search(len(keep), func(j int) bool { return t[keep[j]] >= ts })
	if t[keep[j]] == ts {
		return lat[keep[j]], lng[keep[j]]
	}
	a, b := keep[j-1], keep[j]
	r := float64(ts-t[a]) / float64(t[b]-t[a])
	return lat[a] + r*(lat[b]-lat[a]), lng[a] + r*(lng[b]-lng[a])
}

// FP-148. A day of an inspector at one fix per 5 s: walks, drives, waits, with
// GPS noise; thin keeps the ends, keeps an ascending subsequence, and
// every fix is within the tolerance of where playback shows the phone at
// its time (so also of the drawn line), at several tolerances.
func TestThinKeepsEndsAndBoundsTheError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 17))
	const n = 17280
	ts, lat, lng := make([]int64, n), make([]float64, n), make([]float64, n)
	la, lo, vlat, vlng := 38.04, 114.51, 0.0, 0.0
	for i := range n {
		if i%600 == 0 { // a new leg every 50 min: wait, walk or drive
			switch rng.IntN(3) {
			case 0:
				vlat, vlng = 0, 0
			case 1:
				vlat, vlng = (rng.Float64()-0.5)*2e-5, (rng.Float64()-0.5)*2e-5
			default:
				vlat, vlng = (rng.Float64()-0.5)*2e-4, (rng.Float64()-0.5)*2e-4
			}
		}
		la, lo = la+vlat, lo+vlng
		ts[i] = 1_780_000_000_000 + int64(i)*5000
		lat[i], lng[i] = la+rng.NormFloat64()*2e-5, lo+rng.NormFloat64()*2e-5 // ~2 m of noise
	}
	for _, tol := range []float64{2, 5, 20, 100} {
		keep := thin(ts, lat, lng, tol)
		if keep[0] != 0 || keep[len(keep)-1] != n-1 {
			t.Fatalf("tol %g: ends not kept: %d … %d", tol, keep[0], keep[len(keep)-1])
		}
		for j := 1; j < len(keep); j++ {
			if keep[j] <= keep[j-1] {
				t.Fatalf("tol %g: indices not ascending at %d", tol, j)
			}
		}
		worst := 0.0
		for i := range n {
			rl, rg := replayAt(ts, lat, lng, keep, ts[i])
			worst = max(worst, haversine(lat[i], lng[i], rl, rg))
		}
		// 0.1 %: the projection's error against the great circle at city scale.
		if worst > tol*1.001 {
			t.Errorf("tol %g m: a fix is %.2f m from its playback position", tol, worst)
		}
		if tol >= 5 && len(keep) >= n/3 { // 2 m is the fixes' own noise: little to drop
			t.Errorf("tol %g m: kept %d of %d, little thinning", tol, len(keep), n)
		}
		t.Logf("tol %g m: %d of %d fixes kept, worst error %.2f m", tol, len(keep), n, worst)
	}
}

// FP-148. A phone that goes straight at a steady speed is its two ends; one that
// stops halfway for an hour keeps the stop (a path-only Douglas–Peucker
// would drop it, and playback would show it moving through the hour);
// a corner is kept; tolerance 0 keeps everything.
func TestThinShapes(t *testing.T) {
	line := func(n int, f func(i int) (float64, float64)) ([]int64, []float64, []float64) {
		ts, la, lo := make([]int64, n), make([]float64, n), make([]float64, n)
		for i := range n {
			ts[i] = int64(i) * 5000
			la[i], lo[i] = f(i)
		}
		return ts, la, lo
	}
	ts, la, lo := line(1000, func(i int) (float64, float64) { return 38 + float64(i)*1e-5, 114.5 + float64(i)*1e-5 })
	if keep := thin(ts, la, lo, 1); len(keep) != 2 {
		t.Errorf("straight steady line kept %v", keep)
	}
	if keep := thin(ts, la, lo, 0); len(keep) != 1000 {
		t.Errorf("tolerance 0 kept %d of 1000", len(keep))
	}
	// Goes 500 steps north, waits 720 steps (an hour), goes 500 more.
	ts, la, lo = line(1720, func(i int) (float64, float64) {
		k := min(i, 500) + max(0, i-1220)
		return 38 + float64(k)*1e-5, 114.5
	})
	keep := thin(ts, la, lo, 5)
	has := map[int]bool{}
	for _, i := range keep {
		has[i] = true
	}
	if !has[500] || !has[1220] {
		t.Errorf("the stop's start and end (500, 1220) not kept: %v", keep)
	}
	// Due north then due east: the corner stays.
	ts, la, lo = line(400, func(i int) (float64, float64) {
		return 38 + float64(min(i, 200))*1e-5, 114.5 + float64(max(0, i-200))*1e-5
	})
	if keep := thin(ts, la, lo, 5); len(keep) != 3 || keep[1] != 200 {
		t.Errorf("corner: kept %v", keep)
	}
	if keep := thin(ts[:1], la[:1], lo[:1], 5); len(keep) != 1 {
		t.Errorf("one fix: %v", keep)
	}
}
