package provincialsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client speaks the provincial platform's data-exchange API (documented in
// docs/functions/provincial-sync.md, simulated by tests/sim/province): a
// bearer token from app key and secret, renewed when refused; a slow
// request times out; 429 waits as Retry-After says; 5xx, timeouts and
// network errors are retried with doubling backoff.
type Client struct {
	base        string
	key, secret string
	http        *http.Client
	timeout     time.Duration
	maxRetries  int
	backoff     time.Duration

	mu      sync.Mutex
	token   string
	expires time.Time
	retries atomic.Int64
}

func newClient(c Config, h *http.Client) *Client {
	return &Client{base: strings.TrimRight(c.APIURL, "/") + "/api/v1/", key: c.AppKey, secret: c.AppSecret, http: h,
		timeout: c.Timeout, maxRetries: c.MaxRetries, backoff: c.Backoff}
}

// ErrProvince is an answer the province gave that retrying cannot change.
var ErrProvince = errors.New("province: request refused")

// Record is a record in the province's field names.
type Record map[string]any

// Page is one page of a pull.
type Page struct {
	Items []Record `json:"items"`
	Next  string   `json:"next_page_token"`
	Total int      `json:"total"`
}

// Rejection is a pushed record the province refused.
type Rejection struct {
	Index int    `json:"index"`
	Field string `json:"field"`
	Msg   string `json:"msg"`
}

// BatchResult is the province's answer to a push.
type BatchResult struct {
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
}

type envelope struct {
	Code string          `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// Retries reports how many requests were retried since the client was made.
func (c *Client) Retries() int64 { return c.retries.Load() }

func (c *Client) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.expires) {
		return c.token, nil
	}
	body, _ := json.Marshal(map[string]string{"app_key": c.key, "app_secret": c.secret})
	var d struct {
		Token     string `json:"access_token"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := c.once(ctx, http.MethodPost, "auth/token", "", body, &d); err != nil {
		return "", fmt.Errorf("province: token: %w", err)
	}
	// Renew a little early, so a token does not lapse mid-request.
	c.token, c.expires = d.Token, time.Now().Add(time.Duration(d.ExpiresIn)*time.Second*9/10)
	return c.token, nil
}

func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// statusError is an HTTP answer other than 200.
type statusError struct {
	status     int
	code, msg  string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("province: HTTP %d code %s: %s", e.status, e.code, e.msg)
}

// once makes one request and decodes the envelope's data into out.
func (c *Client) once(ctx context.Context, method, path, token string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	var env envelope
	_ = json.Unmarshal(raw, &env)
	if resp.StatusCode != http.StatusOK || env.Code != "0" {
		e := &statusError{status: resp.StatusCode, code: env.Code, msg: env.Msg}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.retryAfter = time.Duration(s) * time.Second
		}
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Data, out)
}

// call makes a request with a token and the retry rules.
func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err == nil {
			err = c.once(ctx, method, path, tok, body, out)
		}
		if err == nil {
			return nil
		}
		var se *statusError
		retry := true
		pause := wait
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &se) && se.status == http.StatusUnauthorized:
			c.dropToken(tok)
			pause = 0
		case errors.As(err, &se) && se.status == http.StatusTooManyRequests:
			if se.retryAfter > 0 {
				pause = min(se.retryAfter, 10*time.Second)
			}
		case errors.As(err, &se) && se.status >= 500:
		case errors.As(err, &se):
			retry = false // 4xx: the request itself is wrong
		}
		if !retry {
			return fmt.Errorf("%w: %v", ErrProvince, err)
		}
		if attempt >= c.maxRetries {
			return fmt.Errorf("province: %s %s: gave up after %d attempts: %w", method, path, attempt+1, err)
		}
		c.retries.Add(1)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		if pause == wait {
			wait = min(wait*2, 10*time.Second)
		}
	}
}

// Fetch reads one page of resource changed since (zero: everything),
// after page token (empty: the first page).
func (c *Client) Fetch(ctx context.Context, resource string, since time.Time, token string, size int) (Page, error) {
	q := url.Values{"page_size": {strconv.Itoa(size)}}
	if !since.IsZero() {
		q.Set("updated_since", since.UTC().Format(time.RFC3339Nano))
	}
	if token != "" {
		q.Set("page_token", token)
	}
	var p Page
	err := c.call(ctx, http.MethodGet, resource+"?"+q.Encode(), nil, &p)
	return p, err
}

// Push sends local records up.
func (c *Client) Push(ctx context.Context, resource string, items []Record) (BatchResult, error) {
	body, err := json.Marshal(map[string]any{"items": items})
	if err != nil {
		return BatchResult{}, err
	}
	var r BatchResult
	err = c.call(ctx, http.MethodPost, resource+"/batch", body, &r)
	return r, err
}

// CertificateUpload is a certificate as the province takes it.
type CertificateUpload struct {
	CertificateNo string `json:"zsbh"`
	Version       int    `json:"bbh"`
	Kind          string `json:"lx"`
	CreditCode    string `json:"tyshxydm"`
	DistrictCode  string `json:"xzqhdm"`
	SHA256        string `json:"sha256"`
	VerifyURL     string `json:"yzdz"`
	PDF           []byte `json:"pdf"` // base64 in JSON
	Source        string `json:"sjly"`
}

// Upload sends a certificate and returns the province's id for it.
func (c *Client) Upload(ctx context.Context, u CertificateUpload) (string, error) {
	body, err := json.Marshal(u)
	if err != nil {
		return "", err
	}
	var r struct {
		ID string `json:"id"`
	}
	err = c.call(ctx, http.MethodPost, "certificates", body, &r)
	return r.ID, err
}
