package policymatch

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/codes"
)

// Figures are an entity's latest annual report's numbers
// (registry.policy_figure): employees, revenue and assets in 万元.
type Figures struct {
	Year      int
	Employees *int
	Revenue   *float64
	Assets    *float64
}

type indicator int

const (
	indNone indicator = iota
	indEmployees
	indRevenue
	indAssets
)

var indicatorNames = map[indicator]string{indEmployees: "从业人员", indRevenue: "营业收入", indAssets: "资产总额"}

func (i indicator) unit() string {
	if i == indEmployees {
		return "人"
	}
	return "万元"
}

func (i indicator) of(f Figures) (float64, bool) {
	switch i {
	case indEmployees:
		if f.Employees != nil {
			return float64(*f.Employees), true
		}
	case indRevenue:
		if f.Revenue != nil {
			return *f.Revenue, true
		}
	case indAssets:
		if f.Assets != nil {
			return *f.Assets, true
		}
	}
	return 0, false
}

// sizeRule is one industry's row of the 2011 SME classification
// (工信部联企业〔2011〕300号《中小企业划型标准规定》): the indicators it uses,
// the bounds at or above which (both indicators) an entity is large, and
// the lower bounds a medium and a small one must both reach; anything
// below is micro.
type sizeRule struct {
	name          string
	match         func(class string) bool
	a, b          indicator
	large, medium [2]float64
	small         [2]float64
}

func inDivisions(divs ...string) func(string) bool {
	return func(c string) bool { return len(c) >= 2 && slices.Contains(divs, c[:2]) }
}

func inSections(secs ...string) func(string) bool {
	return func(c string) bool {
		s, ok := codes.Industries().Section(c)
		return ok && slices.Contains(secs, s.Code)
	}
}

// sizeRules in the order the regulation lists them; the first that matches
// the industry applies, the last (其他未列明行业) matches everything.
var sizeRules = []sizeRule{
	{"农、林、牧、渔业", inSections("A"), indRevenue, indNone, [2]float64{20000}, [2]float64{500}, [2]float64{50}},
	{"工业", inSections("B", "C", "D"), indEmployees, indRevenue, [2]float64{1000, 40000}, [2]float64{300, 2000}, [2]float64{20, 300}},
	{"建筑业", inSections("E"), indRevenue, indAssets, [2]float64{80000, 80000}, [2]float64{6000, 5000}, [2]float64{300, 300}},
	{"批发业", inDivisions("51"), indEmployees, indRevenue, [2]float64{200, 40000}, [2]float64{20, 5000}, [2]float64{5, 1000}},
	{"零售业", inDivisions("52"), indEmployees, indRevenue, [2]float64{300, 20000}, [2]float64{50, 500}, [2]float64{10, 100}},
	{"交通运输业", inDivisions("53", "54", "55", "56", "57", "58"), indEmployees, indRevenue, [2]float64{1000, 30000}, [2]float64{300, 3000}, [2]float64{20, 200}},
	{"仓储业", inDivisions("59"), indEmployees, indRevenue, [2]float64{200, 30000}, [2]float64{100, 1000}, [2]float64{20, 100}},
	{"邮政业", inDivisions("60"), indEmployees, indRevenue, [2]float64{1000, 30000}, [2]float64{300, 2000}, [2]float64{20, 100}},
	{"住宿业", inDivisions("61"), indEmployees, indRevenue, [2]float64{300, 10000}, [2]float64{100, 2000}, [2]float64{10, 100}},
	{"餐饮业", inDivisions("62"), indEmployees, indRevenue, [2]float64{300, 10000}, [2]float64{100, 2000}, [2]float64{10, 100}},
	{"信息传输业", inDivisions("63", "64"), indEmployees, indRevenue, [2]float64{2000, 100000}, [2]float64{100, 1000}, [2]float64{10, 100}},
	{"软件和信息技术服务业", inDivisions("65"), indEmployees, indRevenue, [2]float64{300, 10000}, [2]float64{100, 1000}, [2]float64{10, 50}},
	{"房地产开发经营", func(c string) bool { return c == "7010" }, indRevenue, indAssets, [2]float64{200000, 10000}, [2]float64{1000, 5000}, [2]float64{100, 2000}},
	{"物业管理", func(c string) bool { return c == "7020" }, indEmployees, indRevenue, [2]float64{1000, 5000}, [2]float64{300, 1000}, [2]float64{100, 500}},
	{"租赁和商务服务业", inSections("L"), indEmployees, indAssets, [2]float64{300, 120000}, [2]float64{100, 8000}, [2]float64{10, 100}},
	{"其他未列明行业", func(string) bool { return true }, indEmployees, indNone, [2]float64{300}, [2]float64{100}, [2]float64{10}},
}

