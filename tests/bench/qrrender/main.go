// Command qrrender measures PNG rendering throughput of the qr-generate
// function's render.PNG against the qrencode command-line tool (package
// qrencode) producing the same pixel size and error-correction level M
// from the same URLs, side by side, and writes the ratio into
// docs/benchmarks.md.
//
// qrencode is measured two ways, both reported:
//
//   - cli: one `qrencode -l M -s <px> -m 4 -o - <url>` process per image,
//     as a service shelling out to it would run it (process spawn counted);
//   - batch: one long-running `sh` per worker reading URLs from its
//     standard input and running qrencode for each, writing the PNGs one
//     after another to one pipe, so the Go side's exec and pipe set-up are
//     taken out; qrencode has no mode that writes many images from one
//     process, so each image still costs sh's fork+exec.
//
// Each is measured with one worker and with one worker per CPU.
//
// Usage: go run ./tests/bench/qrrender [-urls 200] [-dur 3s] [-out docs/benchmarks.md]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

func main() {
	nURLs := flag.Int("urls", 200, "distinct URLs")
	dur := flag.Duration("dur", 3*time.Second, "measuring time per side and mode")
	scales := flag.String("scales", "10,24", "qrencode module sizes in pixels (-s)")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	flag.Parse()
	if err := run(*nURLs, *dur, *scales, *out); err != nil {
		fmt.Fprintln(os.Stderr, "qrrender:", err)
		os.Exit(1)
	}
}

// urls are what qr-generate issues: PUBLIC_BASE_URL/q/<16-char token>.
func urls(n int) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	rng := rand.New(rand.NewPCG(1, 2))
	us := make([]string, n)
	for i := range us {
		b := make([]byte, 16)
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		us[i] = "https://smartreg.sjz.gov.cn/q/" + string(b)
	}
	return us
}

func pngWidth(b []byte) (int, error) {
	if len(b) < 24 || string(b[12:16]) != "IHDR" {
		return 0, fmt.Errorf("not a PNG (%d bytes)", len(b))
	}
	return int(binary.BigEndian.Uint32(b[16:20])), nil
}

func qrencode(url string, scale int) ([]byte, error) {
	return exec.Command("qrencode", "-l", "M", "-s", strconv.Itoa(scale), "-m", "4", "-o", "-", url).Output()
}

// throughput runs fn(i) for i = 0, 1, ... on workers goroutines for d and
// returns images per second and the number of images.
func throughput(workers int, d time.Duration, fn func(i int) error) (float64, int64, error) {
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline); i += workers {
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), n.Load(), firstErr
}

// cpuTime is the CPU (user+system) used so far by this process and its
// waited-for children: the qrencode and sh processes.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// cell is one side's result: wall-clock throughput and CPU per image.
type cell struct {
	rate   float64
	cpuImg time.Duration
}

func measure(f func() (float64, int64, error)) (cell, error) {
	c0 := cpuTime()
	rate, n, err := f()
	if err != nil {
		return cell{}, err
	}
	if n == 0 {
		return cell{}, fmt.Errorf("no image finished")
	}
	return cell{rate, (cpuTime() - c0) / time.Duration(n)}, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()*1000) }

// batch keeps one sh per worker alive, feeding it URLs on stdin; sh runs
// qrencode for each and the harness reads the PNG back by its length.
func batch(workers int, d time.Duration, us []string, scale int) (float64, int64, error) {
	script := `while read -r u; do qrencode -l M -s ` + strconv.Itoa(scale) + ` -m 4 -o - "$u"; done`
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type shell struct {
		in  io.WriteCloser
		out *bufio.Reader
		cmd *exec.Cmd
	}
	shells := make([]shell, workers)
	for w := range shells {
		cmd := exec.CommandContext(ctx, "sh", "-c", script)
		in, err := cmd.StdinPipe()
		if err != nil {
			return 0, 0, err
		}
		outp, err := cmd.StdoutPipe()
		if err != nil {
			return 0, 0, err
		}
		if err := cmd.Start(); err != nil {
			return 0, 0, err
		}
		shells[w] = shell{in, bufio.NewReader(outp), cmd}
	}
	defer func() {
		for _, s := range shells {
			s.in.Close()
			s.cmd.Wait()
		}
	}()
	// Worker w handles i = w, w+workers, ...: it alone uses shells[w].
	return throughput(workers, d, func(i int) error {
		s := shells[i%workers]
		if _, err := io.WriteString(s.in, us[i%len(us)]+"\n"); err != nil {
			return err
		}
		return readPNG(s.out)
	})
}

// readPNG consumes one PNG from a stream of concatenated PNGs: the
// signature, then chunks up to IEND.
func readPNG(r *bufio.Reader) error {
	sig := make([]byte, 8)
	if _, err := io.ReadFull(r, sig); err != nil || string(sig) != "\x89PNG\r\n\x1a\n" {
		return fmt.Errorf("qrencode batch: no PNG signature (%v)", err)
	}
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4])) + 4 // data + CRC
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			return err
		}
		if string(hdr[4:]) == "IEND" {
			return nil
		}
	}
}

