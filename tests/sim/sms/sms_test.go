package sms

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

func send(t *testing.T, h http.Handler, secret, nonce string, ts time.Time, body string) map[string]string {
	t.Helper()
	tss := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("k\n" + tss + "\n" + nonce + "\n" + body))
	req := httptest.NewRequest("POST", "/sim/sms/sms/send", bytes.NewBufferString(body))
	req.Header.Set("X-App-Key", "k")
	req.Header.Set("X-Timestamp", tss)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return out
}

func TestSimulator(t *testing.T) {
	s := New("k", "s")
	s.PerPhonePerMinute = 1
	body := `{"phone":"13900000000","sign_name":"签名","template_code":"T1","params":{"code":"654321"}}`
	now := time.Now()
	for _, c := range []struct {
		name, secret, nonce string
		ts                  time.Time
		want                string
	}{
		{"ok", "s", "n1", now, "OK"},
		{"nonce reuse", "s", "n1", now, "SIGNATURE_INVALID"},
		{"bad secret", "x", "n2", now, "SIGNATURE_INVALID"},
		{"stale timestamp", "s", "n3", now.Add(-10 * time.Minute), "SIGNATURE_INVALID"},
		{"rate limited", "s", "n4", now, "RATE_LIMITED"},
	} {
		if got := send(t, s, c.secret, c.nonce, c.ts, body)["code"]; got != c.want {
			t.Errorf("%s: code %q, want %q", c.name, got, c.want)
		}
	}
	if m, ok := s.Last("13900000000"); !ok || m.Params["code"] != "654321" || len(s.Messages()) != 1 {
		t.Fatalf("messages %+v", s.Messages())
	}
	s.FailNext("SYSTEM_ERROR", 1)
	if got := send(t, s, "s", "n5", now, `{"phone":"13900000001","sign_name":"a","template_code":"b"}`)["code"]; got != "SYSTEM_ERROR" {
		t.Fatalf("FailNext: %q", got)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/sms/messages", nil))
	if !bytes.Contains(rec.Body.Bytes(), []byte("654321")) {
		t.Fatalf("GET messages: %s", rec.Body.String())
	}
}
