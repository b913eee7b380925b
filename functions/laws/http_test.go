package laws

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %d %s: %v", rec.Code, rec.Body, err)
	}
	return v
}

var hebeiRegulation = DocumentInput{
	Title: "石家庄市示例食品小作坊管理条例（示例）", Nature: "地方性法规", Region: "石家庄市", Body: "石家庄市人民代表大会常务委员会",
	PublishedOn: "2024-01-10", EffectiveOn: "2024-03-01",
	Text: "第一章 总则\n第一条 为了加强食品小作坊监督管理，保障食品安全，制定本条例。\n第二章 监督管理\n第八条 食品小作坊应当取得登记证后方可从事生产加工活动。\n县级市场监督管理部门负责登记。\n",
}

// FP-66, FP-67: a local regulation entered by hand, searchable at once;
// its new version linked, the old one pointing to it.
func TestLocalRegulationByHandAndVersionLink(t *testing.T) {
	h := newHarness(t)
	admin := h.admin()
	bad := hebeiRegulation
	bad.Nature, bad.PublishedOn, bad.Text = "地方文件", "2024/01/10", ""
	if rec := h.do(t, admin, "POST", "/laws/v1/documents", bad); rec.Code != 400 || !strings.Contains(rec.Body.String(), "效力级别") ||
		!strings.Contains(rec.Body.String(), "无法识别的日期格式") || !strings.Contains(rec.Body.String(), "请填写正文") {
		t.Fatalf("bad input: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "", "POST", "/laws/v1/documents", hebeiRegulation); rec.Code != 401 {
		t.Fatalf("anonymous create: %d", rec.Code)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermDocument+":view")), "POST", "/laws/v1/documents", hebeiRegulation); rec.Code != 403 {
		t.Fatalf("create without permission: %d", rec.Code)
	}
	rec := h.do(t, admin, "POST", "/laws/v1/documents", hebeiRegulation)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	old := decode[Document](t, rec)
	if old.Status != StatusInForce || old.ArticleCount != 2 || old.Articles[1].Chapter != "第二章 监督管理" || len(old.Articles[1].Paragraphs) != 2 {
		t.Fatalf("created: %+v", old)
	}
	res := decode[SearchResult](t, h.do(t, "", "GET", "/laws/v1/search?q="+url.QueryEscape("小作坊 登记证")+"&region="+url.QueryEscape("石家庄市"), nil))
	if len(res.Hits) == 0 || res.Hits[0].DocumentID != old.ID || res.Hits[0].Label != "第八条" {
		t.Fatalf("search finds the new regulation: %+v", res)
	}
	// The revision is entered as its own document, then linked.
	rev := hebeiRegulation
	rev.Title, rev.PublishedOn, rev.EffectiveOn = "石家庄市示例食品小作坊管理条例（2025年修订）（示例）", "2025-01-10", "2025-03-01"
	rev.Text = strings.Replace(rev.Text, "登记证", "小作坊登记证", 1)
	next := decode[Document](t, h.do(t, admin, "POST", "/laws/v1/documents", rev))
	rec = h.do(t, admin, "PUT", "/laws/v1/documents/"+strconv.FormatInt(old.ID, 10)+"/family", LinkInput{LinkTo: next.ID})
	if rec.Code != 200 {
		t.Fatalf("link: %d %s", rec.Code, rec.Body)
	}
	linked := decode[Document](t, rec)
	if linked.Status != StatusAmended || linked.CurrentID == nil || *linked.CurrentID != next.ID || len(linked.Versions) != 2 {
		t.Fatalf("after linking: %+v", linked)
	}
	res = decode[SearchResult](t, h.do(t, "", "GET", "/laws/v1/search?q="+url.QueryEscape("小作坊 登记证 生产加工"), nil))
	if len(res.Hits) == 0 || res.Hits[0].DocumentID != next.ID || res.Hits[0].OtherVersion != 1 {
		t.Fatalf("the current version ranks first and folds the old one: %+v", res.Hits)
	}
	// An edit with a stale version is refused.
	edit := hebeiRegulation
	edit.Version = 1
	if rec := h.do(t, admin, "PUT", "/laws/v1/documents/"+strconv.FormatInt(old.ID, 10), edit); rec.Code != 409 {
		t.Fatalf("stale edit: %d %s", rec.Code, rec.Body)
	}
	var audits int
	_ = h.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.outbox WHERE event_type = 'cn.gov.sjz.amr.audit.operation.recorded.v1'`).Scan(&audits)
	if audits != 3 {
		t.Errorf("%d operation-log events, want 3 (two creates, one link)", audits)
	}
}

func TestPublicReadsAndTheImportRoute(t *testing.T) {
	h := newHarness(t)
	// The import route takes a ZIP in the shipped layout.
	var zipBuf bytes.Buffer
	writeZip(t, &zipBuf, testCorpus())
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "corpus.zip")
	_, _ = fw.Write(zipBuf.Bytes())
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/laws/v1/imports", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", h.admin())
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	if rec.Code != 201 || decode[ImportRun](t, rec).Created != 7 {
		t.Fatalf("upload import: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "", "POST", "/laws/v1/imports", nil); rec.Code != 401 {
		t.Fatalf("anonymous import: %d", rec.Code)
	}
	page := decode[DocumentPage](t, h.do(t, "", "GET", "/laws/v1/documents?nature="+url.QueryEscape("法律")+"&latest=true", nil))
	if page.Total != 3 || len(page.Facets["status"]) == 0 {
		t.Fatalf("faceted list: total %d facets %+v", page.Total, page.Facets)
	}
	for _, q := range []string{"status=" + url.QueryEscape("有效"), "from=2021.01.01", "sort=name", "latest=yes", "page_size=1000"} {
		if rec := h.do(t, "", "GET", "/laws/v1/documents?"+q, nil); rec.Code != 400 {
			t.Errorf("%s: %d", q, rec.Code)
		}
	}
	page = decode[DocumentPage](t, h.do(t, "", "GET", "/laws/v1/documents?q="+url.QueryEscape("法释〔2022〕8号"), nil))
	if page.Total != 1 {
		t.Errorf("by number: %d", page.Total)
	}
	page = decode[DocumentPage](t, h.do(t, "", "GET", "/laws/v1/documents?from=2021-01-01&to=2022-12-31", nil))
	if page.Total != 2 {
		t.Errorf("by date range: %d", page.Total)
	}
	// The phone page finds an article and links to it.
	rec = h.do(t, "", "GET", "/laws/m/?q="+url.QueryEscape("广告法第九条"), nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "广告法 第九条") || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("phone page: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "", "GET", "/laws/m/?q="+url.QueryEscape("<script>alert(1)</script>"), nil); strings.Contains(rec.Body.String(), "<script>alert") {
		t.Fatal("the query is echoed unescaped")
	}
	if rec := h.do(t, "", "GET", "/laws/m/documents/999999", nil); rec.Code != 404 {
		t.Errorf("missing document page: %d", rec.Code)
	}
	if rec := h.do(t, "", "GET", "/laws/v1/search?q=", nil); rec.Code != 400 {
		t.Errorf("empty query: %d", rec.Code)
	}
}

// The daily tick turns a pending version into the current one.
func TestStatusesFollowTheCalendar(t *testing.T) {
	h := newHarness(t)
	mustImport(t, h, testCorpus())
	h.now = time.Date(2025, 10, 15, 8, 0, 0, 0, beijing)
	n, err := h.f.RefreshStatuses(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("refresh: %d %v", n, err)
	}
	res := search(t, h, "虚假或者引人误解的商业宣传")
	if res.Hits[0].Status != StatusInForce || res.Hits[0].Label != "第九条" {
		t.Fatalf("after 2025-10-15 the new version ranks first: %+v", res.Hits[0])
	}
	if n, _ := h.f.RefreshStatuses(context.Background()); n != 0 {
		t.Errorf("a second refresh changed %d", n)
	}
}

var _ = http.StatusOK
