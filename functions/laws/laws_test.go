package laws

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

type harness struct {
	f    *Function
	iss  *authtest.Issuer
	pool *pgxpool.Pool
	now  time.Time
}

// The clock of the tests: statuses depend on "today".
var testNow = time.Date(2025, 5, 1, 10, 0, 0, 0, beijing)

func newHarness(t *testing.T) *harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	cfg := config.Defaults[Config]()
	cfg.IndexDir = filepath.Join(t.TempDir(), "index")
	h := &harness{iss: iss, pool: storetest.New(t, append(Migrations(), auditlogtest.Migration())...), now: testNow}
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: h.pool, Now: func() time.Time { return h.now },
		Verifier: iss.Verifier()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.f = f
	ctx := context.Background()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Stop(ctx) })
	if err := f.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

func (h *harness) admin() string {
	return h.iss.Bearer(authtest.CityWide(PermDocument+":view", PermDocument+":create", PermDocument+":edit", PermImport+":create"))
}

// A small corpus in the shipped layout: two versions of one law (the
// older one flagged expired, as the corpus flags superseded versions), a
// repealed law, a law not yet in force, a judicial interpretation and a
// case.
func testCorpus() fstest.MapFS {
	law := func(title string, hist []string, body string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("# " + title + "\n\n" + strings.Join(hist, "\n\n") + "\n\n" + infoEnd + "\n\n" + body)}
	}
	ad2015 := "## 第一章 总 则\n\n第一条 为了规范广告活动，制定本法。\n\n## 第二章 广告内容准则\n\n第九条 广告不得有下列情形：\n\n（一）使用国旗、国歌；\n\n（二）使用“国家级”、“最高级”、“最佳”等用语。\n\n第十条 广告不得损害未成年人的身心健康。\n"
	ad2021 := ad2015 + "\n## 第三章 附则\n\n第七十四条 本法自2015年9月1日起施行。\n"
	return fstest.MapFS{
		"law.json": {Data: []byte(`[
{"id":"a1","level":"法律","name":"广告法","filename":null,"publish":"2015-04-24","valid_from":"2015-09-01","expired":1,"order":null,"subtitle":null,"category_id":"c1"},
{"id":"a2","level":"法律","name":"广告法","filename":null,"publish":"2021-04-29","valid_from":"2021-04-29","expired":0,"order":null,"subtitle":null,"category_id":"c1"},
{"id":"n1","level":"法律","name":"环境噪声污染防治法","filename":null,"publish":"2018-12-29","valid_from":"","expired":1,"order":null,"subtitle":null,"category_id":"c1"},
{"id":"p1","level":"法律","name":"反不正当竞争法","filename":null,"publish":"2019-04-23","valid_from":"2019-04-23","expired":0,"order":null,"subtitle":null,"category_id":"c1"},
{"id":"p2","level":"法律","name":"反不正当竞争法","filename":null,"publish":"2025-06-27","valid_from":"2025-10-15","expired":0,"order":null,"subtitle":null,"category_id":"c1"},
{"id":"j1","level":"司法解释","name":"最高人民法院关于审理网络消费纠纷案件适用法律若干问题的规定（一）","filename":null,"publish":"2022-03-01","valid_from":null,"expired":0,"order":null,"subtitle":null,"category_id":"c2"},
{"id":"k1","level":"案例","name":"网店虚假宣传应予赔偿","filename":null,"publish":null,"valid_from":null,"expired":0,"order":null,"subtitle":"张某诉某网店案","category_id":"c3"}]`)},
		"category.json": {Data: []byte(`[{"id":"c1","name":"经济法","folder":"经济法"},{"id":"c2","name":"司法解释","folder":"司法解释"},{"id":"c3","name":"消费购物","folder":"案例/消费购物"}]`)},
		"经济法/广告法(2015-04-24).md": law("中华人民共和国广告法", []string{"1994年10月27日 第八届全国人民代表大会常务委员会第十次会议通过",
			"2015年4月24日 第十二届全国人民代表大会常务委员会第十四次会议修订"}, ad2015),
		"经济法/广告法(2021-04-29).md": law("中华人民共和国广告法", []string{"1994年10月27日 第八届全国人民代表大会常务委员会第十次会议通过",
			"2021年4月29日 第十三届全国人民代表大会常务委员会第二十八次会议《关于修改〈中华人民共和国道路交通安全法〉等八部法律的决定》第二次修正"}, ad2021),
		"经济法/环境噪声污染防治法(2018-12-29).md": law("中华人民共和国环境噪声污染防治法", []string{"1996年10月29日 第八届全国人民代表大会常务委员会第二十二次会议通过"},
			"第一条 为防治环境噪声污染，制定本法。\n\n第二条 本法所称环境噪声，是指在工业生产中所产生的干扰周围生活环境的声音。\n"),
		"经济法/反不正当竞争法(2019-04-23).md": law("中华人民共和国反不正当竞争法", []string{"1993年9月2日 第八届全国人民代表大会常务委员会第三次会议通过"},
			"第八条 经营者不得对其商品的性能、功能、质量、销售状况、用户评价作虚假或者引人误解的商业宣传。\n"),
		"经济法/反不正当竞争法(2025-06-27).md": law("中华人民共和国反不正当竞争法", []string{"2025年6月27日 第十四届全国人民代表大会常务委员会第十六次会议修订"},
			"第九条 经营者不得对其商品的性能、功能、质量、销售状况、用户评价作虚假或者引人误解的商业宣传。\n"),
		"司法解释/最高人民法院关于审理网络消费纠纷案件适用法律若干问题的规定（一）(2022-03-01).md": law("最高人民法院关于审理网络消费纠纷案件适用法律若干问题的规定（一）",
			[]string{"2022年2月15日 最高人民法院审判委员会第1864次会议通过", "法释〔2022〕8号"},
			"第一条 电子商务经营者提供的格式条款有收货人签收商品即视为认可商品质量符合约定内容的，人民法院应当依法认定该内容无效。\n"),
		"案例/消费购物/张某诉某网店案.md": {Data: []byte("# 网店虚假宣传应予赔偿\n\n" + infoEnd + "\n\n## 基本案情\n\n某网店虚假宣传商品功能，消费者张某要求赔偿。\n\n## 裁判结果\n\n法院判决网店承担赔偿责任。\n")},
	}
}

func mustImport(t *testing.T, h *harness, fsys fs.FS) ImportRun {
	t.Helper()
	run, err := h.f.Import(context.Background(), Actor{UserID: "u1", Username: "admin"}, fsys, "测试")
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return run
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()}, Config{}); err == nil {
		t.Error("an invalid Config accepted")
	}
}

// Every setting is documented where operators look (docs/operations.md,
// generated by the platform's settings test).
func TestConfigIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range config.Describe(Config{}) {
		if f.Help == "" || !strings.Contains(string(doc), "`"+f.Env+"`") {
			t.Errorf("%s lacks help text or is not in docs/operations.md (go test ./infra/local/platform -run Settings -update)", f.Env)
		}
	}
}

func writeZip(t *testing.T, w io.Writer, fsys fstest.MapFS) {
	t.Helper()
	z := zip.NewWriter(w)
	for name, f := range fsys {
		fw, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(f.Data)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
}
