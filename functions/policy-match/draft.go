package policymatch

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sjzamr/smartreg/shared/codes"
)

// Draft is a condition suggested from a policy's text, with the phrase
// behind each part, for a person to check and edit in the console.
type Draft struct {
	Condition Condition `json:"condition"`
	Reasons   []string  `json:"reasons"`
}

// sectionTerms map the industries policies name to GB/T 4754 sections or
// divisions.
var sectionTerms = []struct {
	term  string
	codes []string
}{
	{"制造业", []string{"C"}}, {"工业企业", []string{"B", "C", "D"}}, {"规上工业", []string{"B", "C", "D"}},
	{"建筑业", []string{"E"}}, {"批发零售", []string{"F"}}, {"批发和零售", []string{"F"}}, {"商贸流通", []string{"F"}},
	{"交通运输", []string{"G"}}, {"物流", []string{"G"}}, {"住宿餐饮", []string{"H"}}, {"住宿和餐饮", []string{"H"}},
	{"餐饮", []string{"62"}}, {"软件和信息技术服务", []string{"65"}}, {"信息技术", []string{"I"}}, {"软件", []string{"65"}},
	{"科技服务", []string{"M"}}, {"文化旅游", []string{"R"}}, {"文旅", []string{"R"}}, {"农业", []string{"A"}}, {"种植", []string{"01"}},
	{"养殖", []string{"03"}}, {"食品生产", []string{"13", "14"}}, {"农副食品加工", []string{"13"}}, {"医药制造", []string{"27"}},
	{"装备制造", []string{"34", "35"}}, {"新能源", []string{"D"}}, {"房地产", []string{"K"}}, {"家政", []string{"8010"}},
}

