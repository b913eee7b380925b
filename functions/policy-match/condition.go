package policymatch

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Condition is a policy's applicability (申报条件), structured so that it
// can be tested on one entity with reasons (FP-62) and run as one SQL scan
// over every entity (FP-63). An empty field does not restrict. Only entities
// in business (存续) ever match.
type Condition struct {
	// Industries are GB/T 4754-2017 codes of any level: a section letter
	// ("C"), a division ("13"), a group ("131") or a class ("1311").
	Industries  []string `json:"industries,omitempty"`
	EntityTypes []string `json:"entity_types,omitempty"` // enterprise individual cooperative institution non_enterprise
	Sizes       []string `json:"sizes,omitempty"`        // large medium small micro (2011 SME thresholds)
	Districts   []string `json:"districts,omitempty"`    // county-level division codes of Shijiazhuang
	// Established between these days (inclusive), and/or for at least /
	// less than so many whole years on the day of matching.
	EstablishedFrom Date `json:"established_from"`
	EstablishedTo   Date `json:"established_to"`
	MinAgeYears     int  `json:"min_age_years,omitempty"`
	MaxAgeYears     int  `json:"max_age_years,omitempty"` // 成立不满 N 年
	// Registered capital in 万元, inclusive bounds.
	CapitalMin *float64 `json:"capital_min,omitempty"`
	CapitalMax *float64 `json:"capital_max,omitempty"`
	// Credit state.
	NotAbnormal       bool `json:"not_abnormal,omitempty"`        // 未列入经营异常名录
	NotSeriousIllegal bool `json:"not_serious_illegal,omitempty"` // 未列入严重违法失信名单
	NotBlacklisted    bool `json:"not_blacklisted,omitempty"`     // 不在黑名单有效期内
	NoPenaltyYears    int  `json:"no_penalty_years,omitempty"`    // 近 N 年无行政处罚
}

var (
	entityTypeNames = map[string]string{"enterprise": "企业", "individual": "个体工商户", "cooperative": "农民专业合作社",
		"institution": "事业单位", "non_enterprise": "民办非企业单位"}
	sizeNames = map[string]string{"large": "大型", "medium": "中型", "small": "小型", "micro": "微型", "unknown": "规模未知"}
)

// check returns every problem of the condition.
func (c *Condition) check() []errs.FieldError {
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: "condition." + f, Message: m}) }
	for i, code := range c.Industries {
		code = strings.ToUpper(strings.TrimSpace(code))
		// "C13" (section and division, as people write it) is division 13
		// when 13 lies in section C.
		if len(code) > 1 && code[0] >= 'A' && code[0] <= 'Z' {
			if s, ok := codes.Industries().Section(code[1:]); ok && s.Code == code[:1] {
				code = code[1:]
			}
		}
		c.Industries[i] = code
		if _, ok := codes.Industries().Lookup(code); !ok {
			add("industries", "行业代码 "+code+" 不在国民经济行业分类（GB/T 4754-2017）中")
		}
	}
	for _, t := range c.EntityTypes {
		if _, ok := entityTypeNames[t]; !ok {
			add("entity_types", "主体类型 "+t+" 不正确")
		}
	}
	for _, s := range c.Sizes {
		if _, ok := sizeNames[s]; !ok || s == "unknown" {
			add("sizes", "企业规模应为 large、medium、small 或 micro")
		}
	}
	for _, d := range c.Districts {
		if err := codes.CheckDistrict(d); err != nil {
			add("districts", errs.As(err).Message)
		}
	}
	if c.EstablishedFrom.Valid && c.EstablishedTo.Valid && c.EstablishedTo.Before(c.EstablishedFrom.Time) {
		add("established_to", "成立日期区间的终点早于起点")
	}
	if c.MinAgeYears < 0 || c.MaxAgeYears < 0 || c.MinAgeYears > 100 || c.MaxAgeYears > 100 {
		add("max_age_years", "成立年限应在 0 至 100 年之间")
	}
	if c.MaxAgeYears > 0 && c.MinAgeYears >= c.MaxAgeYears {
		add("max_age_years", "成立年限下限应小于上限")
	}
	if (c.CapitalMin != nil && *c.CapitalMin < 0) || (c.CapitalMax != nil && *c.CapitalMax < 0) {
		add("capital_min", "注册资本不能为负数")
	}
	if c.CapitalMin != nil && c.CapitalMax != nil && *c.CapitalMax < *c.CapitalMin {
		add("capital_max", "注册资本上限小于下限")
	}
	if c.NoPenaltyYears < 0 || c.NoPenaltyYears > 20 {
		add("no_penalty_years", "无处罚年限应在 0 至 20 年之间")
	}
	slices.Sort(c.Industries)
	c.Industries = slices.Compact(c.Industries)
	return fe
}

