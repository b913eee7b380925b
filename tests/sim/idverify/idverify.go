// Package idverify simulates a typical third-party identity-verification
// API (公安身份核验 resellers: name and number, optionally a face photo,
// answered with match / no match and a photo score) as ocr-idcard's
// verifier speaks it (FP-12):
//
//	POST {base}/v1/idcard/verify
//	X-App-Id, X-Timestamp (unix seconds), X-Nonce, X-Signature =
//	hex(HMAC-SHA256(secret, appId \n timestamp \n nonce \n METHOD \n path \n hex(SHA-256(body))))
//	{"name", "id_number", "photo" (base64, optional), "request_id"}
//	→ 200 {"code":"OK","request_id","result":"match"|"no_match"|"not_found","score"?,"message"}
//
// It checks the signature, the timestamp window and nonce reuse, answers
// with latency, random and scripted errors (HTTP 500/503, SYSTEM_BUSY) and
// a per-second rate limit (429 with Retry-After), like the real services.
package idverify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Person is one entry of the simulated population register.
type Person struct {
	Name     string
	IDNumber string
	// PhotoScore is the face-comparison score (0–100) a photo of this
	// person gets; 0 means 90.
	PhotoScore int
}

// Call is one request the simulator answered, as tests inspect it.
type Call struct {
	Status   int    `json:"status"`
	Code     string `json:"code"`
	Result   string `json:"result,omitempty"`
	HasPhoto bool   `json:"has_photo"`
	At       time.Time
}

// Simulator is an http.Handler; mount it anywhere (it answers any path
// ending in /v1/idcard/verify; GET …/v1/calls lists what it answered).
type Simulator struct {
	appID, secret string
	// Latency delays every answer.
	Latency time.Duration
	// ErrorRate is the share of requests answered 503 SYSTEM_BUSY at random.
	ErrorRate float64
	// PerSecond limits requests per second (429 with Retry-After); 0: none.
	PerSecond int
	// Lenient answers match for any well-formed number not in the
	// register (the local platform's demo, where nobody is registered).
	Lenient bool
	Now     func() time.Time

	mu       sync.Mutex
	people   map[string]Person
	nonces   map[string]time.Time
	failNext []int
	window   time.Time
	inWindow int
	calls    []Call
	rnd      *rand.Rand
}

// New returns a simulator accepting requests signed with secret under appID.
func New(appID, secret string) *Simulator {
	return &Simulator{appID: appID, secret: secret, Now: time.Now, people: map[string]Person{},
		nonces: map[string]time.Time{}, rnd: rand.New(rand.NewPCG(1, 2))}
}

// Add registers people.
func (s *Simulator) Add(ps ...Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		s.people[strings.ToUpper(p.IDNumber)] = p
	}
}

// FailNext makes the next n requests answer HTTP status (500, 503, 429).
func (s *Simulator) FailNext(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
}

// Calls returns every answered request, oldest first.
func (s *Simulator) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Sign is the signature the simulator expects (the client computes the same).
func Sign(secret, appID, ts, nonce, method, path string, body []byte) string {
	h := sha256.Sum256(body)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s\n%s", appID, ts, nonce, method, path, hex.EncodeToString(h[:]))
	return hex.EncodeToString(m.Sum(nil))
}

type request struct {
	Name      string `json:"name"`
	IDNumber  string `json:"id_number"`
	Photo     string `json:"photo,omitempty"`
	RequestID string `json:"request_id"`
}

// Response is the simulator's (and the real API's) answer.
type Response struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
	Result    string `json:"result,omitempty"`
	Score     *int   `json:"score,omitempty"`
}

