// Package nationaldata simulates a typical national enterprise-data API
// (国家企业信用信息共享接口, as the data-sharing gateways of the national
// credit publicity system expose it to regulators: an API gateway in the
// style of Alibaba Cloud's, signed requests, JSON answers) as
// entity-graph's portrait speaks it (FP-125):
//
//	GET {base}/openapi/v1/enterprises/{credit_code}
//	X-Ca-Key, X-Ca-Timestamp (unix milliseconds), X-Ca-Nonce, X-Ca-Signature =
//	base64(HMAC-SHA256(secret, "GET" \n path \n timestamp \n nonce \n key))
//	→ 200 {"code":"200","msg":"成功","data":{…}}
//	→ 404 {"code":"404","msg":"未查询到该主体"}
//
// It checks the key, the signature, the timestamp window (15 min) and
// nonce reuse, and answers with latency, scripted errors (HTTP 500/503
// SYSTEM_BUSY) and a per-second rate limit (429 with Retry-After).
package nationaldata

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Listing is an entry of the abnormal-operation list (经营异常名录) or of
// the serious-illegal list (严重违法失信名单).
type Listing struct {
	Reason    string `json:"reason"`
	ListedOn  string `json:"listed_on"`
	Authority string `json:"authority"`
	RemovedOn string `json:"removed_on,omitempty"`
}

// Penalty is a published administrative penalty.
type Penalty struct {
	RefNo     string `json:"ref_no"`
	Content   string `json:"content"`
	Authority string `json:"authority"`
	DecidedOn string `json:"decided_on"`
}

// Enterprise is what the API answers for one credit code.
type Enterprise struct {
	CreditCode        string    `json:"credit_code"`
	Name              string    `json:"name"`
	EntityType        string    `json:"entity_type"`
	LegalRep          string    `json:"legal_rep"`
	RegStatus         string    `json:"reg_status"`
	EstablishedOn     string    `json:"established_on"`
	RegisteredCapital string    `json:"registered_capital"`
	RegAuthority      string    `json:"reg_authority"`
	Address           string    `json:"address"`
	Abnormal          []Listing `json:"abnormal"`
	SeriousIllegal    []Listing `json:"serious_illegal"`
	Penalties         []Penalty `json:"penalties"`
}

// Answer is the gateway's envelope.
type Answer struct {
	Code string      `json:"code"`
	Msg  string      `json:"msg"`
	Data *Enterprise `json:"data,omitempty"`
}

// Call is one request the simulator answered, as tests inspect it.
type Call struct {
	Status int
	Code   string
	Path   string
}

// Simulator is an http.Handler answering the API under any base path.
type Simulator struct {
	key, secret string
	// Latency delays every answer.
	Latency time.Duration
	// PerSecond limits requests per second (429 with Retry-After); 0: none.
	PerSecond int
	// Lenient answers a plausible enterprise for any code not added (the
	// local platform's demo).
	Lenient bool
	Now     func() time.Time

	mu       sync.Mutex
	ents     map[string]Enterprise
	nonces   map[string]time.Time
	failNext []int
	window   time.Time
	inWindow int
	calls    []Call
}

// New returns a simulator accepting requests signed with secret under key.
func New(key, secret string) *Simulator {
	return &Simulator{key: key, secret: secret, Now: time.Now, ents: map[string]Enterprise{}, nonces: map[string]time.Time{}}
}

// Add puts enterprises into the simulated national register.
func (s *Simulator) Add(es ...Enterprise) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		s.ents[strings.ToUpper(e.CreditCode)] = e
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

