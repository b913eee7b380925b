package entitygraph

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/tests/sim/nationaldata"
)

// codeBJ is an entity registered in Beijing (海淀区, 110108) that T holds:
// beyond Shijiazhuang, so the portrait asks the national data about it.
const codeBJ = "91110108MA01NATL0X"

// pdfText is the PDF's text as pdftotext (poppler-utils) extracts it,
// without the spaces it puts between CJK characters as the layout
// suggests.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if len(pdf) < 5 || string(pdf[:5]) != "%PDF-" {
		t.Fatalf("not a PDF: %.200s", pdf)
	}
	dir := os.Getenv("ENTITY_GRAPH_PDF_DIR") // keep the PDFs to look at
	if dir == "" {
		dir = t.TempDir()
	}
	p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.NewReplacer(" ", "", "\u00a0", "").Replace(string(out))
}

// seedPortrait gives T a name with a character beyond the BMP, records of
// several kinds (a non-public one among them) and a Beijing subsidiary.
func seedPortrait(t *testing.T, h harness) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`UPDATE registry.entities SET name = '石家庄𠮷祥目标实业有限公司', legal_rep = '赵立新' WHERE credit_code = '` + codeT + `'`,
		`UPDATE graph.parties SET name = '石家庄𠮷祥目标实业有限公司' WHERE id = '` + codeT + `'`,
		`INSERT INTO graph.parties (id, kind, name) VALUES ('` + codeBJ + `', 'entity', '北京海淀外地科技有限公司')`,
		`INSERT INTO graph.holdings (holder_id, held_id, pct) VALUES ('` + codeT + `', '` + codeBJ + `', 51)`,
		`INSERT INTO registry.records (credit_code, kind, ref_no, title, authority, occurred_on, valid_until, status, details) VALUES
			('` + codeT + `', 'licence', 'JY11301020012345', '食品经营许可证', '长安区市场监督管理局', '2021-01-05', '2026-01-04', '有效', '{}'),
			('` + codeT + `', 'penalty', '石长市监罚〔2025〕18号', '销售过期食品', '长安区市场监督管理局', '2025-06-18', NULL, '已执行',
			 '{"penalty_type": "罚款", "amount": "5000", "legal_basis": "《食品安全法》第一百二十四条"}'),
			('` + codeT + `', 'inspection', '', '日常监督检查', '长安区市场监督管理局', '2025-09-02', NULL, '合格', '{}'),
			('` + codeT + `', 'abnormal_list', '', '未按规定报送年度报告', '长安区市场监督管理局', '2024-07-01', NULL, '列入', '{}')`,
		`INSERT INTO registry.records (credit_code, kind, title, authority, occurred_on, status, public) VALUES
			('` + codeT + `', 'inspection', '内部专项核查', '长安区市场监督管理局', '2025-10-10', '待复查', false)`,
	} {
		if _, err := h.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q[:40], err)
		}
	}
	h.nat.Add(nationaldata.Enterprise{CreditCode: codeBJ, Name: "北京海淀外地科技有限公司", RegStatus: "存续", LegalRep: "孙明",
		RegAuthority: "北京市海淀区市场监督管理局", Abnormal: []nationaldata.Listing{{Reason: "通过登记的住所无法联系", ListedOn: "2025-03-01",
			Authority: "北京市海淀区市场监督管理局"}}},
		nationaldata.Enterprise{CreditCode: codeT, Name: "石家庄𠮷祥目标实业有限公司", RegStatus: "存续",
			RegAuthority: "石家庄市长安区市场监督管理局", Penalties: []nationaldata.Penalty{{RefNo: "津市监罚〔2024〕7号",
				Content: "虚假宣传", Authority: "天津市市场监督管理局", DecidedOn: "2024-11-20"}}})
}

// FP-125: the portrait of T for a 长安区 caller: its name (with 𠮷) as
// text, its controllers, its records (the non-public one marked), the
// grade and risks, the national data of its Beijing subsidiary reached
// through signed requests; and the 新华区 shareholder C, outside the
// scope, a node without details everywhere in the file.
func TestPortraitPDF(t *testing.T) { // FP-125
	h := newHarness(t)
	seedPortrait(t, h)
	changan := h.iss.Bearer(authtest.InDistricts([]string{"entity.graph:view"}, "130102"))
	rec := h.do(t, changan, "GET", "/entity/v1/entities/"+codeT+"/portrait.pdf", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("portrait: %d %.300s", rec.Code, rec.Body.String())
	}
	txt := pdfText(t, rec.Body.Bytes())
	for _, want := range []string{
		"企业数字画像报告", "石家庄𠮷祥目标实业有限公司", codeT, "法定代表人：赵立新",
		"实际控制人：张伟（36%）、王建华（34%）", "受益所有人：张伟（36%）、王建华（34%）",
		"股权结构图", "51%", // the chart's label of T's Beijing holding
		"食品经营许可证", "销售过期食品", "金额（元）：5000", "日常监督检查", "内部专项核查", "不公示",
		"档案信用等级：C（65分）", "近三年行政处罚1条，扣15分", "列入经营异常名录", "许可已过期：食品经营许可证",
		"北京海淀外地科技有限公司", "北京市海淀区市场监督管理局", "通过登记的住所无法联系", "虚假宣传",
		"（数据权限范围外）",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("the portrait lacks %q", want)
		}
	}
	for _, leak := range []string{"新华区丙科技有限公司", codeC} {
		if strings.Contains(txt, leak) {
			t.Errorf("the portrait shows %q, outside the caller's scope", leak)
		}
	}
	if t.Failed() {
		t.Logf("pdftotext:\n%s", txt)
	}
	// Both lookups were signed as the gateway wants (a wrong signature is
	// a 401 there, and the section would say so).
	calls := h.nat.Calls()
	if len(calls) != 2 {
		t.Fatalf("national calls: %+v", calls)
	}
	for _, c := range calls {
		if c.Status != 200 {
			t.Errorf("national call %s answered %d %s", c.Path, c.Status, c.Code)
		}
	}
	// The rendering is in the operation log, in the entity's district.
	if ops := auditlogtest.Ops(t, h.pool, codeT); len(ops) != 1 || ops[0].Action != "entity.portrait.render" {
		t.Errorf("operation log: %+v", ops)
	}
	// The entity outside the scope has no portrait at all.
	if rec := h.do(t, changan, "GET", "/entity/v1/entities/"+codeC+"/portrait.pdf", nil); rec.Code != 404 {
		t.Errorf("foreign portrait: %d", rec.Code)
	}
}

