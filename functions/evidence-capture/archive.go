package evidencecapture

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
)

// exchange is one request and its response as the browser saw them,
// read through the DevTools Fetch domain at the response stage.
type exchange struct {
	started, answered time.Time
	method, url       string
	reqHeaders        map[string]string
	postData          []byte
	status            int64
	statusText        string
	respHeaders       []*fetch.HeaderEntry
	body              []byte
	resourceType      string
}

// recorder holds every response the page received while it is paused in
// the Fetch domain: the body is read, then the response continues, so the
// archive holds exactly what the page got.
type recorder struct {
	mu       sync.Mutex
	sent     map[network.RequestID]time.Time
	done     []*exchange
	inflight int
	last     time.Time // when the last response was let through
	now      func() time.Time

	block     func(ctx context.Context, url string) bool // SSRF filter of each request
	forbidden func(addr string) bool                     // an address no response may come from
	blocked   []string                                   // requests refused by block
	reached   bool                                       // a response came from a forbidden address
}

func newRecorder(now func() time.Time, block func(context.Context, string) bool, forbidden func(string) bool) *recorder {
	return &recorder{sent: map[network.RequestID]time.Time{}, now: now, last: now(), block: block, forbidden: forbidden}
}

func (r *recorder) blockedURLs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.blocked)
}

// merge takes another tab's refusals (its exchanges are not archived).
func (r *recorder) merge(o *recorder) {
	blocked, reached := o.blockedURLs(), o.reachedForbidden()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blocked = append(r.blocked, blocked...)
	r.reached = r.reached || reached
}

// reachedForbidden reports a response from a forbidden address: a name
// that the browser resolved differently than the filter did.
func (r *recorder) reachedForbidden() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reached
}

// start intercepts every response of the tab's page.
func (r *recorder) start(tab context.Context) error {
	var t *chromedp.Target // set below: Listen opens the tab's target first
	if err := chromedp.Listen(tab, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			r.mu.Lock()
			r.sent[e.RequestID] = r.now()
			r.mu.Unlock()
		case *network.EventResponseReceived:
			if e.Response != nil && e.Response.RemoteIPAddress != "" && r.forbidden(e.Response.RemoteIPAddress) {
				r.mu.Lock()
				r.reached = true
				r.mu.Unlock()
			}
		case *fetch.EventRequestPaused:
			r.mu.Lock()
			r.inflight++
			r.mu.Unlock()
			// The listener must not call the browser: the request is
			// filtered, or the body read and the response released, on a
			// goroutine of its own.
			if e.ResponseStatusCode == 0 && e.ResponseErrorReason == "" && e.ResponseHeaders == nil {
				go r.request(tab, t, e)
			} else {
				go r.paused(tab, t, e)
			}
		}
	}); err != nil {
		return err
	}
	t = chromedp.FromContext(tab).Target
	_, err := cdp.Call(tab, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*", RequestStage: fetch.RequestStageRequest}, {URLPattern: "*", RequestStage: fetch.RequestStageResponse}}})
	return err
}