var (
	reMaxAge   = regexp.MustCompile(`成立(?:时间)?(?:不满|未满|不超过|不足)\s*([0-9一二三四五六七八九十]+)\s*年|成立\s*([0-9一二三四五六七八九十]+)\s*年(?:以内|内)`)
	reMinAge   = regexp.MustCompile(`成立(?:时间)?(?:满|已满|超过)\s*([0-9一二三四五六七八九十]+)\s*年|成立\s*([0-9一二三四五六七八九十]+)\s*年(?:以上|及以上)`)
	reFrom     = regexp.MustCompile(`([0-9]{4})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日(?:（含）)?(?:以后|之后|起)(?:新)?(?:注册|成立|登记)`)
	reCapMin   = regexp.MustCompile(`注册资本(?:金)?(?:不低于|达到|在|≥)\s*([0-9]+(?:\.[0-9]+)?)\s*万元(?:及)?(?:以上)?`)
	reCapMax   = regexp.MustCompile(`注册资本(?:金)?(?:不超过|低于|在)?\s*([0-9]+(?:\.[0-9]+)?)\s*万元(?:及)?以下`)
	rePenalty  = regexp.MustCompile(`近\s*([0-9一二三四五六七八九十]+)\s*年(?:内)?(?:未受到|无|没有|未发生)(?:重大)?(?:行政)?处罚`)
	chineseNum = map[string]int{"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
)

func atoiZh(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return chineseNum[s]
}

func firstGroup(m []string) string {
	for _, g := range m[1:] {
		if g != "" {
			return g
		}
	}
	return ""
}

// Draft suggests a condition from the text (FP-62): who the policy is for,
// the industries and districts it names, how old or how large an entity
// must be, and its credit requirements. Words are tested on the segmented
// text; numbers by the phrases documents use for them.
func (f *Function) Draft(text string) Draft {
	var d Draft
	c := &d.Condition
	ts := f.seg.terms(text)
	say := func(s string) { d.Reasons = append(d.Reasons, s) }
	has := func(t string) bool { return ts[t] || strings.Contains(text, t) }

	switch {
	case has("小型微利企业") || has("小微企业") || has("小型、微型企业") || has("小型微型企业"):
		c.Sizes = []string{"small", "micro"}
		say("文中“小微企业 / 小型微利企业” → 规模：小型、微型")
	case has("中小微企业") || has("中小企业"):
		c.Sizes = []string{"medium", "small", "micro"}
		say("文中“中小（微）企业” → 规模：中型、小型、微型")
	}
	var types []string
	if has("个体工商户") {
		types = append(types, "individual")
	}
	if has("农民专业合作社") || has("合作社") {
		types = append(types, "cooperative")
	}
	if len(types) > 0 && (has("企业") || len(c.Sizes) > 0) {
		types = append([]string{"enterprise"}, types...)
	}
	if len(types) > 0 {
		c.EntityTypes = slices.Compact(types)
		var n []string
		for _, t := range c.EntityTypes {
			n = append(n, entityTypeNames[t])
		}
		say("文中点名的主体类型 → " + strings.Join(n, "、"))
	}
	for _, st := range sectionTerms {
		if has(st.term) {
			for _, code := range st.codes {
				if !slices.ContainsFunc(c.Industries, func(x string) bool { return x == code }) {
					c.Industries = append(c.Industries, code)
				}
			}
			say("文中“" + st.term + "” → 行业 " + strings.Join(st.codes, "、"))
		}
	}
	for _, co := range codes.Divisions().Counties() {
		if strings.Contains(text, co.Name) && !slices.Contains(c.Districts, co.Code) {
			c.Districts = append(c.Districts, co.Code)
			say("文中“" + co.Name + "” → 区县 " + co.Code)
		}
	}
	if m := reMaxAge.FindStringSubmatch(text); m != nil {
		c.MaxAgeYears = atoiZh(firstGroup(m))
		say("“" + m[0] + "” → 成立不满 " + strconv.Itoa(c.MaxAgeYears) + " 年")
	}
	if m := reMinAge.FindStringSubmatch(text); m != nil {
		c.MinAgeYears = atoiZh(firstGroup(m))
		say("“" + m[0] + "” → 成立满 " + strconv.Itoa(c.MinAgeYears) + " 年")
	}
	if m := reFrom.FindStringSubmatch(text); m != nil {
		if dd, err := parseDate(m[1] + "-" + pad2(m[2]) + "-" + pad2(m[3])); err == nil {
			c.EstablishedFrom = dd
			say("“" + m[0] + "” → 成立日期不早于 " + dd.String())
		}
	}
	if m := reCapMin.FindStringSubmatch(text); m != nil && !strings.HasSuffix(m[0], "以下") {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil {
			c.CapitalMin = &v
			say("“" + m[0] + "” → 注册资本不低于 " + fmtWan(v))
		}
	}
	if m := reCapMax.FindStringSubmatch(text); m != nil {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil {
			c.CapitalMax = &v
			say("“" + m[0] + "” → 注册资本不高于 " + fmtWan(v))
		}
	}
	if has("经营异常名录") {
		c.NotAbnormal = true
		say("文中“经营异常名录” → 未列入经营异常名录")
	}
	if has("严重违法失信") {
		c.NotSeriousIllegal = true
		say("文中“严重违法失信” → 未列入严重违法失信名单")
	}
	if has("黑名单") {
		c.NotBlacklisted = true
		say("文中“黑名单” → 不在黑名单有效期内")
	}
	if m := rePenalty.FindStringSubmatch(text); m != nil {
		c.NoPenaltyYears = atoiZh(m[1])
		say("“" + m[0] + "” → 近 " + strconv.Itoa(c.NoPenaltyYears) + " 年无行政处罚")
	}
	slices.Sort(c.Industries)
	if fe := c.check(); len(fe) > 0 {
		// A draft is a suggestion: drop what does not validate rather than
		// refuse the import.
		return Draft{Reasons: append(d.Reasons, "草稿条件未通过校验，已清空："+fe[0].Message)}
	}
	return d
}

func pad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}
