package crawlershard

// The crawl of one shard. Workers take one host at a time (all of a
// host's URLs are in one shard, so no other shard ever touches it) and
// fetch its URLs one by one, never two at once:
//
//   claim the host (its lease, its robots.txt as stored, its first due
//   URLs → fetching, in one statement) → for each URL: wait for the host's
//   slot → GET without following redirects → decode the charset → parse
//   → hand the results to the shard's committer, which writes the results
//   of every worker waiting on it (pages, links, entities, objects, rows →
//   done) and claims each worker's next URLs in one transaction.
//
// A killed instance leaves only its leased rows behind; they are taken
// over when the lease expires. Done rows are never fetched again; a page
// fetched and not yet committed at the kill is fetched once more.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/temoto/robotstxt"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// UserAgent is what the crawler calls itself, and the robots.txt group it obeys.
const UserAgent = "SmartRegBot"

// ShardOf is the shard of a host: all URLs of one host in one shard.
func ShardOf(host string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(host))
	return int(h.Sum32() % uint32(shards))
}

// Normalize resolves href against base and returns the canonical address:
// lower-case scheme and host, no default port, no fragment, dot segments
// removed, empty path as "/". It refuses what is not http(s).
func Normalize(base *url.URL, href string) (*url.URL, error) {
	u, err := base.Parse(strings.TrimSpace(href))
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("不抓取 %s 地址", u.Scheme)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80") && !(u.Scheme == "https" && p == "443") {
		host = net.JoinHostPort(host, p)
	}
	u.Host = host
	u.Fragment, u.RawFragment, u.User = "", "", nil
	if u.Path == "" {
		u.Path = "/"
	} else {
		trail := strings.HasSuffix(u.Path, "/")
		u.Path = path.Clean(u.Path)
		if trail && u.Path != "/" {
			u.Path += "/"
		}
	}
	u.RawPath = ""
	return u, nil
}

// trap reports why a URL looks like a crawler trap (too long, a path
// segment repeated, too deep), or "".
func trap(u *url.URL) string {
	s := u.String()
	if len(s) > 512 {
		return "地址过长（疑似陷阱）"
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) > 12 {
		return "路径层级过深（疑似陷阱）"
	}
	seen := map[string]int{}
	for _, g := range segs {
		if seen[g]++; g != "" && seen[g] > 2 {
			return "路径段重复（疑似陷阱）"
		}
	}
	return ""
}

// worker crawls one shard of a job until nothing is left to fetch.
type worker struct {
	f      *Function
	job    Job
	shard  int
	owner  string
	commit chan<- commitReq
	buf    bytes.Buffer
}

// CrawlShard crawls one shard to its end (or until ctx ends), with up to
// Config.HostsParallel hosts at a time. When ctx ends, what was fetched
// is still committed and the URLs claimed but not fetched go back to the
// queue, so the next delivery of the shard finds them at once.
func (f *Function) CrawlShard(ctx context.Context, jobID int64, shard int) error {
	job, err := getJob(ctx, f.pool, jobID)
	if err != nil {
		return err
	}
	commits := make(chan commitReq, f.cfg.HostsParallel*f.cfg.ClaimBatch)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		f.committer(context.WithoutCancel(ctx), job, commits)
	}()
	var wg sync.WaitGroup
	errc := make(chan error, f.cfg.HostsParallel)
	for i := 0; i < f.cfg.HostsParallel; i++ {
		// Each worker owns its leases: a host is crawled by one worker.
		w := &worker{f: f, job: job, shard: shard, owner: fmt.Sprintf("%s-%d-%d", f.instance, shard, i), commit: commits}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.loop(ctx); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(commits)
	<-committed
	close(errc)
	return <-errc
}

