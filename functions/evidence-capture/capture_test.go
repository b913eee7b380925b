package evidencecapture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlnwa/gowarc"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// testPage is a local page with a redirect, a script that writes into the
// page and a lazy image, so the capture shows what ran.
func testPage(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/page", http.StatusFound) })
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html><head><title>特价商品</title></head><body><h1>限时特价</h1>
<p id="js"></p><img loading="lazy" src="/img.svg" width="40" height="40">
<script>document.getElementById('js').textContent = '脚本已运行 全网最低价';</script></body></html>`))
	})
	mux.HandleFunc("/img.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="red"/></svg>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestCaptureSealsAPage: a capture of a local page (the test enables
// loopback explicitly) yields the screenshot, MHTML, PDF and metadata, and
// the bundle verifies offline (FP-90).
func TestCaptureSealsAPage(t *testing.T) {
	h := newHarness(t)
	h.f.cfg.CaptureAllowPrivate = true
	h.started(t)
	srv := testPage(t)
	b, err := h.f.Capture(context.Background(), "u1", CaptureInput{URL: srv.URL + "/start", Title: "虚假宣传网页",
		Case: "石市监案〔2026〕16号", Place: "长安区市场监管所", operator: "张检查"})
	if err != nil {
		t.Fatal(err)
	}
	waitReceipt(t, h.f, b)
	var buf bytes.Buffer
	if err := h.f.WriteZip(context.Background(), &buf, b); err != nil {
		t.Fatal(err)
	}
	bundle := unzip(t, buf.Bytes())
	if _, err := seal.VerifyBundle(bundle, h.f.Log().PublicKey()); err != nil {
		t.Fatal(err)
	}
	if png := bundle["screenshot.png"].Data; !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if pdf := bundle["page.pdf"].Data; !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("print is not a PDF")
	}
	mhtml := string(bundle["page.mhtml"].Data)
	if !strings.Contains(mhtml, "multipart/related") || !strings.Contains(mhtml, "img.svg") {
		t.Errorf("MHTML lacks the page or its image: %.300s", mhtml)
	}
	// The extraction record carries every field the SAMR rules ask for
	// and the hashes of the other files (pdftotext reads it back).
	text := pdfText(t, bundle["record.pdf"].Data)
	for _, want := range []string{"电子数据提取笔录", "案件", "石市监案〔2026〕16号", "提取对象", srv.URL + "/start", "提取方法",
		"提取时间", "提取地点", "长安区市场监管所", "提取设备", "Chrome/", "操作人员", "张检查",
		seal.Sum(bundle["screenshot.png"].Data).SHA256, seal.Sum(bundle["page.mhtml"].Data).SM3} {
		if !strings.Contains(text, want) {
			t.Errorf("extraction record lacks %q:\n%s", want, text)
		}
	}
	var meta map[string]any
	if err := json.Unmarshal(bundle["metadata.json"].Data, &meta); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(meta["final_url"].(string), "/page") || meta["server_ip"] != "127.0.0.1" || meta["browser"] == "" {
		t.Errorf("metadata %v", meta)
	}
	if png := bundle["mobile.png"].Data; !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("mobile rendering is not a PNG (%d bytes)", len(png))
	}
	for _, want := range []string{"mobile.png", "session.mp4", "page.warc", "page.har"} {
		if !strings.Contains(text, want) {
			t.Errorf("extraction record does not list %s", want)
		}
	}
	checkWARC(t, bundle["page.warc"].Data, srv.URL)
	checkHAR(t, bundle["page.har"].Data, srv.URL)
	checkVideo(t, bundle["session.mp4"].Data)
}

// checkWARC parses the WARC back with a WARC library (nlnwa/gowarc,
// strict): the redirect, the page with its script and the lazy image are
// there as request/response pairs with the bodies the browser received.
func checkWARC(t *testing.T, warc []byte, base string) {
	t.Helper()
	r, err := gowarc.NewWarcFileReaderFromStream(bytes.NewReader(warc), 0, gowarc.WithStrictValidation())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	types := map[string]int{}
	status := map[string]int{}
	bodies := map[string]string{}
	for {
		rec, _, val, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("WARC does not parse: %v", err)
		}
		if len(*val) > 0 {
			t.Errorf("WARC record %s: %v", rec.RecordId(), *val)
		}
		types[rec.Type().String()]++
		if rb, ok := rec.Block().(gowarc.HttpResponseBlock); ok {
			target := rec.WarcHeader().Get(gowarc.WarcTargetURI)
			status[target] = rb.HttpStatusCode()
			p, err := rb.PayloadBytes()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			bodies[target] = string(b)
		}
		rec.Close()
	}
	if types["warcinfo"] != 1 || types["response"] < 3 || types["request"] != types["response"] {
		t.Errorf("WARC record types %v", types)
	}
	if status[base+"/start"] != 302 || status[base+"/page"] != 200 || status[base+"/img.svg"] != 200 {
		t.Errorf("WARC responses %v", status)
	}
	if !strings.Contains(bodies[base+"/page"], "脚本已运行") || !strings.Contains(bodies[base+"/img.svg"], "<svg") {
		t.Errorf("WARC bodies %v", bodies)
	}
}

func checkHAR(t *testing.T, har []byte, base string) {
	t.Helper()
	var h struct {
		Log struct {
			Version string
			Entries []struct {
				Request  struct{ URL string }
				Response struct{ Status int }
			}
		}
	}
	if err := json.Unmarshal(har, &h); err != nil {
		t.Fatalf("HAR: %v", err)
	}
	got := map[string]int{}
	for _, e := range h.Log.Entries {
		got[e.Request.URL] = e.Response.Status
	}
	if h.Log.Version != "1.2" || got[base+"/start"] != 302 || got[base+"/page"] != 200 || got[base+"/img.svg"] != 200 {
		t.Errorf("HAR %s entries %v", h.Log.Version, got)
	}
}

// checkVideo: ffprobe reads the session video as H.264 with a duration.
func checkVideo(t *testing.T, mp4 []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.mp4")
	os.WriteFile(p, mp4, 0o644)
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height:format=duration",
		"-of", "default=noprint_wrappers=1", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v: %s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "codec_name=h264") || !strings.Contains(s, "width=") || !strings.Contains(s, "duration=") || strings.Contains(s, "duration=N/A") {
		t.Errorf("video: %s", s)
	}
}

// TestCaptureRefusesBadTargets: non-HTTP schemes, file:// and internal
// addresses are refused in the production configuration, and an
// unreachable page or one that never finishes loading gives a clear error;
// nothing is appended to the log.
func TestCaptureRefusesBadTargets(t *testing.T) {
	pool := storetest.New(t, Migrations()...)
	h := newHarnessOn(t, pool, t.TempDir())
	for url, want := range map[string]string{
		"ftp://example.com/a":      "只能对 http",
		"file:///etc/passwd":       "file://",
		"javascript:alert(1)":      "只能对 http",
		"http://127.0.0.1:8080/":   "内部网络地址",
		"http://10.1.2.3/":         "内部网络地址",
		"http://[::1]/":            "内部网络地址",
		"http://169.254.169.254/x": "内部网络地址",
		"http://192.168.1.1/":      "内部网络地址",
		"not a url":                "网址",
	} {
		_, err := h.f.Capture(context.Background(), "u1", CaptureInput{URL: url})
		if e := errs.As(err); e == nil || e.Code != errs.Invalid || !strings.Contains(e.Message+fieldMsgs(e), want) {
			t.Errorf("%s: %v", url, err)
		}
	}
	h.f.cfg.CaptureAllowPrivate = true
	h.started(t)
	if _, err := h.f.Capture(context.Background(), "u1", CaptureInput{URL: "http://127.0.0.1:1/"}); errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "无法打开该网页") {
		t.Errorf("unreachable: %v", err)
	}
	// A page that never finishes loading: the server holds the response
	// open past the capture timeout.
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>加载中"))
		w.(http.Flusher).Flush()
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	h.f.cfg.CaptureTimeout = time.Second
	if _, err := h.f.Capture(context.Background(), "u1", CaptureInput{URL: slow.URL + "/"}); errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "未加载完成") {
		t.Errorf("never loads: %v", err)
	}
	var n int
	pool.QueryRow(context.Background(), `SELECT count(*) FROM evidence.log_entries`).Scan(&n)
	if n != 0 {
		t.Fatalf("refused captures appended %d entries", n)
	}
}

func fieldMsgs(e *errs.Error) string {
	var s string
	for _, f := range e.Fields {
		s += f.Message
	}
	return s
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "r.pdf")
	os.WriteFile(p, pdf, 0o644)
	out, err := exec.Command("pdftotext", "-layout", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestCaptureBlocksInternalSubrequests: in the production configuration
// a page on an allowed address that loads a resource from, or redirects
// to, an internal address (127.0.0.2 here, standing for the intranet) is
// not sealed, and the internal server is never asked.
func TestCaptureBlocksInternalSubrequests(t *testing.T) {
	pool := storetest.New(t, Migrations()...)
	h := newHarnessOn(t, pool, t.TempDir()).started(t)
	// 127.0.0.1 stands for the public internet in this test.
	h.f.internal = func(a string) bool { return a != "127.0.0.1" && internalAddr(a) }
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	intranet := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))
	}))
	intranet.Listener = ln
	intranet.Start()
	defer intranet.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/img", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<html><body>商品<img src="` + intranet.URL + `/secret.svg"></body></html>`))
	})
	mux.HandleFunc("/jump", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, intranet.URL+"/admin", http.StatusFound)
	})
	public := httptest.NewServer(mux)
	defer public.Close()
	for _, path := range []string{"/img", "/jump"} {
		_, err := h.f.Capture(context.Background(), "u1", CaptureInput{URL: public.URL + path})
		if e := errs.As(err); e == nil || e.Code != errs.Invalid || !strings.Contains(fieldMsgs(e), "内部网络地址") || !strings.Contains(fieldMsgs(e), intranet.URL) {
			t.Errorf("%s: %v", path, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server was asked %d times", n)
	}
	var n int
	pool.QueryRow(context.Background(), `SELECT count(*) FROM evidence.log_entries`).Scan(&n)
	if n != 0 {
		t.Fatalf("refused captures appended %d entries", n)
	}
}
