// Package spotcheck simulates the market spot-check data platform
// (抽查数据平台, the "双随机" result base): an API key in X-Api-Key, a
// limit of requests per second answered with 429 and Retry-After, and
// GET /ccpt/api/results?startSeq=N&rows=M answering GBK-encoded JSON
// (Content-Type: application/json;charset=GBK, as the platform's Java
// stack sends it): {"status":"0","message":"ok","rows":[…],"lastSeq":N,"remain":K}.
package spotcheck

import (
	"net/http"
	"strconv"

	"github.com/sjzamr/smartreg/tests/sim/connect/simkit"
)

// Sim is the simulator.
type Sim struct {
	Key    string
	Data   *simkit.Dataset
	Faults simkit.Faults
}

// New is an empty spot-check platform accepting key.
func New(key string) *Sim { return &Sim{Key: key, Data: simkit.NewDataset()} }

// Fields builds a spot-check result as the platform sends it.
func Fields(taskNo, taskName, creditCode, org, date, result string) map[string]string {
	return map[string]string{"taskNo": taskNo, "taskName": taskName, "checkedUniscid": creditCode,
		"checkOrg": org, "checkDate": date, "result": result}
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ccpt/api/results" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-Api-Key") != s.Key {
		w.WriteHeader(http.StatusUnauthorized)
		simkit.WriteJSON(w, simkit.Fault{}, map[string]string{"status": "401", "message": "API Key 无效"}, true)
		return
	}
	ft := s.Faults.Take()
	if simkit.WriteFault(w, ft, `{"status":"500","message":"internal error"}`) {
		return
	}
	start := simkit.Int(r, "startSeq", 0)
	n := simkit.Int(r, "rows", 100)
	if ft.Repeat {
		start = 0
	}
	rows, more := s.Data.After(start, int(n))
	out := make([]map[string]string, 0, len(rows))
	last := start
	for _, row := range rows {
		m := map[string]string{"seq": strconv.FormatInt(row.Seq, 10)}
		for k, v := range row.Fields {
			m[k] = v
		}
		out = append(out, m)
		last = row.Seq
	}
	remain := 0
	if more {
		rest, _ := s.Data.After(last, 1<<30)
		remain = len(rest)
	}
	simkit.WriteJSON(w, ft, map[string]any{"status": "0", "message": "ok", "rows": out, "lastSeq": last, "remain": remain}, true)
}
