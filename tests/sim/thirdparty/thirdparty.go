// Package thirdparty simulates a typical third-party data platform that
// datahub's interface configurations call (FP-115–117): a paged list of
// enterprise records behind each of the four auth kinds datahub speaks,
// with the behaviour of the real ones — latency, scripted and random 5xx
// answers with Retry-After, signature, timestamp and nonce checks, and
// expiring OAuth2 tokens.
//
//	GET|POST {base}/open/enterprises          no auth
//	GET|POST {base}/apikey/enterprises        X-API-Key: <key>
//	GET|POST {base}/hmac/enterprises          X-Key-Id, X-Timestamp, X-Nonce, X-Signature =
//	  hex(HMAC-SHA256(secret, METHOD \n PATH \n sorted-query \n TIMESTAMP \n NONCE \n hex(SHA-256(body))))
//	POST     {base}/oauth/token               client_credentials, client authenticated by HTTP Basic
//	GET|POST {base}/oauth/enterprises         Authorization: Bearer <token>
//
// Query (GET) or JSON body (POST): page (1-based), page_size (default 50).
// Answer: {"code":0,"message":"ok","data":{"total":N,"page":p,"items":[{…}]}}
// with items {uscc, ent_name, legal_person, reg_date "2006/01/02",
// capital "123.45", district, industry, contact:{phone}}.
// Errors: {"code":<n>,"message":"…"} with 401 (AUTH_FAILED …), 503 (SYSTEM_BUSY).
package thirdparty

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Record is one enterprise the platform serves.
type Record struct {
	USCC        string `json:"uscc"`
	Name        string `json:"ent_name"`
	LegalPerson string `json:"legal_person"`
	RegDate     string `json:"reg_date"`
	Capital     string `json:"capital"`
	District    string `json:"district"`
	Industry    string `json:"industry"`
	Phone       string `json:"-"`
}

// Call is one request the simulator answered.
type Call struct {
	Method, Path string
	Auth         string // the path's auth kind
	Status       int
	Reason       string // why it was refused, "" when answered
	Page         int
	Headers      http.Header
	Body         string
}

// Simulator is an http.Handler; mount it anywhere.
type Simulator struct {
	APIKey, KeyID, Secret, ClientID, ClientSecret string
	// Latency delays every answer.
	Latency time.Duration
	// ErrorRate is the share of data requests answered 503 at random.
	ErrorRate float64
	// TokenTTL is how long an OAuth2 token lives (default 1h).
	TokenTTL time.Duration
	// Skew is the signature timestamp window (default 5 minutes).
	Skew time.Duration
	// Now is the simulator's clock (tests share the caller's).
	Now func() time.Time
	// EchoKey makes answers repeat the caller's credential back, as some
	// platforms do in a debug field (tests check the log redacts it).
	EchoKey bool

	mu      sync.Mutex
	records []Record
	fail    []int // scripted statuses for the next data requests
	retry   int   // Retry-After seconds sent with scripted failures
	nonces  map[string]bool
	tokens  map[string]time.Time
	calls   []Call
}

// New returns a simulator with these credentials and records.
func New(apiKey, keyID, secret, clientID, clientSecret string, records ...Record) *Simulator {
	return &Simulator{APIKey: apiKey, KeyID: keyID, Secret: secret, ClientID: clientID, ClientSecret: clientSecret,
		Now: time.Now, records: records, nonces: map[string]bool{}, tokens: map[string]time.Time{}}
}

// SetRecords replaces what the platform serves.
func (s *Simulator) SetRecords(rs []Record) { s.mu.Lock(); s.records = rs; s.mu.Unlock() }

// FailNext answers the next data requests with these statuses (e.g.
// 503, 503), with Retry-After: retryAfter seconds when positive.
func (s *Simulator) FailNext(retryAfter int, statuses ...int) {
	s.mu.Lock()
	s.fail, s.retry = append(s.fail, statuses...), retryAfter
	s.mu.Unlock()
}

// ExpireTokens makes every issued token invalid (a platform restart).
func (s *Simulator) ExpireTokens() { s.mu.Lock(); s.tokens = map[string]time.Time{}; s.mu.Unlock() }