// Sign is the signature the gateway expects (the client computes the same).
func Sign(secret, method, path, ts, nonce, key string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s", method, path, ts, nonce, key)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

const prefix = "/openapi/v1/enterprises/"

func (s *Simulator) answer(w http.ResponseWriter, path string, status int, a Answer) {
	s.mu.Lock()
	s.calls = append(s.calls, Call{Status: status, Code: a.Code, Path: path})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	i := strings.Index(r.URL.Path, prefix)
	if r.Method != http.MethodGet || i < 0 {
		s.answer(w, r.URL.Path, http.StatusNotFound, Answer{Code: "NOT_FOUND", Msg: "接口不存在"})
		return
	}
	// The signed path is the API's own, below any gateway prefix.
	path := r.URL.Path[i:]
	now := s.Now()
	if status, code, msg := s.admit(now); status != 0 {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		s.answer(w, path, status, Answer{Code: code, Msg: msg})
		return
	}
	key, ts, nonce, sig := r.Header.Get("X-Ca-Key"), r.Header.Get("X-Ca-Timestamp"), r.Header.Get("X-Ca-Nonce"), r.Header.Get("X-Ca-Signature")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if key != s.key || err != nil || nonce == "" {
		s.answer(w, path, http.StatusUnauthorized, Answer{Code: "INVALID_KEY", Msg: "AppKey、时间戳或随机数无效"})
		return
	}
	if d := now.Sub(time.UnixMilli(ms)); d > 15*time.Minute || d < -15*time.Minute {
		s.answer(w, path, http.StatusUnauthorized, Answer{Code: "INVALID_TIMESTAMP", Msg: "时间戳超出允许范围"})
		return
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(s.secret, r.Method, path, ts, nonce, key))) {
		s.answer(w, path, http.StatusUnauthorized, Answer{Code: "INVALID_SIGNATURE", Msg: "签名错误"})
		return
	}
	if !s.freshNonce(nonce, now) {
		s.answer(w, path, http.StatusUnauthorized, Answer{Code: "NONCE_USED", Msg: "随机数已使用（疑似重放）"})
		return
	}
	code := strings.ToUpper(strings.TrimPrefix(path, prefix))
	if len(code) != 18 {
		s.answer(w, path, http.StatusBadRequest, Answer{Code: "400", Msg: "统一社会信用代码格式错误"})
		return
	}
	s.mu.Lock()
	e, ok := s.ents[code]
	s.mu.Unlock()
	if !ok && s.Lenient {
		e, ok = demo(code), true
	}
	if !ok {
		s.answer(w, path, http.StatusNotFound, Answer{Code: "404", Msg: "未查询到该主体"})
		return
	}
	s.answer(w, path, http.StatusOK, Answer{Code: "200", Msg: "成功", Data: &e})
}

// demo is a plausible answer for a code nobody added: registered by the
// authority of the division the code names (characters 3–8).
func demo(code string) Enterprise {
	return Enterprise{CreditCode: code, Name: "（外地）" + code[8:17] + "有限公司", EntityType: "有限责任公司", LegalRep: "刘洋",
		RegStatus: "存续", EstablishedOn: "2015-06-01", RegisteredCapital: "1000万人民币",
		RegAuthority: "行政区划 " + code[2:8] + " 市场监督管理局", Address: "（模拟数据）", Abnormal: []Listing{}, SeriousIllegal: []Listing{}, Penalties: []Penalty{}}
}

// admit applies scripted failures and the rate limit.
func (s *Simulator) admit(now time.Time) (int, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) > 0 {
		st := s.failNext[0]
		s.failNext = s.failNext[1:]
		if st == http.StatusTooManyRequests {
			return st, "THROTTLED", "请求过于频繁"
		}
		return st, "SYSTEM_BUSY", "系统繁忙，请稍后重试"
	}
	if s.PerSecond > 0 {
		if sec := now.Truncate(time.Second); !sec.Equal(s.window) {
			s.window, s.inWindow = sec, 0
		}
		if s.inWindow >= s.PerSecond {
			return http.StatusTooManyRequests, "THROTTLED", "请求过于频繁"
		}
		s.inWindow++
	}
	return 0, "", ""
}

func (s *Simulator) freshNonce(n string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, at := range s.nonces {
		if now.Sub(at) > 30*time.Minute {
			delete(s.nonces, k)
		}
	}
	if _, used := s.nonces[n]; used {
		return false
	}
	s.nonces[n] = now
	return true
}