// SizeOf classifies an entity by the 2011 SME thresholds (FP-55) from its
// industry class and latest annual report, saying which row and figures
// decided; without the figures the row needs, the size is unknown.
func SizeOf(class string, f *Figures) (size, reason string) {
	var r sizeRule
	for _, sr := range sizeRules {
		if sr.match(class) {
			r = sr
			break
		}
	}
	basis := "依据《中小企业划型标准规定》（工信部联企业〔2011〕300号）" + r.name
	if f == nil {
		return "unknown", basis + "：无年度报告数据，无法划型"
	}
	va, oka := r.a.of(*f)
	vb, okb := r.b.of(*f)
	if !oka || (r.b != indNone && !okb) {
		missing := indicatorNames[r.a]
		if oka {
			missing = indicatorNames[r.b]
		}
		return "unknown", fmt.Sprintf("%s：%d 年度报告缺少%s，无法划型", basis, f.Year, missing)
	}
	figs := fmt.Sprintf("%s %s%s", indicatorNames[r.a], trimNum(va), r.a.unit())
	if r.b != indNone {
		figs += fmt.Sprintf("、%s %s%s", indicatorNames[r.b], trimNum(vb), r.b.unit())
	}
	reach := func(bounds [2]float64) bool { return va >= bounds[0] && (r.b == indNone || vb >= bounds[1]) }
	bound := func(bounds [2]float64) string {
		s := fmt.Sprintf("%s≥%s%s", indicatorNames[r.a], trimNum(bounds[0]), r.a.unit())
		if r.b != indNone {
			s += fmt.Sprintf("且%s≥%s%s", indicatorNames[r.b], trimNum(bounds[1]), r.b.unit())
		}
		return s
	}
	switch {
	case reach(r.large):
		size, reason = "large", "大型（"+bound(r.large)+"）"
	case reach(r.medium):
		size, reason = "medium", "中型（"+bound(r.medium)+"）"
	case reach(r.small):
		size, reason = "small", "小型（"+bound(r.small)+"）"
	default:
		size, reason = "micro", "微型（未达小型下限："+bound(r.small)+"）"
	}
	return size, fmt.Sprintf("%s：%d 年度报告%s → %s", basis, f.Year, figs, reason)
}

