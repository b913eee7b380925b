package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestInternalAndAllow(t *testing.T) {
	for a, want := range map[string]bool{"127.0.0.1": true, "10.1.2.3": true, "192.168.0.1": true, "169.254.169.254": true,
		"::1": true, "0.0.0.0": true, "::ffff:127.0.0.1": true, "8.8.8.8": false, "202.106.0.20": false, "nonsense": true} {
		if Internal(a) != want {
			t.Errorf("Internal(%s) = %v", a, !want)
		}
	}
	al, err := ParseAllow("127.0.0.1, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	if al.Forbidden("127.0.0.1") || al.Forbidden("10.9.9.9") || !al.Forbidden("127.0.0.2") || !al.Forbidden("192.168.1.1") || al.Forbidden("8.8.8.8") {
		t.Error("allow-list not applied")
	}
	if _, err := ParseAllow("10.0.0.0/99"); err == nil {
		t.Error("a bad CIDR accepted")
	}
}

// The client refuses at connect time what Check would refuse, so a
// redirect to loopback does not get through.
func TestClientRefusesAtDial(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	var none Allow
	_, err := none.Client(5 * time.Second).Get(srv.URL)
	var ref *Refused
	if !errors.As(err, &ref) {
		t.Fatalf("loopback reached without an allow-list: %v", err)
	}
	if _, err := none.Check(context.Background(), "127.0.0.1"); !errors.As(err, &ref) {
		t.Errorf("Check: %v", err)
	}
	al, _ := ParseAllow("127.0.0.0/8")
	resp, err := al.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed loopback refused: %v", err)
	}
	resp.Body.Close()
}
