package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// WalkResult summarises a Walk.
type WalkResult struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	Rate     float64
}

// Walk requests every path exactly once with workers concurrent clients and
// reports the rate over the whole walk. wrk cannot stop when a list runs
// out (it always runs its full duration), so cold-cache runs use this.
func Walk(ctx context.Context, baseURL string, paths []string, workers int) (WalkResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var next atomic.Int64
	var errs atomic.Int64
	lat := make([]time.Duration, len(paths))
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) || ctx.Err() != nil {
					return
				}
				t := time.Now()
				resp, err := client.Get(baseURL + paths[i])
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	r := WalkResult{Requests: len(paths), Errors: int(errs.Load()), Elapsed: time.Since(start)}
	r.Rate = float64(r.Requests) / r.Elapsed.Seconds()
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		r.P50, r.P99 = lat[n/2], lat[min(n-1, n*99/100)]
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if r.Errors > 0 {
		return r, fmt.Errorf("%d of %d requests failed", r.Errors, r.Requests)
	}
	return r, nil
}

// Fetch returns the body of each path, for a baseline that serves the same bytes.
func Fetch(ctx context.Context, baseURL string, paths []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+p, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		out[p] = b
	}
	return out, nil
}
