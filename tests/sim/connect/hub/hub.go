// Package hub simulates the city data hub's (数据枢纽) return channel
// (回传) for supervision records: POST /hub/v1/supervision-records with
// "Authorization: HubKey <key>" and {"batch_id","records":[…]}, answering
// {"code":"0000","msg":"成功","accepted":N,"duplicates":N,"rejected":[{"record_id","reason"}]}.
// The hub keeps one row per record_id (a resent record counts as a
// duplicate, a changed one replaces it), so a sender may resend a batch.
package hub

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sjzamr/smartreg/tests/sim/connect/simkit"
)

// Record is one supervision record sent back.
type Record struct {
	RecordID   string `json:"record_id"`
	CreditCode string `json:"credit_code"`
	Kind       string `json:"kind"`
	Title      string `json:"title"`
	Authority  string `json:"authority"`
	OccurredOn string `json:"occurred_on"`
	Status     string `json:"status"`
}

// Sim is the simulator.
type Sim struct {
	Key    string
	Faults simkit.Faults

	mu         sync.Mutex
	records    map[string]Record
	duplicates atomic.Int64
}

// New is an empty hub accepting key.
func New(key string) *Sim { return &Sim{Key: key, records: map[string]Record{}} }

// Duplicates is how many records were resent unchanged.
func (s *Sim) Duplicates() int64 { return s.duplicates.Load() }

// Records is what the hub holds, by record id.
func (s *Sim) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.records))
	for _, r := range s.records {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RecordID < out[j].RecordID })
	return out
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/hub/v1/supervision-records" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "HubKey "); !ok || key != s.Key {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"code":"4010","msg":"密钥无效"}`))
		return
	}
	ft := s.Faults.Take()
	if simkit.WriteFault(w, ft, `{"code":"5000","msg":"枢纽繁忙"}`) {
		return
	}
	var in struct {
		BatchID string   `json:"batch_id"`
		Records []Record `json:"records"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.BatchID == "" {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":"4000","msg":"报文格式错误"}`))
		return
	}
	type rej struct {
		RecordID string `json:"record_id"`
		Reason   string `json:"reason"`
	}
	rejected := []rej{}
	accepted, dups := 0, 0
	s.mu.Lock()
	for _, rec := range in.Records {
		if rec.RecordID == "" || len(rec.CreditCode) != 18 {
			rejected = append(rejected, rej{rec.RecordID, "统一社会信用代码应为 18 位"})
			continue
		}
		if old, ok := s.records[rec.RecordID]; ok && old == rec {
			dups++
			continue
		}
		s.records[rec.RecordID] = rec
		accepted++
	}
	s.mu.Unlock()
	s.duplicates.Add(int64(dups))
	simkit.WriteJSON(w, ft, map[string]any{"code": "0000", "msg": "成功", "accepted": accepted, "duplicates": dups, "rejected": rejected}, false)
}
