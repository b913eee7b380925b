// Command ocrbench measures ocr-idcard's recognition on generated phone
// photos (tests/cardgen) that tuning never saw — seeds of their own, apart
// from the ones recognize's tests were tuned on — against the anchor: raw
// `tesseract -l chi_sim` on the whole photo, with the same truth (issue 12).
//
// It reports exact-match accuracy per field (address: share of
// characters, 1 − edit distance / length), cards per second on the
// machine's cores, p50/p99 per card (front and back) and per licence, and
// the memory of the process per worker.
//
// The anchor's output has no fields, so it gets the benefit of every doubt:
// a field counts as read when its true value occurs anywhere in the text
// (spaces and line breaks removed); the address scores the longest stretch
// of the truth it contains.
//
// Usage: go run ./tests/bench/ocrbench [-n 300] [-seed 20240601] [-workers 2] [-anchor=true]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"math/rand/v2"

	"github.com/sjzamr/smartreg/functions/ocr-idcard/recognize"
	"github.com/sjzamr/smartreg/tests/cardgen"
)

type result struct {
	ok                   map[string]bool
	addrChars, addrTotal int
	cardDur, licDur      time.Duration
	anchorOK             map[string]bool
	anchorAddr           int
	err                  error
	misses               []string // "field: want → got", for -misses
}

// miss notes a wrong field for -misses.
func (r *result) miss(field, want, got string) {
	if want != got {
		r.misses = append(r.misses, fmt.Sprintf("%s: %s → %s", field, want, got))
	}
}

func main() {
	n := flag.Int("n", 300, "generated samples (each: front, back, licence)")
	seed := flag.Uint64("seed", 20240601, "seed of the benchmark set (tests tune on seeds 100 and 200)")
	workers := flag.Int("workers", runtime.NumCPU(), "concurrent recognitions (one Tesseract engine each)")
	anchor := flag.Bool("anchor", true, "also run raw tesseract on the whole photos")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the recognition phase (Go code only)")
	showMisses := flag.Bool("misses", false, "print every wrong name, credit code and licence name (want → got) to stderr")
	flag.Parse()
	if err := recognize.SingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, "ocrbench:", err)
	}

	fmt.Fprintf(os.Stderr, "generating %d samples…\n", *n)
	samples := make([]cardgen.Sample, *n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				samples[i] = cardgen.NewSample(rand.New(rand.NewPCG(*seed, uint64(i))), cardgen.Realistic)
			}
		}()
	}
	for i := range samples {
		next <- i
	}
	close(next)
	wg.Wait()

	eng := recognize.NewEngines(*workers, "")
	defer eng.Close()
	// Warm-up: load the models once per engine, outside the measurement.
	warm := cardgen.NewSample(rand.New(rand.NewPCG(1, 1)), cardgen.Realistic)
	for w := 0; w < *workers; w++ {
		img, _ := recognize.Decode(warm.FrontJPEG, recognize.DefaultMaxPixels)
		eng.ReadFront(context.Background(), img)
	}
	fmt.Fprintf(os.Stderr, "recognising…\n")
	results := make([]result, *n)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
		}
	}
	start := time.Now()
	next = make(chan int)
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = recognise(eng, samples[i])
			}
		}()
	}
	for i := range samples {
		next <- i
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	pprof.StopCPUProfile()
	if *showMisses {
		for i, r := range results {
			for _, m := range r.misses {
				fmt.Fprintf(os.Stderr, "sample %d %s\n", i, m)
			}
		}
	}
	rss := peakRSS()

	var anchorWall time.Duration
	var anchorDurs []time.Duration
	if *anchor {
		fmt.Fprintf(os.Stderr, "anchor: raw tesseract…\n")
		var mu sync.Mutex
		start = time.Now()
		next = make(chan int)
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					d := runAnchor(&results[i], samples[i])
					mu.Lock()
					anchorDurs = append(anchorDurs, d)
					mu.Unlock()
				}
			}()
		}
		for i := range samples {
			next <- i
		}
		close(next)
		wg.Wait()
		anchorWall = time.Since(start)
	}
	report(results, *n, *workers, wall, rss, *anchor, anchorWall, anchorDurs)
}

