package monitor

// FP-87: credit grades of online entities. The grade is computed from the
// entity's clues (confirmed ones weigh more than open ones; dismissed ones
// not at all) and its public credit records, explained factor by factor,
// and recomputed whenever one of its inputs changes.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
)

// Factor names, each an indicator of the grading model.
const (
	FactorClueConfirmed = "clue_confirmed" // clues confirmed or sent on as a case
	FactorClueOpen      = "clue_open"      // clues not yet reviewed
	FactorPenalty       = "penalty"        // administrative penalties
	FactorAbnormal      = "abnormal"       // on the abnormal-operation list
	FactorJudgment      = "judgment"       // court judgments against it
	FactorDishonest     = "dishonest"      // on a dishonest-debtor list
	FactorComplaint     = "complaint"      // consumer complaints
)

// factorOrder fixes the order factors are explained in.
var factorOrder = []string{FactorClueConfirmed, FactorClueOpen, FactorPenalty, FactorAbnormal, FactorJudgment, FactorDishonest, FactorComplaint}

var factorNames = map[string]string{
	FactorClueConfirmed: "已确认的违法线索", FactorClueOpen: "待研判的违法线索", FactorPenalty: "行政处罚",
	FactorAbnormal: "列入经营异常名录", FactorJudgment: "裁判文书（败诉）", FactorDishonest: "失信被执行人", FactorComplaint: "消费者投诉",
}

// recordKinds are the factors fed by credit records rather than clues.
var recordKinds = map[string]bool{FactorPenalty: true, FactorAbnormal: true, FactorJudgment: true, FactorDishonest: true, FactorComplaint: true}

// FactorWeight is how much one record of a factor deducts, and how many
// records count at most (so one noisy source cannot sink a grade alone).
type FactorWeight struct {
	Points int `json:"points"`
	Cap    int `json:"cap"`
}

// Weights is one version of the grading model: the deductions from 100,
// the lowest score of each grade, and how often each grade is monitored.
type Weights struct {
	Factors      map[string]FactorWeight `json:"factors"`
	Thresholds   map[string]int          `json:"thresholds"`    // A, B, C: the lowest score of the grade; below C is D
	IntervalDays map[string]int          `json:"interval_days"` // A–D: days between monitoring runs
	WindowDays   int                     `json:"window_days"`   // records older than this no longer count
}

// DefaultWeights is version 1, used until someone changes them.
func DefaultWeights() Weights {
	return Weights{
		Factors: map[string]FactorWeight{
			FactorClueConfirmed: {Points: 10, Cap: 5}, FactorClueOpen: {Points: 2, Cap: 5},
			FactorPenalty: {Points: 15, Cap: 3}, FactorAbnormal: {Points: 20, Cap: 1}, FactorJudgment: {Points: 8, Cap: 3},
			FactorDishonest: {Points: 30, Cap: 1}, FactorComplaint: {Points: 3, Cap: 5},
		},
		Thresholds:   map[string]int{"A": 90, "B": 75, "C": 60},
		IntervalDays: map[string]int{"A": 30, "B": 14, "C": 7, "D": 1},
		WindowDays:   1095,
	}
}

var grades = []string{"A", "B", "C", "D"}

func (w Weights) validate() error {
	var fe []errs.FieldError
	for _, f := range factorOrder {
		fw, ok := w.Factors[f]
		if !ok {
			fe = append(fe, errs.FieldError{Field: "factors." + f, Message: "缺少指标“" + factorNames[f] + "”的权重"})
			continue
		}
		if fw.Points < 0 || fw.Points > 100 || fw.Cap < 1 || fw.Cap > 100 {
			fe = append(fe, errs.FieldError{Field: "factors." + f, Message: "指标“" + factorNames[f] + "”的扣分应为 0 至 100，计数上限应为 1 至 100"})
		}
	}
	for f := range w.Factors {
		if factorNames[f] == "" {
			fe = append(fe, errs.FieldError{Field: "factors." + f, Message: "未知的信用指标：" + f})
		}
	}
	a, b, c := w.Thresholds["A"], w.Thresholds["B"], w.Thresholds["C"]
	if !(a <= 100 && a > b && b > c && c > 0) {
		fe = append(fe, errs.FieldError{Field: "thresholds", Message: "等级分数线应满足 100 ≥ A > B > C > 0"})
	}
	for _, g := range grades {
		if d := w.IntervalDays[g]; d < 1 || d > 365 {
			fe = append(fe, errs.FieldError{Field: "interval_days." + g, Message: g + " 级的监测周期应为 1 至 365 天"})
		}
	}
	if w.WindowDays < 30 || w.WindowDays > 3650 {
		fe = append(fe, errs.FieldError{Field: "window_days", Message: "信用记录的计算期限应为 30 至 3650 天"})
	}
	return errs.Fields(fe)
}