func (s *Simulator) answer(w http.ResponseWriter, status int, resp Response, photo bool) {
	s.mu.Lock()
	s.calls = append(s.calls, Call{Status: status, Code: resp.Code, Result: resp.Result, HasPhoto: photo, At: s.Now()})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v1/calls") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(s.Calls())
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/v1/idcard/verify") {
		s.answer(w, http.StatusNotFound, Response{Code: "NOT_FOUND", Message: "接口不存在"}, false)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		s.answer(w, http.StatusBadRequest, Response{Code: "BAD_REQUEST", Message: "请求体读取失败"}, false)
		return
	}
	now := s.Now()
	if status, code, msg := s.admit(now); status != 0 {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		s.answer(w, status, Response{Code: code, Message: msg}, false)
		return
	}
	id, ts, nonce, sig := r.Header.Get("X-App-Id"), r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce"), r.Header.Get("X-Signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if id != s.appID || err != nil || nonce == "" {
		s.answer(w, http.StatusUnauthorized, Response{Code: "SIGNATURE_INVALID", Message: "AppId、时间戳或随机数无效"}, false)
		return
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		s.answer(w, http.StatusUnauthorized, Response{Code: "SIGNATURE_INVALID", Message: "时间戳超出允许范围"}, false)
		return
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(s.secret, id, ts, nonce, r.Method, r.URL.Path, body))) {
		s.answer(w, http.StatusUnauthorized, Response{Code: "SIGNATURE_INVALID", Message: "签名错误"}, false)
		return
	}
	if !s.freshNonce(nonce, now) {
		s.answer(w, http.StatusUnauthorized, Response{Code: "NONCE_REUSED", Message: "随机数已使用（疑似重放）"}, false)
		return
	}
	var q request
	if err := json.Unmarshal(body, &q); err != nil || strings.TrimSpace(q.Name) == "" || len(q.IDNumber) != 18 {
		s.answer(w, http.StatusBadRequest, Response{Code: "BAD_REQUEST", Message: "姓名或身份证号码格式错误"}, false)
		return
	}
	var photo []byte
	if q.Photo != "" {
		if photo, err = base64.StdEncoding.DecodeString(q.Photo); err != nil || len(photo) == 0 {
			s.answer(w, http.StatusBadRequest, Response{Code: "BAD_REQUEST", Message: "照片不是有效的 Base64"}, true)
			return
		}
	}
	resp := Response{Code: "OK", RequestID: q.RequestID}
	s.mu.Lock()
	p, known := s.people[strings.ToUpper(q.IDNumber)]
	s.mu.Unlock()
	switch {
	case known && p.Name == strings.TrimSpace(q.Name):
		resp.Result, resp.Message = "match", "姓名与身份证号码一致"
	case known:
		resp.Result, resp.Message = "no_match", "姓名与身份证号码不一致"
	case s.Lenient:
		resp.Result, resp.Message = "match", "姓名与身份证号码一致"
		p.PhotoScore = 90
	default:
		resp.Result, resp.Message = "not_found", "库中无此号码"
	}
	if photo != nil && resp.Result == "match" {
		sc := p.PhotoScore
		if sc == 0 {
			sc = 90
		}
		resp.Score = &sc
	}
	s.answer(w, http.StatusOK, resp, photo != nil)
}

// admit applies scripted failures, random errors and the rate limit.
func (s *Simulator) admit(now time.Time) (int, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) > 0 {
		st := s.failNext[0]
		s.failNext = s.failNext[1:]
		if st == http.StatusTooManyRequests {
			return st, "RATE_LIMITED", "请求过于频繁"
		}
		return st, "SYSTEM_BUSY", "系统繁忙，请稍后重试"
	}
	if s.ErrorRate > 0 && s.rnd.Float64() < s.ErrorRate {
		return http.StatusServiceUnavailable, "SYSTEM_BUSY", "系统繁忙，请稍后重试"
	}
	if s.PerSecond > 0 {
		if sec := now.Truncate(time.Second); !sec.Equal(s.window) {
			s.window, s.inWindow = sec, 0
		}
		if s.inWindow >= s.PerSecond {
			return http.StatusTooManyRequests, "RATE_LIMITED", "请求过于频繁"
		}
		s.inWindow++
	}
	return 0, "", ""
}

func (s *Simulator) freshNonce(n string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, at := range s.nonces {
		if now.Sub(at) > 10*time.Minute {
			delete(s.nonces, k)
		}
	}
	if _, used := s.nonces[n]; used {
		return false
	}
	s.nonces[n] = now
	return true
}