func recognise(eng *recognize.Engines, s cardgen.Sample) result {
	r := result{ok: map[string]bool{}, anchorOK: map[string]bool{}}
	ctx := context.Background()
	p := s.Person
	t0 := time.Now()
	img, err := recognize.Decode(s.FrontJPEG, recognize.DefaultMaxPixels)
	if err != nil {
		r.err = err
		return r
	}
	f, err := eng.ReadFront(ctx, img)
	if err != nil {
		r.err = err
		r.addrTotal = len([]rune(p.Address))
		r.cardDur = time.Since(t0)
		return r
	}
	bimg, err := recognize.Decode(s.BackJPEG, recognize.DefaultMaxPixels)
	var b recognize.Back
	if err == nil {
		b, err = eng.ReadBack(ctx, bimg, f.IDNumber.Value)
	}
	r.cardDur = time.Since(t0)
	until := "长期"
	if !p.ValidUntil.IsZero() {
		until = p.ValidUntil.Format("2006-01-02")
	}
	r.ok["id_number"] = f.IDNumber.Value == p.IDNumber
	r.ok["id_number_wrong_unflagged"] = f.IDNumber.Value != p.IDNumber && !f.IDNumber.Flagged
	r.ok["name"] = f.Name.Value == p.Name
	r.miss("name", p.Name, f.Name.Value)
	r.ok["birth"] = f.Birth.Value == p.Birth.Format("2006-01-02")
	r.ok["sex"] = f.Sex.Value == p.Sex
	r.ok["ethnicity"] = f.Ethnicity.Value == p.Ethnicity
	r.ok["address"] = f.Address.Value == p.Address
	r.ok["authority"] = err == nil && b.Authority.Value == p.Authority
	r.ok["validity"] = err == nil && b.ValidFrom.Value == p.ValidFrom.Format("2006-01-02") && b.ValidUntil.Value == until
	r.addrTotal = len([]rune(p.Address))
	r.addrChars = max(0, r.addrTotal-distance(f.Address.Value, p.Address))

	t1 := time.Now()
	limg, err := recognize.Decode(s.LicenceJPEG, recognize.DefaultMaxPixels)
	if err == nil {
		l, lerr := eng.ReadLicence(ctx, limg)
		if lerr == nil {
			r.ok["credit_code"] = l.CreditCode.Value == s.Licence.CreditCode
			r.ok["credit_code_wrong_unflagged"] = l.CreditCode.Value != s.Licence.CreditCode && !l.CreditCode.Flagged
			r.ok["licence_name"] = l.Name.Value == s.Licence.Name
			r.miss("credit_code", s.Licence.CreditCode, l.CreditCode.Value)
			r.miss("licence_name", s.Licence.Name, l.Name.Value)
		}
	}
	r.licDur = time.Since(t1)
	return r
}

// runAnchor is raw tesseract on each whole photo.
func runAnchor(r *result, s cardgen.Sample) time.Duration {
	ocr := func(jpg []byte) string {
		cmd := exec.Command("tesseract", "stdin", "stdout", "-l", "chi_sim")
		cmd.Stdin = bytes.NewReader(jpg)
		cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
		out, _ := cmd.Output()
		return strings.Map(func(c rune) rune {
			if c == ' ' || c == '\n' || c == '\t' {
				return -1
			}
			return c
		}, string(out))
	}
	t0 := time.Now()
	front, back := ocr(s.FrontJPEG), ocr(s.BackJPEG)
	d := time.Since(t0)
	lic := ocr(s.LicenceJPEG)
	p := s.Person
	r.anchorOK["id_number"] = strings.Contains(front, p.IDNumber)
	r.anchorOK["name"] = strings.Contains(front, p.Name)
	r.anchorOK["birth"] = strings.Contains(front, fmt.Sprintf("%d年%d月%d日", p.Birth.Year(), p.Birth.Month(), p.Birth.Day()))
	r.anchorOK["sex"] = strings.Contains(front, "性别"+p.Sex)
	r.anchorOK["ethnicity"] = strings.Contains(front, "民族"+p.Ethnicity)
	r.anchorOK["address"] = strings.Contains(front, p.Address)
	r.anchorOK["authority"] = strings.Contains(back, p.Authority)
	r.anchorOK["validity"] = strings.Contains(back, p.ValidityText())
	r.anchorOK["credit_code"] = strings.Contains(lic, s.Licence.CreditCode)
	r.anchorOK["licence_name"] = strings.Contains(lic, s.Licence.Name)
	r.anchorAddr = longestCommon(front, p.Address)
	return d
}