// FP-125: a failing gateway costs the portrait one section's content, said
// in Chinese, never the report; a wrong secret is refused by the gateway
// and said so.
func TestPortraitNationalFailures(t *testing.T) { // FP-125
	h := newHarness(t)
	seedPortrait(t, h)
	city := h.iss.Bearer(authtest.CityWide("entity.graph:view"))
	h.nat.FailNext(503, 4) // both lookups and their retries
	rec := h.do(t, city, "GET", "/entity/v1/entities/"+codeT+"/portrait.pdf", nil)
	if rec.Code != 200 {
		t.Fatalf("portrait with the gateway down: %d %s", rec.Code, rec.Body)
	}
	txt := pdfText(t, rec.Body.Bytes())
	if !strings.Contains(txt, "未能获取：国家企业数据接口暂时不可用（HTTP503），请稍后重试") || !strings.Contains(txt, "食品经营许可证") {
		t.Errorf("gateway down:\n%s", txt)
	}
	// City-wide, C is visible.
	if !strings.Contains(txt, "新华区丙科技有限公司") {
		t.Error("a city-wide caller does not see C")
	}

	cfg := h.f.cfg
	cfg.NationalSecret = "not-the-secret"
	bad, err := New(Deps{Logger: h.f.log, Pool: h.pool, Now: h.f.now, Verifier: h.iss.Verifier()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.f = bad
	rec = h.do(t, city, "GET", "/entity/v1/entities/"+codeT+"/portrait.pdf", nil)
	if rec.Code != 200 {
		t.Fatalf("portrait with a wrong secret: %d %s", rec.Code, rec.Body)
	}
	if txt := pdfText(t, rec.Body.Bytes()); !strings.Contains(txt, "国家企业数据接口拒绝了本平台的签名") {
		t.Errorf("wrong secret:\n%s", txt)
	}
	last := h.nat.Calls()[len(h.nat.Calls())-1]
	if last.Status != 401 || last.Code != "INVALID_SIGNATURE" {
		t.Errorf("the gateway answered a wrongly signed request %d %s", last.Status, last.Code)
	}
}

// FP-125: a wide graph (30 direct holders with long names, a relation)
// still prints on one chart: four boxes of the level and one saying how
// many more, every label fitted.
func TestPortraitChartOfAWideGraph(t *testing.T) { // FP-125
	g := &Graph{Center: codeT, Nodes: []Node{{ID: codeT, Kind: "entity", Name: "石家庄𠮷祥目标实业有限公司"}}}
	for i := range 30 {
		id := fmt.Sprintf("P%02d", i)
		g.Nodes = append(g.Nodes, Node{ID: id, Kind: "person", Name: strings.Repeat("欧阳", 6) + id})
		pct := 100.0 / 30
		g.Links = append(g.Links, Link{Source: id, Target: codeT, Kind: "holding", Pct: &pct})
	}
	g.Nodes = append(g.Nodes, Node{ID: "hidden-1", Kind: "entity", Name: "（数据权限范围外）", Hidden: true})
	g.Links = append(g.Links, Link{Source: codeT, Target: "hidden-1", Kind: "cooperation"})
	p := &Portrait{Entity: PortraitEntity{CreditCode: codeT, Name: "石家庄𠮷祥目标实业有限公司", Status: "active"}, Graph: g,
		GeneratedAt: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), Names: map[string]string{}}
	p.Grade = gradeOf(p.Entity, p.GeneratedAt)
	pdf, err := renderPortrait(p)
	if err != nil {
		t.Fatal(err)
	}
	txt := pdfText(t, pdf)
	for _, want := range []string{"另有26个主体", "合作", "（数据权限范围外）", "档案信用等级：A（100分）"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the chart lacks %q:\n%s", want, txt)
		}
	}
}
