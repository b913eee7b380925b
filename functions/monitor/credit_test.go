package monitor

// FP-87: credit grades and the district scope of clues and grades.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/conformance"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

func mustCode(t *testing.T, district, org string) string {
	t.Helper()
	c, err := codes.MakeCreditCode("91", district, org)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FP-87: the explanation names each factor, its weight, what it counted
// (capped) and which records, and the summary leads with the largest cost.
func TestGradeExplainsEachFactor(t *testing.T) {
	w := DefaultWeights()
	ev := map[string][]Evidence{
		FactorClueConfirmed: {{Ref: "clue:1"}, {Ref: "clue:2"}},
		FactorPenalty:       {{Ref: "石市监罚〔2026〕1号"}},
		FactorComplaint:     {{Ref: "T1"}, {Ref: "T2"}, {Ref: "T3"}, {Ref: "T4"}, {Ref: "T5"}, {Ref: "T6"}, {Ref: "T7"}},
	}
	g := Grade(w, ev)
	// 100 − 2×10 − 1×15 − min(7,5)×3 = 50: below C's 60.
	if g.Score != 50 || g.Grade != "D" || g.IntervalDays != 1 {
		t.Fatalf("grade %d %s every %d days", g.Score, g.Grade, g.IntervalDays)
	}
	by := map[string]Explained{}
	for _, f := range g.Factors {
		by[f.Factor] = f
	}
	if len(g.Factors) != len(factorOrder) {
		t.Fatalf("%d factors explained, want every one", len(g.Factors))
	}
	if c := by[FactorComplaint]; c.Count != 7 || c.Deduction != 15 || c.Cap != 5 || len(c.Records) != 7 {
		t.Errorf("complaints %+v", c)
	}
	if p := by[FactorPenalty]; p.Deduction != 15 || p.Records[0].Ref != "石市监罚〔2026〕1号" || p.Name != "行政处罚" {
		t.Errorf("penalty %+v", p)
	}
	if d := by[FactorDishonest]; d.Deduction != 0 || d.Records == nil {
		t.Errorf("a clean factor %+v", d)
	}
	if !strings.HasPrefix(g.Summary, "已确认的违法线索 2 条，扣 20 分") || !strings.HasSuffix(g.Summary, "得分 50，评为 D 级") {
		t.Errorf("summary %q", g.Summary)
	}
	if g := Grade(w, nil); g.Score != 100 || g.Grade != "A" || g.IntervalDays != 30 {
		t.Errorf("a clean entity: %+v", g)
	}
	// The score never goes below zero.
	heavy := map[string][]Evidence{}
	for _, f := range factorOrder {
		heavy[f] = make([]Evidence, 10)
	}
	if g := Grade(w, heavy); g.Score != 0 || g.Grade != "D" {
		t.Errorf("heavy: %d %s", g.Score, g.Grade)
	}
}

func TestWeightsValidation(t *testing.T) {
	w := DefaultWeights()
	w.Thresholds["B"] = 95
	w.Factors["penalty"] = FactorWeight{Points: -1, Cap: 1}
	w.Factors["rumour"] = FactorWeight{Points: 1, Cap: 1}
	err := w.validate()
	for _, want := range []string{"A > B > C", "行政处罚", "未知的信用指标"} {
		if err == nil || !strings.Contains(errText(err), want) {
			t.Errorf("validate: %v lacks %q", err, want)
		}
	}
	if err := DefaultWeights().validate(); err != nil {
		t.Errorf("the defaults are invalid: %v", err)
	}
}

func errText(err error) string {
	var e *errs.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	return fmt.Sprint(e.Fields)
}

type creditWorld struct {
	h            harness
	city         string
	inside, away string // credit codes in 长安区 (130102) and 桥西区 (130104)
	model        int64
}

func newCreditWorld(t *testing.T) creditWorld {
	t.Helper()
	w := creditWorld{h: newHarness(t), inside: mustCode(t, "130102", "10000001"), away: mustCode(t, "130104", "10000002")}
	ctx := t.Context()
	if _, err := w.h.f.pool.Exec(ctx, contractStub); err != nil {
		t.Fatal(err)
	}
	if _, err := w.h.f.pool.Exec(ctx, `INSERT INTO crawlershard.stub_online_objects VALUES
		(1, 'http://s1.farm.test/p/1', 'product', '有机绿茶', 9.9, '国家级最佳茶叶，全网销量第一。', '长安茶行', $1, '长安区', '网店', true, now()),
		(2, 'http://s2.farm.test/p/1', 'product', '保健胶囊', 99, '本品最佳，可治疗高血压。', '桥西药房', $2, '桥西区', '网站', true, now())`,
		w.inside, w.away); err != nil {
		t.Fatal(err)
	}
	w.city = w.h.iss.Bearer(authtest.CityWide(conformance.Permissions(w.h.f.Handler())...))
	rec := w.h.do(t, w.city, "POST", "/monitor/v1/models", map[string]any{"name": "全市", "types": []string{"advertising", "claims"}, "window_days": 30})
	var m Model
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("model: %d %s", rec.Code, rec.Body)
	}
	w.model = m.ID
	if rec := w.h.do(t, w.city, "POST", "/monitor/v1/models/"+itoa(m.ID)+"/run", nil); rec.Code != 200 {
		t.Fatalf("run: %d %s", rec.Code, rec.Body)
	}
	return w
}

