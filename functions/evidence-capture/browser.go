package evidencecapture

import (
	"context"
	"fmt"
	"sync"

	"github.com/chromedp/chromedp"
)

// chromium is one headless Chromium kept warm between captures. Starting
// the browser was most of a capture's time (about 6 of 6.7 s on the shared
// 2-core machine); every capture still gets its own browser context (an
// incognito profile: no cookies, cache or storage of an earlier capture),
// so reuse shares nothing a page could see.
type chromium struct {
	path string

	mu     sync.Mutex
	ctx    context.Context // the browser's chromedp context; nil until first use
	cancel context.CancelFunc
}

// tab opens a new tab in a fresh browser context, starting the browser on
// first use or after it died. The tab closes, and its browser context is
// disposed, when ctx ends or the returned cancel is called.
func (c *chromium) tab(ctx context.Context) (context.Context, context.CancelFunc, error) {
	for attempt := 0; ; attempt++ {
		bctx, err := c.browser()
		if err != nil {
			return nil, nil, err
		}
		tctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		stop := context.AfterFunc(ctx, cancel)
		if err := chromedp.Do(tctx); err != nil { // opens the target, without the page's timeout
			stop()
			cancel()
			if attempt == 0 && ctx.Err() == nil {
				c.reset(bctx) // the browser may have crashed: start a new one once
				continue
			}
			return nil, nil, fmt.Errorf("open a Chromium tab: %w", err)
		}
		return tctx, func() { stop(); cancel() }, nil
	}
}

func (c *chromium) browser() (context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil && c.ctx.Err() == nil {
		return c.ctx, nil
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(c.path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1366, 900))...)
	bctx, cancelB := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		cancelB()
		cancelA()
		return nil, fmt.Errorf("start Chromium: %w", err)
	}
	c.ctx, c.cancel = bctx, func() { cancelB(); cancelA() }
	return bctx, nil
}

// reset closes the browser if it is still the one that failed.
func (c *chromium) reset(failed context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == failed && c.cancel != nil {
		c.cancel()
		c.ctx, c.cancel = nil, nil
	}
}

// close ends the browser process.
func (c *chromium) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
		c.ctx, c.cancel = nil, nil
	}
}
