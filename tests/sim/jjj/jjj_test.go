package jjj

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

func TestSignatureReplayAndPaging(t *testing.T) {
	s := New("110105", "sjz", "secret-of-thirty-two-characters!!",
		Enterprise{CreditCode: "B"}, Enterprise{CreditCode: "A"}, Enterprise{CreditCode: "C"})
	get := func(url, secret, nonce string, at time.Time) (int, reply) {
		req, _ := SignedRequest(url, "sjz", secret, nonce, at)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var r reply
		json.Unmarshal(rec.Body.Bytes(), &r)
		return rec.Code, r
	}
	st, r := get("http://x/enterprises?limit=2", "secret-of-thirty-two-characters!!", "nonce-000000000001", time.Now())
	if st != 200 || r.Data.(map[string]any)["next_cursor"] != "B" {
		t.Fatalf("page 1: %d %+v", st, r)
	}
	if st, r := get("http://x/enterprises?limit=2", "secret-of-thirty-two-characters!!", "nonce-000000000001", time.Now()); st != 401 || r.Code != "JJJ-1005" {
		t.Errorf("replay: %d %+v", st, r)
	}
	if st, r := get("http://x/enterprises", "wrong", "", time.Now()); st != 401 || r.Code != "JJJ-1004" {
		t.Errorf("bad signature: %d %+v", st, r)
	}
	if st, r := get("http://x/enterprises", "secret-of-thirty-two-characters!!", "", time.Now().Add(-time.Hour)); st != 401 || r.Code != "JJJ-1003" {
		t.Errorf("old timestamp: %d %+v", st, r)
	}
}
