package identity

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
	smssim "github.com/sjzamr/smartreg/tests/sim/sms"
)

func TestSMSClientAgainstSimulator(t *testing.T) {
	t.Parallel()
	sim := smssim.New("key", "secret")
	sim.PerPhonePerMinute = 2
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ctx := context.Background()
	c, err := NewSMSClient(srv.URL, "key", "secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := SMS{Phone: "13900001111", SignName: "石家庄市场监管", Template: "SMS_RESET_PASSWORD", Params: map[string]string{"code": "123456"}}
	if err := c.Send(ctx, m); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got, ok := sim.Last("13900001111"); !ok || got.Params["code"] != "123456" {
		t.Fatalf("simulator recorded %+v", got)
	}
	bad, _ := NewSMSClient(srv.URL, "key", "wrong-secret", nil)
	wantCode(t, "bad signature", bad.Send(ctx, m), errs.Unavailable)
	sim.FailNext("SYSTEM_ERROR", 1)
	wantCode(t, "gateway error", c.Send(ctx, m), errs.Unavailable)
	sim.FailNext("HTTP_500", 1)
	wantCode(t, "gateway 500", c.Send(ctx, m), errs.Unavailable)
	if err := c.Send(ctx, m); err != nil {
		t.Fatalf("second send within the limit: %v", err)
	}
	wantCode(t, "third send within a minute", c.Send(ctx, m), errs.Unavailable)
	m.Phone = "12345"
	wantCode(t, "bad phone", c.Send(ctx, m), errs.Invalid)
	if n := len(sim.Messages()); n != 2 {
		t.Fatalf("simulator accepted %d messages, want 2", n)
	}
	if _, err := NewSMSClient("ftp://x", "k", "s", nil); err == nil {
		t.Fatal("non-http gateway URL accepted")
	}
}
