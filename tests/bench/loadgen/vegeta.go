package loadgen

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// OpenResult summarises a constant-rate run.
type OpenResult struct {
	Requests uint64
	Success  uint64 // 2xx
	Errors   []string
	P50, P99 time.Duration
	Max      time.Duration
	Rate     float64 // achieved request rate
}

// Open sends rate requests per second for d, cycling through paths, and
// waits for every request to finish: unlike a closed loop it keeps the
// arrival rate fixed however slow the server gets, so queueing shows up in
// the latencies instead of lowering the load.
func Open(baseURL string, paths []string, rate int, d time.Duration) (OpenResult, error) {
	if len(paths) == 0 {
		return OpenResult{}, fmt.Errorf("no paths")
	}
	var i atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		n := i.Add(1) - 1
		t.Method, t.URL = http.MethodGet, baseURL+paths[n%uint64(len(paths))]
		return nil
	}
	attacker := vegeta.NewAttacker(vegeta.Workers(256), vegeta.MaxWorkers(4096),
		vegeta.Connections(4096), vegeta.Timeout(10*time.Second), vegeta.KeepAlive(true))
	var m vegeta.Metrics
	var ok uint64
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, "open") {
		if res.Code >= 200 && res.Code < 300 {
			ok++
		}
		m.Add(res)
	}
	m.Close()
	return OpenResult{Requests: m.Requests, Success: ok, Errors: m.Errors, P50: m.Latencies.P50,
		P99: m.Latencies.P99, Max: m.Latencies.Max, Rate: m.Rate}, nil
}