// request filters a request before it leaves the browser.
func (r *recorder) request(ctx context.Context, t *chromedp.Target, e *fetch.EventRequestPaused) {
	defer func() {
		r.mu.Lock()
		r.inflight--
		r.last = r.now()
		r.mu.Unlock()
	}()
	if e.Request != nil && r.block(ctx, e.Request.URL) {
		r.mu.Lock()
		r.blocked = append(r.blocked, e.Request.URL)
		r.mu.Unlock()
		cdp.Call(ctx, t, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		return
	}
	cdp.Call(ctx, t, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
}

func (r *recorder) paused(ctx context.Context, t *chromedp.Target, e *fetch.EventRequestPaused) {
	x := &exchange{answered: r.now(), status: e.ResponseStatusCode, statusText: e.ResponseStatusText,
		respHeaders: e.ResponseHeaders, resourceType: string(e.ResourceType)}
	if e.Request != nil {
		x.method, x.url = e.Request.Method, e.Request.URL
		if e.Request.URLFragment != "" {
			x.url += e.Request.URLFragment
		}
		x.reqHeaders = map[string]string{}
		for k, v := range e.Request.Headers {
			x.reqHeaders[k] = fmt.Sprint(v)
		}
		for _, p := range e.Request.PostDataEntries {
			x.postData = append(x.postData, p.Bytes...)
		}
	}
	// A redirect or an error response may have no body to read.
	if e.ResponseErrorReason == "" && (e.ResponseStatusCode < 300 || e.ResponseStatusCode >= 400) {
		if b, err := cdp.Call(ctx, t, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: e.RequestID}); err == nil {
			x.body = b.Body
		}
	}
	cdp.Call(ctx, t, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
	r.mu.Lock()
	defer r.mu.Unlock()
	x.started = x.answered
	if s, ok := r.sent[e.NetworkID]; ok {
		x.started = s
	}
	if e.ResponseErrorReason == "" {
		r.done = append(r.done, x)
	}
	r.inflight--
	r.last = r.now()
}

// quiet waits until no response has been pending for idle, or max passed:
// the lazy resources a scroll asked for have arrived.
func (r *recorder) quiet(ctx context.Context, idle, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		ok := r.inflight == 0 && r.now().Sub(r.last) >= idle
		r.mu.Unlock()
		if ok || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (r *recorder) exchanges() []*exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.done)
	slices.SortStableFunc(out, func(a, b *exchange) int { return a.started.Compare(b.started) })
	return out
}

// hopHeaders describe the transfer, not the body the browser handed us
// (already decoded, whole): they are kept under an X-Archive-Orig- name so
// the stored message is consistent and the original is still visible.
var hopHeaders = map[string]bool{"content-encoding": true, "transfer-encoding": true, "content-length": true}

func (x *exchange) requestMessage() []byte {
	var b bytes.Buffer
	u, _ := url.Parse(x.url)
	target := "/"
	if u != nil {
		target = u.RequestURI()
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", x.method, target)
	if u != nil {
		fmt.Fprintf(&b, "Host: %s\r\n", u.Host)
	}
	for _, k := range sortedKeys(x.reqHeaders) {
		if !strings.EqualFold(k, "host") {
			fmt.Fprintf(&b, "%s: %s\r\n", k, oneLine(x.reqHeaders[k]))
		}
	}
	b.WriteString("\r\n")
	b.Write(x.postData)
	return b.Bytes()
}

func (x *exchange) responseMessage() []byte {
	var b bytes.Buffer
	text := x.statusText
	if text == "" {
		text = http.StatusText(int(x.status))
	}
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", x.status, text)
	for _, h := range x.respHeaders {
		name := h.Name
		if hopHeaders[strings.ToLower(name)] {
			name = "X-Archive-Orig-" + name
		}
		// Several values of one header reach us joined by newlines.
		for _, v := range strings.Split(h.Value, "\n") {
			fmt.Fprintf(&b, "%s: %s\r\n", name, oneLine(v))
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(x.body))
	b.Write(x.body)
	return b.Bytes()
}

func (x *exchange) header(name string) string {
	for _, h := range x.respHeaders {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// writeWARC writes a WARC 1.1 file (ISO 28500): a warcinfo record, then a
// request and a response record for every exchange.
func writeWARC(xs []*exchange, at time.Time, software string) []byte {
	var b bytes.Buffer
	record := func(typ, target, contentType string, at time.Time, extra [][2]string, block []byte) string {
		id := "<urn:uuid:" + uuid.NewString() + ">"
		b.WriteString("WARC/1.1\r\n")
		fmt.Fprintf(&b, "WARC-Type: %s\r\nWARC-Record-ID: %s\r\nWARC-Date: %s\r\n", typ, id, at.UTC().Format("2006-01-02T15:04:05.000000Z"))
		if target != "" {
			fmt.Fprintf(&b, "WARC-Target-URI: %s\r\n", target)
		}
		for _, h := range extra {
			fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
		}
		fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n\r\n", contentType, len(block))
		b.Write(block)
		b.WriteString("\r\n\r\n")
		return id
	}
	info := fmt.Sprintf("software: %s\r\nformat: WARC File Format 1.1\r\nconformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n"+
		"description: responses read through the DevTools Fetch domain; bodies as the page received them (decoded), original transfer headers kept as X-Archive-Orig-*\r\n", software)
	record("warcinfo", "", "application/warc-fields", at, nil, []byte(info))
	for _, x := range xs {
		rid := record("response", x.url, "application/http;msgtype=response", x.answered, nil, x.responseMessage())
		record("request", x.url, "application/http;msgtype=request", x.started, [][2]string{{"WARC-Concurrent-To", rid}}, x.requestMessage())
	}
	return b.Bytes()
}

// writeHAR writes a HAR 1.2 log of the exchanges, bodies inline.
func writeHAR(xs []*exchange, page, title string, started time.Time, browser, version string) []byte {
	type nv struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	entries := []map[string]any{}
	for _, x := range xs {
		var reqH, respH, query []nv
		for _, k := range sortedKeys(x.reqHeaders) {
			reqH = append(reqH, nv{k, x.reqHeaders[k]})
		}
		for _, h := range x.respHeaders {
			respH = append(respH, nv{h.Name, h.Value})
		}
		if u, err := url.Parse(x.url); err == nil {
			for k, vs := range u.Query() {
				for _, v := range vs {
					query = append(query, nv{k, v})
				}
			}
		}
		content := map[string]any{"size": len(x.body), "mimeType": x.header("Content-Type")}
		if len(x.body) > 0 {
			content["text"], content["encoding"] = base64.StdEncoding.EncodeToString(x.body), "base64"
		}
		wait := float64(x.answered.Sub(x.started).Microseconds()) / 1000
		entries = append(entries, map[string]any{
			"pageref": "page_1", "startedDateTime": x.started.UTC().Format(time.RFC3339Nano), "time": wait,
			"request": map[string]any{"method": x.method, "url": x.url, "httpVersion": "HTTP/1.1", "cookies": []nv{},
				"headers": nonNil(reqH), "queryString": nonNil(query), "headersSize": -1, "bodySize": len(x.postData)},
			"response": map[string]any{"status": x.status, "statusText": x.statusText, "httpVersion": "HTTP/1.1", "cookies": []nv{},
				"headers": nonNil(respH), "content": content, "redirectURL": x.header("Location"), "headersSize": -1, "bodySize": len(x.body)},
			"cache":         map[string]any{},
			"timings":       map[string]any{"send": 0, "wait": wait, "receive": 0},
			"_resourceType": x.resourceType,
		})
	}
	har := map[string]any{"log": map[string]any{
		"version": "1.2", "creator": map[string]string{"name": "SmartReg evidence-capture", "version": "1"},
		"browser": map[string]string{"name": browser, "version": version},
		"pages": []map[string]any{{"id": "page_1", "title": title, "startedDateTime": started.UTC().Format(time.RFC3339Nano),
			"pageTimings": map[string]any{}, "_url": page}},
		"entries": entries,
	}}
	out, _ := json.MarshalIndent(har, "", " ")
	return append(out, '\n')
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