func (w creditWorld) grade(t *testing.T, code string) CreditGrade {
	t.Helper()
	rec := w.h.do(t, w.city, "GET", "/monitor/v1/credit/grades/"+code, nil)
	var g CreditGrade
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || rec.Code != 200 {
		t.Fatalf("grade %s: %d %s", code, rec.Code, rec.Body)
	}
	return g
}

// FP-87: the grade follows its inputs (a run, a review, a record, a new
// model version), keeps its history, and lists by grade.
func TestCreditGradeFollowsCluesRecordsAndWeights(t *testing.T) {
	w := newCreditWorld(t)
	// 国家级, 最佳, 第一: three open clues, 3×2.
	g := w.grade(t, w.inside)
	if g.Score != 94 || g.Grade != "A" || g.WeightsVersion != 1 || g.EntityName != "长安茶行" || g.DistrictCode != "130102" {
		t.Fatalf("after the run: %+v", g)
	}
	var page httpx.PageOf[Clue]
	rec := w.h.do(t, w.city, "GET", "/monitor/v1/clues?model="+itoa(w.model), nil)
	json.Unmarshal(rec.Body.Bytes(), &page)
	var mine []Clue
	for _, c := range page.Items {
		if c.CreditCode == w.inside {
			mine = append(mine, c)
		}
	}
	if len(mine) != 3 {
		t.Fatalf("%d clues of the inside entity", len(mine))
	}
	for _, c := range mine[:2] {
		if rec := w.h.do(t, w.city, "POST", "/monitor/v1/clues/"+itoa(c.ID)+"/review", map[string]string{"action": "confirm"}); rec.Code != 200 {
			t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
		}
	}
	if rec := w.h.do(t, w.city, "POST", "/monitor/v1/clues/"+itoa(mine[2].ID)+"/review", map[string]string{"action": "dismiss", "reason": "统计数据属实"}); rec.Code != 200 {
		t.Fatalf("dismiss: %d %s", rec.Code, rec.Body)
	}
	// Two confirmed (2×10), the dismissed one costs nothing: 80, B.
	g = w.grade(t, w.inside)
	if g.Score != 80 || g.Grade != "B" || g.IntervalDays != 14 {
		t.Fatalf("after the review: %d %s", g.Score, g.Grade)
	}
	rec = w.h.do(t, w.city, "POST", "/monitor/v1/credit/records", RecordInput{CreditCode: w.inside, EntityName: "长安茶行", District: "长安区",
		Kind: "penalty", Ref: "石长市监罚〔2026〕12号", Detail: "虚假宣传", OccurredAt: "2026-10-01"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("record: %d %s", rec.Code, rec.Body)
	}
	var rr RecordResult
	json.Unmarshal(rec.Body.Bytes(), &rr)
	if rr.Grade.Score != 65 || rr.Grade.Grade != "C" {
		t.Fatalf("after the penalty: %+v", rr.Grade)
	}
	// The same record again is no second penalty.
	rec = w.h.do(t, w.city, "POST", "/monitor/v1/credit/records", RecordInput{CreditCode: w.inside, EntityName: "长安茶行", District: "长安区",
		Kind: "penalty", Ref: "石长市监罚〔2026〕12号", OccurredAt: "2026-10-01"})
	json.Unmarshal(rec.Body.Bytes(), &rr)
	if rec.Code != 200 || rr.Added || rr.Grade.Score != 65 {
		t.Fatalf("the repeated record: %d %s", rec.Code, rec.Body)
	}
	for name, in := range map[string]RecordInput{
		"credit_code": {CreditCode: "91130102X", EntityName: "x", District: "长安区", Kind: "penalty", Ref: "1", OccurredAt: "2026-10-01"},
		"kind":        {CreditCode: w.inside, EntityName: "x", District: "长安区", Kind: "rumour", Ref: "1", OccurredAt: "2026-10-01"},
		"district":    {CreditCode: w.inside, EntityName: "x", District: "海淀区", Kind: "penalty", Ref: "1", OccurredAt: "2026-10-01"},
		"occurred_at": {CreditCode: w.inside, EntityName: "x", District: "长安区", Kind: "penalty", Ref: "1", OccurredAt: "十月"},
	} {
		rec := w.h.do(t, w.city, "POST", "/monitor/v1/credit/records", in)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), name) {
			t.Errorf("bad %s: %d %s", name, rec.Code, rec.Body)
		}
	}
	g = w.grade(t, w.inside)
	explained := false
	for _, f := range g.Factors {
		if f.Factor == FactorPenalty && f.Count == 1 && f.Deduction == 15 && f.Records[0].Ref == "石长市监罚〔2026〕12号" {
			explained = true
		}
	}
	if !explained || g.Cause != "信用记录：行政处罚 石长市监罚〔2026〕12号" {
		t.Errorf("explanation %+v cause %q", g.Factors, g.Cause)
	}
	// History, newest first: the penalty, the dismissal, the confirmations, the run.
	if len(g.History) != 5 || g.History[0].Grade != "C" || g.History[len(g.History)-1].Score != 94 {
		t.Errorf("history %+v", g.History)
	}

	// A new version of the model regrades everyone, and the old one stays.
	nw := DefaultWeights()
	nw.Factors[FactorPenalty] = FactorWeight{Points: 30, Cap: 3}
	if rec := w.h.do(t, w.city, "PUT", "/monitor/v1/credit/weights", WeightsInput{Weights: nw}); rec.Code != http.StatusBadRequest {
		t.Errorf("weights without a note: %d", rec.Code)
	}
	rec = w.h.do(t, w.city, "PUT", "/monitor/v1/credit/weights", WeightsInput{Weights: nw, Note: "加重行政处罚权重"})
	var wr WeightsResult
	if err := json.Unmarshal(rec.Body.Bytes(), &wr); err != nil || rec.Code != 200 || wr.Version.Version != 2 || wr.Regraded != 2 {
		t.Fatalf("weights: %d %s", rec.Code, rec.Body)
	}
	g = w.grade(t, w.inside)
	if g.Score != 50 || g.Grade != "D" || g.WeightsVersion != 2 || g.IntervalDays != 1 {
		t.Fatalf("after the new weights: %+v", g)
	}
	var versions []WeightsVersion
	rec = w.h.do(t, w.city, "GET", "/monitor/v1/credit/weights", nil)
	if json.Unmarshal(rec.Body.Bytes(), &versions); len(versions) != 2 || versions[1].Weights.Factors[FactorPenalty].Points != 15 {
		t.Errorf("versions %s", rec.Body)
	}
	// A district user may not change a city-wide model.
	dist := w.h.iss.Bearer(authtest.InDistricts(conformance.Permissions(w.h.f.Handler()), "130102"))
	if rec := w.h.do(t, dist, "PUT", "/monitor/v1/credit/weights", WeightsInput{Weights: nw, Note: "x"}); rec.Code != http.StatusForbidden {
		t.Errorf("district user changed the weights: %d", rec.Code)
	}

	// Listing by grade, and the counts.
	var gp httpx.PageOf[CreditGrade]
	rec = w.h.do(t, w.city, "GET", "/monitor/v1/credit/grades?grade=D", nil)
	if json.Unmarshal(rec.Body.Bytes(), &gp); gp.Total != 1 || gp.Items[0].CreditCode != w.inside {
		t.Errorf("grade D: %s", rec.Body)
	}
	if rec := w.h.do(t, w.city, "GET", "/monitor/v1/credit/grades?grade=E", nil); rec.Code != http.StatusBadRequest {
		t.Errorf("grade E: %d", rec.Code)
	}
	var counts []GradeCount
	rec = w.h.do(t, w.city, "GET", "/monitor/v1/credit/summary", nil)
	json.Unmarshal(rec.Body.Bytes(), &counts)
	if len(counts) != 4 || counts[0].Grade != "A" || counts[0].Count != 1 || counts[3].Count != 1 {
		t.Errorf("summary %s", rec.Body)
	}
}

