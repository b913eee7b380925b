package thirdparty

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestAuthKindsAndPaging(t *testing.T) {
	s := New("k1", "kid", "sec", "cid", "csec", Record{USCC: "a"}, Record{USCC: "b"}, Record{USCC: "c"})
	do := func(req *http.Request) (*httptest.ResponseRecorder, map[string]any) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var m map[string]any
		json.Unmarshal(rec.Body.Bytes(), &m)
		return rec, m
	}
	if rec, m := do(httptest.NewRequest("GET", "/open/enterprises?page=2&page_size=2", nil)); rec.Code != 200 ||
		len(m["data"].(map[string]any)["items"].([]any)) != 1 {
		t.Fatalf("page 2: %d %v", rec.Code, m)
	}
	req := httptest.NewRequest("GET", "/apikey/enterprises", nil)
	if rec, _ := do(req); rec.Code != 401 {
		t.Errorf("no key: %d", rec.Code)
	}
	req.Header.Set("X-API-Key", "k1")
	if rec, _ := do(req); rec.Code != 200 {
		t.Errorf("key: %d", rec.Code)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sreq := func(nonce, secret string) *http.Request {
		r := httptest.NewRequest("GET", "/hmac/enterprises?page_size=2&page=1", nil)
		r.Header.Set("X-Key-Id", "kid")
		r.Header.Set("X-Timestamp", ts)
		r.Header.Set("X-Nonce", nonce)
		r.Header.Set("X-Signature", Sign(secret, "GET", "/hmac/enterprises", "page=1&page_size=2", ts, nonce, nil))
		return r
	}
	if rec, _ := do(sreq("nonce-0000000001", "sec")); rec.Code != 200 {
		t.Errorf("signed: %d %s", rec.Code, rec.Body)
	}
	if rec, m := do(sreq("nonce-0000000001", "sec")); rec.Code != 401 || m["message"] != "AUTH_FAILED: 随机数已使用（重放）" {
		t.Errorf("replay: %d %v", rec.Code, m)
	}
	if rec, _ := do(sreq("nonce-0000000002", "bad")); rec.Code != 401 {
		t.Errorf("bad signature: %d", rec.Code)
	}
	s.FailNext(7, 503)
	req = httptest.NewRequest("GET", "/open/enterprises", nil)
	if rec, _ := do(req); rec.Code != 503 || rec.Header().Get("Retry-After") != "7" {
		t.Errorf("scripted failure: %d", rec.Code)
	}
	if rec, _ := do(req); rec.Code != 200 {
		t.Errorf("after the failure: %d", rec.Code)
	}
}