func trimNum(x float64) string {
	if x == math.Trunc(x) {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// OwnershipOf infers the ownership (FP-55) from the entity type and name.
func OwnershipOf(entityType, name string) (string, string) {
	switch entityType {
	case "individual":
		return "个体经济", "个体工商户"
	case "cooperative":
		return "集体经济", "农民专业合作社属集体经济组织"
	case "institution":
		return "国有", "事业单位"
	case "non_enterprise":
		return "民办", "民办非企业单位"
	}
	for _, t := range []string{"外商独资", "中外合资", "中外合作", "（中国）", "(中国)", "外资"} {
		if strings.Contains(name, t) {
			return "外商投资", "名称含“" + t + "”"
		}
	}
	for _, t := range []string{"国有", "国资", "建设投资集团", "城市建设投资", "交通投资", "国投"} {
		if strings.Contains(name, t) {
			return "国有", "名称含“" + t + "”"
		}
	}
	if strings.Contains(name, "集体") || strings.Contains(name, "村民委员会") {
		return "集体经济", "名称含“集体”"
	}
	return "私营", "名称未见国有、集体、外资特征，按私营企业处理"
}

// companyForms are the legal forms a name ends with, longest first.
var companyForms = []string{"股份有限公司", "有限责任公司", "个人独资企业", "普通合伙", "有限合伙", "合伙企业", "分公司", "有限公司", "专业合作社", "联合社"}

// TypeOf is the entity type with its legal form from the name (FP-55).
func TypeOf(entityType, name string) (string, string) {
	t := entityTypeNames[entityType]
	for _, f := range companyForms {
		if strings.Contains(name, f) {
			return t + "（" + f + "）", "登记类型为" + t + "，名称含组织形式“" + f + "”"
		}
	}
	return t, "登记类型为" + t
}

// IndustryGuess is the industry read from a name and business scope.
type IndustryGuess struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	Confidence float64  `json:"confidence"` // 0–1: the top score's share against the runner-up
	Terms      []string `json:"terms"`      // the words that decided
}

// NewIndustryModel returns the industry classifier; without the lexicon
// it knows only the classes' own names (the baseline the accuracy report
// compares). It is built on first use.
func NewIndustryModel(seg *Segmenter, lexicon bool) *IndustryModel {
	return &IndustryModel{seg: seg, lexicon: lexicon}
}

// TypeFromName infers the entity type from a name alone (FP-55), for
// names without a registration (a list of applicants): the legal form
// decides, then the words institutions and individual businesses use.
func TypeFromName(name string) (string, string) {
	switch {
	case strings.Contains(name, "专业合作社") || strings.HasSuffix(name, "联合社"):
		return "cooperative", "名称含“专业合作社”"
	case strings.Contains(name, "公司") || strings.HasSuffix(name, "企业") || strings.Contains(name, "合伙") || strings.HasSuffix(name, "厂"):
		return "enterprise", "名称含公司、企业或合伙的组织形式"
	}
	for _, w := range []string{"学校", "中学", "小学", "幼儿园", "医院", "卫生院", "中心", "研究所", "研究院", "馆", "站", "所"} {
		if strings.HasSuffix(name, w) && (strings.Contains(name, "市") || strings.Contains(name, "县") || strings.Contains(name, "区")) && !strings.HasSuffix(name, "饭馆") && !strings.HasSuffix(name, "面馆") {
			if strings.Contains(name, "民办") || strings.Contains(name, "培训") {
				return "non_enterprise", "名称含“民办”或“培训”"
			}
			if w == "馆" || w == "站" || w == "所" {
				break
			}
			return "institution", "名称以“" + w + "”结尾"
		}
	}
	if strings.Contains(name, "民办") || strings.Contains(name, "培训学校") || strings.Contains(name, "协会") || strings.Contains(name, "服务中心") {
		return "non_enterprise", "名称含民办、培训学校、协会或服务中心"
	}
	return "individual", "名称无公司、合作社或机构的组织形式，按个体工商户处理"
}

// IndustryModel scores GB/T 4754 classes by the words of a name and a
// business scope (FP-54). Its vocabulary is the classes' own names, each
// word weighted by how few classes share it (idf), and a lexicon of the
// trade words and scope phrases registrations use for a class.
type IndustryModel struct {
	once    sync.Once
	seg     *Segmenter
	lexicon bool // false: the class names alone (the baseline the accuracy report compares)
	index   map[string][]posting
	classes []codes.Industry
}

type posting struct {
	class  string
	weight float64
}

// genericWords say nothing about a class (其他, 服务, 活动 …).
var genericWords = map[string]bool{"其他": true, "服务": true, "活动": true, "及": true, "和": true, "与": true, "业": true, "相关": true,
	"产品": true, "用品": true, "专用": true, "设备": true, "制造": true, "加工": true, "批发": true, "零售": true, "销售": true,
	"管理": true, "技术": true, "经营": true, "生产": true, "项目": true, "开展": true, "依法": true, "须经": true, "批准": true,
	"部门": true, "相关部门": true, "方可": true, "营业执照": true, "自主": true, "除": true, "外": true, "凭": true, "有限公司": true,
	"公司": true, "有限": true, "经": true, "含": true, "不含": true, "仅": true, "类": true, "企业": true}

func (m *IndustryModel) load() {
	m.once.Do(func() {
		classes := codes.Industries().Classes()
		m.classes = classes
		df := map[string]int{}
		words := make([][]string, len(classes))
		for i, c := range classes {
			ws := slices.Compact(slices.Sorted(slices.Values(m.seg.Words(c.Name))))
			ws = slices.DeleteFunc(ws, func(w string) bool { return genericWords[w] || len([]rune(w)) < 2 })
			words[i] = ws
			for _, w := range ws {
				df[w]++
			}
		}
		m.index = map[string][]posting{}
		n := float64(len(classes))
		for i, c := range classes {
			for _, w := range words[i] {
				// idf scaled to 0–3 and shared among the class name's words, so
				// a rare word of a short name says most, but never more than
				// a lexicon word (4).
				m.index[w] = append(m.index[w], posting{c.Code, 3 * math.Log(n/float64(df[w])) / math.Log(n) / float64(len(words[i]))})
			}
		}
		for _, l := range industryLexicon {
			if !m.lexicon {
				break
			}
			for _, w := range l.words {
				m.index[w] = append(m.index[w], posting{l.class, 4})
			}
		}
	})
}

// Guess returns the most likely class for the name and scope, or a zero
// guess when no word points anywhere.
func (m *IndustryModel) Guess(name, scope string) IndustryGuess {
	m.load()
	score := map[string]float64{}
	why := map[string][]string{}
	addWords := func(text string, w float64) {
		for _, word := range slices.Compact(slices.Sorted(slices.Values(m.seg.SearchWords(text)))) {
			for _, p := range m.index[word] {
				score[p.class] += w * p.weight
				if !slices.Contains(why[p.class], word) {
					why[p.class] = append(why[p.class], word)
				}
			}
		}
	}
	// The trade word of a name (恒达面馆, 恒达建材有限公司) says most; the
	// scope's first item is the main business.
	addWords(stripName(name), 3)
	scope, _, _ = strings.Cut(scope, "（依法须经批准")
	scope, _, _ = strings.Cut(scope, "（除依法须经批准")
	first, rest, _ := strings.Cut(scope, "；")
	addWords(first, 1.5)
	addWords(rest, 1)
	// A scope that writes a class's full name (食用植物油加工) names the class.
	for _, c := range m.classes {
		if utf8.RuneCountInString(c.Name) >= 4 && strings.Contains(scope, c.Name) {
			score[c.Code] += 6
			why[c.Code] = append(why[c.Code], c.Name)
		}
	}
	if len(score) == 0 {
		return IndustryGuess{}
	}
	type cs struct {
		code string
		s    float64
	}
	var all []cs
	for c, s := range score {
		all = append(all, cs{c, s})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].s != all[j].s {
			return all[i].s > all[j].s
		}
		return all[i].code < all[j].code
	})
	top := all[0]
	second := 0.0
	if len(all) > 1 {
		second = all[1].s
	}
	in, _ := codes.Industries().Lookup(top.code)
	conf := top.s / (top.s + second + 0.5)
	return IndustryGuess{Code: top.code, Name: in.Name, Confidence: math.Round(conf*100) / 100, Terms: why[top.code]}
}

