package idverify

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func call(t *testing.T, s *Simulator, secret, nonce string, body map[string]string) (int, Response, http.Header) {
	t.Helper()
	b, _ := json.Marshal(body)
	req := httptest.NewRequest("POST", "/v1/idcard/verify", bytes.NewReader(b))
	ts := strconv.FormatInt(s.Now().Unix(), 10)
	req.Header.Set("X-App-Id", "app")
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", Sign(secret, "app", ts, nonce, "POST", "/v1/idcard/verify", b))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var r Response
	json.Unmarshal(rec.Body.Bytes(), &r)
	return rec.Code, r, rec.Header()
}

func TestVerifyAnswers(t *testing.T) {
	s := New("app", "secret")
	s.Add(Person{Name: "张三", IDNumber: "11010519491231002X", PhotoScore: 40})
	p := map[string]string{"name": "张三", "id_number": "11010519491231002X", "request_id": "r1"}
	if st, r, _ := call(t, s, "secret", "n1", p); st != 200 || r.Result != "match" || r.Score != nil {
		t.Fatalf("match: %d %+v", st, r)
	}
	p["photo"] = "aGVsbG8="
	if st, r, _ := call(t, s, "secret", "n2", p); st != 200 || r.Result != "match" || r.Score == nil || *r.Score != 40 {
		t.Fatalf("photo: %d %+v", st, r)
	}
	p["name"] = "李四"
	if _, r, _ := call(t, s, "secret", "n3", p); r.Result != "no_match" {
		t.Fatalf("no match: %+v", r)
	}
	p["id_number"] = "130102199001011234"
	if _, r, _ := call(t, s, "secret", "n4", p); r.Result != "not_found" {
		t.Fatalf("unknown: %+v", r)
	}
	s.Lenient = true
	if _, r, _ := call(t, s, "secret", "n5", p); r.Result != "match" {
		t.Fatalf("lenient: %+v", r)
	}
}

func TestSignatureNonceAndFailures(t *testing.T) {
	s := New("app", "secret")
	p := map[string]string{"name": "张三", "id_number": "11010519491231002X"}
	if st, r, _ := call(t, s, "wrong", "n1", p); st != 401 || r.Code != "SIGNATURE_INVALID" {
		t.Fatalf("bad signature: %d %+v", st, r)
	}
	call(t, s, "secret", "n2", p)
	if st, r, _ := call(t, s, "secret", "n2", p); st != 401 || r.Code != "NONCE_REUSED" {
		t.Fatalf("replay: %d %+v", st, r)
	}
	s.FailNext(503, 1)
	if st, _, _ := call(t, s, "secret", "n3", p); st != 503 {
		t.Fatalf("scripted failure: %d", st)
	}
	fixed := time.Unix(1_700_000_000, 0)
	s.Now = func() time.Time { return fixed }
	s.PerSecond = 2
	call(t, s, "secret", "n4", p)
	call(t, s, "secret", "n5", p)
	st, r, h := call(t, s, "secret", "n6", p)
	if st != 429 || r.Code != "RATE_LIMITED" || h.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d %+v %v", st, r, h)
	}
	if n := len(s.Calls()); n != 7 {
		t.Fatalf("calls recorded: %d", n)
	}
}
