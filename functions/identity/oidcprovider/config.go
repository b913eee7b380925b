package oidcprovider

// Config is the environment of the external logins, for shared/config.Load
// in the composition root (identity's cmd and infra/local). Empty issuer or
// appid leaves that login off.
type Config struct {
	UpstreamIssuer       string `env:"UPSTREAM_OIDC_ISSUER" default:"" help:"省统一身份认证平台（上游 OIDC 提供方）的 issuer 地址；为空则不启用省统一身份认证登录。本地平台可指向模拟器 http://localhost:8080/sim/province"`
	UpstreamClientID     string `env:"UPSTREAM_OIDC_CLIENT_ID" default:"" help:"在省统一身份认证平台登记的 client_id；回调地址为 PUBLIC_BASE_URL/identity/v1/login/upstream/callback"`
	UpstreamClientSecret string `env:"UPSTREAM_OIDC_CLIENT_SECRET" default:"" secret:"true" help:"在省统一身份认证平台登记的 client_secret"`
	UpstreamName         string `env:"UPSTREAM_OIDC_NAME" default:"河北省统一身份认证" help:"登录页上省统一身份认证按钮的文字"`
	WeChatAppID          string `env:"WECHAT_APPID" default:"" help:"微信开放平台网站应用的 AppID；为空则不启用微信扫码登录"`
	WeChatSecret         string `env:"WECHAT_SECRET" default:"" secret:"true" help:"微信开放平台网站应用的 AppSecret"`
	WeChatOpenBaseURL    string `env:"WECHAT_OPEN_BASE_URL" default:"https://open.weixin.qq.com" help:"微信扫码页（qrconnect）所在地址；本地平台可指向模拟器 http://localhost:8080/sim/wechat"`
	WeChatAPIBaseURL     string `env:"WECHAT_API_BASE_URL" default:"https://api.weixin.qq.com" help:"微信接口（sns/oauth2/access_token、sns/userinfo）地址；本地平台可指向模拟器 http://localhost:8080/sim/wechat"`
}

// Upstream is the upstream part of c for Deps.
func (c Config) Upstream() UpstreamConfig {
	return UpstreamConfig{Issuer: c.UpstreamIssuer, ClientID: c.UpstreamClientID, ClientSecret: c.UpstreamClientSecret, Name: c.UpstreamName}
}

// WeChat is the WeChat part of c for Deps.
func (c Config) WeChat() WeChatConfig {
	return WeChatConfig{AppID: c.WeChatAppID, Secret: c.WeChatSecret, OpenBaseURL: c.WeChatOpenBaseURL, APIBaseURL: c.WeChatAPIBaseURL}
}
