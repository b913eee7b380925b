package policymatch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTPFetcher fetches pages over HTTP(S) for the address import, like a
// browser would: it follows redirects, sends a User-Agent, accepts only
// 200 answers and reads at most MaxDocumentBytes. A 429 or 503 with
// Retry-After (the government sites' firewalls answer bursts so) is
// retried once after the wait.
type HTTPFetcher struct {
	Client *http.Client
}

// NewHTTPFetcher returns a fetcher with its own client.
func NewHTTPFetcher() *HTTPFetcher {
	return &HTTPFetcher{Client: &http.Client{Timeout: 30 * time.Second}}
}

// Fetch returns the body and content type of url.
func (h *HTTPFetcher) Fetch(ctx context.Context, url string) ([]byte, string, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, "", err
		}
		req.Header.Set("User-Agent", "SmartReg-PolicyImport/1.0 (+石家庄市市场监督管理局)")
		req.Header.Set("Accept", "text/html,application/pdf,text/markdown;q=0.9,*/*;q=0.5")
		res, err := h.Client.Do(req)
		if err != nil {
			return nil, "", fmt.Errorf("网络错误：%w", err)
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, MaxDocumentBytes+1))
		res.Body.Close()
		if (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable) && attempt == 0 {
			wait := time.Second
			if d, err := time.ParseDuration(res.Header.Get("Retry-After") + "s"); err == nil && d > 0 && d <= 10*time.Second {
				wait = d
			}
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				return nil, "", ctx.Err()
			}
		}
		if res.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("对方网站返回 HTTP %d", res.StatusCode)
		}
		if err != nil {
			return nil, "", fmt.Errorf("读取失败：%w", err)
		}
		if len(body) > MaxDocumentBytes {
			return nil, "", fmt.Errorf("页面超过 20MB")
		}
		return body, res.Header.Get("Content-Type"), nil
	}
}