// Empty reports whether the condition restricts nothing.
func (c Condition) Empty() bool {
	return len(c.Industries) == 0 && len(c.EntityTypes) == 0 && len(c.Sizes) == 0 && len(c.Districts) == 0 &&
		!c.EstablishedFrom.Valid && !c.EstablishedTo.Valid && c.MinAgeYears == 0 && c.MaxAgeYears == 0 &&
		c.CapitalMin == nil && c.CapitalMax == nil && !c.NotAbnormal && !c.NotSeriousIllegal && !c.NotBlacklisted && c.NoPenaltyYears == 0
}

// Subject is an entity as the conditions see it: its registry fields and
// credit state (registry.policy_subject) and the facts policy-match
// derives (size, ownership).
type Subject struct {
	CreditCode        string  `json:"credit_code"`
	Name              string  `json:"name"`
	EntityType        string  `json:"entity_type"`
	DistrictCode      string  `json:"district_code"`
	TownshipCode      string  `json:"township_code"`
	IndustryCode      string  `json:"industry_code"`
	EstablishedOn     Date    `json:"established_on"`
	RegisteredCapital float64 `json:"registered_capital"`
	BusinessScope     string  `json:"business_scope"`
	Status            string  `json:"status"`
	Abnormal          bool    `json:"abnormal"`
	SeriousIllegal    bool    `json:"serious_illegal"`
	Blacklisted       bool    `json:"blacklisted"`
	LastPenaltyOn     Date    `json:"last_penalty_on"`
	Size              string  `json:"size"`
	SizeReason        string  `json:"size_reason"`
}

// Check is one condition tested on one entity, as the pages show it:
// "行业 C13 符合".
type Check struct {
	Kind   string `json:"kind"` // industry entity_type size district established capital credit status
	Met    bool   `json:"met"`
	Text   string `json:"text"`
	Detail string `json:"detail"`
}

// industryIn reports whether a 4-digit class falls under a code of any
// level, and names the code it matched.
func industryIn(class, code string) bool {
	if code == "" {
		return false
	}
	if code[0] >= 'A' && code[0] <= 'Z' {
		s, ok := codes.Industries().Section(class)
		return ok && s.Code == code
	}
	return strings.HasPrefix(class, code)
}

// industryLabel writes a numeric code with its section letter, as people
// read it: 13 → C13, 1311 → C1311.
func industryLabel(code string) string {
	if code == "" || (code[0] >= 'A' && code[0] <= 'Z') {
		return code
	}
	if s, ok := codes.Industries().Section(code); ok {
		return s.Code + code
	}
	return code
}

// ageYears is the number of whole years from established to today.
func ageYears(established, today time.Time) int {
	y := today.Year() - established.Year()
	if today.Month() < established.Month() || (today.Month() == established.Month() && today.Day() < established.Day()) {
		y--
	}
	return y
}

func sizesText(sizes []string) string {
	var n []string
	for _, s := range sizes {
		n = append(n, sizeNames[s])
	}
	return strings.Join(n, "、")
}

func fmtWan(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) + "万元" }

