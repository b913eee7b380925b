// Package sitefarm is the test world of the crawler (issue 15): one
// loopback server that answers as thousands of hosts, told apart by the
// Host header. Most hosts are online shops (an index page with the shop's
// name, credit code and licence line, product pages with prices and
// claims, some holding planted violations); a few are the hazards a real
// crawl meets: a calendar trap, a slow host, a host that answers 503
// before it recovers, GBK and Big5 pages, malformed HTML, a 50 MB page and
// an endless redirect. Every host serves robots.txt with a Crawl-delay and
// a Disallow line.
//
// The farm counts requests per URL and logs each host's request times, so
// a test can prove that every page was fetched exactly once and that
// robots.txt and Crawl-delay were never violated (Violations).
//
// Only the standard library and golang.org/x/text (to encode the GBK and
// Big5 pages), so function tests can use it without the tests module.
package sitefarm

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// Domain is the suffix of every host of the farm.
const Domain = "farm.test"

// Special hosts, each one hazard.
const (
	HostTrap   = "trap." + Domain   // /cal/YYYY-MM links to the next month forever
	HostSlow   = "slow." + Domain   // answers after Farm.SlowLatency
	HostFlaky  = "flaky." + Domain  // 503 on the first Farm.FlakyFailures requests of each page
	HostGBK    = "gbk." + Domain    // GBK pages, charset in a meta tag only
	HostBig5   = "big5." + Domain   // Big5 pages, charset in the Content-Type header
	HostBroken = "broken." + Domain // malformed HTML
	HostHuge   = "huge." + Domain   // /big is HugeSize bytes
	HostLoop   = "loop." + Domain   // /r/N redirects to /r/N+1 forever
)

// HugeSize is the size of the huge page.
const HugeSize = 50 << 20

// ProductsPerShop is how many product pages a shop has.
const ProductsPerShop = 3

// Farm is the simulator; use New.
type Farm struct {
	// Shops is the number of shop hosts s0.farm.test … s{Shops-1}.farm.test.
	Shops int
	// CrawlDelay is the Crawl-delay every robots.txt announces.
	CrawlDelay time.Duration
	// SlowLatency delays every answer of the slow host.
	SlowLatency time.Duration
	// FlakyFailures is how often each page of the flaky host fails first.
	FlakyFailures int

	mu    sync.Mutex
	hits  map[string]int         // host+path?query → requests
	times map[string][]time.Time // host → request arrival times (robots.txt excluded)
	bad   []string               // robots.txt disallowed paths fetched
}

// New returns a farm of n shops with a Crawl-delay of delay.
func New(n int, delay time.Duration) *Farm {
	return &Farm{Shops: n, CrawlDelay: delay, SlowLatency: 300 * time.Millisecond, FlakyFailures: 2,
		hits: map[string]int{}, times: map[string][]time.Time{}}
}

// ShopHost is the host name of shop i.
func ShopHost(i int) string { return fmt.Sprintf("s%d.%s", i, Domain) }

// SpecialHosts are the hazard hosts.
func SpecialHosts() []string {
	return []string{HostTrap, HostSlow, HostFlaky, HostGBK, HostBig5, HostBroken, HostHuge, HostLoop}
}

// Seeds are the start addresses of a crawl of the whole farm.
func (f *Farm) Seeds(withHazards bool) []string {
	var s []string
	for i := 0; i < f.Shops; i++ {
		s = append(s, "http://"+ShopHost(i)+"/")
	}
	if withHazards {
		for _, h := range SpecialHosts() {
			s = append(s, "http://"+h+"/")
		}
	}
	return s
}

// ShopPages are the pages a polite crawl of depth ≥ 1 fetches from shop i
// (robots.txt aside): the index and its products.
func ShopPages(i int) []string {
	h := "http://" + ShopHost(i)
	p := []string{h + "/"}
	for k := 1; k <= ProductsPerShop; k++ {
		p = append(p, fmt.Sprintf("%s/p/%d", h, k))
	}
	return p
}

// Hits reports how often a URL (http://host/path?query) was requested.
func (f *Farm) Hits(url string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[strings.TrimPrefix(url, "http://")]
}

// AllHits is a copy of every URL's request count.
func (f *Farm) AllHits() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int, len(f.hits))
	for k, v := range f.hits {
		m["http://"+k] = v
	}
	return m
}

// Requests is the number of requests served (robots.txt included).
func (f *Farm) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.hits {
		n += v
	}
	return n
}

