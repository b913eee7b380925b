// Package wechat simulates WeChat Open Platform website login (网站应用微信登录):
// the QR page at open.weixin.qq.com/connect/qrconnect and the JSON APIs at
// api.weixin.qq.com/sns/oauth2/access_token and /sns/userinfo. It behaves like
// the documented service where a client can tell: codes are single-use and
// expire after five minutes, errors are HTTP 200 with {"errcode","errmsg"},
// a bad code is 40029, a used one 40163, a bad secret 40125, an unknown
// appid 40013, a bad access token 40001, and too many calls 45009.
//
// One Server serves both hosts; point the client's open and API base URLs at
// it. A person "scans" by picking a simulated account on the QR page; tests
// call Scan to get the redirect a phone confirmation would produce.
package wechat

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// User is one simulated WeChat account.
type User struct {
	OpenID   string `json:"openid"`
	UnionID  string `json:"unionid"`
	Nickname string `json:"nickname"`
}

// Config sets up the simulator.
type Config struct {
	AppID, Secret string
	Users         []User
	// CodeTTL is how long a code lives; WeChat documents 10 minutes, and
	// 5 minutes is what the login page allows; default 5 minutes.
	CodeTTL time.Duration
	// RatePerMinute bounds API calls (access_token + userinfo) per appid per
	// minute; beyond it the API answers 45009. 0 means 600.
	RatePerMinute int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Latency is added to every API answer, as a far-away service has.
	Latency time.Duration
}

// Server is the simulated WeChat.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex
	codes    map[string]grant // code → grant
	tokens   map[string]grant // access token → grant
	window   time.Time
	calls    int
	apiCalls int
}

type grant struct {
	user    User
	expires time.Time
	used    bool
}

// New builds the simulator.
func New(cfg Config) *Server {
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = 5 * time.Minute
	}
	if cfg.RatePerMinute == 0 {
		cfg.RatePerMinute = 600
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), codes: map[string]grant{}, tokens: map[string]grant{}}
	s.mux.HandleFunc("GET /connect/qrconnect", s.qrconnect)
	s.mux.HandleFunc("POST /connect/confirm", s.confirm)
	s.mux.HandleFunc("GET /sns/oauth2/access_token", s.accessToken)
	s.mux.HandleFunc("GET /sns/userinfo", s.userinfo)
	return s
}

// ServeHTTP serves both the open and the API host paths.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Scan does what a person confirming on the phone does: it issues a code for
// the user with this openid and returns the URL WeChat redirects the browser to.
func (s *Server) Scan(qrconnectURL, openID string) (string, error) {
	u, err := url.Parse(qrconnectURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	return s.issue(q.Get("appid"), q.Get("redirect_uri"), q.Get("state"), openID)
}

// APICalls is how many API calls the simulator answered.
func (s *Server) APICalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiCalls
}

type apiError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

var (
	errInvalidAppID  = apiError{40013, "invalid appid"}
	errInvalidSecret = apiError{40125, "invalid appsecret"}
	errInvalidCode   = apiError{40029, "invalid code"}
	errCodeUsed      = apiError{40163, "code been used"}
	errInvalidToken  = apiError{40001, "invalid credential, access_token is invalid or not latest"}
	errInvalidOpenID = apiError{40003, "invalid openid"}
	errRateLimit     = apiError{45009, "reach max api daily quota limit"}
	errBadRequest    = apiError{41008, "missing code"}
)