// A district inspector sees the clues and grades of their district only,
// and cannot review another district's clue.
func TestDistrictScopeOnCluesAndGrades(t *testing.T) {
	w := newCreditWorld(t)
	dist := w.h.iss.Bearer(authtest.InDistricts(conformance.Permissions(w.h.f.Handler()), "130102"))
	var page httpx.PageOf[Clue]
	rec := w.h.do(t, w.city, "GET", "/monitor/v1/clues", nil)
	json.Unmarshal(rec.Body.Bytes(), &page)
	var foreign Clue
	for _, c := range page.Items {
		if c.District == "桥西区" {
			foreign = c
		}
	}
	if page.Total < 4 || foreign.ID == 0 {
		t.Fatalf("city-wide clues: %s", rec.Body)
	}
	rec = w.h.do(t, dist, "GET", "/monitor/v1/clues", nil)
	json.Unmarshal(rec.Body.Bytes(), &page)
	if page.Total != 3 {
		t.Errorf("district clues: %d, want the 3 of 长安区", page.Total)
	}
	for _, c := range page.Items {
		if c.District != "长安区" {
			t.Errorf("a clue of %s shown in 长安区's scope", c.District)
		}
	}
	if rec := w.h.do(t, dist, "POST", "/monitor/v1/clues/"+strconv.FormatInt(foreign.ID, 10)+"/review", map[string]string{"action": "confirm"}); rec.Code != http.StatusNotFound {
		t.Errorf("review of another district's clue: %d", rec.Code)
	}
	var stats []RuleStat
	rec = w.h.do(t, dist, "GET", "/monitor/v1/stats/rules", nil)
	json.Unmarshal(rec.Body.Bytes(), &stats)
	for _, s := range stats {
		if s.RuleID != "absolute-terms" {
			t.Errorf("stats show %s, found only in 桥西区", s.RuleID)
		}
	}
	if rec := w.h.do(t, dist, "GET", "/monitor/v1/credit/grades/"+w.away, nil); rec.Code != http.StatusNotFound {
		t.Errorf("another district's grade: %d", rec.Code)
	}
	var counts []GradeCount
	rec = w.h.do(t, dist, "GET", "/monitor/v1/credit/summary", nil)
	json.Unmarshal(rec.Body.Bytes(), &counts)
	total := 0
	for _, c := range counts {
		total += c.Count
	}
	if total != 1 {
		t.Errorf("district summary counts %d entities: %s", total, rec.Body)
	}
}

