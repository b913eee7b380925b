// Package sms is the SMS gateway client every function shares: identity's
// reset codes and activities' reminders go through the same documented
// gateway API (tests/sim/sms simulates it). It was identity's SMSClient;
// identity keeps its own copy until it moves here.
package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Message is one text message through the gateway: a registered signature and
// template with its parameters, as Chinese SMS gateways require.
type Message struct {
	Phone    string            `json:"phone"`
	SignName string            `json:"sign_name"`
	Template string            `json:"template_code"`
	Params   map[string]string `json:"params"`
}

// Sender delivers SMS. The real one is Client; tests and the local
// platform point it at the simulator in tests/sim/sms.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Client speaks the gateway's JSON API:
//
//	POST {base}/sms/send
//	X-App-Key: <app key>
//	X-Timestamp: <unix seconds>
//	X-Nonce: <random hex, single use>
//	X-Signature: hex(HMAC-SHA256(app secret, appKey + "\n" + timestamp + "\n" + nonce + "\n" + body))
//	{"phone":"13800000000","sign_name":"…","template_code":"…","params":{"code":"123456"}}
//
// answered 200 {"code":"OK","message":"…","biz_id":"…"}, or a code such as
// SIGNATURE_INVALID, RATE_LIMITED, INVALID_PHONE, SYSTEM_ERROR.
type Client struct {
	endpoint, key, secret string
	hc                    *http.Client
	now                   func() time.Time
}

var _ Sender = (*Client)(nil)

// New builds the gateway client; hc nil uses a 5-second timeout.
func New(base, appKey, appSecret string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sms: SMS_GATEWAY_URL %q is not an http(s) URL", base)
	}
	if appKey == "" || appSecret == "" {
		return nil, errors.New("sms: SMS_APP_KEY and SMS_APP_SECRET are required")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	return &Client{endpoint: strings.TrimRight(base, "/") + "/sms/send", key: appKey, secret: appSecret, hc: hc, now: time.Now}, nil
}

// Sign is the gateway's request signature.
func Sign(secret, appKey, timestamp, nonce string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(appKey + "\n" + timestamp + "\n" + nonce + "\n"))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Send posts one message; gateway refusals become errs.Unavailable (the
// user is told to try later) except a bad number, which is invalid.
func (c *Client) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(c.now().Unix(), 10)
	nonce := randomToken(12)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-App-Key", c.key)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", Sign(c.secret, c.key, ts, nonce, body))
	resp, err := c.hc.Do(req)
	if err != nil {
		return errs.Wrap(errs.Unavailable, "短信发送失败，请稍后重试", err)
	}
	defer resp.Body.Close()
	var out struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode >= 500 {
		return errs.Wrap(errs.Unavailable, "短信发送失败，请稍后重试", fmt.Errorf("sms gateway: HTTP %d: %s", resp.StatusCode, raw))
	}
	switch out.Code {
	case "OK":
		return nil
	case "INVALID_PHONE":
		return errs.Wrap(errs.Invalid, "手机号码无法接收短信", fmt.Errorf("sms gateway: %s %s", out.Code, out.Message))
	case "RATE_LIMITED":
		return errs.Wrap(errs.Unavailable, "短信发送过于频繁，请稍后重试", fmt.Errorf("sms gateway: %s %s", out.Code, out.Message))
	}
	return errs.Wrap(errs.Unavailable, "短信发送失败，请稍后重试", fmt.Errorf("sms gateway: HTTP %d %s %s", resp.StatusCode, out.Code, out.Message))
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Config is the gateway's settings, for a function's entry point to embed
// (the one-process platform takes identity's, which are the same names).
type Config struct {
	GatewayURL string `env:"SMS_GATEWAY_URL" default:"http://localhost:8080/sim/sms" help:"短信网关地址（POST {base}/sms/send）；本地默认指向模拟器"`
	AppKey     string `env:"SMS_APP_KEY" default:"smartreg-dev" help:"短信网关 AppKey"`
	AppSecret  string `env:"SMS_APP_SECRET" default:"dev-sms-secret" secret:"true" help:"短信网关签名密钥（HMAC-SHA256）"`
}

// Client builds the gateway client the settings name.
func (c Config) Client() (*Client, error) { return New(c.GatewayURL, c.AppKey, c.AppSecret, nil) }
