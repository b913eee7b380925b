package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Exchange is one logged request to a remote system.
type Exchange struct {
	Method   string
	URL      string
	Status   int
	Rows     int
	Duration time.Duration
	Err      string
}

// remoteError is an answer retrying cannot change; Reason is the Chinese
// text the interaction log and the console show.
type remoteError struct {
	Reason string
	Err    error
}

func (e *remoteError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *remoteError) Unwrap() error { return e.Err }

func refuse(reason string, err error) error { return &remoteError{Reason: reason, Err: err} }

// Reason is the Chinese reason of err for the log and console.
func Reason(err error) string {
	var re *remoteError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return re.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "远端响应超时: " + err.Error()
	}
	return err.Error()
}

// caller makes HTTP requests to one remote system with the retry rules
// every connector shares: 429 waits as Retry-After says, 5xx, timeouts
// and network errors are retried with doubling backoff up to maxRetries,
// 4xx is final. Every attempt is logged through logf, successful or not.
type caller struct {
	http       *http.Client
	timeout    time.Duration
	maxRetries int
	backoff    time.Duration
	logf       func(Exchange)
	retries    int
	pauses     []time.Duration // the waits taken, for the tests' backoff check
	sleep      func(context.Context, time.Duration) error
}

// request is what a connector asks of caller; build makes a fresh
// *http.Request per attempt (signatures carry the time).
type request struct {
	method, logURL string
	build          func(ctx context.Context) (*http.Request, error)
	rows           func(body []byte) int // rows in an answer, for the log
}

type statusError struct {
	status     int
	body       string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.status, clip(e.body, 200))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// do runs the request with retries and returns the body decoded to UTF-8.
func (c *caller) do(ctx context.Context, rq request) ([]byte, error) {
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		body, status, err := c.once(ctx, rq)
		var se *statusError
		retry, pause := false, wait
		switch {
		case err == nil:
			return body, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &se) && se.status == http.StatusTooManyRequests:
			retry = true
			if se.retryAfter > 0 {
				pause = min(se.retryAfter, 10*time.Second)
			}
		case errors.As(err, &se) && se.status >= 500:
			retry = true
		case errors.As(err, &se):
			return nil, refuse(fmt.Sprintf("远端拒绝请求（HTTP %d）", status), err)
		case errors.As(err, new(*remoteError)):
			return nil, err
		default: // network error, timeout
			retry = true
		}
		if !retry || attempt >= c.maxRetries {
			return nil, refuse(fmt.Sprintf("重试 %d 次后远端仍不可用", attempt), err)
		}
		c.retries++
		c.pauses = append(c.pauses, pause)
		if err := c.sleep(ctx, pause); err != nil {
			return nil, err
		}
		if pause == wait {
			wait = min(wait*2, 10*time.Second)
		}
	}
}

// once is one attempt, logged.
func (c *caller) once(ctx context.Context, rq request) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	x := Exchange{Method: rq.method, URL: rq.logURL}
	defer func() {
		x.Duration = time.Since(start)
		c.logf(x)
	}()
	req, err := rq.build(ctx)
	if err != nil {
		x.Err = err.Error()
		return nil, 0, refuse("请求构造失败", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		x.Err = Reason(err)
		return nil, 0, err
	}
	defer resp.Body.Close()
	x.Status = resp.StatusCode
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		x.Err = "读取响应失败: " + err.Error()
		return nil, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		se := &statusError{status: resp.StatusCode, body: string(raw)}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			se.retryAfter = time.Duration(s) * time.Second
		}
		x.Err = se.Error()
		return nil, resp.StatusCode, se
	}
	body, err := toUTF8(raw, resp.Header.Get("Content-Type"))
	if err != nil {
		x.Err = Reason(err)
		return nil, resp.StatusCode, err
	}
	if rq.rows != nil {
		x.Rows = rq.rows(body)
	}
	return body, resp.StatusCode, nil
}

// toUTF8 decodes a body in the charset its Content-Type declares. GBK and
// GB18030 are decoded; a body that is not valid UTF-8 while claiming to
// be is refused rather than guessed at, since a wrong guess would store
// garbled names silently.
func toUTF8(raw []byte, contentType string) ([]byte, error) {
	charset := "utf-8"
	if _, params, err := mime.ParseMediaType(contentType); err == nil && params["charset"] != "" {
		charset = strings.ToLower(params["charset"])
	}
	switch charset {
	case "gbk", "gb2312", "gb18030", "cp936":
		out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(raw)
		if err != nil {
			return nil, refuse("按 GBK 解码响应失败", err)
		}
		return out, nil
	case "utf-8", "utf8":
		if !utf8.Valid(raw) {
			return nil, refuse("响应声明为 UTF-8 但含非法字节（疑为未声明的 GBK 编码），已拒收", nil)
		}
		return raw, nil
	}
	return nil, refuse("不支持的响应字符集 "+charset, nil)
}

// decode parses a JSON body into v, with a Chinese reason when it is not
// JSON or not the documented shape.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return refuse("远端返回的 JSON 格式错误（报文不完整或非 JSON）", err)
		}
		return refuse("远端返回的 JSON 与接口文档不符", err)
	}
	return nil
}
