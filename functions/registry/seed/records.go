package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Record kinds with their base share of all records.
var recordKinds = [...]struct {
	kind   string
	weight float64
}{
	{"annual_report", 0.30},
	{"licence", 0.17},
	{"inspection", 0.15},
	{"random_check", 0.09},
	{"spot_check", 0.06},
	{"complaint", 0.11},
	{"penalty", 0.05},
	{"abnormal_list", 0.035},
	{"honour", 0.025},
	{"serious_illegal", 0.0015},
	{"blacklist", 0.002},
}

const (
	kAnnual = iota
	kLicence
	kInspection
	kRandom
	kSpot
	kComplaint
	kPenalty
	kAbnormal
	kHonour
	kSerious
	kBlacklist
)

// recordRow is one registry.records row as COPY sends it; id and
// created_at take their defaults.
type recordRow struct {
	code, kind, ref, title, authority string
	occurred, validUntil              pgtype.Date // validUntil is NULL unless Valid
	status                            string
	public                            bool
	details                           []byte // jsonb
}

// recordColumns matches recordValues.
var recordColumns = []string{
	"credit_code", "kind", "ref_no", "title", "authority", "occurred_on", "valid_until", "status", "public", "details",
}

func recordValues(r *recordRow, v []any) {
	v[0], v[1], v[2], v[3], v[4] = &r.code, &r.kind, &r.ref, &r.title, &r.authority
	v[5], v[6], v[7], v[8], v[9] = &r.occurred, &r.validUntil, &r.status, &r.public, &r.details
}

// recordGen turns entity summaries into records, from its own random
// stream so the entity rows do not depend on the records setting.
type recordGen struct {
	r      *rand.Rand
	places []place
	mean   float64
	ref    int32
}

func newRecordGen(seed int64, places []place, mean float64) *recordGen {
	return &recordGen{
		r:      rand.New(rand.NewPCG(uint64(seed), 0x5eed_7ec0)),
		places: places,
		mean:   mean,
		ref:    civil(refYear, refMonth, refDay),
	}
}

// forEntity emits the records of one entity into the rows slot returns.
func (g *recordGen) forEntity(e *summary, slot func() (*recordRow, error)) error {
	n := g.poisson(g.mean)
	pl := &g.places[e.place]
	nextYear := int(yearOf(g.ref)) - 1 // latest annual report year
	licences := 0
	for range n {
		k := g.kind(e)
		switch {
		case k == kAnnual && (e.typ == tInstitution || e.typ == tNonEnterprise):
			k = kInspection // they report to their own registrars, not to market supervision
		case k == kAnnual && nextYear < int(yearOf(e.established)):
			k = kInspection // too young, or every year already reported
		case k == kLicence && (e.lic == licNone || licences >= 2):
			k = kInspection
		}
		row, err := slot()
		if err != nil {
			return err
		}
		switch k {
		case kAnnual:
			g.annual(row, e, pl, nextYear)
			nextYear--
		default:
			if k == kLicence {
				licences++
			}
			g.record(row, k, e, pl)
		}
	}
	return nil
}

func (g *recordGen) kind(e *summary) int {
	var w [len(recordKinds)]float64
	total := 0.0
	for i, k := range recordKinds {
		w[i] = k.weight
		if e.status != statusActive { // revoked and deregistered entities went wrong first
			switch i {
			case kAbnormal:
				w[i] *= 6
			case kSerious:
				w[i] *= 8
			case kPenalty:
				w[i] *= 2
			case kHonour:
				w[i] = 0
			}
		}
		total += w[i]
	}
	x := g.r.Float64() * total
	for i := range w {
		if x < w[i] {
			return i
		}
		x -= w[i]
	}
	return kInspection
}