// Violations lists every breach of politeness seen: a disallowed path
// fetched, or two requests to one host closer than the Crawl-delay less
// slack (the time between a request's arrival and the crawler's clock).
func (f *Farm) Violations(slack time.Duration) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string(nil), f.bad...)
	for h, ts := range f.times {
		s := append([]time.Time(nil), ts...)
		sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
		for i := 1; i < len(s); i++ {
			if gap := s[i].Sub(s[i-1]); gap < f.CrawlDelay-slack {
				out = append(out, fmt.Sprintf("%s: two requests %v apart (Crawl-delay %v)", h, gap, f.CrawlDelay))
			}
		}
	}
	sort.Strings(out)
	return out
}

func (f *Farm) record(host, uri string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := host + uri
	f.hits[k]++
	if !strings.HasPrefix(uri, "/robots.txt") {
		f.times[host] = append(f.times[host], time.Now())
	}
	if strings.HasPrefix(uri, "/private/") {
		f.bad = append(f.bad, "disallowed path fetched: "+k)
	}
	return f.hits[k]
}

// ServeHTTP answers as the host named in the request.
func (f *Farm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	n := f.record(host, r.URL.RequestURI())
	if r.URL.Path == "/robots.txt" {
		fmt.Fprintf(w, "User-agent: *\nDisallow: /private/\nCrawl-delay: %s\n", strconv.FormatFloat(f.CrawlDelay.Seconds(), 'f', -1, 64))
		return
	}
	switch host {
	case HostTrap:
		f.trap(w, r)
	case HostSlow:
		time.Sleep(f.SlowLatency)
		page(w, "慢速站点", `<p>本站响应缓慢。</p><a href="/about">关于</a>`)
	case HostFlaky:
		if n <= f.FlakyFailures {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		page(w, "偶发故障站点", `<p>恢复正常。</p>`)
	case HostGBK:
		encoded(w, simplifiedchinese.GBK, "", `<meta http-equiv="Content-Type" content="text/html; charset=gbk">`,
			"国标编码商店", `<p>本店商品全国最低价，统一社会信用代码：`+CreditCode(9000)+`</p>`)
	case HostBig5:
		encoded(w, traditionalchinese.Big5, "text/html; charset=big5", "", "繁體商店", `<p>本店產品品質優良</p>`)
	case HostBroken:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<html><head><title>残缺页面<body><div><p>未闭合的标签<a href="/x">链接<table><tr><td>单元格</div></span></html`)
	case HostHuge:
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			chunk := []byte(strings.Repeat("<p>填充内容填充内容</p>\n", 1024))
			for sent := 0; sent < HugeSize; sent += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		}
		page(w, "超大页面", `<a href="/big">超大页面</a>`)
	case HostLoop:
		k := 0
		if strings.HasPrefix(r.URL.Path, "/r/") {
			k, _ = strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
		}
		http.Redirect(w, r, fmt.Sprintf("/r/%d", k+1), http.StatusFound)
	default:
		f.shop(w, r, host)
	}
}

func (f *Farm) trap(w http.ResponseWriter, r *http.Request) {
	y, m := 2026, 1
	if s, ok := strings.CutPrefix(r.URL.Path, "/cal/"); ok {
		fmt.Sscanf(s, "%d-%d", &y, &m)
	}
	m++
	if m > 12 {
		y, m = y+1, 1
	}
	page(w, "活动日历", fmt.Sprintf(`<a href="/cal/%04d-%02d">下个月</a> <a href="/cal/%04d-%02d?sid=%d">下个月（会话）</a>`, y, m, y, m, time.Now().UnixNano()))
}

func (f *Farm) shop(w http.ResponseWriter, r *http.Request, host string) {
	var i int
	if _, err := fmt.Sscanf(host, "s%d."+Domain, &i); err != nil || i < 0 || i >= f.Shops || host != ShopHost(i) {
		http.NotFound(w, r)
		return
	}
	switch {
	case r.URL.Path == "/" || r.URL.Path == "/index.html":
		var b strings.Builder
		fmt.Fprintf(&b, `<div class="shop" data-platform="%s"><h1 class="shop-name">%s</h1>`, Platform(i), ShopName(i))
		fmt.Fprintf(&b, `<p class="credit-code">统一社会信用代码：%s</p>`, CreditCode(i))
		if HasLicence(i) {
			fmt.Fprintf(&b, `<p class="licence">营业执照：已公示 <a href="/licence">查看</a></p>`)
		}
		fmt.Fprintf(&b, `<p class="district">所在地区：%s</p><ul>`, District(i))
		for k := 1; k <= ProductsPerShop; k++ {
			// Links in several spellings of one address, as real shops write them.
			href := fmt.Sprintf("/p/%d", k)
			switch k % 3 {
			case 1:
				href = fmt.Sprintf("http://%s:80/p/%d#top", strings.ToUpper(host), k)
			case 2:
				href = fmt.Sprintf("./p/../p/%d", k)
			}
			fmt.Fprintf(&b, `<li><a href="%s">商品 %d</a> <a href="/p/%d">同一商品</a></li>`, href, k, k)
		}
		b.WriteString(`</ul><a href="/private/admin">后台</a><a href="mailto:x@farm.test">邮件</a></div>`)
		page(w, ShopName(i), b.String())
	case strings.HasPrefix(r.URL.Path, "/p/"):
		k, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || k < 1 || k > ProductsPerShop {
			http.NotFound(w, r)
			return
		}
		t := Product(i, k)
		page(w, t.Name, fmt.Sprintf(`<div class="product"><h1 class="product-name">%s</h1><span class="price">¥%.2f</span><div class="desc">%s</div><a href="/">返回店铺</a></div>`,
			t.Name, t.Price, t.Text))
	case r.URL.Path == "/licence":
		page(w, "营业执照", `<p>营业执照信息</p>`)
	default:
		http.NotFound(w, r)
	}
}

func page(w http.ResponseWriter, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body>%s</body></html>", title, body)
}

func encoded(w http.ResponseWriter, enc encoding.Encoding, ctype, meta, title, body string) {
	if ctype == "" {
		ctype = "text/html"
	}
	w.Header().Set("Content-Type", ctype)
	s := fmt.Sprintf("<html><head>%s<title>%s</title></head><body>%s</body></html>", meta, title, body)
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Write(b)
}

// ProductPage is what a product page shows.
type ProductPage struct {
	Name    string
	Price   float64
	Text    string
	Planted string // the violation planted in Text, "" when clean
}

var products = []ProductPage{
	{Name: "纯棉T恤", Text: "精选新疆长绒棉，透气舒适。"},
	{Name: "有机绿茶", Text: "国家级最佳茶叶，全网销量第一。", Planted: "absolute"},
	{Name: "保健胶囊", Text: "坚持服用可治疗高血压，根治糖尿病。", Planted: "medical"},
	{Name: "电热水壶", Text: "本店最低价，仅限今日（本店与自己此前价格相比）。"},
	{Name: "象牙雕件", Text: "天然象牙手工雕刻摆件。", Planted: "wildlife"},
	{Name: "长江野生刀鱼", Text: "长江野生刀鱼，当日捕捞。", Planted: "yangtze"},
	{Name: "医用口罩", Text: "一次性医用外科口罩，现货。"},
	{Name: "儿童积木", Text: "环保材质，适合三岁以上儿童。"},
}

// Product is product k of shop i.
func Product(i, k int) ProductPage {
	p := products[(i*ProductsPerShop+k)%len(products)]
	p.Price = float64(9+(i*7+k*13)%200) + 0.9
	return p
}

// Platform is the platform type shop i is on.
func Platform(i int) string {
	return []string{"网站", "网店", "外卖平台店铺", "小程序"}[i%4]
}

// ShopName is shop i's name.
func ShopName(i int) string { return fmt.Sprintf("石家庄市第%d号商贸有限公司", i) }

// District is shop i's district.
func District(i int) string { return []string{"长安区", "桥西区", "新华区", "裕华区"}[i%4] }

// HasLicence tells whether shop i shows its licence (E-Commerce Law art. 15).
func HasLicence(i int) bool { return i%5 != 0 }

// CreditCode is a valid unified social credit code (GB 32100) for shop i.
func CreditCode(i int) string {
	org := fmt.Sprintf("%08d", 10000000+i)
	o := orgCheck(org)
	first := "91130102" + org + string(o)
	return first + string(creditCheck(first))
}

const creditChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

func creditCheck(s string) byte {
	w := 1
	sum := 0
	ws := make([]int, 17)
	for i := range ws {
		ws[i] = w
		w = w * 3 % 31
	}
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(creditChars, s[i]) * ws[i]
	}
	return creditChars[(31-sum%31)%31]
}

func orgCheck(s string) byte {
	ws := []int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 8; i++ {
		c := s[i]
		v := int(c - '0')
		if c >= 'A' {
			v = int(c-'A') + 10
		}
		sum += v * ws[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}
