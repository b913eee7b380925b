package comms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/sms"
)

// Telephony places voice-notification calls (FP-152): the gateway dials the
// number and reads the text to the callee with its own TTS, like the
// carriers' 语音通知 APIs. *TelephonyClient is the real one.
type Telephony interface {
	Call(ctx context.Context, c Call) (string, error)
}

// Call is one outbound voice notification.
type Call struct {
	To       string `json:"to"`
	CallerID string `json:"caller_id"`
	Text     string `json:"tts_text"`
	Repeat   int    `json:"play_times"`
}

// Fax sends faxes through a fax gateway (*FaxClient).
type Fax interface {
	Send(ctx context.Context, f FaxDoc) (string, error)
}

// FaxDoc is one fax: the gateway lays the text out on A4 pages.
type FaxDoc struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// TTS renders text to speech (*TTSClient): the dispatch call's prompt is
// kept as its recording, in the format the callee heard (8 kHz WAV).
type TTS interface {
	Synthesize(ctx context.Context, text string) ([]byte, error)
}

// gateway is the signed JSON transport the three gateways share: the same
// headers and HMAC-SHA256 signature as the SMS gateway (sms.Sign), the
// vendors' common scheme.
//
//	POST {base}{path}
//	X-App-Key, X-Timestamp, X-Nonce, X-Signature
//
// answered 200 {"code":"OK", …} or a code such as SIGNATURE_INVALID,
// RATE_LIMITED, INVALID_NUMBER, SYSTEM_ERROR; TTS answers audio/wav.
type gateway struct {
	base, key, secret, what string
	hc                      *http.Client
	now                     func() time.Time
}

func newGateway(what, base, key, secret string) (gateway, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return gateway{}, fmt.Errorf("comms: %s gateway URL %q is not an http(s) URL", what, base)
	}
	if key == "" || secret == "" {
		return gateway{}, fmt.Errorf("comms: %s gateway needs COMMS_GATEWAY_KEY and COMMS_GATEWAY_SECRET", what)
	}
	return gateway{base: strings.TrimRight(base, "/"), key: key, secret: secret, what: what,
		hc: &http.Client{Timeout: 8 * time.Second}, now: time.Now}, nil
}

// down is the error a caller falls back on: the gateway is unreachable or
// failing, as opposed to refusing this one request.
func (g gateway) down(msg string, cause error) error {
	return errs.Wrap(errs.Unavailable, msg, fmt.Errorf("%s gateway: %w", g.what, cause))
}

func (g gateway) post(ctx context.Context, path string, in any) (*http.Response, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(g.now().Unix(), 10)
	nb := make([]byte, 12)
	_, _ = rand.Read(nb)
	nonce := hex.EncodeToString(nb)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-App-Key", g.key)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	req.Header.Set("X-Signature", sms.Sign(g.secret, g.key, ts, nonce, body))
	return g.hc.Do(req)
}

// call posts and reads the {"code", "message", idField} answer.
func (g gateway) call(ctx context.Context, path string, in any, idField, failMsg string) (string, error) {
	resp, err := g.post(ctx, path, in)
	if err != nil {
		return "", g.down(failMsg, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode >= 500 {
		return "", g.down(failMsg, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw))
	}
	code, _ := out["code"].(string)
	msg, _ := out["message"].(string)
	switch code {
	case "OK":
		id, _ := out[idField].(string)
		return id, nil
	case "INVALID_NUMBER":
		return "", errs.Wrap(errs.Invalid, "号码无法接通："+msg, fmt.Errorf("%s gateway: %s %s", g.what, code, msg))
	}
	return "", g.down(failMsg, fmt.Errorf("HTTP %d %s %s", resp.StatusCode, code, msg))
}

// TelephonyClient is the voice gateway's client.
type TelephonyClient struct{ g gateway }

// NewTelephony builds the voice gateway client.
func NewTelephony(base, key, secret string) (*TelephonyClient, error) {
	g, err := newGateway("telephony", base, key, secret)
	return &TelephonyClient{g: g}, err
}

// Call asks the gateway to dial; the answer is the gateway's call id.
func (c *TelephonyClient) Call(ctx context.Context, call Call) (string, error) {
	return c.g.call(ctx, "/voice/call", call, "call_id", "语音呼叫网关不可用")
}

// FaxClient is the fax gateway's client.
type FaxClient struct{ g gateway }

// NewFax builds the fax gateway client.
func NewFax(base, key, secret string) (*FaxClient, error) {
	g, err := newGateway("fax", base, key, secret)
	return &FaxClient{g: g}, err
}

// Send hands the fax to the gateway; the answer is its fax id.
func (c *FaxClient) Send(ctx context.Context, d FaxDoc) (string, error) {
	return c.g.call(ctx, "/fax/send", d, "fax_id", "传真网关不可用")
}

// TTSClient is the speech synthesis service's client.
type TTSClient struct{ g gateway }

// NewTTS builds the TTS client.
func NewTTS(base, key, secret string) (*TTSClient, error) {
	g, err := newGateway("tts", base, key, secret)
	return &TTSClient{g: g}, err
}

// Synthesize returns the text spoken as 8 kHz 16-bit mono WAV.
func (c *TTSClient) Synthesize(ctx context.Context, text string) ([]byte, error) {
	resp, err := c.g.post(ctx, "/tts/synthesize", map[string]any{"text": text, "format": "wav", "sample_rate": 8000, "voice": "xiaoyun"})
	if err != nil {
		return nil, c.g.down("语音合成服务不可用", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, c.g.down("语音合成服务不可用", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "audio/wav") ||
		len(raw) < 44 || string(raw[:4]) != "RIFF" {
		return nil, c.g.down("语音合成服务不可用", fmt.Errorf("HTTP %d %s: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), raw))
	}
	return raw, nil
}

// Gateways builds the three gateway clients the settings name.
func (c Config) Gateways() (*TelephonyClient, *FaxClient, *TTSClient, error) {
	tel, err := NewTelephony(c.TelephonyURL, c.GatewayKey, c.GatewaySecret)
	if err != nil {
		return nil, nil, nil, err
	}
	fax, err := NewFax(c.FaxURL, c.GatewayKey, c.GatewaySecret)
	if err != nil {
		return nil, nil, nil, err
	}
	tts, err := NewTTS(c.TTSURL, c.GatewayKey, c.GatewaySecret)
	if err != nil {
		return nil, nil, nil, err
	}
	return tel, fax, tts, nil
}
