// Package bureau simulates the pages an activity is imported from (FP-76):
// a notice on the bureau's government website (the CMS layout with
// navigation, an info line and a #zoom content block) and an article of
// its WeChat official account (mp.weixin.qq.com layout: #activity-name,
// #js_name, #js_content with lazy images in data-src). Images are real
// PNGs. It answers 404 for unknown pages, can be told to fail, and adds
// latency when asked, as real sites do.
package bureau

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Page is one article the simulator serves.
type Page struct {
	Path  string // "news/315.html" (government site) or "s/AbC" (WeChat)
	Title string
	Date  string
	// Lines are the article's paragraphs; "[img:NAME]" places an image.
	Lines  []string
	WeChat bool
}

// Simulator is an http.Handler; mount it under any prefix.
type Simulator struct {
	Latency time.Duration

	mu       sync.Mutex
	pages    map[string]Page
	failNext int
	hits     map[string]int
}

// New returns a simulator serving the default pages (Pages).
func New() *Simulator {
	s := &Simulator{pages: map[string]Page{}, hits: map[string]int{}}
	for _, p := range Pages() {
		s.pages[p.Path] = p
	}
	return s
}

// Add serves another page.
func (s *Simulator) Add(p Page) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[p.Path] = p
}

// FailNext makes the next n requests answer 502.
func (s *Simulator) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Hits counts requests per path.
func (s *Simulator) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// Pages are the default articles: a consumer-rights day event on the
// website and a food-safety open day on the official account.
func Pages() []Page {
	return []Page{
		{Path: "news/315.html", Title: "关于举办2026年“3·15”国际消费者权益日主题宣传活动的通知", Date: "2026-03-01", Lines: []string{
			"各县（市、区）市场监督管理局，各有关单位：",
			"为营造安全放心的消费环境，市局定于3月15日举办主题宣传活动，现将有关事项通知如下。",
			"活动主题：共筑满意消费 守护美好生活",
			"活动时间：2026年3月15日 09:00—11:30",
			"活动地点：石家庄市长安区人民广场",
			"主办单位：石家庄市市场监督管理局",
			"报名方式：请于3月12日前通过本页面或“石家庄市场监管”小程序报名，名额80人，额满为止。",
			"活动内容：现场咨询、投诉受理、商品质量检测体验、消费维权知识问答。",
			"[img:poster]",
			"[img:site]",
			"联系人：张科长，联系电话：0311-00000000（示例）",
		}},
		{Path: "s/FoodOpenDay", WeChat: true, Title: "食品安全开放日 | 走进中央厨房，看看你的午餐怎么做", Date: "2026-05-20", Lines: []string{
			"为提升公众食品安全意识，我局组织“食品安全开放日”活动，邀请市民走进学校中央厨房。",
			"活动时间：2026年6月6日 14:00-16:30",
			"活动地点：石家庄市裕华区某中央厨房（具体地址报名成功后短信通知）",
			"主办单位：石家庄市市场监督管理局食品安全协调处",
			"参与方式：在小程序“活动报名”中填写姓名、手机号，限额30人。",
			"[img:kitchen]",
			"欢迎广大市民朋友参加！",
		}},
	}
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	// Mounted under a prefix: the page path is what follows "news/", "s/" or "img/".
	for _, k := range []string{"news/", "s/", "img/"} {
		if i := strings.Index(path, k); i >= 0 {
			path = path[i:]
			break
		}
	}
	s.mu.Lock()
	s.hits[path]++
	fail := s.failNext > 0
	if fail {
		s.failNext--
	}
	p, ok := s.pages[path]
	s.mu.Unlock()
	if fail {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	if name, isImg := strings.CutPrefix(path, "img/"); isImg {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(picture(strings.TrimSuffix(name, ".png")))
		return
	}
	if !ok {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html><body><h1>404 页面不存在</h1></body></html>"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if p.WeChat {
		_, _ = w.Write([]byte(wechatPage(p)))
		return
	}
	_, _ = w.Write([]byte(sitePage(p)))
}

func body(p Page, img func(name string) string) string {
	var b strings.Builder
	for _, l := range p.Lines {
		if name, ok := strings.CutPrefix(l, "[img:"); ok {
			b.WriteString(img(strings.TrimSuffix(name, "]")))
			continue
		}
		fmt.Fprintf(&b, "<p style=\"text-indent:2em\">%s</p>\n", l)
	}
	return b.String()
}

func sitePage(p Page) string {
	return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>` + p.Title + `_石家庄市市场监督管理局</title>
<meta name="ArticleTitle" content="` + p.Title + `"><meta name="PubDate" content="` + p.Date + `"></head><body>
<div class="top"><a href="/">首页</a> <a href="#">机构概况</a> <a href="#">政务公开</a> <a href="#">通知公告</a> <a href="#">互动交流</a></div>
<div class="location">当前位置：首页 &gt; 政务公开 &gt; 通知公告</div>
<div class="side"><ul><li><a href="#">领导信息</a></li><li><a href="#">机构职能</a></li><li><a href="#">政策文件</a></li></ul></div>
<div class="article"><h1>` + p.Title + `</h1>
<div class="info">发布时间：` + p.Date + `　来源：石家庄市市场监督管理局　浏览次数：1024</div>
<div class="content" id="zoom">
` + body(p, func(n string) string {
		return `<p style="text-align:center"><img src="../img/` + n + `.png" alt="` + n + `" width="600"></p>`
	}) + `</div><div class="share">分享到：微信 微博</div></div>
<div class="footer">主办：石家庄市市场监督管理局　网站标识码：1301000000　冀ICP备00000000号</div></body></html>`
}

func wechatPage(p Page) string {
	return `<!DOCTYPE html><html><head><meta charset="utf-8"><meta property="og:title" content="` + p.Title + `">
<meta property="og:site_name" content="微信公众平台"><title>` + p.Title + `</title></head><body id="activity-detail" class="zh_CN">
<div id="js_article" class="rich_media"><div class="rich_media_inner">
<h1 class="rich_media_title" id="activity-name">` + p.Title + `</h1>
<div id="meta_content" class="rich_media_meta_list"><span class="rich_media_meta rich_media_meta_nickname" id="profileBt"><a id="js_name">石家庄市场监管</a></span>
<em id="publish_time" class="rich_media_meta rich_media_meta_text">` + p.Date + `</em></div>
<div class="rich_media_content js_underline_content" id="js_content" style="visibility: hidden;"><section>
` + body(p, func(n string) string {
		return `<section style="text-align:center"><img class="rich_pages wxw-img" data-src="../img/` + n + `.png?wx_fmt=png" data-type="png" style="width:100%"></section>`
	}) + `</section></div>
<div id="js_tags" class="article-tag__list">阅读原文</div></div></div>
<script>var ct = "1747700000"; var msg_title = "` + p.Title + `";</script></body></html>`
}

// picture is a small PNG, different for each name.
func picture(name string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	var h byte
	for _, c := range name {
		h = h*31 + byte(c)
	}
	for y := range 40 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{R: h, G: byte(x * 4), B: byte(y * 6), A: 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