// stripName drops what every name has (region, legal form) so the trade
// word remains.
func stripName(name string) string {
	for _, f := range companyForms {
		name = strings.ReplaceAll(name, f, "")
	}
	for _, p := range []string{"河北省", "河北", "石家庄市", "石家庄"} {
		name = strings.TrimPrefix(name, p)
	}
	for _, c := range codes.Divisions().Counties() {
		name = strings.TrimPrefix(name, c.Name)
	}
	return name
}

// lexiconEntry: trade words and scope phrases that name a class. Written
// from GB/T 4754-2017's class descriptions and common registration
// wording (经营范围规范表述), not fitted to any entity sample.
type lexiconEntry struct {
	class string
	words []string
}

// lexiconWords are the lexicon's words, which the segmenter keeps whole.
func lexiconWords() []string {
	var out []string
	for _, l := range industryLexicon {
		out = append(out, l.words...)
	}
	return out
}

var industryLexicon = []lexiconEntry{
	{"6210", []string{"饭店", "酒楼", "饭庄", "正餐", "火锅", "火锅店", "酒家"}},
	{"6220", []string{"快餐", "快餐店"}},
	{"6291", []string{"小吃", "面馆", "饺子", "饺子馆", "包子", "包子铺", "烧饼", "早餐", "烧烤", "小餐饮", "馄饨"}},
	{"6231", []string{"茶馆", "茶楼"}},
	{"6232", []string{"咖啡", "咖啡馆"}},
	{"6239", []string{"奶茶", "饮品店", "冷饮"}},
	{"5211", []string{"百货商场", "百货大楼"}},
	{"5212", []string{"超市", "超级市场"}},
	{"5213", []string{"便利店"}},
	{"5219", []string{"日杂", "日用杂品", "杂货"}},
	{"5221", []string{"粮油店", "粮油零售"}},
	{"5222", []string{"糕点", "面包", "蛋糕", "蛋糕店"}},
	{"5223", []string{"水果", "蔬菜", "果蔬", "食用农产品"}},
	{"5224", []string{"鲜肉", "肉类", "禽蛋"}},
	{"5226", []string{"烟酒", "酒类", "茶叶", "卷烟"}},
	{"5229", []string{"副食", "预包装食品"}},
	{"5232", []string{"服装", "服饰"}},
	{"5233", []string{"鞋帽", "鞋店"}},
	{"5236", []string{"眼镜", "验光", "配镜"}},
	{"5241", []string{"文具"}},
	{"5274", []string{"通讯器材", "手机", "通信设备"}},
	{"5281", []string{"五金", "五金店", "电线", "电缆"}},
	{"5289", []string{"建材经销", "卫生洁具", "装饰材料零售"}},
	{"5297", []string{"宠物", "宠物食品"}},
	{"5239", []string{"母婴", "鲜花", "花店", "礼品"}},
	{"8040", []string{"美发", "理发", "美容", "美容院", "生活美容"}},
	{"8052", []string{"足疗", "足浴", "养生保健"}},
	{"8030", []string{"干洗", "洗染", "洗衣"}},
	{"8060", []string{"照相", "摄影", "扩印"}},
	{"8010", []string{"家政", "保洁"}},
	{"8111", []string{"汽车修理", "机动车修理", "洗车", "汽车维修"}},
	{"8121", []string{"电脑维修", "计算机维修"}},
	{"8132", []string{"家电维修", "日用电器修理"}},
	{"9019", []string{"棋牌", "棋牌室"}},
	{"7293", []string{"图文", "快印", "打字复印"}},
	{"5012", []string{"装饰工程", "室内装饰", "装饰装修"}},
	{"5431", []string{"货运", "普通货物道路运输", "道路货物运输"}},
	{"5191", []string{"废品", "再生资源回收", "废品收购"}},
	{"0313", []string{"生猪", "生猪饲养", "养猪"}},
	{"0141", []string{"蔬菜种植"}},
	{"5165", []string{"建材", "建筑材料", "钢筋"}},
	{"5199", []string{"商贸", "日用百货批发", "针纺织品"}},
	{"6513", []string{"软件开发", "软件"}},
	{"6490", []string{"网络科技", "互联网信息服务", "网络技术服务"}},
	{"6531", []string{"信息系统集成", "系统集成"}},
	{"5179", []string{"机械设备批发", "机械设备租赁"}},
	{"3484", []string{"机械零部件", "零部件加工"}},
	{"5151", []string{"药品批发", "医药", "药品"}},
	{"5154", []string{"医疗器械", "医用口罩"}},
	{"5129", []string{"食品批发", "农副产品"}},
}