// scopeFixture is the world's two entities for the shared scope checks
// (TestConformance).
func (w creditWorld) scopeFixture(t *testing.T) conformance.ScopeFixture {
	return conformance.ScopeFixture{
		Bearer:         w.h.iss.Bearer(authtest.InDistricts(conformance.Permissions(w.h.f.Handler()), "130102")),
		Inside:         map[string]string{"code": w.inside, "credit_code": w.inside},
		Foreign:        map[string]string{"code": w.away, "credit_code": w.away},
		Params:         map[string]string{"id": "1"},
		InsideMarkers:  []string{w.inside},
		ForeignMarkers: []string{w.away, "桥西药房"},
		Queries:        map[string]string{"GET /monitor/v1/clues/export": "format=csv"},
		BodyFor: map[string]func(string) string{
			"POST /monitor/v1/credit/records": func(code string) string {
				d := map[string]string{w.inside: "长安区", w.away: "桥西区"}[code]
				b, _ := json.Marshal(RecordInput{CreditCode: code, EntityName: "某主体", District: d, Kind: "complaint", Ref: "TS-" + code, OccurredAt: "2026-11-01"})
				return string(b)
			},
			"POST /monitor/v1/streams": func(code string) string {
				d := map[string]string{w.inside: "长安区", w.away: "桥西区"}[code]
				b, _ := json.Marshal(StreamInput{Platform: "抖音", Account: "acc-" + code, URL: "https://live.test/" + code + ".m3u8", CreditCode: code, District: d})
				return string(b)
			},
		},
		// No stream is in the world until a test adds one.
		EmptyListings: []string{"GET /monitor/v1/streams"},
	}
}
