package sms

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
)

// A gateway that checks the signature the way the documented API does and
// answers as told: the client must sign every request and map refusals.
func TestClientSignsAndMapsRefusals(t *testing.T) {
	answer := "OK"
	var got Message
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get("X-Timestamp"), 10, 64)
		if r.URL.Path != "/sms/send" || r.Header.Get("X-App-Key") != "k" || time.Since(time.Unix(ts, 0)) > time.Minute ||
			r.Header.Get("X-Signature") != Sign("s", "k", r.Header.Get("X-Timestamp"), r.Header.Get("X-Nonce"), body) {
			_ = json.NewEncoder(w).Encode(map[string]string{"code": "SIGNATURE_INVALID"})
			return
		}
		_ = json.Unmarshal(body, &got)
		_ = json.NewEncoder(w).Encode(map[string]string{"code": answer, "message": "x"})
	}))
	defer srv.Close()
	c, err := New(srv.URL, "k", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := Message{Phone: "13800000000", SignName: "签名", Template: "T", Params: map[string]string{"theme": "活动"}}
	if err := c.Send(context.Background(), m); err != nil || got.Params["theme"] != "活动" {
		t.Fatalf("send: %v %+v", err, got)
	}
	for code, want := range map[string]errs.Code{"INVALID_PHONE": errs.Invalid, "RATE_LIMITED": errs.Unavailable, "SYSTEM_ERROR": errs.Unavailable} {
		answer = code
		if err := c.Send(context.Background(), m); errs.CodeOf(err) != want {
			t.Errorf("%s: %v", code, err)
		}
	}
	bad, _ := New(srv.URL, "k", "wrong", nil)
	if err := bad.Send(context.Background(), m); errs.CodeOf(err) != errs.Unavailable {
		t.Errorf("a bad signature: %v", err)
	}
	if _, err := New("ftp://x", "k", "s", nil); err == nil {
		t.Error("a non-http gateway accepted")
	}
}
