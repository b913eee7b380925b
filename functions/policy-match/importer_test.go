package policymatch

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/tests/sim/govsite"
)

var (
	admin   = Actor{UserID: "u-admin", Username: "admin", IP: "127.0.0.1"}
	authAll = auth.All()
)

// FP-57: an address list is fetched through the Fetcher from the
// government-site simulator: HTML pages and a PDF attachment become
// policies with their fields; a page with an unreadable date and a missing
// page are refused each with its reason, and nothing of them is written.
func TestImportURLsFromGovernmentSite(t *testing.T) {
	site := govsite.New()
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	h := newHarnessWith(t, NewHTTPFetcher())
	var urls []string
	for _, p := range govsite.Paths() {
		urls = append(urls, srv.URL+p)
	}
	urls = append(urls, srv.URL+"/zwgk/zcwj/gone.html", "ftp://example.org/x")
	res, err := h.f.ImportURLs(context.Background(), admin, urls)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 6 {
		t.Fatalf("results: %+v", res)
	}
	ok := map[string]ImportResult{}
	for _, r := range res {
		if r.OK {
			ok[r.Name[len(srv.URL):]] = r
		}
	}
	if len(ok) != 3 {
		t.Fatalf("saved %d, want the two pages and the PDF: %+v", len(ok), res)
	}
	if !strings.Contains(res[3].Error, "日期") || !strings.Contains(res[4].Error, "404") || !strings.Contains(res[5].Error, "http") {
		t.Errorf("refusals do not say why: %q | %q | %q", res[3].Error, res[4].Error, res[5].Error)
	}
	if n := tableCount(t, h.pool, "policy.policies"); n != 3 {
		t.Errorf("%d policies written, want 3 (nothing of the refused)", n)
	}

	p, err := h.f.Get(context.Background(), ok["/zwgk/zcwj/sjz-gxj-2025-7.html"].PolicyID)
	if err != nil {
		t.Fatal(err)
	}
	if p.DocNo != "石工信字〔2025〕7号" || p.Issuer != "石家庄市工业和信息化局" || p.PublishedOn.String() != "2025-04-18" ||
		p.EffectiveOn.String() != "2025-05-01" || p.ExpiresOn.String() != "2027-12-31" || p.SourceKind != "url" ||
		p.ApplyURL != "https://hqzc.sjz.example.gov.cn/apply/zjtx2025" || !strings.Contains(p.ConditionsText, "制造业中小企业") ||
		strings.Contains(p.Body, "冀ICP备") || strings.Contains(p.Body, "_hmt") {
		t.Errorf("HTML page read as %+v", p)
	}
	if p.Effective[DimLevel] != "市级" || p.Effective[DimDepartment] != "石家庄市工业和信息化局" || p.Effective[DimCategory] != "科技创新" {
		t.Errorf("labels %v", p.Effective)
	}
	c := p.Condition
	if p.ConditionFrom != "draft" || !c.NotAbnormal || !c.NotSeriousIllegal || c.NoPenaltyYears != 3 || len(c.Industries) != 1 || c.Industries[0] != "C" ||
		len(c.Sizes) != 3 {
		t.Errorf("draft condition %+v", c)
	}

	pdf, err := h.f.Get(context.Background(), ok["/zwgk/zcwj/sjz-kjj-2025-18.pdf"].PolicyID)
	if err != nil {
		t.Fatal(err)
	}
	if pdf.Title != "石家庄市科学技术局关于组织申报2025年度科技型中小企业研发奖补的通知" || pdf.DocNo != "石科字〔2025〕18号" ||
		pdf.PublishedOn.String() != "2025-05-20" || pdf.ExpiresOn.String() != "2025-12-31" || pdf.ApplyPlatform != "石家庄市科技业务综合管理平台" ||
		pdf.Condition.MaxAgeYears != 5 || !pdf.Condition.NotAbnormal || pdf.Condition.NoPenaltyYears != 3 {
		t.Errorf("PDF read as %+v", pdf)
	}

	// Importing the same addresses again updates, creating nothing.
	again, _ := h.f.ImportURLs(context.Background(), admin, urls[:1])
	if !again[0].OK || again[0].Created || tableCount(t, h.pool, "policy.policies") != 3 {
		t.Errorf("re-import: %+v", again)
	}
}

