// Package simkit is what the connector simulators share: a dataset with an
// update sequence (every change bumps it, so a client pulling "after N"
// sees each change once) and the faults a government system really shows
// (latency, storms of 5xx, rate limits, malformed bodies, undeclared GBK,
// a page served twice). Each simulator in ../ speaks its own system's
// documented style over it.
package simkit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Row is one record of a dataset; Fields are all strings, as the remote
// systems send them.
type Row struct {
	Seq    int64
	ID     string
	Fields map[string]string
}

// Dataset is an in-memory table with an update sequence.
type Dataset struct {
	mu   sync.Mutex
	seq  int64
	rows map[string]*Row
}

// NewDataset is an empty dataset.
func NewDataset() *Dataset { return &Dataset{rows: map[string]*Row{}} }

// Put inserts or changes a row; an unchanged row keeps its sequence.
func (d *Dataset) Put(id string, fields map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.rows[id]; ok && equal(r.Fields, fields) {
		return
	}
	d.seq++
	cp := make(map[string]string, len(fields))
	for k, v := range fields {
		cp[k] = v
	}
	d.rows[id] = &Row{Seq: d.seq, ID: id, Fields: cp}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// After returns up to n rows changed after seq, oldest change first, and
// whether more follow.
func (d *Dataset) After(seq int64, n int) ([]Row, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Row
	for _, r := range d.rows {
		if r.Seq > seq {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	if len(out) > n {
		return out[:n], true
	}
	return out, false
}

// Len is the number of rows.
func (d *Dataset) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.rows)
}

// Checksum is the dataset's fingerprint as a connector must reproduce it:
// sha256 over the sorted lines "id:ContentHash(fields)".
func (d *Dataset) Checksum() string {
	d.mu.Lock()
	lines := make([]string, 0, len(d.rows))
	for _, r := range d.rows {
		lines = append(lines, r.ID+":"+ContentHash(r.Fields))
	}
	d.mu.Unlock()
	return SumLines(lines)
}

// ContentHash is the hash of a record's fields: sha256 of their JSON with
// keys sorted (encoding/json sorts map keys).
func ContentHash(fields map[string]string) string {
	b, _ := json.Marshal(fields)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// SumLines hashes lines in sorted order.
func SumLines(lines []string) string {
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Faults are what the next requests suffer; tests set them, the handlers
// consult Take once per data request.
type Faults struct {
	mu         sync.Mutex
	Latency    time.Duration // every data request
	Storm      int           // the next N data requests answer 503
	RateLimit  int           // the next N data requests answer 429 with Retry-After: 1
	Malformed  int           // the next N data pages are cut-off JSON
	GBKAsUTF8  int           // the next N pages are GBK but declared UTF-8
	RepeatFrom int           // from the Nth data request on, the page served is the first page again (0: never)

	requests atomic.Int64
}

// Fault is what one request gets.
type Fault struct {
	Status    int // 0: answer normally
	Malformed bool
	GBKAsUTF8 bool
	Repeat    bool
}

// Take decides the fate of one data request and sleeps the latency.
func (f *Faults) Take() Fault {
	n := f.requests.Add(1)
	f.mu.Lock()
	lat := f.Latency
	var out Fault
	switch {
	case f.Storm > 0:
		f.Storm--
		out.Status = http.StatusServiceUnavailable
	case f.RateLimit > 0:
		f.RateLimit--
		out.Status = http.StatusTooManyRequests
	case f.Malformed > 0:
		f.Malformed--
		out.Malformed = true
	case f.GBKAsUTF8 > 0:
		f.GBKAsUTF8--
		out.GBKAsUTF8 = true
	}
	if f.RepeatFrom > 0 && n >= int64(f.RepeatFrom) {
		out.Repeat = true
	}
	f.mu.Unlock()
	if lat > 0 {
		time.Sleep(lat)
	}
	return out
}

// Set changes the faults under the lock.
func (f *Faults) Set(fn func(*Faults)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// Requests is how many data requests were served.
func (f *Faults) Requests() int64 { return f.requests.Load() }

// WriteFault answers a status fault; it reports whether it did.
func WriteFault(w http.ResponseWriter, ft Fault, body string) bool {
	if ft.Status == 0 {
		return false
	}
	if ft.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(ft.Status)
	w.Write([]byte(body))
	return true
}

// WriteJSON writes v as JSON, cut short or GBK-encoded when the fault says
// so; gbk sends GBK declared as such (the spot-check platform's habit).
func WriteJSON(w http.ResponseWriter, ft Fault, v any, gbk bool) {
	b, _ := json.Marshal(v)
	if ft.Malformed {
		b = b[:len(b)/2]
	}
	charset := "UTF-8"
	if gbk || ft.GBKAsUTF8 {
		b, _ = simplifiedchinese.GBK.NewEncoder().Bytes(b)
		if gbk {
			charset = "GBK"
		}
	}
	w.Header().Set("Content-Type", "application/json;charset="+charset)
	w.Write(b)
}

// Int reads an integer query parameter with a default.
func Int(r *http.Request, name string, def int64) int64 {
	if v, err := strconv.ParseInt(r.URL.Query().Get(name), 10, 64); err == nil {
		return v
	}
	return def
}
