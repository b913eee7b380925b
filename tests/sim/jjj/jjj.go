// Package jjj simulates the other side of the Beijing–Tianjin–Hebei
// key-industry enterprise exchange (FP-126, docs/jjj-exchange.md): a
// district regulator of Beijing or Tianjin serving its enterprises with
// the same contract we serve ours, and calling ours.
//
//	GET {base}/enterprises?industry=&updated_since=&cursor=&limit=
//	X-Key-Id, X-Timestamp, X-Nonce, X-Signature (HMAC-SHA256, docs/jjj-exchange.md §签名)
//	→ {"code":"0","message":"成功","request_id","data":{"region_code","items":[…],"next_cursor"}}
//	→ errors {"code":"JJJ-1004","message":"签名不正确","request_id"} with the documented HTTP status
//
// It checks signatures, the clock window and nonce reuse as the document
// says, pages by credit code, and can be told to fail (503 JJJ-5031) or
// to answer rows that break the contract.
package jjj

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Enterprise is one row of the field contract.
type Enterprise struct {
	CreditCode        string    `json:"credit_code"`
	Name              string    `json:"name"`
	EntityType        string    `json:"entity_type"`
	LegalRep          string    `json:"legal_rep"`
	EstablishedOn     string    `json:"established_on"`
	RegisteredCapital *float64  `json:"registered_capital"`
	Address           string    `json:"address"`
	DistrictCode      string    `json:"district_code"`
	IndustryCode      string    `json:"industry_code"`
	KeyIndustry       string    `json:"key_industry"`
	Status            string    `json:"status"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Simulator is a partner district's side.
type Simulator struct {
	Region        string // e.g. 110105
	KeyID, Secret string
	Now           func() time.Time
	Skew          time.Duration

	mu       sync.Mutex
	rows     []Enterprise
	fail     int
	nonces   map[string]bool
	Requests []url.Values // the queries of answered requests
}

// New returns a partner's side with these rows.
func New(region, keyID, secret string, rows ...Enterprise) *Simulator {
	return &Simulator{Region: region, KeyID: keyID, Secret: secret, Now: time.Now, Skew: 5 * time.Minute, rows: rows, nonces: map[string]bool{}}
}

// SetRows replaces the partner's enterprises.
func (s *Simulator) SetRows(rows []Enterprise) { s.mu.Lock(); s.rows = rows; s.mu.Unlock() }

// FailNext answers the next n requests 503 JJJ-5031.
func (s *Simulator) FailNext(n int) { s.mu.Lock(); s.fail = n; s.mu.Unlock() }

type reply struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Data      any    `json:"data,omitempty"`
}

func rid() string { b := make([]byte, 8); rand.Read(b); return hex.EncodeToString(b) }

func answer(w http.ResponseWriter, status int, code, msg string, data any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(reply{Code: code, Message: msg, RequestID: rid(), Data: data})
}

// Canonical is the document's canonical query: keys sorted, then values
// in order, each k=v form-encoded (space as +), joined by &.
func Canonical(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// Sign is the document's signature.
func Sign(secret, method, path string, q url.Values, ts, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s\n%s", method, path, Canonical(q), ts, nonce, hex.EncodeToString(sum[:]))
	return hex.EncodeToString(m.Sum(nil))
}

// SignedRequest is a GET of rawURL signed as keyID would sign it (the
// partner calling our side); nonce "" makes a fresh one.
func SignedRequest(rawURL, keyID, secret, nonce string, at time.Time) (*http.Request, error) {
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		return nil, err
	}
	if nonce == "" {
		nonce = rid() + rid()
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("X-Key-Id", keyID)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", Sign(secret, "GET", req.URL.EscapedPath(), req.URL.Query(), ts, nonce, nil))
	return req, nil
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/enterprises") || r.Method != "GET" {
		answer(w, 404, "JJJ-2001", "参数错误：未知的接口", nil)
		return
	}
	kid, ts, nonce, sig := r.Header.Get("X-Key-Id"), r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce"), r.Header.Get("X-Signature")
	if kid == "" || ts == "" || nonce == "" || sig == "" {
		answer(w, 401, "JJJ-1001", "缺少签名请求头", nil)
		return
	}
	if kid != s.KeyID {
		answer(w, 401, "JJJ-1002", "密钥编号未登记", nil)
		return
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || s.Now().Sub(time.Unix(sec, 0)).Abs() > s.Skew {
		answer(w, 401, "JJJ-1003", "时间戳超出允许范围，请校准时钟", nil)
		return
	}
	if !hmac.Equal([]byte(Sign(s.Secret, r.Method, r.URL.EscapedPath(), r.URL.Query(), ts, nonce, nil)), []byte(sig)) {
		answer(w, 401, "JJJ-1004", "签名不正确", nil)
		return
	}
	s.mu.Lock()
	replay := s.nonces[nonce]
	s.nonces[nonce] = true
	failing := s.fail > 0
	if failing {
		s.fail--
	}
	rows := append([]Enterprise(nil), s.rows...)
	s.Requests = append(s.Requests, r.URL.Query())
	s.mu.Unlock()
	if replay {
		answer(w, 401, "JJJ-1005", "随机数已使用，疑似重放请求", nil)
		return
	}
	if failing {
		answer(w, 503, "JJJ-5031", "服务暂不可用，请稍后重试", nil)
		return
	}
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			answer(w, 400, "JJJ-2001", "参数错误：limit 应为 1 至 500", nil)
			return
		}
	}
	var since time.Time
	if v := q.Get("updated_since"); v != "" {
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			answer(w, 400, "JJJ-2001", "参数错误：updated_since", nil)
			return
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].CreditCode < rows[j].CreditCode })
	out := []Enterprise{}
	cursor := q.Get("cursor")
	for _, e := range rows {
		if e.CreditCode <= cursor || e.UpdatedAt.Before(since) || (q.Get("industry") != "" && e.KeyIndustry != q.Get("industry")) {
			continue
		}
		out = append(out, e)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].CreditCode
	}
	answer(w, 200, "0", "成功", map[string]any{"region_code": s.Region, "items": out, "next_cursor": next})
}
