package scanresolve

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// svgMatrix reads back the modules qrDataURI drew.
func svgMatrix(t *testing.T, uri string) [][]bool {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(uri, qrDataPrefix))
	if err != nil || !strings.HasPrefix(uri, qrDataPrefix) {
		t.Fatalf("not our QR image: %.60s (%v)", uri, err)
	}
	m := regexp.MustCompile(`viewBox="0 0 (\d+) `).FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatalf("svg without viewBox: %.200s", raw)
	}
	n, _ := strconv.Atoi(m[1])
	out := make([][]bool, n)
	for i := range out {
		out[i] = make([]bool, n)
	}
	for _, r := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-\d+z`).FindAllStringSubmatch(string(raw), -1) {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		for i := range w {
			out[y][x+i] = true
		}
	}
	return out
}

// sameSymbol says the image draws exactly the QR symbol of content.
func sameSymbol(t *testing.T, uri, content string) bool {
	t.Helper()
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	want, got := q.Bitmap(), svgMatrix(t, uri)
	if len(want) != len(got) {
		return false
	}
	for y := range want {
		for x := range want[y] {
			if want[y][x] != got[y][x] {
				return false
			}
		}
	}
	return true
}

func rightsOf(t *testing.T, h http.Handler, token string) (map[string]rightsChannel, string) {
	t.Helper()
	rec := get(t, h, "/q/"+token+".json")
	var v View
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]rightsChannel{}
	for _, c := range v.Rights {
		out[c.Key] = c
	}
	return out, get(t, h, "/q/"+token).Body.String()
}

// FP-80–84: out of the box every 12315 channel opens the national
// platform, and each scan-to-open entry is a QR image we render.
func TestRightsChannelsWorkWithDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, _ := e.entity("active", "默认渠道的超市")
	ch, page := rightsOf(t, f.Handler(), token)
	if len(ch) != 6 {
		t.Fatalf("%d channels, want 6", len(ch))
	}
	for _, k := range []string{"website", "wechat_oa", "wechat_mp", "app", "alipay", "baidu"} {
		c := ch[k]
		if c.URL != "https://www.12315.cn" {
			t.Errorf("%s url = %q", k, c.URL)
		}
		if k == "website" {
			continue // a link, no scan-to-open
		}
		if !sameSymbol(t, c.Image, c.URL) {
			t.Errorf("%s image is not the QR of %s", k, c.URL)
		}
		if !strings.Contains(html.UnescapeString(page), `src="`+c.Image+`"`) {
			t.Errorf("page does not show the %s QR image", k)
		}
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Error("an image address was filtered out of the page")
	}
	if len(page) >= 50*1024 {
		t.Errorf("page is %d bytes with the QR images, want < 50 KB", len(page))
	}
}

// Configured addresses replace the defaults; a configured image is shown
// as it is, a configured address without one gets our QR of it.
func TestRightsChannelsTakeConfiguredValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.cfg()
	c.Hotline = "0311-12315"
	c.WeChatOAURL = "https://mp.weixin.qq.com/s/sjz12315"
	c.AlipayURL = "https://render.alipay.com/p/s/sjz12315"
	c.AlipayQR = "https://img.sjzamr.gov.cn/12315/alipay.png"
	f := e.fn(e.pool, e.rdb, c)
	token, _ := e.entity("active", "配置渠道的超市")
	ch, page := rightsOf(t, f.Handler(), token)
	if got := ch["wechat_oa"]; got.URL != c.WeChatOAURL || !sameSymbol(t, got.Image, c.WeChatOAURL) {
		t.Errorf("wechat_oa = %s, image of the configured URL: %v", got.URL, sameSymbol(t, got.Image, c.WeChatOAURL))
	}
	if got := ch["alipay"]; got.URL != c.AlipayURL || got.Image != c.AlipayQR {
		t.Errorf("alipay = %+v", got)
	}
	for _, want := range []string{`src="https://img.sjzamr.gov.cn/12315/alipay.png"`, `href="https://mp.weixin.qq.com/s/sjz12315"`, "tel:0311-12315", "拨打 0311-12315"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// A configured image address with a script scheme is neutralised.
	c.BaiduQR = "javascript:alert(1)"
	f2 := e.fn(e.pool, e.rdb, c)
	if _, page := rightsOf(t, f2.Handler(), token); strings.Contains(page, "javascript:") {
		t.Error("a javascript: image address reached the page")
	}
}

// FP-33: a penalty shows its type, amount, legal basis and execution
// status, escaped, on the page and in the JSON view.
func TestPenaltyFieldsOnThePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	token, cc := e.entity("active", "被处罚的饭店")
	e.record(cc, "penalty", "销售超过保质期的食品案", `{"decision":"警告，罚款5000元","amount":"5000.00","basis":"《中华人民共和国食品安全法》第一百二十四条","execution":"已履行"}`)
	e.record(cc, "penalty", "未明码标价案", `{"type":"罚款","amount":800,"basis":"《价格法》第四十二条 <b>"}`)
	h := f.Handler()
	page := get(t, h, "/q/"+token).Body.String()
	for _, want := range []string{"处罚种类", "警告，罚款5000元", "罚没金额", "5000.00 元", "处罚依据", "《中华人民共和国食品安全法》第一百二十四条",
		"执行情况", "已履行", "<dd>罚款</dd>", "800 元", "《价格法》第四十二条 &lt;b&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	var v View
	if err := json.Unmarshal(get(t, h, "/q/"+token+".json").Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	var got []PenaltyView
	for _, s := range v.Sections {
		for _, r := range s.Records {
			if r.Penalty != nil {
				got = append(got, *r.Penalty)
			}
		}
	}
	if len(got) != 2 || got[1] != (PenaltyView{Type: "警告，罚款5000元", Amount: "5000.00", Basis: "《中华人民共和国食品安全法》第一百二十四条", Execution: "已履行"}) ||
		got[0] != (PenaltyView{Type: "罚款", Amount: "800", Basis: "《价格法》第四十二条 <b>"}) {
		t.Errorf("json penalties = %+v", got)
	}
	// Without execution in the details the record's status says it.
	if p := penaltyView("执行中", []byte(`{"decision":"罚款"}`)); p == nil || p.Execution != "执行中" {
		t.Errorf("status fallback = %+v", p)
	}
}