// Evidence is one record behind a factor: a clue or a credit record.
type Evidence struct {
	Ref    string `json:"ref"` // "clue:17" or the record's number
	Detail string `json:"detail"`
}

// Explained is one factor of a grade: what it counted, and what it cost.
type Explained struct {
	Factor    string     `json:"factor"`
	Name      string     `json:"name"`
	Points    int        `json:"points"`
	Cap       int        `json:"cap"`
	Count     int        `json:"count"`
	Deduction int        `json:"deduction"`
	Records   []Evidence `json:"records"`
}

// Grading is a computed grade with its explanation.
type Grading struct {
	Score        int         `json:"score"`
	Grade        string      `json:"grade"`
	IntervalDays int         `json:"interval_days"`
	Factors      []Explained `json:"factors"`
	Summary      string      `json:"summary"`
}

// Grade computes the grade of an entity from its evidence by factor. It is
// pure, so the explanation can be tested against the weights alone.
func Grade(w Weights, evidence map[string][]Evidence) Grading {
	g := Grading{Score: 100, Factors: []Explained{}}
	type part struct {
		text string
		ded  int
	}
	var parts []part
	for _, f := range factorOrder {
		fw := w.Factors[f]
		recs := evidence[f]
		e := Explained{Factor: f, Name: factorNames[f], Points: fw.Points, Cap: fw.Cap, Count: len(recs), Records: recs}
		if e.Records == nil {
			e.Records = []Evidence{}
		}
		e.Deduction = fw.Points * min(len(recs), fw.Cap)
		g.Score -= e.Deduction
		if e.Deduction > 0 {
			parts = append(parts, part{fmt.Sprintf("%s %d 条，扣 %d 分", e.Name, e.Count, e.Deduction), e.Deduction})
		}
		g.Factors = append(g.Factors, e)
	}
	g.Score = max(g.Score, 0)
	switch {
	case g.Score >= w.Thresholds["A"]:
		g.Grade = "A"
	case g.Score >= w.Thresholds["B"]:
		g.Grade = "B"
	case g.Score >= w.Thresholds["C"]:
		g.Grade = "C"
	default:
		g.Grade = "D"
	}
	g.IntervalDays = w.IntervalDays[g.Grade]
	// The largest deductions first: they are what an inspector asks about.
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].ded > parts[j].ded })
	texts := make([]string, len(parts))
	for i, p := range parts {
		texts[i] = p.text
	}
	if len(texts) == 0 {
		g.Summary = fmt.Sprintf("无扣分记录，得分 %d，评为 %s 级", g.Score, g.Grade)
	} else {
		g.Summary = fmt.Sprintf("%s；得分 %d，评为 %s 级", strings.Join(texts, "；"), g.Score, g.Grade)
	}
	return g
}

// districtCodes maps the district names shop pages show to their division
// codes, which the data scope is written in.
var districtCodes = func() map[string]string {
	m := map[string]string{}
	for _, d := range codes.Divisions().Counties() {
		m[d.Name] = d.Code
	}
	return m
}()

// districtCode is the division code of a district given by name or code;
// "" when it is neither (only city-wide users see such rows).
func districtCode(s string) string {
	s = strings.TrimSpace(s)
	if c, ok := districtCodes[s]; ok {
		return c
	}
	if d, ok := codes.Divisions().Lookup(s); ok && d.Level == codes.LevelCounty {
		return d.Code
	}
	return ""
}
