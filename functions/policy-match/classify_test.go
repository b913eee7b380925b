package policymatch

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func day(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// The segmenter keeps the rules' terms whole and finds words, not
// substrings (FP-57–61 use it for every term rule).
func TestSegmenterKeepsTermsWhole(t *testing.T) {
	ws := testSeg.Words("河北省工业和信息化厅关于印发支持专精特新中小企业高质量发展若干措施的通知")
	for _, want := range []string{"专精特新", "中小企业", "河北省工业和信息化厅", "措施"} {
		if !slices.Contains(ws, want) {
			t.Errorf("%q not a word of %v", want, ws)
		}
	}
	ts := testSeg.terms("对消费税的征收管理")
	if ts["消费"] && !ts["消费税"] {
		t.Errorf("消费税 split into 消费: %v", ts)
	}
	if len(testSeg.Words("，。；（）")) != 0 {
		t.Error("punctuation kept as words")
	}
}

// FP-57: the type follows the terms found, title hits weighing three times.
func TestTypeRule(t *testing.T) {
	for _, c := range []struct{ title, body, want string }{
		{"关于进一步支持小微企业和个体工商户发展有关税费政策的公告", "减征增值税", "经济政策"},
		{"关于做好高校毕业生就业创业工作的通知", "稳岗返还 社会保险", "社会政策"},
		{"关于支持科技型中小企业研发创新的若干措施", "研发费用加计扣除", "科技政策"},
		{"关于加强食品安全监督管理的通知", "许可 执法", "监管政策"},
		{"关于开展某项工作的通知", "", "其他政策"},
	} {
		l := scoreTerms(typeRules, testSeg.terms(c.title), testSeg.terms(c.title+c.body), "其他政策")
		if l.Value != c.want {
			t.Errorf("%s: %s (%s), want %s", c.title, l.Value, l.Reason, c.want)
		}
		if c.want != "其他政策" && (len(l.Terms) == 0 || !strings.Contains(l.Reason, l.Terms[0]) || l.Rule != "terms") {
			t.Errorf("%s: the reason names no matched term: %+v", c.title, l)
		}
		if c.want == "其他政策" && l.Rule != "default" {
			t.Errorf("no term found but rule %q", l.Rule)
		}
	}
}

// FP-60: the category likewise.
func TestCategoryRule(t *testing.T) {
	for _, c := range []struct{ title, want string }{
		{"关于增值税小规模纳税人减免增值税政策的公告", "财政税收"},
		{"关于做好创业担保贷款贴息工作的通知", "金融"},
		{"石家庄市专精特新小巨人企业认定管理办法", "科技创新"},
		{"关于延续实施失业保险稳岗返还政策的通知", "就业社保"},
		{"石家庄市发放汽车消费券促进消费的实施方案", "消费"},
		{"关于推动制造业集群发展的若干措施", "产业发展"},
		{"关于做好跨境电商出口退运商品税收工作的通知", "外贸外资"},
		{"关于支持家庭农场和农民合作社发展的意见", "农业农村"},
		{"石家庄市质量强市标准化战略奖励办法", "市场监管"},
		{"关于持续优化营商环境的意见", "营商环境"},
	} {
		l := scoreTerms(categoryRules, testSeg.terms(c.title), testSeg.terms(c.title), "其他")
		if l.Value != c.want {
			t.Errorf("%s: %s (%s), want %s", c.title, l.Value, l.Reason, c.want)
		}
	}
	if l := scoreTerms(categoryRules, testSeg.terms("通知"), testSeg.terms("通知"), "其他"); l.Value != "其他" || l.Rule != "default" {
		t.Errorf("no term: %+v", l)
	}
}

// FP-58: the level from the issuer, each rule with its reason.
func TestLevelRule(t *testing.T) {
	for _, c := range []struct{ issuer, want, rule string }{
		{"财政部 税务总局", "国家级", "issuer"},
		{"国务院办公厅", "国家级", "issuer"},
		{"河北省工业和信息化厅", "省级", "issuer"},
		{"石家庄市人民政府", "市级", "issuer"},
		{"长安区人民政府", "县级", "issuer"},
		{"正定县市场监督管理局", "县级", "issuer"},
		{"石家庄高新技术产业开发区管理委员会", "县级", "issuer"},
		{"辛集市商务局", "县级", "issuer"},
		{"国家某某总局", "国家级", "issuer"},
		{"", "市级", "default"},
		{"某协会", "市级", "default"},
	} {
		l := levelOf(c.issuer)
		if l.Value != c.want || l.Rule != c.rule || l.Reason == "" {
			t.Errorf("%q: %+v, want %s by %s", c.issuer, l, c.want, c.rule)
		}
	}
}

// FP-59: timeliness from the dates and today, with the thresholds.
func TestTimelinessRule(t *testing.T) {
	today := *day("2025-06-30")
	th := Thresholds{SoonEffectiveDays: 30, SoonExpiringDays: 30}
	for _, c := range []struct {
		name            string
		eff, exp, pub   *time.Time
		want, reasonHas string
		th              *Thresholds
	}{
		{"not yet in force", day("2025-07-15"), day("2027-12-31"), day("2025-06-01"), "即将生效", "15 天", nil},
		{"far off", day("2026-01-01"), nil, nil, "即将生效", "尚远", nil},
		{"in force", day("2023-01-01"), day("2027-12-31"), nil, "已生效", "2027-12-31", nil},
		{"expiring", day("2023-01-01"), day("2025-07-20"), nil, "即将过期", "20 天", nil},
		{"expiring by a wider threshold", day("2023-01-01"), day("2025-09-20"), nil, "即将过期", "阈值 90 天", &Thresholds{SoonExpiringDays: 90}},
		{"expired", day("2023-01-01"), day("2025-06-29"), nil, "已过期", "1 天", nil},
		{"expires today", day("2023-01-01"), day("2025-06-30"), nil, "即将过期", "0 天", nil},
		{"no expiry", day("2020-01-01"), nil, nil, "已生效", "未注明有效期", nil},
		{"published only", nil, nil, day("2024-05-01"), "已生效", "发布日期", nil},
		{"published in the future", nil, nil, day("2025-08-01"), "即将生效", "发布日期", nil},
		{"no dates", nil, nil, nil, "已生效", "未注明", nil},
	} {
		use := th
		if c.th != nil {
			use = *c.th
		}
		l := timelinessOf(c.eff, c.exp, c.pub, today, use)
		if l.Value != c.want || !strings.Contains(l.Reason, c.reasonHas) {
			t.Errorf("%s: %+v, want %s with %q", c.name, l, c.want, c.reasonHas)
		}
	}
}

// FP-61: departments are normalised; joint issuers are all named.
func TestDepartmentRule(t *testing.T) {
	for _, c := range []struct {
		issuer string
		want   []string
		how    string
	}{
		{"财政部 税务总局", []string{"财政部", "国家税务总局"}, "规范为"},
		{"财政部、人力资源和社会保障部", []string{"财政部", "人力资源社会保障部"}, "规范为"},
		{"河北省工信厅", []string{"河北省工业和信息化厅"}, "规范为"},
		{"石家庄市市场监管局", []string{"石家庄市市场监督管理局"}, "规范为"},
		{"长安区市场监管局", []string{"长安区市场监督管理局"}, "简称规则"},
		{"国家税务总局", []string{"国家税务总局"}, "规范名称"},
		{"某某行业协会", []string{"某某行业协会"}, "保留原名"},
	} {
		l := departmentsOf(c.issuer)
		if l.Value != c.want[0] || !slices.Equal(l.Terms, c.want) || !strings.Contains(l.Reason, c.how) {
			t.Errorf("%q: %+v, want %v (%s)", c.issuer, l, c.want, c.how)
		}
	}
	if l := departmentsOf(""); l.Value != "未注明" || l.Rule != "default" {
		t.Errorf("empty issuer: %+v", l)
	}
}
