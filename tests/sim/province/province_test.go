package province

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type reply struct {
	Code string          `json:"code"`
	Data json.RawMessage `json:"data"`
}

func call(t *testing.T, s *Simulator, method, path, token string, body any) (int, reply) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(b))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out reply
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func login(t *testing.T, s *Simulator) string {
	t.Helper()
	code, r := call(t, s, "POST", "/api/v1/auth/token", "", map[string]string{"app_key": "k", "app_secret": "s"})
	var d struct {
		Token string `json:"access_token"`
	}
	_ = json.Unmarshal(r.Data, &d)
	if code != 200 || d.Token == "" {
		t.Fatalf("token: %d %+v", code, r)
	}
	return d.Token
}

type page struct {
	Items []Record `json:"items"`
	Next  string   `json:"next_page_token"`
	Total int      `json:"total"`
}

func TestPagingIsAStableKeyset(t *testing.T) {
	s := New("k", "s")
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 25 {
		s.Put(Instruments, Record{"id": fmt.Sprintf("Q%03d", i), "qjmc": "加油机", "gxsj": base.Add(time.Duration(i/5) * time.Minute).Format(time.RFC3339Nano)})
	}
	tok := login(t, s)
	seen := map[string]bool{}
	next := ""
	for n := 0; ; n++ {
		_, r := call(t, s, "GET", "/api/v1/instruments?page_size=10&updated_since=2026-03-01T00:01:00Z&page_token="+next, tok, nil)
		var p page
		_ = json.Unmarshal(r.Data, &p)
		for _, it := range p.Items {
			seen[it["id"].(string)] = true
		}
		if p.Next == "" {
			break
		}
		next = p.Next
		// A record changing while paging moves to the end, still served once.
		if n == 0 {
			s.Put(Instruments, Record{"id": "Q006", "qjmc": "改", "gxsj": base.Add(time.Hour).Format(time.RFC3339Nano)})
		}
	}
	if len(seen) != 20 || seen["Q000"] || !seen["Q005"] || !seen["Q024"] {
		t.Fatalf("served %d: %v", len(seen), seen)
	}
}

func TestFaults(t *testing.T) {
	s := New("k", "s")
	tok := login(t, s)
	if code, _ := call(t, s, "GET", "/api/v1/enterprises", "nope", nil); code != 401 {
		t.Fatalf("unknown token: %d", code)
	}
	s.ExpireTokens()
	if code, r := call(t, s, "GET", "/api/v1/enterprises", tok, nil); code != 401 || r.Code != "40101" {
		t.Fatalf("expired token: %d %+v", code, r)
	}
	tok = login(t, s)
	s.FailEvery = 2
	codes := []int{}
	for range 4 {
		c, _ := call(t, s, "GET", "/api/v1/enterprises", tok, nil)
		codes = append(codes, c)
	}
	if fmt.Sprint(codes) != "[200 503 200 503]" {
		t.Fatalf("fail every 2nd: %v", codes)
	}
	s.FailEvery, s.RateLimit = 0, 2
	now := time.Now().Add(time.Hour)
	s.Now = func() time.Time { return now }
	tok = login(t, s)
	c1, _ := call(t, s, "GET", "/api/v1/enterprises", tok, nil)
	c2, _ := call(t, s, "GET", "/api/v1/enterprises", tok, nil)
	c3, _ := call(t, s, "GET", "/api/v1/enterprises", tok, nil)
	if c1 != 200 || c2 != 200 || c3 != http.StatusTooManyRequests {
		t.Fatalf("rate limit: %d %d %d", c1, c2, c3)
	}
}

func TestDriftBatchAndCertificates(t *testing.T) {
	s := New("k", "s")
	tok := login(t, s)
	s.Put(Enterprises, Record{"id": "E1", "qymc": "某公司", "tyshxydm": "X"})
	s.SetDrift(Enterprises, Drift{Added: "fddbr", RenamedFrom: "qymc", RenamedTo: "dwmc"})
	_, r := call(t, s, "GET", "/api/v1/enterprises", tok, nil)
	var p page
	_ = json.Unmarshal(r.Data, &p)
	if _, ok := p.Items[0]["qymc"]; ok || p.Items[0]["dwmc"] != "某公司" || p.Items[0]["fddbr"] == nil {
		t.Fatalf("drifted record %v", p.Items[0])
	}
	_, r = call(t, s, "POST", "/api/v1/enterprises/batch", tok, map[string]any{"items": []Record{
		{"tyshxydm": "A", "qymc": "甲", "xzqhdm": "130102", "sjly": "石家庄", "tbsj": "2026-03-01T00:00:00Z"},
		{"tyshxydm": "B", "xzqhdm": "130102", "sjly": "石家庄", "tbsj": "2026-03-01T00:00:00Z"}}})
	var b struct {
		Accepted int         `json:"accepted"`
		Rejected []rejection `json:"rejected"`
	}
	_ = json.Unmarshal(r.Data, &b)
	if b.Accepted != 1 || len(b.Rejected) != 1 || b.Rejected[0].Field != "qymc" || len(s.Pushed(Enterprises)) != 1 {
		t.Fatalf("batch %+v", b)
	}
	pdf := []byte("%PDF-1.4 test")
	sum := sha256.Sum256(pdf)
	body := map[string]any{"zsbh": "JD1", "bbh": 1, "pdf": base64.StdEncoding.EncodeToString(pdf), "sha256": hex.EncodeToString(sum[:])}
	for range 2 {
		if code, _ := call(t, s, "POST", "/api/v1/certificates", tok, body); code != 200 {
			t.Fatalf("certificate upload: %d", code)
		}
	}
	body["sha256"] = "00"
	if code, _ := call(t, s, "POST", "/api/v1/certificates", tok, body); code != 400 {
		t.Fatalf("a checksum mismatch: %d", code)
	}
	if len(s.Certificates()) != 1 {
		t.Fatalf("certificates %v", s.Certificates())
	}
}
