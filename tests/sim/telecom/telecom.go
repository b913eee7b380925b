// Package telecom simulates the three carrier gateways comms speaks to
// (FP-152), each as its own http.Handler so a test can take one down
// alone:
//
//   - Telephony: POST …/voice/call {"to","caller_id","tts_text","play_times"}
//     → {"code":"OK","call_id"}; GET …/voice/calls lists placed calls.
//   - Fax: POST …/fax/send {"to","subject","text"} → {"code":"OK","fax_id"};
//     GET …/fax/list lists them.
//   - TTS: POST …/tts/synthesize {"text","format":"wav","sample_rate"}
//     → audio/wav, 8 kHz 16-bit mono, ~180 ms of tone per character.
//
// All three check the same signed headers as the SMS gateway (X-App-Key,
// X-Timestamp within 5 minutes, single-use X-Nonce, X-Signature =
// hex(HMAC-SHA256(secret, key\ntimestamp\nnonce\n + body))), answer after
// Latency, refuse malformed numbers with INVALID_NUMBER, and can be told to
// fail (FailNext) or to be down (SetDown: HTTP 503 like a gateway behind a
// load balancer with no healthy backend).
package telecom

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Record is one accepted call or fax.
type Record struct {
	ID      string    `json:"id"`
	To      string    `json:"to"`
	Subject string    `json:"subject,omitempty"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
}

// Simulator holds the three gateways' state.
type Simulator struct {
	key, secret string
	Latency     time.Duration
	Now         func() time.Time

	mu       sync.Mutex
	calls    []Record
	faxes    []Record
	tts      int
	nonces   map[string]time.Time
	down     map[string]bool
	failNext map[string][]string
	seq      int
}

// New returns a simulator accepting requests signed with secret under key.
func New(appKey, appSecret string) *Simulator {
	return &Simulator{key: appKey, secret: appSecret, Now: time.Now, nonces: map[string]time.Time{},
		down: map[string]bool{}, failNext: map[string][]string{}}
}

// Services the simulator has.
const (
	Telephony = "telephony"
	Fax       = "fax"
	TTS       = "tts"
)

// SetDown takes one service down (every request answers 503) or back up.
func (s *Simulator) SetDown(service string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down[service] = down
}

// FailNext makes the service's next n requests answer code (e.g.
// "SYSTEM_ERROR", "RATE_LIMITED").
func (s *Simulator) FailNext(service, code string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext[service] = append(s.failNext[service], code)
	}
}

// Calls returns the accepted calls, oldest first.
func (s *Simulator) Calls() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.calls...)
}

// Faxes returns the accepted faxes, oldest first.
func (s *Simulator) Faxes() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.faxes...)
}

// Syntheses is how many TTS requests succeeded.
func (s *Simulator) Syntheses() int { s.mu.Lock(); defer s.mu.Unlock(); return s.tts }

// Handler serves all three services (by path), as the local platform
// mounts it at /sim/telecom.
func (s *Simulator) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/voice/"):
			s.serve(Telephony, w, r)
		case strings.Contains(r.URL.Path, "/fax/"):
			s.serve(Fax, w, r)
		case strings.Contains(r.URL.Path, "/tts/"):
			s.serve(TTS, w, r)
		default:
			answer(w, http.StatusNotFound, map[string]string{"code": "NOT_FOUND", "message": "接口不存在"})
		}
	})
}

// Service serves one service only, for a test that runs each on its own
// listener and stops one.
func (s *Simulator) Service(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(name, w, r) })
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var (
	mobileRE   = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	landlineRE = regexp.MustCompile(`^0[0-9]{2,3}-?[0-9]{7,8}$`)
)

func (s *Simulator) serve(service string, w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	s.mu.Lock()
	down := s.down[service]
	s.mu.Unlock()
	if down {
		http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.Method == http.MethodGet {
		switch {
		case strings.HasSuffix(r.URL.Path, "/voice/calls"):
			answer(w, http.StatusOK, s.Calls())
		case strings.HasSuffix(r.URL.Path, "/fax/list"):
			answer(w, http.StatusOK, s.Faxes())
		default:
			answer(w, http.StatusNotFound, map[string]string{"code": "NOT_FOUND", "message": "接口不存在"})
		}
		return
	}
	want := map[string]string{Telephony: "/voice/call", Fax: "/fax/send", TTS: "/tts/synthesize"}[service]
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, want) {
		answer(w, http.StatusNotFound, map[string]string{"code": "NOT_FOUND", "message": "接口不存在"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<10))
	if err != nil {
		answer(w, http.StatusBadRequest, map[string]string{"code": "BAD_REQUEST", "message": "请求体读取失败"})
		return
	}
	if msg := s.checkSignature(r, body); msg != "" {
		answer(w, http.StatusOK, map[string]string{"code": "SIGNATURE_INVALID", "message": msg})
		return
	}
	s.mu.Lock()
	if q := s.failNext[service]; len(q) > 0 {
		code := q[0]
		s.failNext[service] = q[1:]
		s.mu.Unlock()
		answer(w, http.StatusOK, map[string]string{"code": code, "message": "模拟的网关错误"})
		return
	}
	s.mu.Unlock()
	var in struct {
		To         string `json:"to"`
		Text       string `json:"text"`
		TTSText    string `json:"tts_text"`
		Subject    string `json:"subject"`
		SampleRate int    `json:"sample_rate"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		answer(w, http.StatusOK, map[string]string{"code": "BAD_REQUEST", "message": "请求体不是有效的 JSON"})
		return
	}
	switch service {
	case Telephony:
		if !mobileRE.MatchString(in.To) && !landlineRE.MatchString(in.To) {
			answer(w, http.StatusOK, map[string]string{"code": "INVALID_NUMBER", "message": "被叫号码格式不正确"})
			return
		}
		if in.TTSText == "" {
			answer(w, http.StatusOK, map[string]string{"code": "BAD_REQUEST", "message": "缺少播报内容"})
			return
		}
		id := s.add(&s.calls, Record{To: in.To, Text: in.TTSText}, "call-")
		answer(w, http.StatusOK, map[string]string{"code": "OK", "message": "呼叫已受理", "call_id": id})
	case Fax:
		if !landlineRE.MatchString(in.To) {
			answer(w, http.StatusOK, map[string]string{"code": "INVALID_NUMBER", "message": "传真号码格式不正确"})
			return
		}
		id := s.add(&s.faxes, Record{To: in.To, Subject: in.Subject, Text: in.Text}, "fax-")
		answer(w, http.StatusOK, map[string]string{"code": "OK", "message": "传真已受理", "fax_id": id})
	case TTS:
		if strings.TrimSpace(in.Text) == "" {
			answer(w, http.StatusOK, map[string]string{"code": "BAD_REQUEST", "message": "缺少合成文本"})
			return
		}
		rate := in.SampleRate
		if rate != 16000 {
			rate = 8000
		}
		s.mu.Lock()
		s.tts++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "audio/wav")
		_, _ = w.Write(Speech(in.Text, rate))
	}
}

