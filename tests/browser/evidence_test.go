package browser

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/sjzamr/smartreg/shared/testwait"
)

// TestEvidenceUploadAndPublicVerify (FP-90): a file uploaded on 上传证据 is
// hashed in the browser (the page shows the same SHA-256 Go computes), sealed,
// and then found, without logging in, on the public verification page with
// its log index.
func TestEvidenceUploadAndPublicVerify(t *testing.T) {
	s := startStack(t)
	body := []byte("现场检查记录：价签与实际收费不符。" + time.Now().String())
	file := filepath.Join(t.TempDir(), "现场记录.txt")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	want := hex.EncodeToString(sum[:])

	p := adminPage(t, s)
	p.goTo("/evidence/upload")
	p.typeInto("title", `document.querySelector('input[data-test=upload-title], [data-test=upload-title] input')`, "浏览器测试证据")
	p.upload("evidence file", `document.querySelector('.el-upload__input')`, file)
	p.waitFor("hash computed in the browser", `all('[data-test=local-hashes] code').some((e) => txt(e) === `+jsString(want)+`)`)
	p.click("upload", `all('[data-test=upload-submit]')[0]`)
	p.waitLong("bundle shown", `all('[data-test=bundle-detail]').length`, 30*time.Second)
	p.waitFor("platform hash matches", `all('[data-test=local-hashes] .el-tag').some((e) => txt(e) === '一致')`)
	p.waitLong("receipt", `all('[data-test=receipt-ready]').length`, 30*time.Second)

	anon := openPage(t, newBrowser(t), s.url, "anonymous")
	anon.goTo("/evidence/verify")
	anon.upload("file to verify", `document.querySelector('.el-upload__input')`, file)
	anon.waitLong("found in the log", `all('[data-test=verify-found]').length`, 30*time.Second)
	if got := anon.text(`(document.querySelector('input[data-test=verify-hash], [data-test=verify-hash] input') || {}).value || ''`); got != want {
		t.Errorf("hash on the verification page = %q, want %q", got, want)
	}
	anon.waitFor("log index shown", `all('[data-test=verify-index]').some((e) => /^\d+$/.test(txt(e)))`)
}

// TestEvidenceCaptureCertificateAndPublicVerify (FP-90): an inspector
// takes 一键取证 of a page (a redirect, a script and a lazy image), waits
// for the receipt, downloads the certificate (出证), and the QR code read
// from the certificate opens the public verification page, which finds
// the bundle in the log at the certificate's index without a login.
func TestEvidenceCaptureCertificateAndPublicVerify(t *testing.T) {
	s := startStack(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/shop", http.StatusFound) })
	mux.HandleFunc("/shop", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>网店首页</title></head><body><h1>清仓特价</h1><p id="js"></p>
<div style="height:2400px"></div><img loading="lazy" src="/lazy.svg" width="40" height="40">
<script>document.getElementById('js').textContent = '全网最低价，假一赔十';</script></body></html>`)
	})
	mux.HandleFunc("/lazy.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="red"/></svg>`)
	})
	shop := httptest.NewServer(mux)
	t.Cleanup(shop.Close)

	p := adminPage(t, s)
	p.goTo("/evidence/capture")
	p.typeInto("address", `document.querySelector('input[data-test=capture-url], [data-test=capture-url] input')`, shop.URL+"/go")
	p.click("capture", `all('[data-test=capture-submit]')[0]`)
	p.waitLong("bundle shown", `all('[data-test=bundle-detail]').length`, 60*time.Second)
	for _, f := range []string{"screenshot.png", "page.mhtml", "page.pdf", "page.warc", "page.har", "session.mp4", "mobile.png", "metadata.json", "record.pdf"} {
		p.waitFor("file "+f+" in the bundle", `all('[data-test=bundle-detail] .el-table__body td').some((td) => txt(td) === `+jsString(f)+`)`)
	}
	p.waitLong("receipt", `all('[data-test=receipt-ready]').length`, 30*time.Second)
	index := p.text(`txt(all('[data-test=log-index]')[0])`)
	if strings.Trim(index, "0123456789") != "" || index == "" {
		t.Fatalf("log index shown as %q", index)
	}

	// 出证: the browser saves the certificate into the test's directory.
	dir := t.TempDir()
	bc := chromedp.FromContext(p.ctx).BrowserContextID
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: bc, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	p.click("出证", `all('[data-test=download-certificate]')[0]`)
	var cert string
	testwait.For(t, "the certificate download", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
		if len(m) == 1 {
			cert = m[0]
		}
		return cert != ""
	})
	out, err := exec.Command("pdftotext", cert, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	if !strings.Contains(text, "电子数据存证证书") || !strings.Contains(text, "日志序号") {
		t.Fatalf("not a certificate:\n%s", text)
	}
	// Scan the certificate's QR code as a phone would.
	if out, err := exec.Command("pdfimages", "-png", cert, filepath.Join(dir, "qr")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages: %v %s", err, out)
	}
	qr, _ := filepath.Glob(filepath.Join(dir, "qr*.png"))
	if len(qr) != 1 {
		t.Fatalf("QR images in the certificate: %v", qr)
	}
	link, err := exec.Command("zbarimg", "-q", "--raw", qr[0]).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	verify := strings.TrimSpace(string(link))
	if !strings.HasPrefix(verify, s.url+"/console/#/evidence/verify?sha256=") {
		t.Fatalf("QR code holds %q", verify)
	}
	sha := verify[strings.Index(verify, "sha256=")+len("sha256="):]
	if !strings.Contains(text, sha) {
		t.Errorf("the certificate does not print the manifest hash %s of its QR code", sha)
	}

	anon := openPage(t, newBrowser(t), s.url, "anonymous")
	anon.run("open the QR link", chromedp.Navigate(verify))
	anon.waitLong("found in the log", `all('[data-test=verify-found]').length`, 30*time.Second)
	anon.waitFor("the certificate's log index", `all('[data-test=verify-index]').some((e) => txt(e) === `+jsString(index)+`)`)
	if !strings.Contains(text, "日志序号： "+index) && !strings.Contains(text, "日志序号："+index) {
		t.Errorf("certificate index differs from the bundle's %s:\n%s", index, text)
	}
	anon.waitFor("the receipt on the public page", `all('.receipt').some((e) => txt(e).includes('c2sp.org/tlog-proof@v1'))`)
}