func TestImportURLsBounds(t *testing.T) {
	h := newHarness(t)
	if _, err := h.f.ImportURLs(context.Background(), admin, nil); err == nil {
		t.Error("an empty list accepted")
	}
	if _, err := h.f.ImportURLs(context.Background(), admin, make([]string, MaxURLs+1)); err == nil {
		t.Error("too many addresses accepted")
	}
}

func multipartBody(t *testing.T, files map[string][]byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, data := range files {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// FP-57: files upload as HTML, Markdown and PDF; a broken PDF, an unknown
// date format, an empty file and an unknown type each get a clear error of
// their own, and nothing of them is written.
func TestImportFiles(t *testing.T) {
	h := newHarness(t)
	pdf, err := os.ReadFile("../../tests/sim/govsite/pages/sjz-kjj-2025-18.pdf")
	if err != nil {
		t.Fatal(err)
	}
	md := []byte("# 长安区关于支持个体工商户发展的若干措施\n\n发文机关：长安区人民政府\n\n文号：长政〔2025〕5号\n\n发布日期：2025-03-01\n\n" +
		"## 一、支持对象\n\n长安区登记的个体工商户和小微企业，注册资本100万元以下。\n\n## 二、支持内容\n\n给予房租补贴。\n\n（示例）\n")
	files := map[string][]byte{
		"notice.pdf":  pdf,
		"measures.md": md,
		"page.html":   []byte(`<html><head><meta name="ArticleTitle" content="关于促进消费的若干措施"><meta name="ContentSource" content="石家庄市商务局"></head><body><div>发放消费券（示例）</div></body></html>`),
		"broken.pdf":  []byte("%PDF-1.4\nthis is not really a pdf"),
		"bad-date.md": []byte("# 某政策\n\n发布日期：2025年13月45日\n"),
		"empty.html":  {},
		"table.xlsx":  []byte("PK\x03\x04"),
		"latin1.html": []byte("<html><title>\xff\xfe</title></html>"),
	}
	body, ct := multipartBody(t, files)
	req := httptest.NewRequest("POST", "/policy/v1/imports", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", h.iss.Bearer(authtest.CityWide(PermPolicy+":create")))
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("import: %d %s", rec.Code, rec.Body)
	}
	out := rec.Body.String()
	for _, want := range []string{`"saved":3`, `"refused":5`, "PDF 文件已损坏", "无法识别的日期格式", "文件为空", "不支持的文件类型", "UTF-8"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q: %s", want, out)
		}
	}
	if n := tableCount(t, h.pool, "policy.policies"); n != 3 {
		t.Errorf("%d policies written, want 3", n)
	}
	var got Policy
	pols, _, _ := listPolicies(context.Background(), h.pool, PolicyFilter{Q: "长安区"}, 10, 0)
	if len(pols) != 1 {
		t.Fatalf("markdown policy: %+v", pols)
	}
	got = pols[0]
	if got.SourceKind != "markdown" || got.DocNo != "长政〔2025〕5号" || got.Effective[DimLevel] != "县级" ||
		len(got.Condition.Districts) != 1 || got.Condition.Districts[0] != "130102" || got.Condition.CapitalMax == nil || *got.Condition.CapitalMax != 100 {
		t.Errorf("markdown read as %+v", got)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermPolicy+":create")), "POST", "/policy/v1/imports", map[string]string{}); rec.Code != 400 {
		t.Errorf("a JSON body to the file import: %d", rec.Code)
	}
}
