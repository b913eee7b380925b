package monitor

// The violation rules (FP-88): each a versioned rule with its legal basis.
// A rule finds its terms in a text and then looks at the sentence around
// each hit for the exempt cases the law or its guideline names; only a hit
// no exemption covers becomes a clue. The labelled set in
// testdata/labelled.tsv measures each rule against the plain keyword list
// (Keywords) they are built from (rules_test.go, docs/benchmarks.md).

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// RulesetVersion names this set of rules; a clue keeps the version that found it.
const RulesetVersion = "2026.1"

// Rule is one violation rule.
type Rule struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Type    string   `json:"type"` // the violation type a monitoring model selects
	Article string   `json:"article"`
	Version string   `json:"version"`
	Terms   []string `json:"terms"`
	// exempt are patterns of the sentence around a hit that make it lawful.
	exempt []exemption
	// needs are patterns one of which must also be in the sentence.
	needs []*regexp.Regexp
}

type exemption struct {
	why string
	re  *regexp.Regexp
}

// Hit is one finding of a rule in a text.
type Hit struct {
	Rule    string `json:"rule"`
	Term    string `json:"term"`
	Snippet string `json:"snippet"`
	Offset  int    `json:"offset"` // in runes
}

// Exempted is a hit an exemption covered, with the reason (shown in tests and the rule's page).
type Exempted struct {
	Hit
	Why string `json:"why"`
}

func ex(why, pattern string) exemption { return exemption{why, regexp.MustCompile(pattern)} }

// Rules is the rule set.
func Rules() []Rule {
	return []Rule{{
		ID: "absolute-terms", Name: "广告绝对化用语", Type: "advertising", Version: "3",
		Article: "《中华人民共和国广告法》第九条第（三）项；市场监管总局《广告绝对化用语执法指南》（2023年）",
		Terms:   []string{"最佳", "最好", "最优", "最低价", "最便宜", "最先进", "最高级", "最大", "国家级", "世界级", "全球首发", "第一", "顶级", "极品", "唯一", "首选", "绝对", "万能", "史无前例"},
		exempt: []exemption{
			ex("自身比较（指南第八条：与自身对比）", `(本店|本品牌|我店|本公司|我们自己|自身|此前|以往|历史|上一代|旧款|自家).{0,12}(最|第一)|(最|第一).{0,12}(与自己|本店历史|自身)`),
			ex("使用方法或提示（指南第八条）", `(最佳|最好)(使用|饮用|食用|赏味|保存|储存|佩戴|冲泡|观赏)|(建议|请|务必).{0,6}最好|最好(在|于|不要|避免|放置|冷藏)`),
			ex("标准等级（指南第八条：依据标准划分的等级）", `(国家|行业|GB).{0,8}(标准|规定).{0,10}(一级|第一|最高)|(一级|特级|优等品).{0,4}(标准|等级)`),
			ex("名称或注册商标（指南第八条）", `(商标|品牌名|店名|®|™|字号)|「[^」]*(第一|最|唯一)[^」]*」|[“"][^”"]*(第一|最|唯一)[^”"]*[”"](品牌|牌|店|百货|商场)`),
			ex("有据可查的官方荣誉（指南第八条）", `(荣获|获评|评为|授予|颁发|获得).{0,20}(第一|一等奖|金奖|首选|最佳)|(第一|最佳).{0,12}(由|经).{0,10}(颁发|评定|认定)`),
			ex("限定时间、地域或范围的事实（指南第八条）", `(\d{4}年|截至|据.{0,10}(统计|数据)|数据来源|在.{0,8}(区|县|市|镇)|本(市|区|县)).{0,24}(第一|首家|首个|最)|(第一|首家|最).{0,20}(数据来源|据.{0,8}统计)`),
			ex("序数或排序（不是比较）", `第一(步|次|天|章|条|批|期|季|层|页|个月|周|阶段|课|节)|最(近|新|后|初|早|少|多|终|低温度|高温度|小起订|长保质)`),
			ex("否定（不宣称）", `(不是|并非|不敢说|不能保证|不承诺).{0,6}(最|第一|唯一)`),
		},
	}, {
		ID: "wildlife", Name: "禁售野生动物及其制品", Type: "prohibited", Version: "2",
		Article: "《中华人民共和国野生动物保护法》第二十八条、第三十一条；《电子商务法》第十三条",
		Terms:   []string{"象牙", "犀牛角", "穿山甲", "虎骨", "熊胆", "玳瑁", "砗磲", "羚羊角", "野生鹦鹉", "娃娃鱼", "海马干"},
		exempt: []exemption{
			ex("颜色或材质名称", `象牙(白|色|黄|纸|果|瓷|塔)`),
			ex("仿制品或替代品", `(仿|人造|树脂|塑料|合成|替代|代用|非|不含|拒绝|禁止|保护).{0,6}(象牙|犀牛角|穿山甲|虎骨|熊胆|玳瑁|砗磲|羚羊角)`),
			ex("人工繁育且有许可证", `(人工繁育|人工养殖).{0,16}(许可证|专用标识)`),
		},
	}, {
		ID: "yangtze-ban", Name: "长江流域禁捕水产", Type: "prohibited", Version: "2",
		Article: "《中华人民共和国长江保护法》第五十三条；农业农村部《关于长江流域重点水域禁捕范围和时间的通告》",
		Terms:   []string{"长江野生", "江鲜", "野生刀鱼", "长江刀鱼", "鲥鱼", "野生鮰鱼", "中华鲟", "长江鲟", "野生河豚"},
		exempt: []exemption{
			ex("人工养殖", `(人工)?养殖`),
			ex("宣传禁捕或保护", `(禁捕|保护|拒绝|不售|不卖|十年禁渔)`),
		},
	}, {
		ID: "masks-unlicensed", Name: "医用口罩及防护用品无证销售", Type: "prohibited", Version: "1",
		Article: "《医疗器械监督管理条例》第四十一条、第八十一条",
		Terms:   []string{"医用口罩", "医用外科口罩", "医用防护口罩", "N95", "防护服", "医用护目镜"},
		exempt: []exemption{
			ex("展示医疗器械注册证或经营备案", `(械注准|械备|注册证|备案凭证|经营许可证|备案编号)`),
			ex("非医用声明", `(非医用|日常防护型|不可用于医疗)`),
		},
	}, {
		ID: "medical-claims", Name: "食品及保健品宣称疾病疗效", Type: "claims", Version: "2",
		Article: "《中华人民共和国食品安全法》第七十一条、第七十三条；《广告法》第十七条、第十八条",
		Terms:   []string{"治疗", "治愈", "根治", "疗效", "药到病除", "降血压", "降血糖", "降血脂", "抗癌", "防癌", "包治", "消炎", "替代药物"},
		exempt: []exemption{
			ex("法定提示语或否定", `(不能|不可|不具有|不得|无|并非|不是).{0,8}(治疗|治愈|疗效|代替药物|替代药物|药物)`),
			ex("就医提示", `(请遵医嘱|请及时就医|请咨询医生|在医生指导下)`),
		},
	}}
}