func (s *Server) userByOpenID(openID string) (User, bool) {
	for _, u := range s.cfg.Users {
		if u.OpenID == openID {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) issue(appID, redirectURI, state, openID string) (string, error) {
	if appID != s.cfg.AppID {
		return "", errorString("appid 参数错误")
	}
	user, ok := s.userByOpenID(openID)
	if !ok {
		return "", errorString("未知的模拟微信用户")
	}
	ru, err := url.Parse(redirectURI)
	if err != nil || ru.Scheme == "" {
		return "", errorString("redirect_uri 参数错误")
	}
	code := randomHex(16)
	s.mu.Lock()
	s.codes[code] = grant{user: user, expires: s.cfg.Now().Add(s.cfg.CodeTTL)}
	s.mu.Unlock()
	q := ru.Query()
	q.Set("code", code)
	q.Set("state", state)
	ru.RawQuery = q.Encode()
	return ru.String(), nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

var page = template.Must(template.New("qr").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>微信登录（模拟）</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto;text-align:center}
button{margin:.3em;padding:.5em 1.2em}</style></head><body>
<h2>微信登录（本地模拟器）</h2>
<p>这是微信开放平台扫码登录的模拟页面。真实环境中此处显示二维码，请用手机微信扫码确认。</p>
{{if .Error}}<p style="color:#c00">{{.Error}}</p>{{else}}
<p>请选择模拟的微信用户并确认登录：</p>
<form method="post" action="confirm">
<input type="hidden" name="appid" value="{{.AppID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
{{range .Users}}<div><button name="openid" value="{{.OpenID}}">{{.Nickname}}（{{.OpenID}}）确认登录</button></div>{{end}}
</form>{{end}}
</body></html>`))

func (s *Server) qrconnect(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := struct {
		AppID, RedirectURI, State, Error string
		Users                            []User
	}{AppID: q.Get("appid"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"), Users: s.cfg.Users}
	switch {
	case data.AppID != s.cfg.AppID:
		data.Error = "appid 参数错误"
	case q.Get("scope") != "snsapi_login":
		data.Error = "scope 参数错误"
	case q.Get("response_type") != "code":
		data.Error = "response_type 参数错误"
	case data.RedirectURI == "":
		data.Error = "redirect_uri 参数错误"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if data.Error != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	_ = page.Execute(w, data)
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "表单无效", http.StatusBadRequest)
		return
	}
	to, err := s.issue(r.PostForm.Get("appid"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("state"), r.PostForm.Get("openid"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// limited counts one API call and reports whether it is over the rate.
func (s *Server) limited() bool {
	time.Sleep(s.cfg.Latency)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if now.Sub(s.window) >= time.Minute {
		s.window, s.calls = now, 0
	}
	s.calls++
	s.apiCalls++
	return s.calls > s.cfg.RatePerMinute
}

func writeJSON(w http.ResponseWriter, v any) {
	// WeChat answers errors with HTTP 200 too, so clients must read errcode.
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	if s.limited() {
		writeJSON(w, errRateLimit)
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("appid") != s.cfg.AppID:
		writeJSON(w, errInvalidAppID)
		return
	case q.Get("secret") != s.cfg.Secret:
		writeJSON(w, errInvalidSecret)
		return
	case q.Get("grant_type") != "authorization_code":
		writeJSON(w, apiError{40002, "invalid grant_type"})
		return
	case q.Get("code") == "":
		writeJSON(w, errBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.codes[q.Get("code")]
	switch {
	case !ok || s.cfg.Now().After(g.expires):
		writeJSON(w, errInvalidCode)
		return
	case g.used:
		writeJSON(w, errCodeUsed)
		return
	}
	g.used = true
	s.codes[q.Get("code")] = g
	token := randomHex(24)
	s.tokens[token] = grant{user: g.user, expires: s.cfg.Now().Add(2 * time.Hour)}
	writeJSON(w, map[string]any{
		"access_token":  token,
		"expires_in":    7200,
		"refresh_token": randomHex(24),
		"openid":        g.user.OpenID,
		"scope":         "snsapi_login",
		"unionid":       g.user.UnionID,
	})
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	if s.limited() {
		writeJSON(w, errRateLimit)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	g, ok := s.tokens[q.Get("access_token")]
	s.mu.Unlock()
	switch {
	case !ok || s.cfg.Now().After(g.expires):
		writeJSON(w, errInvalidToken)
		return
	case q.Get("openid") != g.user.OpenID:
		writeJSON(w, errInvalidOpenID)
		return
	}
	writeJSON(w, map[string]any{
		"openid":     g.user.OpenID,
		"nickname":   g.user.Nickname,
		"sex":        0,
		"province":   "河北",
		"city":       "石家庄",
		"country":    "中国",
		"headimgurl": "",
		"privilege":  []string{},
		"unionid":    g.user.UnionID,
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DemoUsers are the simulated WeChat accounts of the local platform.
func DemoUsers() []User {
	return []User{
		{OpenID: "o-demo-zhang", UnionID: "union-demo-zhang", Nickname: "张监管（模拟）"},
		{OpenID: "o-demo-li", UnionID: "union-demo-li", Nickname: "李执法（模拟）"},
	}
}
