// Package sms simulates a Chinese SMS gateway's HTTP API (the shape
// identity's SMSClient speaks): POST {base}/sms/send with an app key and
// an HMAC-SHA256 signature over key, timestamp, nonce and body. It checks
// the signature, the timestamp window and nonce reuse, enforces a
// per-phone rate limit, can be told to fail, and records every message so
// tests and the local platform's developers can read the codes.
package sms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is one accepted SMS.
type Message struct {
	Phone    string            `json:"phone"`
	SignName string            `json:"sign_name"`
	Template string            `json:"template_code"`
	Params   map[string]string `json:"params"`
	At       time.Time         `json:"at"`
	BizID    string            `json:"biz_id"`
}

// Simulator is an http.Handler; mount it anywhere, it answers any path
// ending in /sms/send, and GET …/sms/messages lists what it accepted.
type Simulator struct {
	key, secret string
	// PerPhonePerMinute limits messages to one number (like real gateways'
	// flow control); 0 means no limit.
	PerPhonePerMinute int
	// Latency delays every answer, as a real gateway does.
	Latency time.Duration
	Now     func() time.Time

	mu       sync.Mutex
	messages []Message
	nonces   map[string]time.Time
	failNext []string
}

// New returns a simulator accepting requests signed with secret under key.
func New(appKey, appSecret string) *Simulator {
	return &Simulator{key: appKey, secret: appSecret, PerPhonePerMinute: 3, Now: time.Now, nonces: map[string]time.Time{}}
}

// FailNext makes the next n sends answer code (e.g. "SYSTEM_ERROR",
// "RATE_LIMITED"); "HTTP_500" answers an HTTP 500.
func (s *Simulator) FailNext(code string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, code)
	}
}

// Messages returns a copy of every accepted message, oldest first.
func (s *Simulator) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Last returns the latest message to phone.
func (s *Simulator) Last(phone string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.messages) - 1; i >= 0; i-- {
		if s.messages[i].Phone == phone {
			return s.messages[i], true
		}
	}
	return Message{}, false
}

var phoneRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

func answer(w http.ResponseWriter, status int, code, msg, bizID string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg, "biz_id": bizID})
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/sms/messages") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(s.Messages())
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/sms/send") {
		answer(w, http.StatusNotFound, "NOT_FOUND", "接口不存在", "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		answer(w, http.StatusBadRequest, "BAD_REQUEST", "请求体读取失败", "")
		return
	}
	now := s.Now()
	key, ts, nonce, sig := r.Header.Get("X-App-Key"), r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce"), r.Header.Get("X-Signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if key != s.key || err != nil || nonce == "" {
		answer(w, http.StatusOK, "SIGNATURE_INVALID", "AppKey、时间戳或随机数无效", "")
		return
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		answer(w, http.StatusOK, "SIGNATURE_INVALID", "时间戳超出允许范围", "")
		return
	}
	m := hmac.New(sha256.New, []byte(s.secret))
	m.Write([]byte(key + "\n" + ts + "\n" + nonce + "\n"))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		answer(w, http.StatusOK, "SIGNATURE_INVALID", "签名校验失败", "")
		return
	}
	var msg Message
	if err := json.Unmarshal(body, &msg); err != nil {
		answer(w, http.StatusOK, "BAD_REQUEST", "请求体不是有效的 JSON", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.nonces[nonce]; seen {
		answer(w, http.StatusOK, "SIGNATURE_INVALID", "随机数重复使用", "")
		return
	}
	s.nonces[nonce] = now
	for n, at := range s.nonces {
		if now.Sub(at) > 10*time.Minute {
			delete(s.nonces, n)
		}
	}
	if len(s.failNext) > 0 {
		code := s.failNext[0]
		s.failNext = s.failNext[1:]
		if code == "HTTP_500" {
			answer(w, http.StatusInternalServerError, "SYSTEM_ERROR", "网关内部错误", "")
		} else {
			answer(w, http.StatusOK, code, "模拟的网关错误", "")
		}
		return
	}
	if !phoneRE.MatchString(msg.Phone) {
		answer(w, http.StatusOK, "INVALID_PHONE", "手机号码格式不正确", "")
		return
	}
	if msg.SignName == "" || msg.Template == "" {
		answer(w, http.StatusOK, "BAD_REQUEST", "缺少短信签名或模板", "")
		return
	}
	if s.PerPhonePerMinute > 0 {
		n := 0
		for _, old := range s.messages {
			if old.Phone == msg.Phone && now.Sub(old.At) < time.Minute {
				n++
			}
		}
		if n >= s.PerPhonePerMinute {
			answer(w, http.StatusOK, "RATE_LIMITED", "该号码发送过于频繁", "")
			return
		}
	}
	msg.At = now
	msg.BizID = strconv.FormatInt(now.UnixNano(), 36)
	s.messages = append(s.messages, msg)
	answer(w, http.StatusOK, "OK", "发送成功", msg.BizID)
}