func (w *worker) loop(ctx context.Context) error {
	for ctx.Err() == nil {
		c, wait, err := claimHost(ctx, w.f.pool, w.job.ID, w.shard, w.owner, w.f.now(), w.f.cfg.Lease, w.f.cfg.ClaimBatch)
		if err != nil {
			return err
		}
		if c.host == "" {
			if wait < 0 {
				return nil // nothing left in the shard for this worker
			}
			if wait == 0 {
				continue
			}
			select {
			case <-ctx.Done():
			case <-time.After(min(wait, time.Second)):
			}
			continue
		}
		if err := w.crawlHost(ctx, c); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// crawlHost fetches the claimed URLs of one host one at a time, commits
// them and goes on with the next claim until the host has nothing due.
func (w *worker) crawlHost(ctx context.Context, c claim) error {
	g, robots := w.group(c)
	delay := time.Duration(w.job.DelayMS) * time.Millisecond
	if g != nil && g.CrawlDelay > delay {
		delay = g.CrawlDelay
	}
	items, renewed := c.items, w.f.now()
	if len(items) == 0 { // its due rows were locked by another claim meanwhile
		return releaseHost(context.WithoutCancel(ctx), w.f.pool, w.job.ID, c.host, w.owner)
	}
	for len(items) > 0 {
		// Each page goes to the committer as soon as it is fetched, so a
		// kill loses little; the last request of the batch claims the next.
		var reps []chan commitReply
		send := func(r commitReq) {
			r.owner, r.host, r.robots, r.rep = w.owner, c.host, robots, make(chan commitReply, 1)
			robots = nil
			reps = append(reps, r.rep)
			w.commit <- r
		}
		last := commitReq{then: claimNext}
		for i, it := range items {
			if ctx.Err() != nil {
				last = commitReq{unclaim: items[i:], then: release}
				break
			}
			// The lease is renewed with each claim; a slow batch renews it
			// on the way, and stops if another instance took the host.
			if now := w.f.now(); now.Sub(renewed) > w.f.cfg.Lease/3 {
				ok, err := renewHost(ctx, w.f.pool, w.job.ID, c.host, w.owner, now, w.f.cfg.Lease)
				if err != nil {
					return err
				}
				if !ok {
					last = commitReq{then: release} // a no-op: the new owner takes the rows over
					break
				}
				renewed = now
			}
			d := w.page(ctx, it, g, delay)
			if i == len(items)-1 {
				last.done = []fetched{d}
				break
			}
			send(commitReq{done: []fetched{d}, then: keep})
		}
		send(last)
		items = nil
		for _, rep := range reps {
			// A commit kept waiting behind others must not let the lease
			// run out: another worker would take the host and fetch again
			// what waits here to be committed.
			for waiting := true; waiting; {
				select {
				case r := <-rep:
					if r.err != nil {
						return r.err
					}
					items, waiting = append(items, r.items...), false
				case <-time.After(w.f.cfg.Lease / 3):
					if _, err := renewHost(context.WithoutCancel(ctx), w.f.pool, w.job.ID, c.host, w.owner, w.f.now(), w.f.cfg.Lease); err != nil {
						return err
					}
				}
			}
		}
		renewed = w.f.now()
	}
	return nil
}

// page fetches one URL after the host's slot, or skips it by robots.txt.
func (w *worker) page(ctx context.Context, it frontierItem, g *robotstxt.Group, delay time.Duration) fetched {
	u, _ := url.Parse(it.URL)
	if g != nil && !g.Test(u.RequestURI()) {
		return fetched{it: it, res: result{state: "skipped", reason: "robots.txt 禁止抓取"}}
	}
	// A request once sent is finished and committed even when the shard's
	// budget ends meanwhile: cut off, it would be sent again.
	fctx := context.WithoutCancel(ctx)
	if delay > 0 {
		// Without a delay the host lease alone keeps one request at a
		// time; with one, the slot in Redis keeps the gap across
		// instances (a lease taken over after a kill included).
		if err := w.f.limiter.wait(ctx, it.Host, delay); err != nil {
			return fetched{it: it, res: w.retry(it, 0, "等待抓取间隔时中断")}
		}
	}
	res := w.fetch(fctx, it, u)
	if delay > 0 {
		if err := w.f.limiter.done(fctx, it.Host, delay); err != nil {
			w.f.log.Warn("crawl: limiter not told of a request", "host", it.Host, "err", err)
		}
	}
	if res.reason != "" {
		w.f.log.Info("crawl: page not taken", "url", it.URL, "reason", res.reason, "status", res.status)
	}
	return fetched{it: it, res: res}
}

// group is the robots.txt group that applies to us on the claimed host:
// the one stored for the job (so a restarted instance does not ask again),
// or fetched now and returned to be stored with the first commit.
func (w *worker) group(c claim) (*robotstxt.Group, *robotsRow) {
	status, body, fresh := c.robotsStatus, c.robotsBody, (*robotsRow)(nil)
	if !c.robotsFound {
		status, body = w.fetchRobots(context.Background(), c.host)
		fresh = &robotsRow{host: c.host, status: status, body: body}
	}
	data, err := robotstxt.FromStatusAndBytes(status, []byte(body))
	if err != nil {
		w.f.log.Info("crawl: robots.txt unreadable, host allowed", "host", c.host, "err", err)
		data, _ = robotstxt.FromStatusAndBytes(404, nil)
	}
	return data.FindGroup(UserAgent), fresh
}

func (w *worker) fetchRobots(ctx context.Context, host string) (int, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/robots.txt", nil)
	req.Header.Set("User-Agent", UserAgent)
	resp, err := w.f.client.Do(req)
	if err != nil {
		return 500, "" // robotstxt: a server error disallows everything, as the spec asks
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512<<10))
	return resp.StatusCode, string(b)
}

// result is what one fetch came to.
type result struct {
	state   string // done, failed, skipped, or queued (retry)
	status  int
	reason  string
	retryIn time.Duration
	page    *page
	links   []link
}

type link struct {
	url  string
	host string
	hops int // redirects behind it
}

type page struct {
	title, text, charset, hash string
	hrefs                      []string
	byClass                    map[string]*html.Node // first element of each class; dropped once extracted
	entity                     *OnlineEntity
	object                     *Object
}

func (w *worker) fetch(ctx context.Context, it frontierItem, u *url.URL) result {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, it.URL, nil)
	req.Header.Set("User-Agent", UserAgent)
	resp, err := w.f.client.Do(req)
	if err != nil {
		return w.retry(it, 0, "网络错误："+err.Error())
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc := resp.Header.Get("Location")
		if it.Hops+1 > w.f.cfg.MaxRedirects {
			return result{state: "failed", status: resp.StatusCode, reason: fmt.Sprintf("重定向超过 %d 次", w.f.cfg.MaxRedirects)}
		}
		n, err := Normalize(u, loc)
		if err != nil || loc == "" {
			return result{state: "failed", status: resp.StatusCode, reason: "重定向地址无效"}
		}
		// The target is queued as a URL of its own, so it waits for its
		// host's slot like any other page.
		return result{state: "done", status: resp.StatusCode, reason: "重定向", links: []link{{url: n.String(), host: n.Host, hops: it.Hops + 1}}}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return w.retry(it, resp.StatusCode, fmt.Sprintf("服务器错误 %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return result{state: "failed", status: resp.StatusCode, reason: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "" && !strings.Contains(ct, "html") && !strings.Contains(ct, "text/plain") {
		return result{state: "skipped", status: 200, reason: "非网页内容：" + ct}
	}
	// The worker's buffer, reused page after page: the parsed page keeps
	// strings of its own.
	w.buf.Reset()
	_, err = w.buf.ReadFrom(io.LimitReader(resp.Body, w.f.cfg.MaxPageBytes+1))
	raw := w.buf.Bytes()
	if w.buf.Cap() > 1<<20 {
		defer func() { w.buf = bytes.Buffer{} }() // not kept after a large page
	}
	if err != nil {
		return w.retry(it, 200, "读取页面失败："+err.Error())
	}
	if int64(len(raw)) > w.f.cfg.MaxPageBytes {
		return result{state: "failed", status: 200, reason: fmt.Sprintf("页面超过 %d 字节上限，未解析", w.f.cfg.MaxPageBytes)}
	}
	p, err := decode(raw, ct)
	if err != nil {
		return result{state: "failed", status: 200, reason: "页面解码失败：" + err.Error()}
	}
	// Extracted here, so the tree is garbage before the page waits for
	// its commit.
	p.entity, p.object = extract(it.Host, it.URL, p.byClass)
	p.byClass = nil
	res := result{state: "done", status: 200, page: p}
	if it.Depth < w.job.MaxDepth {
		for _, href := range p.hrefs {
			n, err := Normalize(u, href)
			if err != nil || !w.job.inScope(n.Hostname()) || trap(n) != "" {
				continue
			}
			res.links = append(res.links, link{url: n.String(), host: n.Host})
		}
	}
	return res
}

func (w *worker) retry(it frontierItem, status int, reason string) result {
	if it.Attempts+1 >= w.f.cfg.MaxAttempts {
		return result{state: "failed", status: status, reason: reason + fmt.Sprintf("（已重试 %d 次）", it.Attempts)}
	}
	return result{state: "queued", status: status, reason: reason, retryIn: w.f.cfg.RetryBase << it.Attempts}
}

// decode turns the bytes into UTF-8 by the charset the header, a BOM or a
// meta tag names (GBK and Big5 pages are common), parses the HTML (the
// parser repairs malformed markup as browsers do) and reads in one walk
// of the tree what the crawl keeps: the title, the text, the links and the
// first element of each class (for the extractors).
func decode(raw []byte, contentType string) (*page, error) {
	enc, name, _ := charset.DetermineEncoding(raw, contentType)
	var r io.Reader = bytes.NewReader(raw)
	if name != "utf-8" {
		r = transform.NewReader(r, enc.NewDecoder())
	}
	doc, err := html.Parse(r)
	if err != nil {
		return nil, err
	}
	p := &page{charset: name, byClass: map[string]*html.Node{}}
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style"):
			return
		case n.Type == html.ElementNode && n.Data == "title" && p.title == "" && n.FirstChild != nil:
			p.title = strings.TrimSpace(n.FirstChild.Data)
			return
		case n.Type == html.TextNode:
			if s := strings.TrimSpace(n.Data); s != "" {
				text.WriteString(s)
				text.WriteByte('\n')
			}
		case n.Type == html.ElementNode:
			for _, a := range n.Attr {
				switch {
				case a.Key == "href" && n.Data == "a":
					p.hrefs = append(p.hrefs, a.Val)
				case a.Key == "class":
					for c := range strings.FieldsSeq(a.Val) {
						if p.byClass[c] == nil {
							p.byClass[c] = n
						}
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	p.text = strings.ToValidUTF8(text.String(), "")
	h := sha256.New()
	io.WriteString(h, p.title)
	h.Write([]byte{0})
	io.WriteString(h, p.text)
	p.hash = hex.EncodeToString(h.Sum(nil))
	return p, nil
}

// errNoJob is returned for an unknown job.
var errNoJob = errors.New("crawl job not found")
