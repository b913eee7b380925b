package telecom

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func signed(t *testing.T, url, key, secret, nonce string, body any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(key + "\n" + ts + "\n" + nonce + "\n"))
	m.Write(b)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("X-App-Key", key)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func code(t *testing.T, res *http.Response) string {
	t.Helper()
	var out map[string]string
	_ = json.NewDecoder(res.Body).Decode(&out)
	return out["code"]
}

func TestGateways(t *testing.T) {
	s := New("k", "secret")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if c := code(t, signed(t, srv.URL+"/voice/call", "k", "secret", "n1", map[string]any{"to": "13800000001", "tts_text": "你好"})); c != "OK" || len(s.Calls()) != 1 {
		t.Fatalf("call: %s %+v", c, s.Calls())
	}
	if c := code(t, signed(t, srv.URL+"/voice/call", "k", "secret", "n1", map[string]any{"to": "13800000001", "tts_text": "你好"})); c != "SIGNATURE_INVALID" {
		t.Errorf("a reused nonce: %s", c)
	}
	if c := code(t, signed(t, srv.URL+"/voice/call", "k", "wrong", "n2", map[string]any{"to": "13800000001", "tts_text": "你好"})); c != "SIGNATURE_INVALID" {
		t.Errorf("a bad signature: %s", c)
	}
	if c := code(t, signed(t, srv.URL+"/fax/send", "k", "secret", "n3", map[string]any{"to": "13800000001", "text": "x"})); c != "INVALID_NUMBER" {
		t.Errorf("a mobile number as fax: %s", c)
	}
	s.FailNext(Fax, "SYSTEM_ERROR", 1)
	if c := code(t, signed(t, srv.URL+"/fax/send", "k", "secret", "n4", map[string]any{"to": "0311-85550001", "text": "x"})); c != "SYSTEM_ERROR" {
		t.Errorf("FailNext: %s", c)
	}
	s.SetDown(Telephony, true)
	if res := signed(t, srv.URL+"/voice/call", "k", "secret", "n5", map[string]any{"to": "13800000001", "tts_text": "x"}); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("down: %d", res.StatusCode)
	}
	res := signed(t, srv.URL+"/tts/synthesize", "k", "secret", "n6", map[string]any{"text": "五个汉字啊", "sample_rate": 8000})
	var wav bytes.Buffer
	_, _ = wav.ReadFrom(res.Body)
	// 5 characters × 180 ms × 8000 Hz × 2 bytes, after the 44-byte header.
	if res.Header.Get("Content-Type") != "audio/wav" || wav.Len() != 44+5*1440*2 || !bytes.HasPrefix(wav.Bytes(), []byte("RIFF")) {
		t.Errorf("tts: %s, %d bytes", res.Header.Get("Content-Type"), wav.Len())
	}
}
