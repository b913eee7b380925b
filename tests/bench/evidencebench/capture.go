package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"time"

	"github.com/chromedp/chromedp"

	evidencecapture "github.com/sjzamr/smartreg/functions/evidence-capture"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

// capturePage is a local page with a redirect, a script and a lazy image.
func capturePage() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/page", http.StatusFound) })
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>特价</title></head><body><h1>限时特价</h1><p id="js"></p>
<img loading="lazy" src="/img.svg" width="40" height="40"><script>document.getElementById('js').textContent='全网最低价';</script></body></html>`)
	})
	mux.HandleFunc("/img.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40"/></svg>`)
	})
	return httptest.NewServer(mux)
}

// captureBench times the function's capture of a local page (warm
// browser, fresh context, all artefacts, sealed) against a fresh Chromium
// and a warm one that only navigate and take a full-page screenshot.
func captureBench(ctx context.Context, admin string, n int, out string) error {
	dsn, err := freshDB(ctx, admin, "bench_evidence_capture")
	if err != nil {
		return err
	}
	pool, err := store.Connect(ctx, dsn, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, evidencecapture.Migrations()...)...); err != nil {
		return err
	}
	dir, _ := os.MkdirTemp("", "evidencebench")
	defer os.RemoveAll(dir)
	b, _ := blob.NewDir(dir)
	c := config.Defaults[evidencecapture.Config]()
	c.CaptureAllowPrivate = true // the bench page is on loopback
	f, err := evidencecapture.New(evidencecapture.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b,
		Now: time.Now, Verifier: passVerifier{}}, c)
	if err != nil {
		return err
	}
	f.Start(ctx)
	defer f.Stop(ctx)
	srv := capturePage()
	defer srv.Close()
	// The first capture starts the function's browser; it is timed apart.
	t0 := time.Now()
	if _, err := f.Capture(ctx, "bench", evidencecapture.CaptureInput{URL: srv.URL + "/start"}); err != nil {
		return err
	}
	cold := time.Since(t0)
	warm, stopWarm, err := warmBrowser(c.ChromiumPath)
	if err != nil {
		return err
	}
	defer stopWarm()
	var ours, anchor, warmAnchor []time.Duration
	for range n {
		t0 := time.Now()
		if _, err := f.Capture(ctx, "bench", evidencecapture.CaptureInput{URL: srv.URL + "/start"}); err != nil {
			return err
		}
		ours = append(ours, time.Since(t0))
		t0 = time.Now()
		if err := bareScreenshot(ctx, c.ChromiumPath, srv.URL+"/start"); err != nil {
			return err
		}
		anchor = append(anchor, time.Since(t0))
		t0 = time.Now()
		if err := warmScreenshot(warm, srv.URL+"/start"); err != nil {
			return err
		}
		warmAnchor = append(warmAnchor, time.Since(t0))
	}
	p50 := func(ds []time.Duration) time.Duration { s := slices.Clone(ds); slices.Sort(s); return s[len(s)/2] }
	sec := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	var load string
	if lb, err := os.ReadFile("/proc/loadavg"); err == nil && len(lb) > 14 {
		load = string(lb[:14])
	}
	return report.Write(out, "evidence-capture", report.Section{
		Title: "Evidence capture: time per page (issue 16, FP-90)",
		Intro: fmt.Sprintf("Run %s on 2 cores, `go run ./tests/bench/evidencebench -only capture -captures %d`. SmartReg = `Capture` of a local page "+
			"(redirect, script, lazy image) in the function's warm Chromium, each capture in a fresh browser context (incognito profile): navigate "+
			"with every response read through the Fetch domain, scroll for lazy content, then the full-page screenshot, MHTML, PDF, and beside them "+
			"the mobile rendering (second tab) and the session video (ffmpeg); WARC, HAR, metadata and the extraction record; sealed as a bundle "+
			"(object storage + log append). Anchors, alternating with it: a fresh Chromium that only navigates and takes the full-page screenshot "+
			"(what the first version did per capture), and the same screenshot-only session in a warm browser's fresh context. The first capture "+
			"after start pays the browser's start and is shown apart. The machine is shared (load average in the last row).", time.Now().UTC().Format("2006-01-02"), n),
		Rows: [][]string{
			{"measure", "SmartReg", "anchor", "ratio", "target"},
			{fmt.Sprintf("capture p50 (%d pages, all artefacts)", n), sec(p50(ours)), sec(p50(anchor)) + " (fresh Chromium, screenshot only)", fmt.Sprintf("%.2f", float64(p50(ours))/float64(p50(anchor))), "< 6 s"},
			{"capture p50 against a warm screenshot-only session", sec(p50(ours)), sec(p50(warmAnchor)) + " (warm Chromium, screenshot only)", fmt.Sprintf("%.2f", float64(p50(ours))/float64(p50(warmAnchor))), ""},
			{"first capture after start (browser starts)", sec(cold), "", "", ""},
			{"load average (1, 5, 15 min) at the end", load, "", "", ""},
		},
	})
}

func bareScreenshot(ctx context.Context, chromium, url string) error {
	actx, cancelA := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1366, 900))...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		return err
	}
	_, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	return err
}

// warmBrowser starts a Chromium for the warm anchor.
func warmBrowser(chromium string) (context.Context, func(), error) {
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1366, 900))...)
	bctx, cancelB := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		cancelB()
		cancelA()
		return nil, nil, err
	}
	return bctx, func() { cancelB(); cancelA() }, nil
}

func warmScreenshot(browser context.Context, url string) error {
	tctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		return err
	}
	_, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	return err
}
