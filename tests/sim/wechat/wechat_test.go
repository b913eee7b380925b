package wechat

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func get(t *testing.T, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", u, resp.StatusCode)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCodeFlow(t *testing.T) {
	now := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	sim := New(Config{AppID: "wxapp", Secret: "sec", Users: []User{{OpenID: "o1", UnionID: "u1", Nickname: "张三"}},
		Now: func() time.Time { return now }, RatePerMinute: 5})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	qr := srv.URL + "/connect/qrconnect?appid=wxapp&redirect_uri=" + url.QueryEscape("http://rp/cb") + "&response_type=code&scope=snsapi_login&state=xyz#wechat_redirect"
	resp, err := http.Get(qr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("qrconnect: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
	back, err := sim.Scan(qr, "o1")
	if err != nil {
		t.Fatal(err)
	}
	bu, _ := url.Parse(back)
	if bu.Query().Get("state") != "xyz" || bu.Query().Get("code") == "" {
		t.Fatalf("redirect %s lacks code/state", back)
	}
	code := bu.Query().Get("code")
	tokenURL := srv.URL + "/sns/oauth2/access_token?appid=wxapp&secret=sec&grant_type=authorization_code&code="
	if m := get(t, tokenURL+"bogus"); m["errcode"] != float64(40029) {
		t.Errorf("bad code: %v, want errcode 40029", m)
	}
	if m := get(t, srv.URL+"/sns/oauth2/access_token?appid=wxapp&secret=bad&grant_type=authorization_code&code="+code); m["errcode"] != float64(40125) {
		t.Errorf("bad secret: %v, want 40125", m)
	}
	m := get(t, tokenURL+code)
	if m["unionid"] != "u1" || m["openid"] != "o1" || m["access_token"] == "" {
		t.Fatalf("token answer %v", m)
	}
	if again := get(t, tokenURL+code); again["errcode"] != float64(40163) {
		t.Errorf("reused code: %v, want 40163", again)
	}
	info := get(t, srv.URL+"/sns/userinfo?access_token="+m["access_token"].(string)+"&openid=o1")
	if info["unionid"] != "u1" || info["nickname"] != "张三" {
		t.Errorf("userinfo %v", info)
	}
	// Fifth call in the minute passed; the sixth is over the limit.
	if m := get(t, tokenURL+code); m["errcode"] != float64(45009) {
		t.Errorf("over the rate: %v, want 45009", m)
	}
	now = now.Add(time.Minute)
	// Expired code: issued now, used after the TTL.
	back, _ = sim.Scan(qr, "o1")
	bu, _ = url.Parse(back)
	now = now.Add(6 * time.Minute)
	if m := get(t, tokenURL+bu.Query().Get("code")); m["errcode"] != float64(40029) {
		t.Errorf("expired code: %v, want 40029", m)
	}
	if sim.APICalls() != 7 {
		t.Errorf("APICalls = %d, want 7", sim.APICalls())
	}
}

func TestConfirmForm(t *testing.T) {
	sim := New(Config{AppID: "wxapp", Secret: "sec", Users: []User{{OpenID: "o1", UnionID: "u1", Nickname: "张三"}}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(srv.URL+"/connect/confirm", url.Values{"appid": {"wxapp"}, "redirect_uri": {"http://rp/cb?x=1"}, "state": {"s"}, "openid": {"o1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host != "rp" || loc.Query().Get("x") != "1" || loc.Query().Get("code") == "" {
		t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(srv.URL + "/connect/qrconnect?appid=other&redirect_uri=x&response_type=code&scope=snsapi_login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown appid: status %d, want 400", resp.StatusCode)
	}
}

func TestDemoUsers(t *testing.T) {
	u := DemoUsers()
	if len(u) < 2 || u[0].UnionID == "" || u[0].UnionID == u[1].UnionID {
		t.Errorf("demo users %+v", u)
	}
}
