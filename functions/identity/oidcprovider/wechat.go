package oidcprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sjzamr/smartreg/shared/errs"
)

// wechatClient speaks WeChat's website-login API (网站应用微信登录):
// qrconnect for the QR page, sns/oauth2/access_token to exchange the code,
// sns/userinfo for the unionid and nickname. WeChat answers errors with
// HTTP 200 and {"errcode","errmsg"}.
type wechatClient struct {
	appID, secret     string
	openBase, apiBase string
	http              *http.Client
}

func newWeChatClient(cfg WeChatConfig, hc *http.Client) *wechatClient {
	c := &wechatClient{appID: cfg.AppID, secret: cfg.Secret, openBase: strings.TrimSuffix(cfg.OpenBaseURL, "/"),
		apiBase: strings.TrimSuffix(cfg.APIBaseURL, "/"), http: hc}
	if c.openBase == "" {
		c.openBase = "https://open.weixin.qq.com"
	}
	if c.apiBase == "" {
		c.apiBase = "https://api.weixin.qq.com"
	}
	return c
}

// WeChatError is an errcode answer.
type WeChatError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (e *WeChatError) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

// asUserError turns a WeChat failure into what the person can act on.
func wechatUserError(err error) error {
	if we, ok := err.(*WeChatError); ok {
		switch we.Code {
		case 40029, 40163, 41008:
			return errs.Wrap(errs.Invalid, "微信授权码无效或已使用，请重新扫码", err)
		case 45009, 45011, -1:
			return errs.Wrap(errs.Unavailable, "微信登录服务繁忙，请稍后再试或使用密码登录", err)
		}
		return errs.Wrap(errs.Unavailable, "微信登录暂时不可用，请使用密码登录", err)
	}
	return errs.Wrap(errs.Unavailable, "微信服务暂时无法访问，请稍后再试或使用密码登录", err)
}

// authURL is the QR page the browser is sent to.
func (c *wechatClient) authURL(redirect, state string) string {
	q := url.Values{"appid": {c.appID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"snsapi_login"}, "state": {state}}
	return c.openBase + "/connect/qrconnect?" + q.Encode() + "#wechat_redirect"
}

func (c *wechatClient) get(ctx context.Context, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.apiBase+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wechat %s: HTTP %d", path, resp.StatusCode)
	}
	var we WeChatError
	if err := json.Unmarshal(body, &we); err != nil {
		return fmt.Errorf("wechat %s: %w", path, err)
	}
	if we.Code != 0 {
		return &we
	}
	return json.Unmarshal(body, out)
}

type wechatToken struct {
	AccessToken string `json:"access_token"`
	OpenID      string `json:"openid"`
	UnionID     string `json:"unionid"`
}

type wechatUser struct {
	OpenID   string `json:"openid"`
	UnionID  string `json:"unionid"`
	Nickname string `json:"nickname"`
}

func (c *wechatClient) exchange(ctx context.Context, code string) (wechatToken, error) {
	var t wechatToken
	err := c.get(ctx, "/sns/oauth2/access_token", url.Values{"appid": {c.appID}, "secret": {c.secret}, "code": {code},
		"grant_type": {"authorization_code"}}, &t)
	return t, err
}

func (c *wechatClient) userinfo(ctx context.Context, t wechatToken) (wechatUser, error) {
	var u wechatUser
	err := c.get(ctx, "/sns/userinfo", url.Values{"access_token": {t.AccessToken}, "openid": {t.OpenID}}, &u)
	return u, err
}

func (p *Provider) wechatStart(w http.ResponseWriter, r *http.Request) {
	if p.wechat == nil {
		p.errorPage(w, r, errs.New(errs.NotFound, "未启用微信扫码登录"))
		return
	}
	state, _, err := p.startFlow(w, r, ProviderWeChat, "", "")
	if err != nil {
		p.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, p.wechat.authURL(p.base+"/identity/v1/login/wechat/callback", state), http.StatusFound)
}

func (p *Provider) wechatCallback(w http.ResponseWriter, r *http.Request) {
	if p.wechat == nil {
		p.errorPage(w, r, errs.New(errs.NotFound, "未启用微信扫码登录"))
		return
	}
	st, err := p.takeState(w, r, ProviderWeChat)
	if err != nil {
		p.errorPage(w, r, err)
		return
	}
	code := r.URL.Query().Get("code")
	if code == "" { // the person refused on the phone
		p.errorPage(w, r, errs.New(errs.Unauthorized, "已取消微信授权登录"))
		return
	}
	tok, err := p.wechat.exchange(r.Context(), code)
	if err != nil {
		p.log.WarnContext(r.Context(), "wechat code exchange failed", "err", err)
		p.errorPage(w, r, wechatUserError(err))
		return
	}
	// userinfo gives the unionid also when the token answer lacks it, and
	// the nickname shown on the bind page.
	u, err := p.wechat.userinfo(r.Context(), tok)
	if err != nil {
		p.log.WarnContext(r.Context(), "wechat userinfo failed", "err", err)
		p.errorPage(w, r, wechatUserError(err))
		return
	}
	unionID := u.UnionID
	if unionID == "" {
		unionID = tok.UnionID
	}
	if unionID == "" {
		p.errorPage(w, r, errs.New(errs.Unavailable, "微信未返回 unionid，请联系管理员检查开放平台绑定"))
		return
	}
	p.externalLogin(w, r, st.flow, ProviderWeChat, unionID, u.Nickname)
}
