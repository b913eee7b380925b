// Package oidcupstream simulates the provincial unified identity system
// (省统一身份认证平台) as a small but real OpenID Connect provider: discovery,
// an RS256 JWKS, the authorization endpoint with a Chinese login page, the
// token endpoint (authorization code, client_secret_basic or _post, PKCE
// when the client sends it) and userinfo. Codes are single-use and live one
// minute. It uses only the standard library so any module can import it.
package oidcupstream

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// User is one account of the simulated provincial system.
type User struct {
	Subject  string // stable "sub"
	Username string // preferred_username, the login name
	Password string
	Name     string
}

// Client is a registered relying party.
type Client struct {
	ID, Secret   string
	RedirectURIs []string
}

// Config sets up the simulator. Issuer must be the URL the server is reached
// at (for httptest, set it after starting the server with SetIssuer).
type Config struct {
	Issuer  string
	Clients []Client
	Users   []User
	Now     func() time.Time // default time.Now
	Latency time.Duration    // added to every token and userinfo answer
}

// Server is the simulated provider.
type Server struct {
	mu     sync.Mutex
	cfg    Config
	key    *rsa.PrivateKey
	kid    string
	mux    *http.ServeMux
	codes  map[string]codeGrant
	tokens map[string]User
}

type codeGrant struct {
	client, redirectURI, nonce, challenge, method string
	user                                          User
	expires                                       time.Time
}

// New builds the simulator with a fresh RSA key.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, key: key, kid: randomHex(8), mux: http.NewServeMux(),
		codes: map[string]codeGrant{}, tokens: map[string]User{}}
	s.mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	s.mux.HandleFunc("GET /keys", s.keys)
	s.mux.HandleFunc("GET /authorize", s.authorizePage)
	s.mux.HandleFunc("POST /authorize", s.authorizeSubmit)
	s.mux.HandleFunc("POST /token", s.token)
	s.mux.HandleFunc("GET /userinfo", s.userinfo)
	return s, nil
}

// SetIssuer sets the issuer URL once the listening address is known.
func (s *Server) SetIssuer(issuer string) {
	s.mu.Lock()
	s.cfg.Issuer = strings.TrimSuffix(issuer, "/")
	s.mu.Unlock()
}

func (s *Server) issuer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Issuer
}

// ServeHTTP serves the provider; mount it so that Issuer + "/keys" reaches it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := s.issuer()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nonce", "name", "preferred_username"},
	})
}

func (s *Server) keys(w http.ResponseWriter, _ *http.Request) {
	pub := s.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": s.kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (s *Server) client(id string) (Client, bool) {
	for _, c := range s.cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>河北省统一身份认证平台（模拟）</title>
<style>body{font-family:sans-serif;max-width:24em;margin:3em auto}label{display:block;margin:.6em 0}
input{width:100%;padding:.4em}</style></head><body>
<h2>河北省统一身份认证平台（本地模拟器）</h2>
{{if .Error}}<p style="color:#c00">{{.Error}}</p>{{end}}
{{if .Form}}<form method="post" action="authorize">
{{range $k, $v := .Form}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<label>用户名<input name="username" autocomplete="username"></label>
<label>密码<input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">登录</button></form>{{end}}
</body></html>`))

// checkRequest validates an authorization request; the error is Chinese.
func (s *Server) checkRequest(q url.Values) (Client, string) {
	c, ok := s.client(q.Get("client_id"))
	switch {
	case !ok:
		return c, "未登记的应用（client_id 无效）"
	case !slices.Contains(c.RedirectURIs, q.Get("redirect_uri")):
		return c, "回调地址未登记（redirect_uri 无效）"
	case q.Get("response_type") != "code":
		return c, "仅支持授权码模式（response_type=code）"
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return c, "scope 必须包含 openid"
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		return c, "仅支持 S256 的 PKCE"
	}
	return c, ""
}

var authParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}

func pick(q url.Values) url.Values {
	out := url.Values{}
	for _, k := range authParams {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, msg := s.checkRequest(q)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if msg != "" {
		w.WriteHeader(http.StatusBadRequest)
		_ = loginPage.Execute(w, map[string]any{"Error": msg})
		return
	}
	_ = loginPage.Execute(w, map[string]any{"Form": pick(q)})
}

func (s *Server) authorizeSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "表单无效", http.StatusBadRequest)
		return
	}
	q := r.PostForm
	_, msg := s.checkRequest(q)
	if msg != "" {
		w.WriteHeader(http.StatusBadRequest)
		_ = loginPage.Execute(w, map[string]any{"Error": msg})
		return
	}
	var user User
	found := false
	for _, u := range s.cfg.Users {
		if u.Username == q.Get("username") && subtle.ConstantTimeCompare([]byte(u.Password), []byte(q.Get("password"))) == 1 {
			user, found = u, true
		}
	}
	if !found {
		w.WriteHeader(http.StatusUnauthorized)
		_ = loginPage.Execute(w, map[string]any{"Error": "用户名或密码错误", "Form": pick(q)})
		return
	}
	code := randomHex(16)
	s.mu.Lock()
	s.codes[code] = codeGrant{client: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), user: user, expires: s.cfg.Now().Add(time.Minute)}
	s.mu.Unlock()
	to, _ := url.Parse(q.Get("redirect_uri"))
	rq := to.Query()
	rq.Set("code", code)
	if st := q.Get("state"); st != "" {
		rq.Set("state", st)
	}
	to.RawQuery = rq.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	time.Sleep(s.cfg.Latency)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: the credentials are form-encoded before Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, ok := s.client(id)
	if !ok || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	code := r.PostForm.Get("code")
	s.mu.Lock()
	g, ok := s.codes[code]
	delete(s.codes, code) // single use, even when the rest of the request is wrong
	s.mu.Unlock()
	switch {
	case !ok || s.cfg.Now().After(g.expires) || g.client != id:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid or expired code")
		return
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
		return
	case g.challenge != "" && !pkceOK(g.challenge, r.PostForm.Get("code_verifier")):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid code_verifier")
		return
	}
	now := s.cfg.Now()
	claims := map[string]any{
		"iss": s.issuer(), "sub": g.user.Subject, "aud": id, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"name": g.user.Name, "preferred_username": g.user.Username,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	idToken, err := s.sign(claims)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	at := randomHex(24)
	s.mu.Lock()
	s.tokens[at] = g.user
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 600, "id_token": idToken})
}

func pkceOK(challenge, verifier string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(b64(sum[:])), []byte(challenge)) == 1
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	time.Sleep(s.cfg.Latency)
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	u, found := s.tokens[at]
	s.mu.Unlock()
	if !ok || !found {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "unknown access token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"sub": u.Subject, "name": u.Name, "preferred_username": u.Username})
}

// sign makes a compact RS256 JWS.
func (s *Server) sign(claims map[string]any) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": s.kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Demo is the local platform's simulated provincial system: one client
// (clientID/secret, redirecting to redirectURI) and two accounts whose
// password is the username followed by "-pw" (local use only).
func Demo(issuer, clientID, secret, redirectURI string) (*Server, error) {
	return New(Config{
		Issuer:  issuer,
		Clients: []Client{{ID: clientID, Secret: secret, RedirectURIs: []string{redirectURI}}},
		Users: []User{
			{Subject: "hb-130100-000001", Username: "hb.zhang", Password: "hb.zhang-pw", Name: "张监管"},
			{Subject: "hb-130100-000002", Username: "hb.li", Password: "hb.li-pw", Name: "李执法"},
		},
	})
}