// Matches is Evaluate's verdict alone, without the reasons: entity →
// policies tests a thousand policies per request and explains only those
// that apply. TestConditionTypes checks that the two agree.
func (c Condition) Matches(s Subject, today time.Time) bool {
	if s.Status != "active" {
		return false
	}
	if len(c.Industries) > 0 && !slices.ContainsFunc(c.Industries, func(code string) bool { return industryIn(s.IndustryCode, code) }) {
		return false
	}
	if len(c.EntityTypes) > 0 && !slices.Contains(c.EntityTypes, s.EntityType) {
		return false
	}
	if len(c.Sizes) > 0 && !slices.Contains(c.Sizes, s.Size) {
		return false
	}
	if len(c.Districts) > 0 && !slices.Contains(c.Districts, s.DistrictCode) {
		return false
	}
	if c.EstablishedFrom.Valid || c.EstablishedTo.Valid || c.MinAgeYears > 0 || c.MaxAgeYears > 0 {
		est := s.EstablishedOn.Time
		if !s.EstablishedOn.Valid || (c.EstablishedFrom.Valid && est.Before(c.EstablishedFrom.Time)) || (c.EstablishedTo.Valid && est.After(c.EstablishedTo.Time)) {
			return false
		}
		age := ageYears(est, today)
		if (c.MinAgeYears > 0 && age < c.MinAgeYears) || (c.MaxAgeYears > 0 && age >= c.MaxAgeYears) {
			return false
		}
	}
	if (c.CapitalMin != nil && s.RegisteredCapital < *c.CapitalMin) || (c.CapitalMax != nil && s.RegisteredCapital > *c.CapitalMax) {
		return false
	}
	if (c.NotAbnormal && s.Abnormal) || (c.NotSeriousIllegal && s.SeriousIllegal) || (c.NotBlacklisted && s.Blacklisted) {
		return false
	}
	if c.NoPenaltyYears > 0 && s.LastPenaltyOn.Valid && !s.LastPenaltyOn.Before(today.AddDate(-c.NoPenaltyYears, 0, 0)) {
		return false
	}
	return true
}

