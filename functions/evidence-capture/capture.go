package evidencecapture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/netguard"
)

// CaptureInput is what an inspector asks to capture (FP-90 一键取证).
type CaptureInput struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	Case  string `json:"case"`  // 案件编号或名称, for the extraction record
	Place string `json:"place"` // 提取地点 (default: the capture host)

	operator string         // the signed-in caller's name, from the token
	actor    auditlog.Actor // who, from where, for the operation log
}

// checkTarget refuses what capture must never fetch: anything but http(s),
// and, unless the configuration allows it (tests with a local page),
// addresses on loopback, private, link-local or unspecified ranges (SSRF).
// It returns the DNS answers, recorded in the metadata.
func (f *Function) checkTarget(ctx context.Context, raw string) (*url.URL, []string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" {
		return nil, nil, errs.Fields([]errs.FieldError{{Field: "url", Message: "网址格式错误"}})
	}
	switch u.Scheme {
	case "http", "https":
	case "file":
		return nil, nil, errs.Fields([]errs.FieldError{{Field: "url", Message: "不能对本机文件（file://）取证"}})
	default:
		return nil, nil, errs.Fields([]errs.FieldError{{Field: "url", Message: "只能对 http:// 或 https:// 网页取证"}})
	}
	host := u.Hostname()
	if host == "" {
		return nil, nil, errs.Fields([]errs.FieldError{{Field: "url", Message: "网址格式错误"}})
	}
	addrs, err := resolve(ctx, host)
	if err != nil {
		return nil, nil, errs.Fields([]errs.FieldError{{Field: "url", Message: "无法解析网址的域名: " + host}})
	}
	for _, a := range addrs {
		if f.forbidden(a) {
			return nil, nil, errs.Fields([]errs.FieldError{{Field: "url", Message: "不能对内部网络地址取证: " + a}})
		}
	}
	return u, addrs, nil
}

// Capture loads the page in headless Chromium and seals what it saw: a
// full-page screenshot, the MHTML snapshot, a PDF print, a WARC and a HAR
// of every response, a video of the session, a mobile rendering, and the
// metadata (time, DNS answers, server IP, TLS, browser version, capture
// host), with the extraction record listing them all.
func (f *Function) Capture(ctx context.Context, by string, in CaptureInput) (Bundle, error) {
	title := strings.TrimSpace(in.Title)
	if title == "" {
		title = "网页取证 " + strings.TrimSpace(in.URL)
	}
	u, dns, err := f.checkTarget(ctx, in.URL)
	if err != nil {
		return Bundle{}, err
	}
	started := f.now().UTC()
	tab, closeTab, err := f.chrome.tab(ctx)
	if err != nil {
		return Bundle{}, err
	}
	defer closeTab()
	tctx, cancelT := context.WithTimeout(tab, f.cfg.CaptureTimeout)
	defer cancelT()
	rec, cast := newRecorder(f.now, f.blockRequest, f.forbidden), &screencast{}
	a, err := f.capturePage(tctx, u.String(), rec, cast)
	if blocked := rec.blockedURLs(); len(blocked) > 0 && err != nil && ctx.Err() == nil {
		return Bundle{}, errs.Fields([]errs.FieldError{{Field: "url", Message: "网页或其资源指向内部网络地址，未取证" + firstOf(blocked)}})
	}
	switch {
	case tctx.Err() != nil && ctx.Err() == nil:
		return Bundle{}, errs.New(errs.Invalid, fmt.Sprintf("网页在 %s 内未加载完成，未取证", f.cfg.CaptureTimeout))
	case err != nil && strings.Contains(err.Error(), "net::ERR"):
		return Bundle{}, errs.New(errs.Invalid, "无法打开该网页（"+shortNetErr(err)+"），未取证")
	case err != nil:
		return Bundle{}, fmt.Errorf("capture %s: %w", u, err)
	}
	// A redirect, or a name that resolved differently for the browser,
	// may still have landed on an internal address: nothing of it is
	// sealed.
	if blocked := rec.blockedURLs(); len(blocked) > 0 || (a.main != nil && f.forbidden(a.main.RemoteIPAddress)) || rec.reachedForbidden() {
		return Bundle{}, errs.Fields([]errs.FieldError{{Field: "url", Message: "网页或其资源指向内部网络地址，未取证" + firstOf(blocked)}})
	}
	host, _ := os.Hostname()
	xs := rec.exchanges()
	meta := map[string]any{
		"url": u.String(), "final_url": a.finalURL, "started_at": started, "finished_at": f.now().UTC(),
		"time_source": "platform clock", "dns_answers": dns, "browser": a.ver.Product, "user_agent": a.ver.UserAgent, "capture_host": host,
		"responses": len(xs), "video_frames": a.frames, "mobile_device": mobileDevice.Device().Name,
	}
	if m := a.main; m != nil {
		meta["server_ip"] = m.RemoteIPAddress
		meta["status"] = m.Status
		if sd := m.SecurityDetails; sd != nil {
			meta["tls"] = map[string]any{"protocol": sd.Protocol, "subject": sd.SubjectName, "issuer": sd.Issuer,
				"san": sd.SanList, "valid_from": sd.ValidFrom, "valid_to": sd.ValidTo, "certificate_id": sd.CertificateID}
		}
	}
	mb, _ := json.MarshalIndent(meta, "", "  ")
	software := "SmartReg evidence-capture; " + a.ver.Product
	files := map[string][]byte{
		"screenshot.png": a.shot, "page.mhtml": []byte(a.mhtml), "page.pdf": a.pdf, "metadata.json": append(mb, '\n'),
		"mobile.png": a.mobile, "session.mp4": a.video,
		"page.warc": writeWARC(xs, started, software),
		"page.har":  writeHAR(xs, a.finalURL, a.title, started, "Chromium", strings.TrimPrefix(a.ver.Product, "HeadlessChrome/")),
	}
	recPDF, err := extractionRecord(f.recordFields(in, u.String(), started, host, a.ver.Product, files), started)
	if err != nil {
		return Bundle{}, err
	}
	files["record.pdf"] = recPDF
	actor := in.actor
	if actor.UserID == "" {
		actor.UserID = by
	}
	return f.SealAs(ctx, actor, title, "web", map[string]string{"url": u.String()}, files)
}