// Keywords is the anchor: every rule's terms as a plain list, no exemptions.
func Keywords() map[string][]string {
	m := map[string][]string{}
	for _, r := range Rules() {
		m[r.ID] = r.Terms
	}
	return m
}

var sentenceEnd = regexp.MustCompile(`[。！？!?；;\n]`)

// sentenceAround is the sentence holding text[i:j] (byte offsets).
func sentenceAround(text string, i, j int) string {
	start := 0
	for _, m := range sentenceEnd.FindAllStringIndex(text[:i], -1) {
		start = m[1]
	}
	end := len(text)
	if m := sentenceEnd.FindStringIndex(text[j:]); m != nil {
		end = j + m[1]
	}
	return text[start:end]
}

// Check runs the rule on a text: the hits no exemption covers, and those
// one did (with the reason).
func (r Rule) Check(text string) ([]Hit, []Exempted) {
	var hits []Hit
	var exempted []Exempted
	seen := map[int]bool{}
	for _, term := range r.Terms {
		for off := 0; ; {
			k := strings.Index(text[off:], term)
			if k < 0 {
				break
			}
			i, j := off+k, off+k+len(term)
			off = j
			if seen[i] {
				continue
			}
			seen[i] = true
			s := sentenceAround(text, i, j)
			h := Hit{Rule: r.ID, Term: term, Snippet: strings.TrimSpace(s), Offset: utf8.RuneCountInString(text[:i])}
			why := ""
			for _, e := range r.exempt {
				if e.re.MatchString(s) {
					why = e.why
					break
				}
			}
			if why != "" {
				exempted = append(exempted, Exempted{Hit: h, Why: why})
				continue
			}
			hits = append(hits, h)
		}
	}
	return hits, exempted
}

// RuleByID finds a rule.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules() {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
