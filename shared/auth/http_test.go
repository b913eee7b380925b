package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

func TestMiddlewareAndRequire(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v := iss.Verifier()
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			_, _ = w.Write([]byte("anonymous"))
			return
		}
		_, _ = w.Write([]byte(p.UserID))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /who", who)
	mux.Handle("GET /entities", auth.Require("registry.entity", "view")(who))
	h := v.Middleware(mux)

	viewer := authtest.CityWide("registry.entity:view")
	viewer.UserID = "u-viewer"
	nobody := authtest.CityWide()
	nobody.UserID = "u-nobody"
	expired := func() string {
		other := authtest.NewIssuer(t) // a key this verifier does not know stands in for any refused token
		return other.Token(viewer)
	}()

	type want struct {
		status int
		body   string // exact body for 2xx, error code otherwise
		msg    string
	}
	cases := []struct {
		name   string
		path   string
		header string
		cookie string
		want   want
	}{
		{"anonymous-passes", "/who", "", "", want{200, "anonymous", ""}},
		{"bearer", "/who", "Bearer " + iss.Token(viewer), "", want{200, "u-viewer", ""}},
		{"bearer-lowercase", "/who", "bearer " + iss.Token(viewer), "", want{200, "u-viewer", ""}},
		{"cookie", "/who", "", iss.Token(viewer), want{200, "u-viewer", ""}},
		{"basic-is-anonymous", "/who", "Basic dXNlcjpwYXNz", "", want{200, "anonymous", ""}},
		{"bad-token-401", "/who", "Bearer " + expired, "", want{401, "unauthorized", "登录已失效，请重新登录"}},
		{"bad-cookie-401", "/who", "", "garbage", want{401, "unauthorized", "登录已失效，请重新登录"}},
		{"require-anonymous-401", "/entities", "", "", want{401, "unauthorized", "请先登录"}},
		{"require-forbidden-403", "/entities", "Bearer " + iss.Token(nobody), "", want{403, "forbidden", "您没有执行此操作的权限"}},
		{"require-ok", "/entities", "Bearer " + iss.Token(viewer), "", want{200, "u-viewer", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.path, nil)
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			if c.cookie != "" {
				r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: c.cookie})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.want.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want.status, w.Body)
			}
			if c.want.status == 200 {
				if w.Body.String() != c.want.body {
					t.Fatalf("body %q, want %q", w.Body, c.want.body)
				}
				return
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", w.Body, err)
			}
			if body.Error.Code != c.want.body || body.Error.Message != c.want.msg {
				t.Fatalf("error %+v, want %s %s", body.Error, c.want.body, c.want.msg)
			}
		})
	}
}

// A cookie-authenticated change must come from our own pages: SameSite=Lax
// alone let a cross-site text/plain POST create a user (issue 10). A
// Bearer header, which no other site can make a browser send, needs no
// origin.
func TestCookieChangesNeedSameOrigin(t *testing.T) {
	iss := authtest.NewIssuer(t)
	h := iss.Verifier().Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	tok := iss.Token(authtest.CityWide("identity.user:create"))
	send := func(method, origin, referer string, cookie bool) int {
		r := httptest.NewRequest(method, "http://amr.example/identity/v1/users", nil)
		if cookie {
			r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: tok})
		} else {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if referer != "" {
			r.Header.Set("Referer", referer)
		}
		r.Header.Set("Content-Type", "text/plain")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	for name, c := range map[string]struct {
		method, origin, referer string
		cookie                  bool
		want                    int
	}{
		"cross-site POST":           {"POST", "https://evil.example", "", true, 403},
		"no origin, no referer":     {"POST", "", "", true, 403},
		"null origin":               {"PUT", "null", "", true, 403},
		"cross-site referer":        {"DELETE", "", "https://evil.example/page", true, 403},
		"look-alike host":           {"POST", "http://amr.example.evil.example", "", true, 403},
		"same origin":               {"POST", "http://amr.example", "", true, 204},
		"same-origin referer":       {"POST", "", "http://amr.example/console/", true, 204},
		"GET from anywhere":         {"GET", "https://evil.example", "", true, 204},
		"Bearer from a script/tool": {"POST", "", "", false, 204},
	} {
		if got := send(c.method, c.origin, c.referer, c.cookie); got != c.want {
			t.Errorf("%s: %d, want %d", name, got, c.want)
		}
	}
}

func TestEveryCataloguePermissionIsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range auth.Catalogue() {
		if seen[p.Key()] || p.Label == "" {
			t.Errorf("catalogue entry %+v duplicated or unlabelled", p)
		}
		seen[p.Key()] = true
		if !auth.Grantable(p.Key()) {
			t.Errorf("%s not grantable", p.Key())
		}
	}
	if auth.Grantable("registry.entity:teleport") {
		t.Error("an unknown permission is grantable")
	}
}