func run(nURLs int, d time.Duration, scales, out string) error {
	if _, err := exec.LookPath("qrencode"); err != nil {
		return fmt.Errorf("qrencode not installed (Debian package qrencode): %w", err)
	}
	loadBefore := loadavg()
	us := urls(nURLs)
	r := render.New(render.LevelM)
	cpus := runtime.NumCPU()
	rows := [][]string{{"image size", "workers", "render.PNG img/s", "CPU ms/img",
		"qrencode CLI img/s", "CPU ms/img", "ratio (CLI)", "qrencode batch img/s", "CPU ms/img", "ratio (batch)", "CPU ratio (CLI/ours)"}}
	for _, sc := range strings.Split(scales, ",") {
		scale, err := strconv.Atoi(strings.TrimSpace(sc))
		if err != nil {
			return err
		}
		// Learn each URL's qrencode image size so render.PNG makes the same.
		sizes := make([]int, len(us))
		for i, u := range us {
			b, err := qrencode(u, scale)
			if err != nil {
				return fmt.Errorf("qrencode %s: %w", u, err)
			}
			if sizes[i], err = pngWidth(b); err != nil {
				return err
			}
			ours, err := r.PNG(u, sizes[i])
			if err != nil {
				return fmt.Errorf("render.PNG %s at %d px: %w", u, sizes[i], err)
			}
			if w, _ := pngWidth(ours); w != sizes[i] {
				return fmt.Errorf("render.PNG made %d px, qrencode %d px", w, sizes[i])
			}
		}
		sizeLabel := strconv.Itoa(sizes[0]) + " px"
		if mn, mx := minMax(sizes); mn != mx {
			sizeLabel = fmt.Sprintf("%d–%d px", mn, mx)
		}
		for _, workers := range []int{1, cpus} {
			ours, err := measure(func() (float64, int64, error) {
				return throughput(workers, d, func(i int) error {
					_, err := r.PNG(us[i%len(us)], sizes[i%len(us)])
					return err
				})
			})
			if err != nil {
				return err
			}
			cli, err := measure(func() (float64, int64, error) {
				return throughput(workers, d, func(i int) error {
					b, err := qrencode(us[i%len(us)], scale)
					if err == nil && !bytes.HasPrefix(b, []byte("\x89PNG")) {
						err = fmt.Errorf("qrencode wrote no PNG")
					}
					return err
				})
			})
			if err != nil {
				return err
			}
			bat, err := measure(func() (float64, int64, error) { return batch(workers, d, us, scale) })
			if err != nil {
				return err
			}
			row := []string{sizeLabel, strconv.Itoa(workers),
				fmt.Sprintf("%.0f", ours.rate), ms(ours.cpuImg),
				fmt.Sprintf("%.0f", cli.rate), ms(cli.cpuImg), fmt.Sprintf("**%.1f**", ours.rate/cli.rate),
				fmt.Sprintf("%.0f", bat.rate), ms(bat.cpuImg), fmt.Sprintf("**%.1f**", ours.rate/bat.rate),
				fmt.Sprintf("%.1f", float64(cli.cpuImg)/float64(ours.cpuImg))}
			fmt.Println(strings.Join(row, "\t"))
			rows = append(rows, row)
		}
	}
	return report.Write(out, "qrrender", report.Section{
		Title: "QR PNG rendering: render.PNG vs qrencode",
		Intro: fmt.Sprintf("`go run ./tests/bench/qrrender` on %d CPUs, %s per cell, %d distinct URLs "+
			"of the issued form (`https://…/q/<16-char token>`), EC level M, 4-module quiet zone, the same pixel size on both sides. "+
			"CLI: one `qrencode -l M -s N -m 4 -o -` process per image (what a service shelling out would pay). "+
			"Batch: one long-running `sh` per worker fed URLs on stdin, running qrencode for each "+
			"(no Go exec cost, but qrencode has no multi-image mode, so fork+exec remains). Ratio = render.PNG / qrencode; target ≥ 1. "+
			"CPU ms/img is user+system CPU of the process and its children per image (qrencode's includes its process start-up), "+
			"which a busy machine disturbs less than wall-clock throughput. "+
			"Load average (1 min) before/after the run: %s / %s — other work on the machine lowers both sides' absolute numbers.",
			cpus, d, len(us), loadBefore, loadavg()),
		Rows: rows,
	})
}

func minMax(xs []int) (int, int) {
	mn, mx := xs[0], xs[0]
	for _, x := range xs {
		mn, mx = min(mn, x), max(mx, x)
	}
	return mn, mx
}

// loadavg is the 1-minute load average, so a reader can tell a busy
// machine's numbers from a quiet one's.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
