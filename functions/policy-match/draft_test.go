package policymatch

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The draft condition suggested from a text (FP-62), phrase by phrase,
// each with the phrase it came from.
func TestDraftFromText(t *testing.T) {
	for _, c := range []struct {
		text  string
		check func(Condition) bool
		why   string
	}{
		{"对小型微利企业减按25%计算应纳税所得额", func(c Condition) bool { return slices.Equal(c.Sizes, []string{"small", "micro"}) }, "小微企业"},
		{"支持中小企业发展", func(c Condition) bool { return len(c.Sizes) == 3 }, "中小"},
		{"增值税小规模纳税人、小微企业和个体工商户", func(c Condition) bool { return slices.Equal(c.EntityTypes, []string{"enterprise", "individual"}) }, "主体类型"},
		{"支持农民专业合作社", func(c Condition) bool { return slices.Contains(c.EntityTypes, "cooperative") }, "主体类型"},
		{"面向制造业企业", func(c Condition) bool { return slices.Equal(c.Industries, []string{"C"}) }, "制造业"},
		{"住宿餐饮和批发零售企业", func(c Condition) bool {
			return slices.Contains(c.Industries, "F") && slices.Contains(c.Industries, "H")
		}, "行业"},
		{"在长安区、桥西区注册的企业", func(c Condition) bool { return slices.Equal(c.Districts, []string{"130102", "130104"}) }, "区县"},
		{"成立不满三年的企业", func(c Condition) bool { return c.MaxAgeYears == 3 }, "成立不满 3 年"},
		{"成立5年以内", func(c Condition) bool { return c.MaxAgeYears == 5 }, "成立不满 5 年"},
		{"成立满2年", func(c Condition) bool { return c.MinAgeYears == 2 }, "成立满 2 年"},
		{"2024年1月1日以后新注册的企业", func(c Condition) bool { return c.EstablishedFrom.String() == "2024-01-01" }, "不早于"},
		{"注册资本不低于500万元", func(c Condition) bool { return c.CapitalMin != nil && *c.CapitalMin == 500 }, "不低于"},
		{"注册资本100万元以下", func(c Condition) bool { return c.CapitalMax != nil && *c.CapitalMax == 100 && c.CapitalMin == nil }, "不高于"},
		{"未被列入经营异常名录", func(c Condition) bool { return c.NotAbnormal }, "经营异常名录"},
		{"未列入严重违法失信名单", func(c Condition) bool { return c.NotSeriousIllegal }, "严重违法失信"},
		{"不在黑名单内", func(c Condition) bool { return c.NotBlacklisted }, "黑名单"},
		{"近三年内未受到行政处罚", func(c Condition) bool { return c.NoPenaltyYears == 3 }, "无行政处罚"},
	} {
		d := testFunction().Draft(c.text)
		if !c.check(d.Condition) || !strings.Contains(strings.Join(d.Reasons, "|"), c.why) {
			t.Errorf("%s: %+v %v", c.text, d.Condition, d.Reasons)
		}
	}
	if d := testFunction().Draft("关于开展调研的通知"); !d.Condition.Empty() || len(d.Reasons) != 0 {
		t.Errorf("nothing to suggest, got %+v", d)
	}
}

// testFunction is a Function for the pure parts (no database).
func testFunction() *Function {
	return &Function{seg: testSeg, industry: &IndustryModel{seg: testSeg, lexicon: true}, now: func() time.Time { return testNow },
		cfg: Config{SoonEffectiveDays: 30, SoonExpiringDays: 30}}
}
