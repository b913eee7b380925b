package geocode_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/sjzamr/smartreg/functions/dashboard/geocode"
	"github.com/sjzamr/smartreg/functions/dashboard/geocode/amapsim"
)

// The digital signature as AMap documents it: parameters sorted by name,
// joined k=v&…, the private key appended, MD5 in hex (expected value
// computed independently with Python's hashlib).
func TestSign(t *testing.T) {
	q := url.Values{"key": {"abc"}, "address": {"北京市朝阳区阜通东大街6号"}, "output": {"JSON"}, "sig": {"ignored"}}
	// md5("address=北京市朝阳区阜通东大街6号&key=abc&output=JSONsecret")
	if got := geocode.Sign(q, "secret"); got != "31e8ac5de5b0fb3164ea0f02bbd1f325" {
		t.Fatalf("sig %q", got)
	}
	a, b := geocode.Sign(q, "secret"), geocode.Sign(url.Values{"output": {"JSON"}, "key": {"abc"}, "address": {"北京市朝阳区阜通东大街6号"}}, "secret")
	if a != b {
		t.Error("the signature depends on the parameters' order")
	}
	if a == geocode.Sign(q, "other") {
		t.Error("the signature ignores the secret")
	}
}

// FP-139: the client's signed requests are answered by the simulator; a
// wrong secret, the per-second limit and the daily quota come back as the
// errors the caller acts on; FP-140's checks flag a point AMap put in
// another district and a match coarser than a house number.
func TestAMapAgainstSimulator(t *testing.T) {
	sim := amapsim.New("k1", "s1")
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ctx := context.Background()
	c := &geocode.AMap{BaseURL: srv.URL, Key: "k1", Secret: "s1"}
	n := geocode.NewNormalizer()

	addr := "长安区中山东路123号"
	p, ok, err := c.Geocode(ctx, addr)
	if err != nil || !ok || p.Adcode != "130102" || p.Level != "门牌号" || p.Lng < 114 || p.Lng > 115 || p.Lat < 37.5 || p.Lat > 38.5 {
		t.Fatalf("geocode: %+v %v %v", p, ok, err)
	}
	if issues := geocode.Check(n.Normalize(addr), p, ok); len(issues) != 0 {
		t.Errorf("a precise address flagged %v", issues)
	}
	again, _, _ := c.Geocode(ctx, addr)
	if again != p {
		t.Errorf("the simulator is not deterministic: %+v vs %+v", again, p)
	}

	sim.Misplace["桥西区中华南大街88号"] = "130105"
	p, ok, err = c.Geocode(ctx, "桥西区中华南大街88号")
	if err != nil || !slices.Contains(geocode.Check(n.Normalize("桥西区中华南大街88号"), p, ok), "outside_district") {
		t.Errorf("a misplaced point not flagged: %+v %v", p, err)
	}
	p, ok, err = c.Geocode(ctx, "鹿泉区铜冶镇")
	if err != nil || !ok || p.Level != "乡镇" || !slices.Contains(geocode.Check(n.Normalize("鹿泉区铜冶镇"), p, ok), geocode.IssueVague) {
		t.Errorf("a township-level address: %+v %v", p, err)
	}
	p, ok, err = c.Geocode(ctx, "某某大厦三楼")
	if err != nil || ok || !slices.Equal(geocode.Check(n.Normalize("某某大厦三楼"), p, ok), []string{"no_result"}) {
		t.Errorf("an unplaceable address: %+v %v %v", p, ok, err)
	}

	bad := &geocode.AMap{BaseURL: srv.URL, Key: "k1", Secret: "wrong"}
	if _, _, err := bad.Geocode(ctx, addr); !errors.Is(err, geocode.ErrAuth) {
		t.Errorf("wrong secret: %v", err)
	}
	sim.PerSecond = 1
	var limited bool
	for range 5 {
		if _, _, err := c.Geocode(ctx, addr); errors.Is(err, geocode.ErrRateLimited) {
			limited = true
		}
	}
	if !limited {
		t.Error("the per-second limit never answered")
	}
	sim.PerSecond, sim.Daily = 0, sim.Calls()
	if _, _, err := c.Geocode(ctx, addr); !errors.Is(err, geocode.ErrQuota) {
		t.Errorf("daily quota: %v", err)
	}
}