func (s *Simulator) add(list *[]Record, rec Record, prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	rec.ID = prefix + strconv.Itoa(s.seq)
	rec.At = s.Now()
	*list = append(*list, rec)
	return rec.ID
}

func (s *Simulator) checkSignature(r *http.Request, body []byte) string {
	key, ts, nonce, sig := r.Header.Get("X-App-Key"), r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce"), r.Header.Get("X-Signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if key != s.key || err != nil || nonce == "" {
		return "AppKey、时间戳或随机数无效"
	}
	now := s.Now()
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return "时间戳超出允许范围"
	}
	m := hmac.New(sha256.New, []byte(s.secret))
	m.Write([]byte(key + "\n" + ts + "\n" + nonce + "\n"))
	m.Write(body)
	if !hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(sig)) {
		return "签名校验失败"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.nonces[nonce]; seen {
		return "随机数重复使用"
	}
	s.nonces[nonce] = now
	for n, at := range s.nonces {
		if now.Sub(at) > 10*time.Minute {
			delete(s.nonces, n)
		}
	}
	return ""
}

// Speech is the simulator's "speech": a 16-bit mono PCM WAV with one
// 180 ms tone per character (pitch from the character), so the length
// follows the text as real TTS does.
func Speech(text string, rate int) []byte {
	n := utf8.RuneCountInString(text)
	per := rate * 180 / 1000
	samples := make([]byte, 0, n*per*2)
	for _, c := range text {
		freq := 200 + float64(c%400)
		for i := range per {
			env := math.Sin(math.Pi * float64(i) / float64(per)) // no clicks between characters
			v := int16(8000 * env * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
			samples = binary.LittleEndian.AppendUint16(samples, uint16(v))
		}
	}
	h := make([]byte, 0, 44+len(samples))
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(36+len(samples)))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, 1) // mono
	h = binary.LittleEndian.AppendUint32(h, uint32(rate))
	h = binary.LittleEndian.AppendUint32(h, uint32(rate*2))
	h = binary.LittleEndian.AppendUint16(h, 2)
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(samples)))
	return append(h, samples...)
}
