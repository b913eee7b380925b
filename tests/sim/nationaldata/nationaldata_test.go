package nationaldata

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// FP-125: the simulator refuses what the real gateway refuses: a wrong
// signature, a stale timestamp, a reused nonce; and answers a signed
// request with the enterprise.
func TestSignatureIsChecked(t *testing.T) { // FP-125
	s := New("k", "secret")
	s.Add(Enterprise{CreditCode: "91110108MA01ABCD1X", Name: "北京测试科技有限公司"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	path := "/openapi/v1/enterprises/91110108MA01ABCD1X"
	get := func(ts time.Time, nonce, secret string) (int, Answer) {
		req, _ := http.NewRequest("GET", srv.URL+"/gw"+path, nil)
		t := strconv.FormatInt(ts.UnixMilli(), 10)
		req.Header.Set("X-Ca-Key", "k")
		req.Header.Set("X-Ca-Timestamp", t)
		req.Header.Set("X-Ca-Nonce", nonce)
		req.Header.Set("X-Ca-Signature", Sign(secret, "GET", path, t, nonce, "k"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var a Answer
		_ = json.NewDecoder(resp.Body).Decode(&a)
		return resp.StatusCode, a
	}
	now := time.Now()
	if st, a := get(now, "n1", "wrong"); st != 401 || a.Code != "INVALID_SIGNATURE" {
		t.Errorf("wrong secret: %d %s", st, a.Code)
	}
	if st, a := get(now.Add(-time.Hour), "n2", "secret"); st != 401 || a.Code != "INVALID_TIMESTAMP" {
		t.Errorf("stale: %d %s", st, a.Code)
	}
	if st, a := get(now, "n3", "secret"); st != 200 || a.Data == nil || a.Data.Name != "北京测试科技有限公司" {
		t.Errorf("signed: %d %+v", st, a)
	}
	if st, a := get(now, "n3", "secret"); st != 401 || a.Code != "NONCE_USED" {
		t.Errorf("replayed: %d %s", st, a.Code)
	}
	s.FailNext(503, 1)
	if st, _ := get(now, "n4", "secret"); st != 503 {
		t.Errorf("scripted failure: %d", st)
	}
}
