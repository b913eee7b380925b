// Package amapsim simulates AMap's Web Service geocoding API (地理编码,
// GET /v3/geocode/geo) as the dashboard's client speaks it: key and
// digital signature checked (sig = MD5 of the sorted parameters and the
// private secret), answers in AMap's shape with status, info and infocode,
// a per-second limit (infocode 10021 CUQPS_HAS_EXCEEDED_THE_LIMIT) and a
// daily quota (10003 DAILY_QUERY_OVER_LIMIT), both with HTTP 200 as AMap
// answers them, and latency. Points are placed near each district's seat
// on the schematic map, deterministically per address, and the match
// level follows how precisely the address is written.
package amapsim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"sync"
	"time"

	"github.com/sjzamr/smartreg/functions/dashboard/geocode"
	"github.com/sjzamr/smartreg/shared/codes"
)

// Simulator is an http.Handler answering /v3/geocode/geo.
type Simulator struct {
	key, secret string
	Latency     time.Duration
	PerSecond   int // 0: no limit
	Daily       int // 0: no quota
	// Misplace scripts AMap placing an address (as sent) in another
	// district, by its adcode: the anomaly FP-140 flags.
	Misplace map[string]string

	norm   *geocode.Normalizer
	seats  map[string][2]float64
	mu     sync.Mutex
	calls  int
	second time.Time
	inSec  int
}

// New is a simulator accepting one key and its secret.
func New(key, secret string) *Simulator {
	s := &Simulator{key: key, secret: secret, norm: geocode.NewNormalizer(), seats: map[string][2]float64{}, Misplace: map[string]string{}}
	var doc struct {
		Features []struct {
			Properties struct {
				Code  string     `json:"code"`
				Label [2]float64 `json:"label"`
			} `json:"properties"`
		} `json:"features"`
	}
	_ = json.Unmarshal(codes.SchematicMap(), &doc)
	for _, f := range doc.Features {
		s.seats[f.Properties.Code] = f.Properties.Label
	}
	return s
}

// Calls is how many geocoding requests were answered (cache tests).
func (s *Simulator) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func fail(w http.ResponseWriter, code, info string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "0", "info": info, "infocode": code})
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v3/geocode/geo" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	q := r.URL.Query()
	switch {
	case q.Get("key") != s.key:
		fail(w, "10001", "INVALID_USER_KEY")
		return
	case q.Get("sig") != geocode.Sign(q, s.secret):
		fail(w, "10007", "INVALID_USER_SIGNATURE")
		return
	case q.Get("address") == "":
		fail(w, "20000", "INVALID_PARAMS")
		return
	}
	s.mu.Lock()
	now := time.Now().Truncate(time.Second)
	if !now.Equal(s.second) {
		s.second, s.inSec = now, 0
	}
	s.inSec++
	over := s.PerSecond > 0 && s.inSec > s.PerSecond
	quota := s.Daily > 0 && s.calls >= s.Daily
	if !over && !quota {
		s.calls++
	}
	s.mu.Unlock()
	if over {
		fail(w, "10021", "CUQPS_HAS_EXCEEDED_THE_LIMIT")
		return
	}
	if quota {
		fail(w, "10003", "DAILY_QUERY_OVER_LIMIT")
		return
	}
	address := q.Get("address")
	a := s.norm.Normalize(address)
	out := map[string]any{"status": "1", "info": "OK", "infocode": "10000", "count": "0", "geocodes": []any{}}
	seat, ok := s.seats[a.DistrictCode]
	if a.Grade != geocode.GradeNone && ok {
		code := a.DistrictCode
		if m := s.Misplace[address]; m != "" {
			code = m
			if ms, ok := s.seats[m]; ok {
				seat = ms
			}
		}
		d, _ := codes.Divisions().Lookup(code)
		h := fnv.New64a()
		_, _ = h.Write([]byte(a.Normalized))
		v := h.Sum64()
		spread := map[string]float64{geocode.GradeBuilding: 0.03, geocode.GradeNumber: 0.03, geocode.GradeRoad: 0.02}[a.Grade]
		lng := seat[0] + (float64(v%1000)/1000-0.5)*spread
		lat := seat[1] + (float64(v/1000%1000)/1000-0.5)*spread
		level := map[string]string{geocode.GradeBuilding: "门牌号", geocode.GradeNumber: "门牌号", geocode.GradeRoad: "道路",
			geocode.GradeTownship: "乡镇", geocode.GradeDistrict: "区县"}[a.Grade]
		empty := func(s string) any {
			if s == "" {
				return []any{}
			}
			return s
		}
		out["count"] = "1"
		out["geocodes"] = []any{map[string]any{
			"formatted_address": a.Normalized, "country": "中国", "province": "河北省", "citycode": "0311", "city": "石家庄市",
			"district": d.Name, "township": empty(a.Township), "street": empty(a.Road), "number": empty(numberOf(a)),
			"adcode": code, "location": fmt.Sprintf("%.6f,%.6f", lng, lat), "level": level,
		}}
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(out)
}

func numberOf(a geocode.Address) string {
	if a.Number == "" {
		return ""
	}
	return a.Number + "号"
}