// Evaluate tests every condition on s and says, for each, whether it is met
// and why. The policy applies when all are met.
func (c Condition) Evaluate(s Subject, today time.Time) (bool, []Check) {
	var out []Check
	add := func(kind string, met bool, text, detail string) { out = append(out, Check{kind, met, text, detail}) }
	add("status", s.Status == "active", map[bool]string{true: "存续", false: "非存续"}[s.Status == "active"], "登记状态 "+s.Status)
	if len(c.Industries) > 0 {
		hit := ""
		for _, code := range c.Industries {
			if industryIn(s.IndustryCode, code) {
				hit = code
				break
			}
		}
		name := s.IndustryCode
		if in, ok := codes.Industries().Lookup(s.IndustryCode); ok {
			name = s.IndustryCode + " " + in.Name
		}
		if hit != "" {
			add("industry", true, "行业 "+industryLabel(hit)+" 符合", "所属行业 "+name+" 属于 "+industryLabel(hit))
		} else {
			add("industry", false, "行业不符", "所属行业 "+name+" 不在 "+strings.Join(c.Industries, "、")+" 内")
		}
	}
	if len(c.EntityTypes) > 0 {
		met := slices.Contains(c.EntityTypes, s.EntityType)
		var want []string
		for _, t := range c.EntityTypes {
			want = append(want, entityTypeNames[t])
		}
		add("entity_type", met, map[bool]string{true: entityTypeNames[s.EntityType], false: "主体类型不符"}[met],
			"主体类型为"+entityTypeNames[s.EntityType]+"，要求 "+strings.Join(want, "、"))
	}
	if len(c.Sizes) > 0 {
		met := slices.Contains(c.Sizes, s.Size)
		text := sizeNames[s.Size] + "企业"
		if slices.Equal(slices.Sorted(slices.Values(c.Sizes)), []string{"micro", "small"}) && met {
			text = "小微企业"
		}
		if !met {
			text = "规模不符"
			if s.Size == "unknown" || s.Size == "" {
				text = "规模未知"
			}
		}
		add("size", met, text, "要求 "+sizesText(c.Sizes)+"；"+s.SizeReason)
	}
	if len(c.Districts) > 0 {
		met := slices.Contains(c.Districts, s.DistrictCode)
		name := s.DistrictCode
		if d, ok := codes.Divisions().Lookup(s.DistrictCode); ok {
			name = d.Name
		}
		var want []string
		for _, d := range c.Districts {
			if v, ok := codes.Divisions().Lookup(d); ok {
				want = append(want, v.Name)
			}
		}
		add("district", met, map[bool]string{true: name, false: name + "不在范围内"}[met], "所在区县 "+name+"，要求 "+strings.Join(want, "、"))
	}
	if c.EstablishedFrom.Valid || c.EstablishedTo.Valid || c.MinAgeYears > 0 || c.MaxAgeYears > 0 {
		est := s.EstablishedOn.Time
		met := s.EstablishedOn.Valid
		var want []string
		if c.EstablishedFrom.Valid {
			met = met && !est.Before(c.EstablishedFrom.Time)
			want = append(want, c.EstablishedFrom.String()+" 以后")
		}
		if c.EstablishedTo.Valid {
			met = met && !est.After(c.EstablishedTo.Time)
			want = append(want, c.EstablishedTo.String()+" 以前")
		}
		age := ageYears(est, today)
		if c.MinAgeYears > 0 {
			met = met && age >= c.MinAgeYears
			want = append(want, fmt.Sprintf("成立满 %d 年", c.MinAgeYears))
		}
		if c.MaxAgeYears > 0 {
			met = met && age < c.MaxAgeYears
			want = append(want, fmt.Sprintf("成立不满 %d 年", c.MaxAgeYears))
		}
		add("established", met, map[bool]string{true: "成立时间符合", false: "成立时间不符"}[met],
			fmt.Sprintf("成立于 %s（%d 年），要求 %s", s.EstablishedOn, age, strings.Join(want, "、")))
	}
	if c.CapitalMin != nil || c.CapitalMax != nil {
		met := (c.CapitalMin == nil || s.RegisteredCapital >= *c.CapitalMin) && (c.CapitalMax == nil || s.RegisteredCapital <= *c.CapitalMax)
		var want []string
		if c.CapitalMin != nil {
			want = append(want, "不低于 "+fmtWan(*c.CapitalMin))
		}
		if c.CapitalMax != nil {
			want = append(want, "不高于 "+fmtWan(*c.CapitalMax))
		}
		add("capital", met, map[bool]string{true: "注册资本符合", false: "注册资本不符"}[met],
			"注册资本 "+fmtWan(s.RegisteredCapital)+"，要求 "+strings.Join(want, "、"))
	}
	if c.NotAbnormal {
		add("credit", !s.Abnormal, map[bool]string{true: "未列入经营异常名录", false: "列入经营异常名录"}[!s.Abnormal], "要求未列入经营异常名录")
	}
	if c.NotSeriousIllegal {
		add("credit", !s.SeriousIllegal, map[bool]string{true: "未列入严重违法失信名单", false: "列入严重违法失信名单"}[!s.SeriousIllegal], "要求未列入严重违法失信名单")
	}
	if c.NotBlacklisted {
		add("credit", !s.Blacklisted, map[bool]string{true: "不在黑名单", false: "在黑名单有效期内"}[!s.Blacklisted], "要求不在黑名单有效期内")
	}
	if c.NoPenaltyYears > 0 {
		since := today.AddDate(-c.NoPenaltyYears, 0, 0)
		met := !s.LastPenaltyOn.Valid || s.LastPenaltyOn.Before(since)
		detail := "无行政处罚记录"
		if s.LastPenaltyOn.Valid {
			detail = "最近一次行政处罚 " + s.LastPenaltyOn.String()
		}
		add("credit", met, map[bool]string{true: fmt.Sprintf("近 %d 年无处罚", c.NoPenaltyYears), false: fmt.Sprintf("近 %d 年有处罚", c.NoPenaltyYears)}[met],
			detail+fmt.Sprintf("，要求近 %d 年无行政处罚", c.NoPenaltyYears))
	}
	all := true
	for _, ch := range out {
		all = all && ch.Met
	}
	return all, out
}

