package policymatch

import (
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/codes"
)

func ip(n int) *int { return &n }

// FP-55: every row of the 2011 SME thresholds decides on its indicators,
// each boundary on the right side, and says why.
func TestSizeRules(t *testing.T) {
	for _, c := range []struct {
		class string
		f     *Figures
		want  string
		has   string
	}{
		{"1311", &Figures{Year: 2024, Employees: ip(1000), Revenue: fp(40000)}, "large", "工业"},
		{"1311", &Figures{Year: 2024, Employees: ip(999), Revenue: fp(50000)}, "medium", "中型"},
		{"1311", &Figures{Year: 2024, Employees: ip(300), Revenue: fp(1999)}, "small", "小型"},
		{"1311", &Figures{Year: 2024, Employees: ip(20), Revenue: fp(300)}, "small", "从业人员 20人"},
		{"1311", &Figures{Year: 2024, Employees: ip(19), Revenue: fp(5000)}, "micro", "微型"},
		{"0141", &Figures{Year: 2024, Revenue: fp(499)}, "small", "农、林、牧、渔业"},
		{"0141", &Figures{Year: 2024, Revenue: fp(20000)}, "large", "农、林、牧、渔业"},
		{"4710", &Figures{Year: 2024, Revenue: fp(6000), Assets: fp(5000)}, "medium", "建筑业"},
		{"4710", &Figures{Year: 2024, Revenue: fp(6000), Assets: fp(299)}, "micro", "资产总额"},
		{"5165", &Figures{Year: 2024, Employees: ip(5), Revenue: fp(1000)}, "small", "批发业"},
		{"5212", &Figures{Year: 2024, Employees: ip(9), Revenue: fp(800)}, "micro", "零售业"},
		{"5212", &Figures{Year: 2024, Employees: ip(50), Revenue: fp(500)}, "medium", "零售业"},
		{"5431", &Figures{Year: 2024, Employees: ip(300), Revenue: fp(3000)}, "medium", "交通运输业"},
		{"5920", &Figures{Year: 2024, Employees: ip(100), Revenue: fp(1000)}, "medium", "仓储业"},
		{"6010", &Figures{Year: 2024, Employees: ip(20), Revenue: fp(100)}, "small", "邮政业"},
		{"6110", &Figures{Year: 2024, Employees: ip(10), Revenue: fp(100)}, "small", "住宿业"},
		{"6210", &Figures{Year: 2024, Employees: ip(300), Revenue: fp(10000)}, "large", "餐饮业"},
		{"6311", &Figures{Year: 2024, Employees: ip(2000), Revenue: fp(100000)}, "large", "信息传输业"},
		{"6513", &Figures{Year: 2024, Employees: ip(10), Revenue: fp(50)}, "small", "软件和信息技术服务业"},
		{"7010", &Figures{Year: 2024, Revenue: fp(1000), Assets: fp(5000)}, "medium", "房地产开发经营"},
		{"7020", &Figures{Year: 2024, Employees: ip(100), Revenue: fp(500)}, "small", "物业管理"},
		{"7211", &Figures{Year: 2024, Employees: ip(100), Assets: fp(8000)}, "medium", "租赁和商务服务业"},
		{"8040", &Figures{Year: 2024, Employees: ip(9)}, "micro", "其他未列明行业"},
		{"8040", &Figures{Year: 2024, Employees: ip(300)}, "large", "其他未列明行业"},
		{"1311", nil, "unknown", "无年度报告"},
		{"1311", &Figures{Year: 2024, Employees: ip(30)}, "unknown", "缺少营业收入"},
	} {
		size, reason := SizeOf(c.class, c.f)
		if size != c.want || !strings.Contains(reason, c.has) || !strings.Contains(reason, "工信部联企业〔2011〕300号") {
			t.Errorf("%s %+v: %s %q, want %s with %q", c.class, c.f, size, reason, c.want, c.has)
		}
	}
}

// FP-55: ownership and type with their reasons.
func TestOwnershipAndType(t *testing.T) {
	for _, c := range []struct{ typ, name, own string }{
		{"individual", "长安区老王面馆", "个体经济"},
		{"cooperative", "正定县绿源蔬菜种植专业合作社", "集体经济"},
		{"institution", "石家庄市第二中学", "国有"},
		{"non_enterprise", "石家庄市某某培训学校", "民办"},
		{"enterprise", "石家庄国有资本投资运营集团有限责任公司", "国有"},
		{"enterprise", "可口可乐（中国）饮料有限公司石家庄分公司", "外商投资"},
		{"enterprise", "河北恒达建材有限公司", "私营"},
	} {
		if own, why := OwnershipOf(c.typ, c.name); own != c.own || why == "" {
			t.Errorf("%s: %s (%s), want %s", c.name, own, why, c.own)
		}
	}
	if ty, why := TypeOf("enterprise", "河北恒达建材股份有限公司"); ty != "企业（股份有限公司）" || !strings.Contains(why, "股份有限公司") {
		t.Errorf("type: %s %s", ty, why)
	}
	if ty, _ := TypeOf("individual", "长安区老王面馆"); ty != "个体工商户" {
		t.Errorf("individual type: %s", ty)
	}
}

// FP-54: the industry from the name and scope, with the words that decided.
func TestIndustryGuess(t *testing.T) {
	m := &IndustryModel{seg: testSeg, lexicon: true}
	for _, c := range []struct{ name, scope, want string }{
		{"长安区老王面馆", "餐饮服务（小餐饮）", "6291"},
		{"石家庄恒通软件科技有限公司", "软件开发；信息技术咨询服务", "6513"},
		{"新华区惠民超市", "食品销售；日用百货销售", "5212"},
		{"河北恒达建材有限公司", "建筑材料、装饰材料批发", "5165"},
		{"正定县丰收蔬菜种植专业合作社", "蔬菜种植；食用农产品初加工", "0141"},
	} {
		g := m.Guess(c.name, c.scope)
		if g.Code != c.want || g.Confidence <= 0 || g.Confidence > 1 || len(g.Terms) == 0 {
			t.Errorf("%s: %+v, want %s", c.name, g, c.want)
		}
	}
	if g := m.Guess("", ""); g.Code != "" {
		t.Errorf("nothing to go on, guessed %+v", g)
	}
	// Without the lexicon the class names alone still place a plain case.
	base := &IndustryModel{seg: testSeg}
	if g := base.Guess("石家庄某某软件开发有限公司", "软件开发"); g.Code[:2] != "65" {
		t.Errorf("baseline: %+v", g)
	}
	for _, l := range industryLexicon {
		if err := codes.CheckIndustry(l.class); err != nil {
			t.Errorf("lexicon class %s: %v", l.class, err)
		}
	}
}

// FP-55: the type from a name alone.
func TestTypeFromName(t *testing.T) {
	for name, want := range map[string]string{
		"河北恒达建材有限公司": "enterprise", "正定县绿源蔬菜种植专业合作社": "cooperative", "长安区老王面馆": "individual",
		"石家庄市第二中学": "institution", "长安区人民医院": "institution", "石家庄市某某民办培训学校": "non_enterprise",
		"新华区惠民超市": "individual", "石家庄市长安区某某协会": "non_enterprise",
	} {
		if got, why := TypeFromName(name); got != want || why == "" {
			t.Errorf("%s: %s (%s), want %s", name, got, why, want)
		}
	}
}
