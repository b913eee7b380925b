package oidcprovider

import (
	"context"
	"errors"
	"net/http"
	"sync"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sjzamr/smartreg/shared/errs"
)

// upstream is the relying party towards the provincial identity system.
type upstream struct {
	cfg      UpstreamConfig
	name     string
	redirect string
	http     *http.Client

	mu       sync.Mutex
	provider *gooidc.Provider // discovered on first use, so identity starts while the province is down
}

func newUpstream(cfg UpstreamConfig, redirect string, hc *http.Client) *upstream {
	name := cfg.Name
	if name == "" {
		name = "河北省统一身份认证"
	}
	return &upstream{cfg: cfg, name: name, redirect: redirect, http: hc}
}

func (u *upstream) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, u.http)
}

func (u *upstream) discover(ctx context.Context) (*gooidc.Provider, *oauth2.Config, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.provider == nil {
		pr, err := gooidc.NewProvider(u.ctx(ctx), u.cfg.Issuer)
		if err != nil {
			return nil, nil, errs.Wrap(errs.Unavailable, "省统一身份认证平台暂时无法访问，请稍后再试或使用密码登录", err)
		}
		u.provider = pr
	}
	return u.provider, &oauth2.Config{ClientID: u.cfg.ClientID, ClientSecret: u.cfg.ClientSecret, Endpoint: u.provider.Endpoint(),
		RedirectURL: u.redirect, Scopes: []string{gooidc.ScopeOpenID, "profile"}}, nil
}

func (p *Provider) upstreamStart(w http.ResponseWriter, r *http.Request) {
	if p.upstream == nil {
		p.errorPage(w, r, errs.New(errs.NotFound, "未启用省统一身份认证登录"))
		return
	}
	_, conf, err := p.upstream.discover(r.Context())
	if err != nil {
		p.errorPage(w, r, err)
		return
	}
	nonce, verifier := randomToken(), oauth2.GenerateVerifier()
	state, _, err := p.startFlow(w, r, ProviderUpstream, nonce, verifier)
	if err != nil {
		p.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, conf.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

func (p *Provider) upstreamCallback(w http.ResponseWriter, r *http.Request) {
	if p.upstream == nil {
		p.errorPage(w, r, errs.New(errs.NotFound, "未启用省统一身份认证登录"))
		return
	}
	st, err := p.takeState(w, r, ProviderUpstream)
	if err != nil {
		p.errorPage(w, r, err)
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		p.log.InfoContext(r.Context(), "upstream login refused", "error", e, "description", q.Get("error_description"))
		p.errorPage(w, r, errs.New(errs.Unauthorized, "省统一身份认证未通过，请重试或使用密码登录"))
		return
	}
	provider, conf, err := p.upstream.discover(r.Context())
	if err != nil {
		p.errorPage(w, r, err)
		return
	}
	ctx := p.upstream.ctx(r.Context())
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			p.errorPage(w, r, errs.Wrap(errs.Unauthorized, "省统一身份认证授权码无效或已过期，请重新登录", err))
			return
		}
		p.errorPage(w, r, errs.Wrap(errs.Unavailable, "省统一身份认证平台暂时无法访问，请稍后再试或使用密码登录", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		p.errorPage(w, r, errs.New(errs.Unauthorized, "省统一身份认证未返回身份令牌"))
		return
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: p.upstream.cfg.ClientID, Now: p.now}).Verify(ctx, raw)
	if err != nil {
		p.errorPage(w, r, errs.Wrap(errs.Unauthorized, "省统一身份认证的身份令牌校验失败", err))
		return
	}
	if idt.Nonce != st.nonce {
		p.errorPage(w, r, errs.New(errs.Unauthorized, "省统一身份认证的身份令牌校验失败"))
		return
	}
	var claims struct {
		Name     string `json:"name"`
		Username string `json:"preferred_username"`
	}
	_ = idt.Claims(&claims)
	display := claims.Name
	if display == "" {
		display = claims.Username
	}
	p.externalLogin(w, r, st.flow, ProviderUpstream, idt.Subject, display)
}