// poisson draws from a Poisson distribution (Knuth; the mean is small).
func (g *recordGen) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 { // normal approximation keeps large means cheap
		return max(0, int(math.Round(mean+g.r.NormFloat64()*math.Sqrt(mean))))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= g.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// dayAfter draws a day between from and the reference day.
func (g *recordGen) dayAfter(from int32) int32 {
	if from >= g.ref {
		return g.ref
	}
	return from + int32(g.r.IntN(int(g.ref-from)+1))
}

func (g *recordGen) annual(row *recordRow, e *summary, pl *place, year int) {
	// Reports are due between 1 January and 30 June of the following year.
	start := civil(year+1, 1, 1)
	day := min(start+int32(g.r.IntN(181)), g.ref)
	day = max(day, e.established)
	staff := 1 + g.r.IntN(8)
	var items []reportItem
	// Tax is a small share of revenue, debt a share of assets.
	if e.typ == tIndividual {
		revenue := 2 + g.r.ExpFloat64()*25
		items = []reportItem{
			{"营业额或营业收入", wan(revenue), false},
			{"纳税总额", wan(revenue * (0.005 + g.r.Float64()*0.03)), false},
			{"从业人数", strconv.Itoa(staff), true},
			{"是否有网站或网店", yesNo(g.r.IntN(5) == 0), true},
		}
	} else {
		staff = 3 + g.r.IntN(120)
		assets := 20 + g.r.ExpFloat64()*800
		revenue := assets * (0.3 + g.r.ExpFloat64())
		items = []reportItem{
			{"资产总额", wan(assets), false},
			{"负债总额", wan(assets * g.r.Float64() * 0.8), false},
			{"营业总收入", wan(revenue), false},
			{"纳税总额", wan(revenue * (0.01 + g.r.Float64()*0.06)), false},
			{"从业人数", strconv.Itoa(staff), true},
			{"是否有网站或网店", yesNo(g.r.IntN(3) == 0), true},
		}
	}
	y := strconv.Itoa(year)
	*row = recordRow{
		code: e.code, kind: "annual_report", ref: y + "年度", title: y + "年度报告", authority: pl.authority,
		occurred: dateOf(day), status: "已公示", public: true, details: appendReport(nil, year, items),
	}
}

type reportItem struct {
	name, value string
	public      bool
}

// appendReport writes {"year":2023,"items":[{"name":…,"value":…,"public":…}]}.
// The strings are the generator's own, free of quotes and backslashes.
func appendReport(b []byte, year int, items []reportItem) []byte {
	b = append(b, `{"year":`...)
	b = strconv.AppendInt(b, int64(year), 10)
	b = append(b, `,"items":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":"`...)
		b = append(b, it.name...)
		b = append(b, `","value":"`...)
		b = append(b, it.value...)
		b = append(b, `","public":`...)
		b = strconv.AppendBool(b, it.public)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func wan(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) + "万元" }

func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// record builds every kind but annual reports.
func (g *recordGen) record(row *recordRow, k int, e *summary, pl *place) {
	day := g.dayAfter(e.established + 20)
	year := strconv.Itoa(int(yearOf(day)))
	seq := strconv.Itoa(1 + g.r.IntN(1999))
	var (
		kind, ref, title, status, authority = recordKinds[k].kind, "", "", "", pl.authority
		validUntil                          pgtype.Date
		public                              = true
		details                             = []byte("{}")
	)
	switch k {
	case kLicence:
		info := licenceInfo[e.lic]
		title, ref = info.title, g.licenceNo(e, pl)
		status = "有效"
		if info.years > 0 {
			until := civil(int(yearOf(day))+info.years, 1, 1) + (day - civil(int(yearOf(day)), 1, 1)) - 1
			validUntil = dateOf(until)
			if until < g.ref {
				status = "已过期"
			}
		}
		if e.lic == licSchool {
			authority = pl.prefix + "教育局"
		} else if e.lic == licMedical || e.lic == licHygiene {
			authority = pl.prefix + "卫生健康局"
		} else if e.lic == licConstruction {
			authority = "石家庄市行政审批局"
		} else if e.lic == licTransport {
			authority = pl.prefix + "交通运输局"
		} else if e.lic == licTobacco {
			authority = pl.prefix + "烟草专卖局"
		}
	case kInspection:
		title = inspectionTopic(e.lic) + "日常监督检查"
		ref = pl.abbr + "市监检〔" + year + "〕" + seq + "号"
		status = pickWeighted(g.r, []string{"符合", "基本符合", "不符合"}, []float64{0.75, 0.18, 0.07})
		problems := 0
		switch status {
		case "基本符合":
			problems = 1
		case "不符合":
			problems = 2 + g.r.IntN(3)
		}
		details = fmt.Appendf(nil, `{"items":%d,"problems":%d}`, 8+g.r.IntN(20), problems)
	case kRandom:
		subjects := []string{"企业公示信息", "登记事项", "食品安全", "产品质量", "价格行为", "广告发布"}
		title = year + "年度“双随机、一公开”" + subjects[g.r.IntN(len(subjects))] + "抽查"
		ref = pl.abbr + "市监随〔" + year + "〕" + seq + "号"
		status = pickWeighted(g.r, []string{"未发现问题", "发现问题已责令改正", "未按规定公示应当公示的信息", "通过登记的住所（经营场所）无法联系"}, []float64{0.82, 0.10, 0.05, 0.03})
	case kSpot:
		if isFood(e.lic) {
			title = "食品安全监督抽检（" + spotFoods[g.r.IntN(len(spotFoods))] + "）"
		} else {
			title = "产品质量监督抽查（" + spotProducts[g.r.IntN(len(spotProducts))] + "）"
		}
		ref = "DC" + year[2:] + pl.code + fmt.Sprintf("%06d", g.r.IntN(1_000_000))
		status = pickWeighted(g.r, []string{"合格", "不合格"}, []float64{0.93, 0.07})
	case kComplaint:
		issue := complaintIssues[g.r.IntN(len(complaintIssues))]
		title = "消费投诉：" + issue
		ref = "12315-" + time.Unix(int64(day)*86400, 0).UTC().Format("20060102") + "-" + fmt.Sprintf("%06d", g.r.IntN(1_000_000))
		status = pickWeighted(g.r, []string{"已调解", "调解不成功", "已办结", "不予受理"}, []float64{0.55, 0.12, 0.28, 0.05})
		public = status == "已调解" || status == "已办结"
	case kPenalty:
		c := penaltyCases[g.r.IntN(len(penaltyCases))]
		title = c.title
		ref = pl.abbr + "市监罚〔" + year + "〕" + seq + "号"
		amount := []int{500, 1000, 2000, 3000, 5000, 10000, 20000, 50000}[g.r.IntN(8)]
		status = pickWeighted(g.r, []string{"已结案", "执行中"}, []float64{0.85, 0.15})
		details = fmt.Appendf(nil, `{"basis":"%s","decision":"警告，罚款%d元","amount":"%d.00"}`, c.basis, amount, amount)
	case kAbnormal:
		title = "列入经营异常名录"
		ref = pl.abbr + "市监异〔" + year + "〕" + seq + "号"
		status = pickWeighted(g.r, []string{"已移出", "未移出"}, []float64{0.55, 0.45})
		details = fmt.Appendf(nil, `{"reason":"%s"}`, abnormalReasons[g.r.IntN(len(abnormalReasons))])
	case kSerious:
		title = "列入严重违法失信名单"
		ref = pl.abbr + "市监严〔" + year + "〕" + seq + "号"
		status = "未移出"
		details = []byte(`{"reason":"被列入经营异常名录届满3年仍未履行相关义务"}`)
	case kHonour:
		title = honours[g.r.IntN(len(honours))] + "（" + year + "年度）"
		ref = "石市监〔" + year + "〕" + seq + "号"
		authority = "石家庄市市场监督管理局"
		status = "有效"
		validUntil = dateOf(civil(int(yearOf(day))+2, 12, 31))
	case kBlacklist:
		title = "严重违法失信主体名单（市场监管领域）"
		if isFood(e.lic) {
			title = "食品安全严重违法生产经营者黑名单"
		}
		ref = pl.abbr + "市监黑〔" + year + "〕" + seq + "号"
		status = "有效期内"
		validUntil = dateOf(civil(int(yearOf(day))+5, int(monthOf(day)), 1))
	}
	*row = recordRow{
		code: e.code, kind: kind, ref: ref, title: title, authority: authority,
		occurred: dateOf(day), validUntil: validUntil, status: status, public: public, details: details,
	}
}

// licenceNo makes a permit number in the shape its issuer uses.
func (g *recordGen) licenceNo(e *summary, pl *place) string {
	n := func(digits int) string { return fmt.Sprintf("%0*d", digits, g.r.Int64N(int64(math.Pow10(digits)))) }
	switch e.lic {
	case licFoodService:
		return "JY2" + pl.code + n(7)
	case licFoodRetail:
		return "JY1" + pl.code + n(7)
	case licFoodProduction:
		return "SC10" + pl.code + n(6)
	case licDrug:
		return "冀AA" + n(7)
	case licMedDevice:
		return "冀石食药监械经营备" + n(8) + "号"
	case licTobacco:
		return pl.code + n(9)
	case licHygiene:
		return pl.abbr + "卫公字〔" + strconv.Itoa(int(yearOf(e.established))) + "〕第" + n(4) + "号"
	case licConstruction:
		return "D2" + n(8)
	case licTransport:
		return "冀交运管许可石字" + pl.code + n(6) + "号"
	case licSchool:
		return "教民" + pl.code + n(9) + "号"
	case licMedical:
		return "PDY" + n(5) + pl.code + n(6)
	default:
		return "XK" + n(2) + "-" + n(3) + "-" + n(5)
	}
}

func inspectionTopic(l licence) string {
	switch {
	case isFood(l):
		return "食品经营"
	case l == licFoodProduction:
		return "食品生产"
	case l == licDrug || l == licMedDevice:
		return "药品医疗器械经营"
	case l == licIndustrial:
		return "工业产品质量"
	case l == licHygiene:
		return "价格及计量"
	}
	return "市场主体登记事项及经营行为"
}

func isFood(l licence) bool { return l == licFoodService || l == licFoodRetail || l == licTobacco }

func pickWeighted(r *rand.Rand, vals []string, w []float64) string {
	x := r.Float64()
	for i, p := range w {
		if x < p {
			return vals[i]
		}
		x -= p
	}
	return vals[len(vals)-1]
}

func yearOf(day int32) int32 { return int32(time.Unix(int64(day)*86400, 0).UTC().Year()) }

func monthOf(day int32) int32 { return int32(time.Unix(int64(day)*86400, 0).UTC().Month()) }
