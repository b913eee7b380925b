// Package loadgen drives HTTP load for the benchmarks: wrk for closed-loop
// runs (it is C and costs the shared cores least) and vegeta for open-loop
// runs at a fixed rate, both over a list of paths.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// WrkResult is what the Lua done() hook reports.
type WrkResult struct {
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"` // connect, read, write, timeout and non-2xx/3xx
	Non2xx     int64   `json:"non2xx"`
	Seconds    float64 `json:"seconds"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	Throughput float64 `json:"rps"`
}

// Wrk describes one closed-loop run.
type Wrk struct {
	BaseURL     string
	Paths       []string
	Connections int
	Threads     int
	Duration    time.Duration
	// Once makes every path requested at most once (each thread walks its own
	// slice and stops when it runs out), for cold-cache runs.
	Once bool
	// Until, when set, is polled every few milliseconds; when it reports
	// true, wrk is interrupted and the run's length is the time until then.
	// wrk itself always sleeps its full -d, even when every thread has
	// stopped, so a walk over a list (Once) needs the server side to say
	// when the list is done (e.g. its count of answered requests).
	Until func() bool
}

// Lua: paths come from a file; each thread starts at its own offset so the
// threads do not request the same path at the same moment.
const wrkScript = `
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local once = os.getenv("WRK_ONCE") == "1"
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
local i, stop, n
function init(args)
  n = #paths
  local per = math.floor(n / tonumber(os.getenv("WRK_THREADS")))
  i = (tid - 1) * per
  stop = i + per
end
function request()
  if once and i >= stop then
    wrk.thread:stop()
  end
  i = i + 1
  return wrk.format("GET", paths[(i - 1) % n + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  local errs = e.connect + e.read + e.write + e.timeout + e.status
  io.write(string.format('WRKJSON {"requests":%d,"errors":%d,"non2xx":%d,"seconds":%f,"p50_ms":%f,"p99_ms":%f,"max_ms":%f}\n',
    summary.requests, errs, e.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
`

// Run executes wrk and parses its report.
func (w Wrk) Run(ctx context.Context) (WrkResult, error) {
	dir, err := os.MkdirTemp("", "wrk")
	if err != nil {
		return WrkResult{}, err
	}
	defer os.RemoveAll(dir)
	script, paths := filepath.Join(dir, "script.lua"), filepath.Join(dir, "paths.txt")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return WrkResult{}, err
	}
	if err := os.WriteFile(paths, []byte(strings.Join(w.Paths, "\n")+"\n"), 0o644); err != nil {
		return WrkResult{}, err
	}
	threads := max(w.Threads, 1)
	cmd := exec.CommandContext(ctx, "wrk", "-t", fmt.Sprint(threads), "-c", fmt.Sprint(w.Connections),
		"-d", fmt.Sprintf("%ds", int(w.Duration.Seconds())), "--timeout", "10s", "-s", script, w.BaseURL)
	once := "0"
	if w.Once {
		once = "1"
	}
	cmd.Env = append(os.Environ(), "WRK_PATHS="+paths, "WRK_ONCE="+once, fmt.Sprintf("WRK_THREADS=%d", threads))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return WrkResult{}, fmt.Errorf("wrk: %w", err)
	}
	var until time.Duration
	if w.Until != nil {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
	poll:
		for {
			select {
			case err := <-done:
				if err != nil {
					return WrkResult{}, fmt.Errorf("wrk: %w\n%s", err, out.String())
				}
				break poll
			case <-tick.C:
				if until == 0 && w.Until() {
					until = time.Since(start)
					_ = cmd.Process.Signal(os.Interrupt) // wrk reports and exits on SIGINT
				}
			}
		}
	} else if err := cmd.Wait(); err != nil {
		return WrkResult{}, fmt.Errorf("wrk: %w\n%s", err, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "WRKJSON "); ok {
			var r WrkResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return WrkResult{}, err
			}
			if until > 0 {
				r.Seconds = until.Seconds()
			}
			r.Throughput = float64(r.Requests) / r.Seconds
			return r, nil
		}
	}
	return WrkResult{}, fmt.Errorf("wrk printed no summary:\n%s", out.String())
}