// mobileDevice is the phone the mobile rendering emulates.
const mobileDevice = device.IPhone12

// artefacts is what one page session yields.
type artefacts struct {
	main              *network.Response
	finalURL, title   string
	shot, pdf, mobile []byte
	video             []byte
	frames            int
	mhtml             string
	ver               browser.GetVersionResult
}

// capturePage runs the page session. The steps that need the desktop tab
// run in order on it; the mobile rendering (its own tab in the same
// browser context) and the video encoding (ffmpeg) run beside them, so a
// capture costs about one page load plus the prints, not the sum of all.
func (f *Function) capturePage(ctx context.Context, target string, rec *recorder, cast *screencast) (artefacts, error) {
	var a artefacts
	if err := rec.start(ctx); err != nil {
		return a, err
	}
	if err := cast.start(ctx); err != nil {
		return a, err
	}
	var err error
	if a.main, err = chromedp.Run(ctx, chromedp.NavigateResponse(target)); err != nil {
		return a, err
	}
	// Scroll through the page so lazy images load (and the video shows
	// the whole page), then wait until the responses that asked for stop.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](scrollScript, chromedp.EvalAsValue, chromedp.EvalAwaitPromise)); err != nil {
		return a, err
	}
	rec.quiet(ctx, 150*time.Millisecond, 3*time.Second)
	if len(rec.blockedURLs()) > 0 || rec.reachedForbidden() {
		return a, nil // refused by the caller; nothing more is fetched
	}
	frames := cast.stop(ctx)
	a.frames = len(frames)
	if a.finalURL, err = chromedp.Run(ctx, chromedp.Location()); err != nil {
		return a, err
	}

	var side sync.WaitGroup
	var mobileErr, videoErr error
	side.Add(2)
	go func() {
		defer side.Done()
		a.mobile, mobileErr = mobileShot(ctx, a.finalURL, rec)
	}()
	go func() {
		defer side.Done()
		a.video, videoErr = encodeVideo(ctx, f.cfg.FFmpegPath, frames, 1)
	}()
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		if a.title, err = chromedp.Title()(ctx, t); err != nil {
			return err
		}
		if a.shot, err = chromedp.FullScreenshot(100)(ctx, t); err != nil {
			return err
		}
		snap, err := cdp.Call(ctx, t, page.CaptureSnapshot, page.CaptureSnapshotParams{})
		if err != nil {
			return err
		}
		a.mhtml = snap.Data
		bg := true
		pr, err := cdp.Call(ctx, t, page.PrintToPDF, page.PrintToPDFParams{PrintBackground: &bg})
		if err != nil {
			return err
		}
		a.pdf = pr.Data
		a.ver, err = cdp.Call(ctx, t, browser.GetVersion, cdp.Empty{})
		return err
	}))
	side.Wait()
	return a, errors.Join(err, mobileErr, videoErr)
}