// Summary is the checks written the way a person reads them:
// "行业 C13 符合；小微企业；长安区".
func Summary(checks []Check) string {
	var parts []string
	for _, c := range checks {
		if c.Kind == "status" && c.Met {
			continue
		}
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, "；")
}

// where adds the condition's predicates over policy.subjects (alias s) to
// w. It is the SQL twin of Evaluate; TestConditionTypes runs both on the
// same entities for every kind of condition.
func (c Condition) where(w *store.Where, today time.Time) {
	w.Add("s.status = 'active'")
	if len(c.Industries) > 0 {
		// One array per code length, so a section (a run of divisions) or
		// a long list costs three array probes per row, not a LIKE each.
		byLen := map[int][]string{}
		for _, code := range c.Industries {
			if code[0] >= 'A' && code[0] <= 'Z' {
				byLen[2] = append(byLen[2], divisionsOf(code)...)
				continue
			}
			byLen[len(code)] = append(byLen[len(code)], code)
		}
		var ors []string
		var args []any
		for _, n := range []int{2, 3, 4} {
			if len(byLen[n]) == 0 {
				continue
			}
			if n == 4 {
				ors = append(ors, "s.industry_code = ANY(?::text[])")
			} else {
				ors = append(ors, fmt.Sprintf("left(s.industry_code, %d) = ANY(?::text[])", n))
			}
			args = append(args, byLen[n])
		}
		w.Add("("+strings.Join(ors, " OR ")+")", args...)
	}
	if len(c.EntityTypes) > 0 {
		w.Add("s.entity_type = ANY(?::text[])", c.EntityTypes)
	}
	if len(c.Districts) > 0 {
		w.Add("s.district_code = ANY(?::text[])", c.Districts)
	}
	if c.EstablishedFrom.Valid {
		w.Add("s.established_on >= ?::date", c.EstablishedFrom.String())
	}
	if c.EstablishedTo.Valid {
		w.Add("s.established_on <= ?::date", c.EstablishedTo.String())
	}
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	if c.MinAgeYears > 0 { // age >= N: established on or before today − N years
		w.Add("s.established_on <= ?::date", day.AddDate(-c.MinAgeYears, 0, 0).Format(time.DateOnly))
	}
	if c.MaxAgeYears > 0 { // age < N: established after today − N years
		w.Add("s.established_on > ?::date", day.AddDate(-c.MaxAgeYears, 0, 0).Format(time.DateOnly))
	}
	if c.CapitalMin != nil {
		w.Add("s.registered_capital >= ?::numeric", strconv.FormatFloat(*c.CapitalMin, 'f', -1, 64))
	}
	if c.CapitalMax != nil {
		w.Add("s.registered_capital <= ?::numeric", strconv.FormatFloat(*c.CapitalMax, 'f', -1, 64))
	}
	if c.NotAbnormal {
		w.Add("NOT s.abnormal")
	}
	if c.NotSeriousIllegal {
		w.Add("NOT s.serious_illegal")
	}
	if c.NotBlacklisted { // no entry, or every entry ended before today
		w.Add("(s.blacklisted_until IS NULL OR s.blacklisted_until < ?::date)", day.Format(time.DateOnly))
	}
	if c.NoPenaltyYears > 0 {
		w.Add("(s.last_penalty_on IS NULL OR s.last_penalty_on < ?::date)", day.AddDate(-c.NoPenaltyYears, 0, 0).Format(time.DateOnly))
	}
	if len(c.Sizes) > 0 {
		w.Add("s.size = ANY(?::text[])", c.Sizes)
	}
}

// divisionsOf lists the two-digit divisions of a section.
func divisionsOf(section string) []string {
	var out []string
	for _, cl := range codes.Industries().Classes() {
		if s, ok := codes.Industries().Section(cl.Code); ok && s.Code == section && !slices.Contains(out, cl.Code[:2]) {
			out = append(out, cl.Code[:2])
		}
	}
	return out
}
