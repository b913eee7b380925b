package policymatch

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/codes"
)

// The five label dimensions of a policy (FP-57–61).
const (
	DimType       = "type"       // FP-57 政策类型
	DimLevel      = "level"      // FP-58 政策层级
	DimTimeliness = "timeliness" // FP-59 时效
	DimCategory   = "category"   // FP-60 政策类别
	DimDepartment = "department" // FP-61 发文部门
)

// Dimensions lists them in the order pages show them.
var Dimensions = []string{DimType, DimLevel, DimTimeliness, DimCategory, DimDepartment}

// dimensionNames are the dimensions' Chinese names.
var dimensionNames = map[string]string{DimType: "政策类型", DimLevel: "政策层级", DimTimeliness: "时效",
	DimCategory: "政策类别", DimDepartment: "发文部门"}

// Label is one classification with the reason the rule gives for it.
type Label struct {
	Value  string   `json:"value"`
	Reason string   `json:"reason"`
	Terms  []string `json:"terms,omitempty"` // the matched terms, when a term rule decided
	Rule   string   `json:"rule"`            // which rule: "terms", "issuer", "dates", "alias", "default"
}

// Override is a person's label, kept beside the rules' one.
type Override struct {
	Value string    `json:"value"`
	Note  string    `json:"note"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

// Allowed values of the closed dimensions (department is open: any
// normalised name).
var (
	policyTypes     = []string{"经济政策", "社会政策", "科技政策", "监管政策", "其他政策"}
	levels          = []string{"国家级", "省级", "市级", "县级"}
	timelinessNames = []string{"即将生效", "已生效", "即将过期", "已过期"}
	categories      = []string{"财政税收", "金融", "科技创新", "就业社保", "消费", "产业发展", "人才", "外贸外资", "农业农村", "市场监管", "营商环境", "其他"}
)

func allowedValues(dim string) []string {
	switch dim {
	case DimType:
		return policyTypes
	case DimLevel:
		return levels
	case DimTimeliness:
		return timelinessNames
	case DimCategory:
		return categories
	}
	return nil
}

// termRule scores a value by the terms of it found as words of the title
// (weight 3: a title says what a policy is about) and of the body.
type termRule struct {
	value string
	terms []string
}

// typeRules decide the policy type (FP-57).
var typeRules = []termRule{
	{"经济政策", []string{"税收", "增值税", "所得税", "减税", "降费", "财政", "补贴", "奖补", "资金", "贷款", "融资", "贴息", "担保", "金融", "消费", "投资", "产业", "制造业", "商贸", "外贸", "出口", "招商", "企业发展", "纾困", "经济"}},
	{"社会政策", []string{"就业", "创业", "社会保险", "社保", "养老", "医疗", "失业", "稳岗", "培训", "技能", "高校毕业生", "农民工", "退役军人", "残疾人", "住房", "民生", "困难群体", "以工代训"}},
	{"科技政策", []string{"科技", "创新", "研发", "技术", "专利", "知识产权", "高新技术企业", "科技型中小企业", "专精特新", "数字化", "成果转化", "实验室", "人才"}},
	{"监管政策", []string{"监管", "监督管理", "许可", "产品质量", "质量监督", "标准", "计量", "认证", "检验检测", "安全", "执法", "信用", "食品安全", "广告", "价格"}},
}

// categoryRules decide the category (FP-60).
var categoryRules = []termRule{
	{"财政税收", []string{"税收", "增值税", "所得税", "税费", "减税", "免征", "减征", "退税", "留抵退税", "财政", "奖补", "补贴", "补助", "加计扣除", "六税两费", "纳税人"}},
	{"金融", []string{"金融", "贷款", "融资", "信贷", "贴息", "担保", "银行", "普惠金融", "利率", "创业担保贷款", "上市", "保险"}},
	{"科技创新", []string{"科技", "创新", "研发", "研发费用", "高新技术企业", "科技型中小企业", "专精特新", "小巨人", "成果转化", "数字化转型", "技术改造", "专利", "知识产权"}},
	{"就业社保", []string{"就业", "创业", "社会保险", "社会保险费", "社保", "失业保险", "稳岗", "稳岗返还", "以工代训", "职业技能", "培训", "吸纳", "高校毕业生", "农民工"}},
	{"消费", []string{"消费", "消费券", "以旧换新", "促消费", "夜经济", "文旅", "餐饮", "零售", "商圈", "汽车消费", "家电"}},
	{"产业发展", []string{"产业", "制造业", "工业", "集群", "首台套", "链主", "产业链", "园区", "招商", "投资", "项目"}},
	{"人才", []string{"人才", "引进", "博士", "专家", "高层次", "工匠"}},
	{"外贸外资", []string{"外贸", "出口", "进口", "外资", "跨境电商", "外商投资", "通关"}},
	{"农业农村", []string{"农业", "农村", "农民", "合作社", "家庭农场", "乡村振兴", "种植", "养殖", "农产品"}},
	{"市场监管", []string{"质量强市", "产品质量", "质量提升", "标准", "标准化", "品牌", "计量", "认证", "检验检测", "商标", "食品安全", "个体工商户", "市场主体登记", "信用修复"}},
	{"营商环境", []string{"营商环境", "审批", "一网通办", "减证", "便利化", "放管服"}},
}

// rulesTerms is every term the rules test, so the segmenter keeps each whole.
func rulesTerms() []string {
	var out []string
	for _, rs := range [][]termRule{typeRules, categoryRules} {
		for _, r := range rs {
			out = append(out, r.terms...)
		}
	}
	for _, a := range departmentAliases {
		out = append(out, a.names...)
	}
	return append(out, nationalIssuerTerms...)
}

// scoreTerms picks the value whose terms are found most (title hits count
// three times); fallback when none is found.
func scoreTerms(rules []termRule, title, body termSet, fallback string) Label {
	best, bestScore := -1, 0
	var bestHits []string
	for i, r := range rules {
		th, bh := title.hits(r.terms), body.hits(r.terms)
		score := 3*len(th) + len(bh)
		if score > bestScore {
			best, bestScore = i, score
			bestHits = slices.Compact(slices.Sorted(slices.Values(append(th, bh...))))
		}
	}
	if best < 0 {
		return Label{Value: fallback, Rule: "default", Reason: "标题与正文未出现任何类别的关键词，归入“" + fallback + "”"}
	}
	return Label{Value: rules[best].value, Rule: "terms", Terms: bestHits,
		Reason: fmt.Sprintf("命中关键词：%s（得分 %d，标题中的词计 3 分）", strings.Join(bestHits, "、"), bestScore)}
}

// nationalIssuerTerms mark a central issuer (国家级).
var nationalIssuerTerms = []string{"国务院", "国务院办公厅", "全国人民代表大会", "中共中央", "中国人民银行", "国家税务总局", "财政部",
	"工业和信息化部", "人力资源社会保障部", "市场监管总局", "国家市场监督管理总局", "商务部", "科技部", "农业农村部", "国家发展改革委",
	"国家金融监督管理总局", "中国证监会", "海关总署", "国家知识产权局", "教育部", "民政部", "住房城乡建设部", "交通运输部"}

// levelOf decides the level from the issuer (FP-58): a central organ, the
// province, the city, or one of its counties and districts (by the
// division table).
func levelOf(issuer string) Label {
	if issuer == "" {
		return Label{Value: "市级", Rule: "default", Reason: "未注明发文机关，按本市政策处理"}
	}
	for _, t := range nationalIssuerTerms {
		if strings.Contains(issuer, t) {
			return Label{Value: "国家级", Rule: "issuer", Terms: []string{t}, Reason: "发文机关含“" + t + "”（中央国家机关）"}
		}
	}
	for _, c := range codes.Divisions().Counties() {
		if strings.Contains(issuer, c.Name) {
			return Label{Value: "县级", Rule: "issuer", Terms: []string{c.Name}, Reason: "发文机关含县级行政区划“" + c.Name + "”（" + c.Code + "）"}
		}
	}
	if strings.Contains(issuer, "石家庄") {
		return Label{Value: "市级", Rule: "issuer", Terms: []string{"石家庄市"}, Reason: "发文机关为石家庄市的机关"}
	}
	if strings.Contains(issuer, "河北省") || strings.HasPrefix(issuer, "省") {
		return Label{Value: "省级", Rule: "issuer", Terms: []string{"河北省"}, Reason: "发文机关为河北省的机关"}
	}
	if strings.Contains(issuer, "国家") || strings.HasSuffix(issuer, "部") || strings.Contains(issuer, "总局") {
		return Label{Value: "国家级", Rule: "issuer", Reason: "发文机关为国家部委或直属机构（名称含“国家”“部”或“总局”）"}
	}
	return Label{Value: "市级", Rule: "default", Reason: "发文机关“" + issuer + "”未能识别层级，按本市政策处理"}
}

// Timeliness thresholds.
type Thresholds struct {
	SoonEffectiveDays int `json:"soon_effective_days"` // a policy taking effect within this many days is near (said in the reason)
	SoonExpiringDays  int `json:"soon_expiring_days"`  // one expiring within this many days is 即将过期
}

// timelinessOf decides the timeliness from the dates and today (FP-59).
// Before its effective date a policy is 即将生效 however far off; the
// SoonEffectiveDays window only says, in the reason, whether that is near.
func timelinessOf(effective, expires, published *time.Time, today time.Time, th Thresholds) Label {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	today = day(today)
	days := func(t time.Time) int { return int(day(t).Sub(today).Hours() / 24) }
	from, fromName := effective, "生效日期"
	if from == nil {
		from, fromName = published, "发布日期（未注明生效日期）"
	}
	switch {
	case from != nil && days(*from) > 0:
		d := days(*from)
		near := "临近"
		if d > th.SoonEffectiveDays {
			near = "尚远"
		}
		return Label{Value: "即将生效", Rule: "dates", Reason: fmt.Sprintf("%s %s，距今 %d 天（%s，阈值 %d 天）", fromName, from.Format(time.DateOnly), d, near, th.SoonEffectiveDays)}
	case expires != nil && days(*expires) < 0:
		return Label{Value: "已过期", Rule: "dates", Reason: fmt.Sprintf("有效期至 %s，已过 %d 天", expires.Format(time.DateOnly), -days(*expires))}
	case expires != nil && days(*expires) <= th.SoonExpiringDays:
		return Label{Value: "即将过期", Rule: "dates", Reason: fmt.Sprintf("有效期至 %s，还剩 %d 天（阈值 %d 天）", expires.Format(time.DateOnly), days(*expires), th.SoonExpiringDays)}
	case expires != nil:
		return Label{Value: "已生效", Rule: "dates", Reason: fmt.Sprintf("已生效，有效期至 %s，还剩 %d 天", expires.Format(time.DateOnly), days(*expires))}
	case from != nil:
		return Label{Value: "已生效", Rule: "dates", Reason: fmt.Sprintf("%s %s 起施行，未注明有效期", fromName, from.Format(time.DateOnly))}
	}
	return Label{Value: "已生效", Rule: "default", Reason: "未注明发布、生效和截止日期，按现行有效处理"}
}

// departmentAlias maps the ways a department is written to its normalised
// name (FP-61).
type departmentAlias struct {
	name  string
	names []string
}

var departmentAliases = []departmentAlias{
	{"国务院", []string{"国务院"}},
	{"国务院办公厅", []string{"国务院办公厅", "国办"}},
	{"财政部", []string{"财政部"}},
	{"国家税务总局", []string{"国家税务总局", "税务总局"}},
	{"工业和信息化部", []string{"工业和信息化部", "工信部"}},
	{"人力资源社会保障部", []string{"人力资源社会保障部", "人力资源和社会保障部", "人社部"}},
	{"国家市场监督管理总局", []string{"国家市场监督管理总局", "市场监管总局"}},
	{"商务部", []string{"商务部"}},
	{"科技部", []string{"科技部", "科学技术部"}},
	{"国家发展改革委", []string{"国家发展改革委", "国家发展和改革委员会", "国家发改委"}},
	{"中国人民银行", []string{"中国人民银行", "人民银行", "人行"}},
	{"国家金融监督管理总局", []string{"国家金融监督管理总局", "金融监管总局"}},
	{"国家知识产权局", []string{"国家知识产权局"}},
	{"农业农村部", []string{"农业农村部"}},
	{"河北省人民政府", []string{"河北省人民政府", "河北省政府"}},
	{"河北省人民政府办公厅", []string{"河北省人民政府办公厅", "河北省政府办公厅"}},
	{"河北省财政厅", []string{"河北省财政厅"}},
	{"国家税务总局河北省税务局", []string{"国家税务总局河北省税务局", "河北省税务局"}},
	{"河北省工业和信息化厅", []string{"河北省工业和信息化厅", "河北省工信厅"}},
	{"河北省科学技术厅", []string{"河北省科学技术厅", "河北省科技厅"}},
	{"河北省人力资源和社会保障厅", []string{"河北省人力资源和社会保障厅", "河北省人社厅"}},
	{"河北省商务厅", []string{"河北省商务厅"}},
	{"河北省市场监督管理局", []string{"河北省市场监督管理局", "河北省市场监管局"}},
	{"河北省农业农村厅", []string{"河北省农业农村厅"}},
	{"河北省发展和改革委员会", []string{"河北省发展和改革委员会", "河北省发改委"}},
	{"石家庄市人民政府", []string{"石家庄市人民政府", "石家庄市政府"}},
	{"石家庄市人民政府办公室", []string{"石家庄市人民政府办公室", "石家庄市政府办公室"}},
	{"石家庄市财政局", []string{"石家庄市财政局"}},
	{"国家税务总局石家庄市税务局", []string{"国家税务总局石家庄市税务局", "石家庄市税务局"}},
	{"石家庄市工业和信息化局", []string{"石家庄市工业和信息化局", "石家庄市工信局"}},
	{"石家庄市科学技术局", []string{"石家庄市科学技术局", "石家庄市科技局"}},
	{"石家庄市人力资源和社会保障局", []string{"石家庄市人力资源和社会保障局", "石家庄市人社局"}},
	{"石家庄市商务局", []string{"石家庄市商务局"}},
	{"石家庄市市场监督管理局", []string{"石家庄市市场监督管理局", "石家庄市市场监管局"}},
	{"石家庄市农业农村局", []string{"石家庄市农业农村局"}},
	{"石家庄市地方金融监督管理局", []string{"石家庄市地方金融监督管理局", "石家庄市金融局"}},
}

// issuerSeparators split joint issuers ("财政部 税务总局", "财政部、人力资源社会保障部").
var issuerSeparators = strings.NewReplacer("、", "|", "，", "|", ",", "|", " ", "|", "　", "|", "；", "|", ";", "|")

// departmentsOf normalises every issuing department (FP-61); the lead one
// (written first) is the label's value, all of them its terms.
func departmentsOf(issuer string) Label {
	var names []string
	var how []string
	for _, part := range strings.Split(issuerSeparators.Replace(issuer), "|") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, why := normaliseDepartment(part)
		if !slices.Contains(names, n) {
			names = append(names, n)
			how = append(how, why)
		}
	}
	if len(names) == 0 {
		return Label{Value: "未注明", Rule: "default", Reason: "未注明发文机关"}
	}
	return Label{Value: names[0], Rule: "alias", Terms: names, Reason: strings.Join(how, "；")}
}

// normaliseDepartment writes one department's name the standard way: an
// alias from the table (longest first), or the county-level bureaus'
// common short forms spelt out (市场监管局 → 市场监督管理局).
func normaliseDepartment(s string) (name, why string) {
	best := -1
	bestLen := 0
	for i, a := range departmentAliases {
		for _, n := range a.names {
			if s == n && len(n) > bestLen {
				best, bestLen = i, len(n)
			}
		}
	}
	if best >= 0 {
		n := departmentAliases[best].name
		if n == s {
			return n, "“" + s + "”为规范名称"
		}
		return n, "“" + s + "”规范为“" + n + "”"
	}
	out := s
	for _, r := range [][2]string{{"市场监管局", "市场监督管理局"}, {"人社局", "人力资源和社会保障局"}, {"工信局", "工业和信息化局"},
		{"发改局", "发展和改革局"}, {"科技局", "科学技术局"}, {"政府办", "人民政府办公室"}} {
		if strings.HasSuffix(out, r[0]) {
			out = strings.TrimSuffix(out, r[0]) + r[1]
			break
		}
	}
	if out != s {
		return out, "“" + s + "”按简称规则规范为“" + out + "”"
	}
	return s, "“" + s + "”未在部门名录中，保留原名"
}

// classify computes every label of a policy from its text and dates.
func (f *Function) classify(p *Policy, today time.Time) map[string]Label {
	title := f.seg.terms(p.Title)
	body := f.seg.terms(p.Title + "\n" + p.ConditionsText + "\n" + p.Body)
	return map[string]Label{
		DimType:       scoreTerms(typeRules, title, body, "其他政策"),
		DimLevel:      levelOf(strings.TrimSpace(p.Issuer)),
		DimTimeliness: timelinessOf(p.EffectiveOn.ptr(), p.ExpiresOn.ptr(), p.PublishedOn.ptr(), today, f.thresholds()),
		DimCategory:   scoreTerms(categoryRules, title, body, "其他"),
		DimDepartment: departmentsOf(strings.TrimSpace(p.Issuer)),
	}
}