// scrollScript scrolls to the bottom of the page in steps and back to
// the top, so lazily loaded content is requested and seen.
const scrollScript = `(async () => {
  const h = () => Math.max(document.body ? document.body.scrollHeight : 0, document.documentElement.scrollHeight);
  for (let y = 0; y < h() && y < 20000; y += innerHeight) { scrollTo(0, y); await new Promise((r) => setTimeout(r, 60)); }
  scrollTo(0, h()); await new Promise((r) => setTimeout(r, 60)); scrollTo(0, 0); return true;
})()`

// mobileShot renders the page as a phone shows it, in a second tab of the
// capture's browser context (same cookies, its own viewport). Its requests
// pass the same SSRF filter; what it blocks refuses the capture too.
func mobileShot(ctx context.Context, target string, desktop *recorder) ([]byte, error) {
	mctx, cancel := chromedp.NewContext(ctx)
	defer cancel()
	rec := newRecorder(desktop.now, desktop.block, desktop.forbidden)
	if err := rec.start(mctx); err != nil {
		return nil, fmt.Errorf("mobile rendering: %w", err)
	}
	defer desktop.merge(rec)
	if err := chromedp.Do(mctx, chromedp.Emulate(mobileDevice), chromedp.Navigate(target)); err != nil {
		return nil, fmt.Errorf("mobile rendering: %w", err)
	}
	shot, err := chromedp.Run(mctx, chromedp.CaptureScreenshot())
	if err != nil {
		return nil, fmt.Errorf("mobile rendering: %w", err)
	}
	return shot, nil
}

func firstOf(urls []string) string {
	if len(urls) == 0 {
		return ""
	}
	return "（" + urls[0] + "）"
}

func shortNetErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "net::ERR"); i >= 0 {
		s = s[i:]
		if j := strings.IndexAny(s, " )"); j > 0 {
			s = s[:j]
		}
	}
	return s
}

// recordFields are the extraction record's lines: the SAMR fields, then
// the hash values of every captured file.
func (f *Function) recordFields(in CaptureInput, target string, at time.Time, host, product string, files map[string][]byte) []recordField {
	orDefault := func(v, d string) string {
		if v = strings.TrimSpace(v); v == "" {
			return d
		}
		return v
	}
	loc := time.FixedZone("CST", 8*3600)
	out := []recordField{
		{"案件", orDefault(in.Case, "（未关联案件）")},
		{"提取对象", target},
		{"提取方法", "无头浏览器远程提取：整页截图、MHTML 快照、PDF 打印、WARC 与 HAR 网络记录、会话录像、移动端渲染，计算 SHA-256 与 SM3 哈希值并写入存证日志"},
		{"提取时间", at.In(loc).Format("2006年01月02日 15:04:05（北京时间，平台时钟）")},
		{"提取地点", orDefault(in.Place, "取证服务器 "+host)},
		{"提取设备", "取证服务器 " + host + "，浏览器 " + product},
		{"操作人员", orDefault(in.operator, "（未署名）")},
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		d := seal.Sum(files[n])
		out = append(out, recordField{"文件", fmt.Sprintf("%s（%d 字节）", n, len(files[n]))},
			recordField{"SHA-256", d.SHA256}, recordField{"SM3", d.SM3})
	}
	return out
}

// resolve is shared/netguard's, the same one datahub's platform runner uses.
var resolve = netguard.Resolve

// forbidden reports an address the configuration does not let capture
// reach (always false with EVIDENCE_CAPTURE_ALLOW_PRIVATE).
func (f *Function) forbidden(addr string) bool {
	return !f.cfg.CaptureAllowPrivate && f.internal(strings.Trim(addr, "[]"))
}

// blockRequest is the browser's filter for every request the page makes
// (sub-resources, redirects, scripts' fetches): one to a forbidden address,
// or to a name that does not resolve to a public one, never leaves.
func (f *Function) blockRequest(ctx context.Context, raw string) bool {
	if f.cfg.CaptureAllowPrivate {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") {
		return u == nil || u.Scheme != "data" && u.Scheme != "blob"
	}
	addrs, err := resolve(ctx, u.Hostname())
	if err != nil {
		return true
	}
	return slices.ContainsFunc(addrs, f.forbidden)
}

// internalAddr reports an address capture must not reach in production
// (shared/netguard: loopback, private, link-local, multicast, unspecified).
var internalAddr = netguard.Internal
