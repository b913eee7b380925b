package oidcprovider

import (
	"testing"

	"github.com/sjzamr/smartreg/shared/config"
)

func TestConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"UPSTREAM_OIDC_ISSUER": "https://sso.hebei.gov.cn", "UPSTREAM_OIDC_CLIENT_ID": "sjz", "UPSTREAM_OIDC_CLIENT_SECRET": "s",
		"WECHAT_APPID": "wx1", "WECHAT_SECRET": "ws"}
	var c Config
	if err := config.Load(&c, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	up, wx := c.Upstream(), c.WeChat()
	if up.Issuer != "https://sso.hebei.gov.cn" || up.ClientID != "sjz" || up.ClientSecret != "s" || up.Name != "河北省统一身份认证" {
		t.Errorf("upstream %+v", up)
	}
	if wx.AppID != "wx1" || wx.Secret != "ws" || wx.OpenBaseURL != "https://open.weixin.qq.com" || wx.APIBaseURL != "https://api.weixin.qq.com" {
		t.Errorf("wechat %+v", wx)
	}
	for _, f := range config.Describe(Config{}) {
		if f.Env == "" || f.Help == "" {
			t.Errorf("field without env or help: %+v", f)
		}
	}
	masked := config.Masked(c)
	if masked["WECHAT_SECRET"] != "******" || masked["UPSTREAM_OIDC_CLIENT_SECRET"] != "******" || masked["WECHAT_APPID"] != "wx1" {
		t.Errorf("secrets not masked: %v", masked)
	}
}
