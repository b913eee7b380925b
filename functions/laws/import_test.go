package laws

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

func TestParseTextStructure(t *testing.T) {
	src := "# 中华人民共和国示例法\n\n2020年1月2日 第十三届全国人民代表大会常务委员会第十五次会议通过\n\n一九九四年十二月六日\n\n" + infoEnd + `

## 第一编 总则

### 第一章 一般规定

#### 第一节 目的

第一条　为了示例，制定本法。

第二条 有下列情形之一的，适用本法：

（一）甲；

（二）乙。

前款规定以外的，不适用本法。

第二条之一 补充条款。

第一百零五条 本法自2020年5月1日起施行。
`
	p, err := ParseText(src)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "中华人民共和国示例法" || len(p.History) != 2 || p.History[1].Date != "1994-12-06" || p.History[0].Kind != "通过" {
		t.Fatalf("head: %+v", p)
	}
	if len(p.Articles) != 4 {
		t.Fatalf("articles: %+v", p.Articles)
	}
	a2 := p.Articles[1]
	if a2.Number != 2 || a2.Part != "第一编 总则" || a2.Chapter != "第一章 一般规定" || a2.Section != "第一节 目的" {
		t.Errorf("article 2 placed %+v", a2)
	}
	// 款 keep their 项.
	if len(a2.Paragraphs) != 2 || !strings.Contains(a2.Paragraphs[0], "（二）乙。") || a2.Paragraphs[1] != "前款规定以外的，不适用本法。" {
		t.Errorf("paragraphs of article 2: %q", a2.Paragraphs)
	}
	if p.Articles[2].Label != "第二条之一" || p.Articles[2].Number != 2 || p.Articles[3].Number != 105 || p.Articles[0].Paragraphs[0] != "为了示例，制定本法。" {
		t.Errorf("labels: %+v", p.Articles)
	}
	if eff := effectiveFromText(p.Articles, nil); eff == nil || eff.Format(time.DateOnly) != "2020-05-01" {
		t.Errorf("effective date from the text: %v", eff)
	}
}