func report(rs []result, n, workers int, wall time.Duration, rss int64, anchor bool, anchorWall time.Duration, anchorDurs []time.Duration) {
	fields := []string{"id_number", "birth", "name", "sex", "ethnicity", "address", "authority", "validity", "credit_code", "licence_name"}
	count := func(f string, anchor bool) int {
		c := 0
		for _, r := range rs {
			m := r.ok
			if anchor {
				m = r.anchorOK
			}
			if m[f] {
				c++
			}
		}
		return c
	}
	var addrOK, addrAll, anchorAddr, errors int
	var cards, lics []time.Duration
	for _, r := range rs {
		addrOK += r.addrChars
		addrAll += r.addrTotal
		anchorAddr += r.anchorAddr
		cards = append(cards, r.cardDur)
		lics = append(lics, r.licDur)
		if r.err != nil {
			errors++
		}
	}
	pct := func(a, b int) string { return fmt.Sprintf("%.1f %%", 100*float64(a)/float64(max(b, 1))) }
	fmt.Printf("ocrbench: %d generated samples (front + back + licence), %d workers, %d cores, GOMAXPROCS %d\n\n", n, workers, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Printf("| field | ocr-idcard | raw tesseract (anchor) |\n| --- | --- | --- |\n")
	for _, f := range fields {
		a := "—"
		if anchor {
			a = pct(count(f, true), n)
		}
		fmt.Printf("| %s (exact) | %s | %s |\n", f, pct(count(f, false), n), a)
	}
	a := "—"
	if anchor {
		a = pct(anchorAddr, addrAll)
	}
	fmt.Printf("| address (characters) | %s | %s |\n", pct(addrOK, addrAll), a)
	fmt.Printf("| wrong ID number not flagged | %d | — |\n", count("id_number_wrong_unflagged", false))
	fmt.Printf("| wrong credit code not flagged | %d | — |\n", count("credit_code_wrong_unflagged", false))
	fmt.Printf("| no card found / error | %d | — |\n\n", errors)
	fmt.Printf("| speed | ocr-idcard | raw tesseract (anchor) |\n| --- | --- | --- |\n")
	an := func(s string) string {
		if !anchor {
			return "—"
		}
		return s
	}
	fmt.Printf("| ID cards (front + back) per second | %.2f | %s |\n", float64(n)/(wall.Seconds()*float64(sum(cards))/float64(sum(cards)+sum(lics))), an(fmt.Sprintf("%.2f", float64(n)/anchorWall.Seconds()*1.5)))
	fmt.Printf("| card p50 / p99 | %s / %s | %s |\n", q(cards, 50), q(cards, 99), an(q(anchorDurs, 50)+" / "+q(anchorDurs, 99)))
	fmt.Printf("| licence p50 / p99 | %s / %s | — |\n", q(lics, 50), q(lics, 99))
	fmt.Printf("| peak RSS of the process | %d MiB (%d MiB per worker) | — |\n", rss>>20, (rss>>20)/int64(workers))
	if anchor {
		fmt.Printf("\nratio (cards/s, ocr-idcard ÷ raw tesseract): %.2f\n", (float64(n)/(wall.Seconds()*float64(sum(cards))/float64(sum(cards)+sum(lics))))/(float64(n)/anchorWall.Seconds()*1.5))
	}
}

func sum(d []time.Duration) int64 {
	var s int64
	for _, x := range d {
		s += int64(x)
	}
	return s
}

func q(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "—"
	}
	c := append([]time.Duration(nil), d...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	i := min(len(c)-1, len(c)*p/100)
	return fmt.Sprintf("%d ms", c[i].Milliseconds())
}

func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "VmHWM:"), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// longestCommon is the length of the longest stretch of truth found in s.
func longestCommon(s, truth string) int {
	t := []rune(truth)
	best := 0
	for i := range t {
		for j := len(t); j > i+best; j-- {
			if strings.Contains(s, string(t[i:j])) {
				best = j - i
				break
			}
		}
	}
	return best
}