// Calls is what the simulator answered, in order.
func (s *Simulator) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *Simulator) record(c Call) { s.mu.Lock(); s.calls = append(s.calls, c); s.mu.Unlock() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	c := Call{Method: r.Method, Path: r.URL.Path, Headers: r.Header.Clone(), Body: string(body)}
	fail := func(status, code int, reason string) {
		c.Status, c.Reason = status, reason
		s.record(c)
		writeJSON(w, status, map[string]any{"code": code, "message": reason})
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/oauth/token"):
		s.token(w, r, body, c)
		return
	case strings.HasSuffix(r.URL.Path, "/open/enterprises"):
		c.Auth = "none"
	case strings.HasSuffix(r.URL.Path, "/apikey/enterprises"):
		c.Auth = "api_key"
		if r.Header.Get("X-API-Key") != s.APIKey {
			fail(401, 40101, "AUTH_FAILED: API Key 无效")
			return
		}
	case strings.HasSuffix(r.URL.Path, "/hmac/enterprises"):
		c.Auth = "hmac"
		if reason := s.checkSignature(r, body); reason != "" {
			fail(401, 40102, reason)
			return
		}
	case strings.HasSuffix(r.URL.Path, "/oauth/enterprises"):
		c.Auth = "oauth2"
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		exp, known := s.tokens[tok]
		s.mu.Unlock()
		if !ok || !known || !s.Now().Before(exp) {
			fail(401, 40103, "AUTH_FAILED: 令牌无效或已过期")
			return
		}
	default:
		fail(404, 40400, "NOT_FOUND")
		return
	}
	if r.Method != "GET" && r.Method != "POST" {
		fail(405, 40500, "METHOD_NOT_ALLOWED")
		return
	}
	params := r.URL.Query()
	if r.Method == "POST" && len(body) > 0 {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			fail(400, 40000, "BAD_REQUEST: 请求体不是 JSON")
			return
		}
		for k, v := range m {
			params.Set(k, fmt.Sprint(v))
		}
	}
	page, size := atoiOr(params.Get("page"), 1), atoiOr(params.Get("page_size"), 50)
	c.Page = page
	if page < 1 || size < 1 || size > 500 {
		fail(400, 40001, "BAD_REQUEST: page 或 page_size 不正确")
		return
	}
	s.mu.Lock()
	var scripted int
	if len(s.fail) > 0 {
		scripted, s.fail = s.fail[0], s.fail[1:]
	}
	retry := s.retry
	s.mu.Unlock()
	if scripted == 0 && s.ErrorRate > 0 && mrand.Float64() < s.ErrorRate {
		scripted = 503
	}
	if scripted != 0 {
		if retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retry))
		}
		fail(scripted, 50300, "SYSTEM_BUSY: 系统繁忙，请稍后重试")
		return
	}
	s.mu.Lock()
	all := append([]Record(nil), s.records...)
	s.mu.Unlock()
	from := min((page-1)*size, len(all))
	to := min(from+size, len(all))
	items := make([]map[string]any, 0, to-from)
	for _, rec := range all[from:to] {
		items = append(items, map[string]any{"uscc": rec.USCC, "ent_name": rec.Name, "legal_person": rec.LegalPerson,
			"reg_date": rec.RegDate, "capital": rec.Capital, "district": rec.District, "industry": rec.Industry,
			"contact": map[string]any{"phone": rec.Phone}})
	}
	out := map[string]any{"code": 0, "message": "ok", "data": map[string]any{"total": len(all), "page": page,
		"pages": int(math.Ceil(float64(len(all)) / float64(size))), "items": items}}
	if s.EchoKey {
		out["debug"] = map[string]any{"x_api_key": r.Header.Get("X-API-Key"), "authorization": r.Header.Get("Authorization")}
	}
	c.Status = 200
	s.record(c)
	writeJSON(w, 200, out)
}

func atoiOr(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// Sign is the platform's documented signature (callers' tests use it too).
func Sign(secret, method, path, canonicalQuery, ts, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s\n%s", method, path, canonicalQuery, ts, nonce, hex.EncodeToString(sum[:]))
	return hex.EncodeToString(m.Sum(nil))
}

// canonical sorts the query by key, values percent-encoded; written here
// by hand rather than with url.Values.Encode, so the simulator checks
// the documented form, not datahub's code.
func canonical(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func (s *Simulator) checkSignature(r *http.Request, body []byte) string {
	kid, ts, nonce, sig := r.Header.Get("X-Key-Id"), r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce"), r.Header.Get("X-Signature")
	if kid == "" || ts == "" || nonce == "" || sig == "" {
		return "AUTH_FAILED: 缺少签名头"
	}
	if kid != s.KeyID {
		return "AUTH_FAILED: 未知的 Key ID"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	skew := s.Skew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	if err != nil || s.Now().Sub(time.Unix(sec, 0)).Abs() > skew {
		return "AUTH_FAILED: 时间戳超出允许范围"
	}
	want := Sign(s.Secret, r.Method, r.URL.EscapedPath(), canonical(r.URL.Query()), ts, nonce, body)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "AUTH_FAILED: 签名不正确"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nonces[nonce] {
		return "AUTH_FAILED: 随机数已使用（重放）"
	}
	s.nonces[nonce] = true
	return ""
}

func (s *Simulator) token(w http.ResponseWriter, r *http.Request, body []byte, c Call) {
	c.Auth = "oauth2-token"
	id, sec, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		sec, _ = url.QueryUnescape(sec)
	}
	form, _ := url.ParseQuery(string(body))
	if r.Method != "POST" || form.Get("grant_type") != "client_credentials" {
		c.Status, c.Reason = 400, "unsupported_grant_type"
		s.record(c)
		writeJSON(w, 400, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	if !ok || id != s.ClientID || sec != s.ClientSecret {
		c.Status, c.Reason = 401, "invalid_client"
		s.record(c)
		writeJSON(w, 401, map[string]any{"error": "invalid_client"})
		return
	}
	b := make([]byte, 18)
	rand.Read(b)
	tok := "tk_" + hex.EncodeToString(b)
	ttl := s.TokenTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	s.mu.Lock()
	s.tokens[tok] = s.Now().Add(ttl)
	s.mu.Unlock()
	c.Status = 200
	s.record(c)
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds())})
}