func TestNumeralsAndDates(t *testing.T) {
	for s, want := range map[string]int{"九": 9, "十": 10, "十二": 12, "一百零五": 105, "一千一百六十五": 1165, "二百": 200, "105": 105} {
		if n, ok := hanNumber(s); !ok || n != want {
			t.Errorf("hanNumber(%s) = %d", s, n)
		}
	}
	for n, want := range map[int]string{9: "九", 10: "十", 12: "十二", 105: "一百零五", 1165: "一千一百六十五", 200: "二百", 110: "一百一十"} {
		if got := hanLabel(n); got != want {
			t.Errorf("hanLabel(%d) = %s, want %s", n, got, want)
		}
	}
	for _, ok := range []string{"", "2021-04-29", "2021年4月29日"} {
		if _, err := ParseDate(ok); err != nil {
			t.Errorf("ParseDate(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"2021/4/29", "29.04.2021", "2021-02-30", "去年"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	if _, err := ParseText("# 题\n\n2021/4/29 公布\n\n" + infoEnd + "\n\n第一条 甲。"); err == nil || !strings.Contains(err.Error(), "无法识别的日期格式") {
		t.Errorf("a history line with an unknown date format: %v", err)
	}
}

func TestJudgeStatuses(t *testing.T) {
	d := func(s string) *time.Time { v, _ := time.Parse(time.DateOnly, s); return &v }
	today := *d("2025-05-01")
	got := judge([]version{
		{ID: 1, EffectiveOn: d("2015-09-01"), Repealed: true}, // superseded (the corpus flags those too)
		{ID: 2, EffectiveOn: d("2021-04-29")},
		{ID: 3, EffectiveOn: d("2025-10-15")},
	}, today)
	if got[1].Status != StatusAmended || got[2].Status != StatusInForce || got[3].Status != StatusPending {
		t.Fatalf("versions: %+v", got)
	}
	for id, v := range got {
		if v.CurrentID != 2 {
			t.Errorf("version %d points to %d, want the in-force 2", id, v.CurrentID)
		}
	}
	// On its date the pending version takes over.
	got = judge([]version{{ID: 2, EffectiveOn: d("2021-04-29")}, {ID: 3, EffectiveOn: d("2025-10-15")}}, *d("2025-10-15"))
	if got[2].Status != StatusAmended || got[3].Status != StatusInForce || got[2].CurrentID != 3 {
		t.Fatalf("after the date: %+v", got)
	}
	// The newest version repealed: the law is repealed in every version.
	got = judge([]version{{ID: 4, EffectiveOn: d("2010-01-01")}, {ID: 5, EffectiveOn: d("2018-12-29"), Repealed: true}}, today)
	if got[4].Status != StatusRepealed || got[5].Status != StatusRepealed {
		t.Fatalf("repealed law: %+v", got)
	}
}

func TestImportDerivesMetadata(t *testing.T) {
	h := newHarness(t)
	run := mustImport(t, h, testCorpus())
	if run.Created != 7 || run.Updated != 0 || run.Unchanged != 0 {
		t.Fatalf("first import: %+v", run)
	}
	ctx := context.Background()
	docs := map[string]Document{}
	rows, _, err := listDocuments(ctx, h.pool, Filter{}, sortPub, pageAll)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rows {
		docs[d.Path] = d
	}
	ad15, ad21 := docs["经济法/广告法(2015-04-24).md"], docs["经济法/广告法(2021-04-29).md"]
	if ad21.Status != StatusInForce || ad15.Status != StatusAmended || *ad15.CurrentID != ad21.ID || *ad21.CurrentID != ad21.ID {
		t.Errorf("广告法 versions: 2015 %s → %v, 2021 %s", ad15.Status, ad15.CurrentID, ad21.Status)
	}
	if ad21.Body != "全国人民代表大会常务委员会" || ad21.BodySource != "历史沿革" || ad21.Nature != "法律" || ad21.Family != "广告法" {
		t.Errorf("广告法 2021: %+v", ad21)
	}
	if n := docs["经济法/环境噪声污染防治法(2018-12-29).md"]; n.Status != StatusRepealed {
		t.Errorf("repealed law: %s", n.Status)
	}
	if p := docs["经济法/反不正当竞争法(2025-06-27).md"]; p.Status != StatusPending || *p.EffectiveOn != "2025-10-15" {
		t.Errorf("future version: %s %v", p.Status, p.EffectiveOn)
	}
	j := docs["司法解释/最高人民法院关于审理网络消费纠纷案件适用法律若干问题的规定（一）(2022-03-01).md"]
	if j.Body != "最高人民法院" || j.Number != "法释〔2022〕8号" || *j.EffectiveOn != "2022-03-01" {
		t.Errorf("interpretation: body %q number %q effective %v", j.Body, j.Number, j.EffectiveOn)
	}
	c := docs["案例/消费购物/张某诉某网店案.md"]
	if c.Nature != "案例" || c.ShortTitle != "张某诉某网店案" || c.ArticleCount != 2 {
		t.Errorf("case: %+v", c)
	}
}

var (
	sortPub = httpx.Sort{Field: "published_on", Desc: true}
	pageAll = httpx.Page{Page: 1, Size: 200}
)

func TestReimportChangesOnlyWhatChanged(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	corpus := testCorpus()
	mustImport(t, h, corpus)
	seq := func() (n int64) {
		_ = h.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM laws.changes`).Scan(&n)
		return n
	}
	before := seq()
	var v1 int
	_ = h.pool.QueryRow(ctx, `SELECT version FROM laws.documents WHERE source_key = 'n1'`).Scan(&v1)
	run := mustImport(t, h, corpus)
	if run.Created != 0 || run.Updated != 0 || run.Unchanged != 7 || seq() != before {
		t.Fatalf("same corpus again: %+v, changes %d → %d", run, before, seq())
	}
	// One file changes; the edited-in-console document is kept.
	changed := testCorpus()
	changed["经济法/环境噪声污染防治法(2018-12-29).md"].Data = append(changed["经济法/环境噪声污染防治法(2018-12-29).md"].Data, []byte("\n第三条 新增条款。\n")...)
	changed["经济法/反不正当竞争法(2019-04-23).md"].Data = append(changed["经济法/反不正当竞争法(2019-04-23).md"].Data, []byte("\n第九条 新增。\n")...)
	if _, err := h.pool.Exec(ctx, `UPDATE laws.documents SET edited = true WHERE source_key = 'p1'`); err != nil {
		t.Fatal(err)
	}
	run = mustImport(t, h, changed)
	if run.Updated != 1 || run.Unchanged != 5 || run.Kept != 1 || run.Created != 0 {
		t.Fatalf("one file changed: %+v", run)
	}
	var v2, arts int
	_ = h.pool.QueryRow(ctx, `SELECT version, articles FROM laws.documents WHERE source_key = 'n1'`).Scan(&v2, &arts)
	if v2 != v1+1 || arts != 3 {
		t.Errorf("changed document: version %d → %d, %d articles", v1, v2, arts)
	}
	var untouched int
	_ = h.pool.QueryRow(ctx, `SELECT count(*) FROM laws.documents WHERE version = 1`).Scan(&untouched)
	if untouched != 6 {
		t.Errorf("%d documents still at version 1, want 6", untouched)
	}
}

func TestBadImportWritesNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for name, spoil := range map[string]func(fstest.MapFS){
		"broken file": func(c fstest.MapFS) {
			c["经济法/广告法(2021-04-29).md"].Data = []byte{0xff, 0xfe, '#', ' ', 0x80}
		},
		"unknown date format": func(c fstest.MapFS) {
			c["law.json"].Data = []byte(strings.Replace(string(c["law.json"].Data), `"publish":"2018-12-29"`, `"publish":"2018/12/29"`, 1))
			c["经济法/环境噪声污染防治法(2018/12/29).md"] = c["经济法/环境噪声污染防治法(2018-12-29).md"]
		},
		"no text": func(c fstest.MapFS) {
			c["经济法/反不正当竞争法(2019-04-23).md"].Data = []byte("# 中华人民共和国反不正当竞争法\n\n" + infoEnd + "\n")
		},
	} {
		c := testCorpus()
		spoil(c)
		_, err := h.f.Import(ctx, Actor{}, c, "测试")
		e := errs.As(err)
		if e == nil || e.Code != errs.Invalid || len(e.Fields) != 1 || !strings.Contains(e.Message, "未导入任何文件") {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %s — %s", name, e.Fields[0].Field, e.Fields[0].Message)
		var n int
		_ = h.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM laws.documents) + (SELECT count(*) FROM laws.articles) + (SELECT count(*) FROM laws.imports)`).Scan(&n)
		if n != 0 {
			t.Fatalf("%s: %d rows written", name, n)
		}
	}
}
