package oidcprovider

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Config is the provider's settings, for shared/config.Load (identity's
// Config embeds it). Empty issuer or appid leaves that login off.
type Config struct {
	UpstreamIssuer       string `env:"UPSTREAM_OIDC_ISSUER" default:"" help:"省统一身份认证平台（上游 OIDC 提供方）的 issuer 地址；为空则不启用省统一身份认证登录。本地平台可指向模拟器 http://localhost:8080/sim/province"`
	UpstreamClientID     string `env:"UPSTREAM_OIDC_CLIENT_ID" default:"" help:"在省统一身份认证平台登记的 client_id；回调地址为 PUBLIC_BASE_URL/identity/v1/login/upstream/callback"`
	UpstreamClientSecret string `env:"UPSTREAM_OIDC_CLIENT_SECRET" default:"" secret:"true" help:"在省统一身份认证平台登记的 client_secret"`
	UpstreamName         string `env:"UPSTREAM_OIDC_NAME" default:"河北省统一身份认证" help:"登录页上省统一身份认证按钮的文字"`
	WeChatAppID          string `env:"WECHAT_APPID" default:"" help:"微信开放平台网站应用的 AppID；为空则不启用微信扫码登录"`
	WeChatSecret         string `env:"WECHAT_SECRET" default:"" secret:"true" help:"微信开放平台网站应用的 AppSecret"`
	WeChatOpenBaseURL    string `env:"WECHAT_OPEN_BASE_URL" default:"https://open.weixin.qq.com" help:"微信扫码页（qrconnect）所在地址；本地平台可指向模拟器 http://localhost:8080/sim/wechat"`
	WeChatAPIBaseURL     string `env:"WECHAT_API_BASE_URL" default:"https://api.weixin.qq.com" help:"微信接口（sns/oauth2/access_token、sns/userinfo）地址；本地平台可指向模拟器 http://localhost:8080/sim/wechat"`
	// CORSOrigins adds origins whose pages may call the token, userinfo
	// and keys endpoints from JavaScript; the registered clients' redirect
	// origins are always allowed, any other origin never.
	CORSOrigins string `env:"IDENTITY_OIDC_CORS_ORIGINS" default:"" help:"除已登记接入应用回调地址所在源之外，允许以浏览器脚本（CORS）调用令牌、用户信息、公钥端点的源，逗号分隔，如 https://app.example.gov.cn"`
}

// Validate refuses half-configured external logins and malformed origins.
func (c Config) Validate() error {
	if c.UpstreamIssuer != "" && (c.UpstreamClientID == "" || c.UpstreamClientSecret == "") {
		return errors.New("oidcprovider: UPSTREAM_OIDC_CLIENT_ID and _CLIENT_SECRET are required with UPSTREAM_OIDC_ISSUER")
	}
	if c.WeChatAppID != "" && c.WeChatSecret == "" {
		return errors.New("oidcprovider: WECHAT_SECRET is required with WECHAT_APPID")
	}
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" && originOf(o) != strings.TrimRight(o, "/") {
			return fmt.Errorf("oidcprovider: IDENTITY_OIDC_CORS_ORIGINS entry %q is not an origin (scheme://host[:port])", o)
		}
	}
	return nil
}

func (c Config) corsOrigins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, originOf(o))
		}
	}
	return out
}

// originOf is "scheme://host[:port]" of an absolute URL, lower-cased; ""
// for anything else.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// Upstream is the upstream part of c.
func (c Config) Upstream() UpstreamConfig {
	return UpstreamConfig{Issuer: c.UpstreamIssuer, ClientID: c.UpstreamClientID, ClientSecret: c.UpstreamClientSecret, Name: c.UpstreamName}
}

// WeChat is the WeChat part of c.
func (c Config) WeChat() WeChatConfig {
	return WeChatConfig{AppID: c.WeChatAppID, Secret: c.WeChatSecret, OpenBaseURL: c.WeChatOpenBaseURL, APIBaseURL: c.WeChatAPIBaseURL}
}
