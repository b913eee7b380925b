package httpx

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
)

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	p, err := ParseProxies("10.0.0.0/8, 192.168.1.5")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies("10.0.0.0/33"); err == nil {
		t.Error("a bad CIDR accepted")
	}
	cases := []struct {
		peer, xff, want string
	}{
		{"61.182.3.4:5000", "", "61.182.3.4"},
		// A client writing its own header is not believed.
		{"61.182.3.4:5000", "1.2.3.4", "61.182.3.4"},
		// Through a trusted proxy: the hop the proxy saw.
		{"10.1.2.3:443", "61.182.3.4", "61.182.3.4"},
		// A forged leftmost entry behind a trusted proxy is skipped: the
		// first untrusted hop from the right is the client.
		{"10.1.2.3:443", "6.6.6.6, 61.182.3.4, 10.9.9.9", "61.182.3.4"},
		{"192.168.1.5:80", "garbage, 61.182.3.4", "61.182.3.4"},
		{"10.1.2.3:443", "not-an-ip", "10.1.2.3"},
		{"[::ffff:61.182.3.4]:80", "", "61.182.3.4"},
		{"[2001:db8::1]:80", "", "2001:db8::1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := p.ClientIP(r); got != c.want {
			t.Errorf("peer %s XFF %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
	// No proxies configured: the header is never believed.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr, r.Header["X-Forwarded-For"] = "10.1.2.3:1", []string{"61.182.3.4"}
	if got := ClientIP(r); got != "10.1.2.3" {
		t.Errorf("without a trusted list: %s", got)
	}
}

func TestDecodeRefusesBytesThatAreNotText(t *testing.T) {
	type in struct {
		Name string `json:"name"`
	}
	for name, body := range map[string]string{
		"invalid UTF-8": "{\"name\":\"\xff\xfe\"}",
		"NUL escape":    `{"name":"a\u0000b"}`,
		"NUL escape 2":  `{"name":"\\\u0000"}`,
	} {
		var v in
		err := Decode(httptest.NewRequest("POST", "/", strings.NewReader(body)), &v)
		if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "无效字符") {
			t.Errorf("%s: %v", name, err)
		}
	}
	var v in
	if err := Decode(httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"\\u0000 是文字 𠮷"}`)), &v); err != nil || v.Name != `\u0000 是文字 𠮷` {
		t.Errorf("an escaped backslash before u0000 is text: %v %q", err, v.Name)
	}
}

func TestCheckQueryRefusesNULAndInvalidUTF8(t *testing.T) {
	h := CheckQuery(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for _, q := range []string{"/x?name=%00", "/x?name=%ff%fe", "/x?%00=1", "/x%00y", "/x?name=a%01b"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", q, nil))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"code":"invalid"`) {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x?name=%E7%9F%B3%F0%A0%AE%B7&t=a%09b", nil))
	if rec.Code != 204 {
		t.Errorf("valid text refused: %d", rec.Code)
	}
}

func TestMuxDeclaresRefusesUnknownParamsAndAnswersJSON(t *testing.T) {
	m := NewMux()
	m.Handle("GET /v1/items", Endpoint(func(r *http.Request) (any, error) {
		return NewPage[string](nil, 0, Page{Page: 1, Size: 20}), nil
	}), Public(), Params(PageParams...))
	m.Handle("POST /v1/items", Body(func(r *http.Request, in struct {
		Title string `json:"title"`
	}) (any, error) {
		return Created(in, "/v1/items/1"), nil
	}), Public())
	m.Handle("GET /v1/undeclared", http.NotFoundHandler())
	if err := m.Err(); err == nil || !strings.Contains(err.Error(), "/v1/undeclared") {
		t.Errorf("Err() = %v", err)
	}
	serve := func(method, target, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
		return rec
	}
	if rec := serve("GET", "/v1/items?page=1", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"items":[]`) {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := serve("GET", "/v1/items?sort=-x", ""); rec.Code != 400 || !strings.Contains(rec.Body.String(), "不支持的查询参数：sort") {
		t.Errorf("unknown parameter: %d %s", rec.Code, rec.Body)
	}
	if rec := serve("POST", "/v1/items", `{"title":"好"}`); rec.Code != 201 || rec.Header().Get("Location") != "/v1/items/1" {
		t.Errorf("create: %d %v", rec.Code, rec.Header())
	}
	for target, want := range map[string]int{"/v1/nothing": 404} {
		rec := serve("GET", target, "")
		var body ErrorBody
		if rec.Code != want || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error.Message == "" {
			t.Errorf("GET %s: %d %s, want %d as the JSON error body", target, rec.Code, rec.Body, want)
		}
	}
	rec := serve("DELETE", "/v1/items", "")
	if rec.Code != 405 || !strings.Contains(rec.Header().Get("Allow"), "GET") || !strings.Contains(rec.Body.String(), "不支持该请求方法") {
		t.Errorf("405: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	routes := m.Routes()
	if len(routes) != 3 || routes[0].Access != AccessPublic || routes[0].Method() != "GET" || routes[0].Path() != "/v1/items" {
		t.Errorf("routes %+v", routes)
	}
}

func TestParseSort(t *testing.T) {
	def := Sort{Field: "created_at", Desc: true}
	if s, err := ParseSort("", def, "name"); err != nil || s != def {
		t.Error(s, err)
	}
	if s, err := ParseSort("-name", def, "name"); err != nil || s.Field != "name" || s.Dir() != "DESC" {
		t.Error(s, err)
	}
	if _, err := ParseSort("password; DROP", def, "name"); errs.CodeOf(err) != errs.Invalid {
		t.Error("an unknown sort field accepted")
	}
}
