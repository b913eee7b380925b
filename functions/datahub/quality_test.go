package datahub

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
)

var qualityPerms = []string{"datahub.catalogue:view", "datahub.quality:view", "datahub.quality:handle"}

// deptUser is a member of dept with the quality permissions (and manage
// when manager).
func deptUser(h *harness, dept string, manager bool) string {
	perms := qualityPerms
	if manager {
		perms = append(append([]string{}, perms...), "datahub.quality:manage")
	}
	return h.iss.Bearer(auth.Principal{UserID: "u-" + dept, Username: dept, Name: dept + "专员", DeptID: dept, Perms: perms,
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}})
}

func validCode(t testing.TB, body string) string {
	t.Helper()
	c, err := codes.MakeCreditCode("91", "130102", body)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// addEntity puts one more row into the registry's read function's stub.
func addEntity(t testing.TB, h *harness, code, name, district, address string, capital float64, updated time.Time) {
	t.Helper()
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO registry.stub_datahub_entities (credit_code, name, address, district_code,
		township_code, registered_capital, updated_at) VALUES ($1, $2, $3, $4, $4 || '001', $5, $6)`, code, name, address, district, capital, updated); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) rule(t testing.TB, bearer string, in RuleInput) Rule {
	t.Helper()
	rec := h.do(t, bearer, "POST", "/datahub/v1/quality/rules", in)
	if rec.Code != 201 {
		t.Fatalf("rule %+v: %d %s", in, rec.Code, rec.Body)
	}
	var r Rule
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (h *harness) runQuality(t testing.TB, bearer string) QualityRun {
	t.Helper()
	rec := h.do(t, bearer, "POST", "/datahub/v1/quality/runs", nil)
	var run QualityRun
	if err := json.Unmarshal(rec.Body.Bytes(), &run); err != nil || rec.Code != 200 || run.Status != "done" {
		t.Fatalf("run: %d %s", rec.Code, rec.Body)
	}
	return run
}

func (h *harness) issues(t testing.TB, bearer, query string) []Issue {
	t.Helper()
	rec := h.do(t, bearer, "GET", "/datahub/v1/quality/issues?page_size=200&"+query, nil)
	var page struct {
		Items []Issue `json:"items"`
		Total int     `json:"total"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 {
		t.Fatalf("issues: %d %s", rec.Code, rec.Body)
	}
	return page.Items
}

func issueOf(items []Issue, ruleID int64, key string) *Issue {
	for i := range items {
		if items[i].RuleID == ruleID && items[i].RowKey == key {
			return &items[i]
		}
	}
	return nil
}

// FP-98: each rule kind, over the catalogue's entities read through the
// registry's published function: a row that passes opens no issue, a
// row that fails opens one with a Chinese reason; reference rules use the
// national tables (GB 32100 check characters, GB/T 2260 divisions).
func TestQualityRuleKinds(t *testing.T) {
	h := newHarness(t)
	m := deptUser(h, "dept-reg", true)
	good, dup1, dup2 := validCode(t, "MA000001"), validCode(t, "MA000002"), validCode(t, "MA000003")
	bad := "91130102MA0000019X" // a wrong check character
	fresh := h.now.Add(-time.Hour)
	addEntity(t, h, good, "良好商贸有限公司", "130102", "中山东路1号", 50, fresh)
	addEntity(t, h, bad, "坏名字", "139999", "", 1000, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	addEntity(t, h, dup1, "重复名称有限公司", "130102", "中山东路2号", 60, fresh)
	addEntity(t, h, dup2, "重复名称有限公司", "130102", "中山东路3号", 70, fresh)
	max := Bound("300")
	min := Bound("0")
	cases := []struct {
		in   RuleInput
		pass string
		fail string
		why  string
	}{
		{RuleInput{Dataset: "entities", Field: "name", Kind: KindFormat, Params: RuleParams{Pattern: `.+(有限公司|合作社|店)`}}, good, bad, "不符合格式"},
		{RuleInput{Dataset: "entities", Field: "registered_capital", Kind: KindRange, Params: RuleParams{Min: &min, Max: &max}}, good, bad, "大于最大值 300"},
		{RuleInput{Dataset: "entities", Field: "credit_code", Kind: KindReference, Params: RuleParams{Table: "credit_code"}}, good, bad, "校验"},
		{RuleInput{Dataset: "entities", Field: "district_code", Kind: KindReference, Params: RuleParams{Table: "district"}}, good, bad, "139999"},
		{RuleInput{Dataset: "entities", Field: "name", Kind: KindUniqueness}, good, dup1, "重复，共 2 行"},
		{RuleInput{Dataset: "entities", Field: "address", Kind: KindCompleteness}, good, bad, "“住所”为空"},
		{RuleInput{Dataset: "entities", Field: "updated_at", Kind: KindTimeliness, Params: RuleParams{MaxAgeDays: 30}}, good, bad, "超过 30 天未更新"},
	}
	rules := make([]Rule, len(cases))
	for i, c := range cases {
		rules[i] = h.rule(t, m, c.in)
		if rules[i].DeptID != "dept-reg" || rules[i].Title == "" {
			t.Fatalf("rule %d routed to %q titled %q", i, rules[i].DeptID, rules[i].Title)
		}
	}
	run := h.runQuality(t, m)
	if run.Rules != len(cases) || run.RowsChecked != 44 {
		t.Fatalf("run: %+v", run)
	}
	items := h.issues(t, m, "")
	for i, c := range cases {
		if x := issueOf(items, rules[i].ID, c.pass); x != nil {
			t.Errorf("%s: the passing row has an issue: %s", c.in.Kind, x.Message)
		}
		x := issueOf(items, rules[i].ID, c.fail)
		if x == nil {
			t.Errorf("%s/%s: the failing row has no issue", c.in.Kind, c.in.Field)
			continue
		}
		if !strings.Contains(x.Message, c.why) || x.Status != "open" || x.DeptID != "dept-reg" || x.Dataset != "entities" {
			t.Errorf("%s: issue %+v, want a message with %q", c.in.Kind, x, c.why)
		}
	}
	if x := issueOf(items, rules[4].ID, dup2); x == nil {
		t.Error("uniqueness: only one of the duplicates has an issue")
	}
	// The seeded rows' codes carry wrong check characters: every one fails the GB 32100 check.
	n := 0
	for _, x := range items {
		if x.RuleID == rules[2].ID {
			n++
		}
	}
	if n != 41 {
		t.Errorf("credit code issues = %d, want 41 (40 seeded and the bad one)", n)
	}
}

// FP-98: scores per rule, field and dataset are kept per run; after the
// source is corrected the next run scores higher (the trend), closes the
// fixed issue, and reopens one marked fixed that still fails.
func TestQualityScoresAndTrend(t *testing.T) {
	h := newHarness(t)
	m := deptUser(h, "dept-reg", true)
	max := Bound("195")
	r := h.rule(t, m, RuleInput{Dataset: "entities", Field: "registered_capital", Kind: KindRange, Params: RuleParams{Max: &max}})
	h.rule(t, m, RuleInput{Dataset: "entities", Field: "address", Kind: KindCompleteness})
	h.runQuality(t, m)
	get := func() (latest, trend []Score) {
		rec := h.do(t, m, "GET", "/datahub/v1/quality/scores?dataset=entities", nil)
		var out struct{ Latest, Trend []Score }
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 {
			t.Fatalf("scores: %d %s", rec.Code, rec.Body)
		}
		return out.Latest, out.Trend
	}
	score := func(ss []Score, field string, rule bool) float64 {
		for _, s := range ss {
			if s.Field == field && (s.RuleID != nil) == rule {
				return s.Score
			}
		}
		t.Fatalf("no score for %q in %+v", field, ss)
		return 0
	}
	latest, trend := get()
	// Capital i*10 for i < 40: 20 of 40 are at most 195; every address is filled.
	if got := score(latest, "registered_capital", false); got != 50 {
		t.Errorf("field score %v, want 50", got)
	}
	if got := score(latest, "address", false); got != 100 {
		t.Errorf("address score %v, want 100", got)
	}
	if got := score(latest, "", false); got != 75 { // 60 of 80 checks passed
		t.Errorf("dataset score %v, want 75", got)
	}
	if len(trend) != 3 { // one run: the dataset and its two fields
		t.Fatalf("trend after one run: %+v", trend)
	}
	items := h.issues(t, m, "rule_id="+itoa(r.ID))
	if len(items) != 20 {
		t.Fatalf("issues %d, want 20", len(items))
	}
	// The department fixes two: one corrected at the source, one not.
	var corrected, notCorrected Issue
	for _, x := range items {
		switch x.RowKey {
		case codeOf(20):
			corrected = x
		case codeOf(21):
			notCorrected = x
		}
	}
	for _, x := range []Issue{corrected, notCorrected} {
		if rec := h.do(t, m, "POST", "/datahub/v1/quality/issues/"+itoa(x.ID)+"/fix", HandleInput{Note: "已在登记系统更正"}); rec.Code != 200 {
			t.Fatalf("fix %s: %d %s", x.RowKey, rec.Code, rec.Body)
		}
	}
	if _, err := h.pool.Exec(context.Background(), `UPDATE registry.stub_datahub_entities SET registered_capital = 100
		WHERE credit_code = ANY($1)`, []string{codeOf(20), codeOf(30), codeOf(31)}); err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(24 * time.Hour)
	h.runQuality(t, m)
	latest, trend = get()
	if got := score(latest, "registered_capital", false); got != 57.5 { // 23 of 40
		t.Errorf("field score after the correction %v, want 57.5", got)
	}
	var ds []float64
	for _, s := range trend {
		if s.Field == "" {
			ds = append(ds, s.Score)
		}
	}
	if len(ds) != 2 || ds[0] != 75 || ds[1] != 78.75 {
		t.Errorf("dataset trend %v, want [75 78.75]", ds)
	}
	got := map[string]string{}
	for _, x := range h.issues(t, m, "rule_id="+itoa(r.ID)) {
		got[x.RowKey] = x.Status
	}
	if got[codeOf(20)] != "closed" || got[codeOf(30)] != "closed" || got[codeOf(21)] != "open" || got[codeOf(39)] != "open" {
		t.Errorf("states after the second run: 20=%s 30=%s 21=%s 39=%s", got[codeOf(20)], got[codeOf(30)], got[codeOf(21)], got[codeOf(39)])
	}
	rec := h.do(t, m, "GET", "/datahub/v1/quality/issues/"+itoa(notCorrected.ID), nil)
	var x Issue
	_ = json.Unmarshal(rec.Body.Bytes(), &x)
	var steps []string
	for _, e := range x.Events {
		steps = append(steps, e.Action+":"+e.ToStatus)
	}
	if strings.Join(steps, " ") != "found:open fix:fixed reopen:open" {
		t.Errorf("history of the fixed-but-failing issue: %v", steps)
	}
	// Without a dataset: one score per dataset with rules.
	rec = h.do(t, m, "GET", "/datahub/v1/quality/scores", nil)
	var all struct{ Latest []Score }
	if err := json.Unmarshal(rec.Body.Bytes(), &all); err != nil || len(all.Latest) != 1 || all.Latest[0].Dataset != "entities" {
		t.Errorf("scores of every dataset: %s", rec.Body)
	}
}

// FP-98: issues go to the rule's department. Another department sees none
// of them and cannot act on one; a manager elsewhere sees them but cannot
// act; the owner fixes or explains, each step in the issue's history and
// in the operation log with who did it.
func TestQualityRepairWorkflowScope(t *testing.T) {
	h := newHarness(t, auditlogtest.Migration())
	owner := deptUser(h, "dept-reg", false)
	other := deptUser(h, "dept-other", false)
	boss := deptUser(h, "dept-city", true)
	r := h.rule(t, boss, RuleInput{Dataset: "entities", Field: "credit_code", Kind: KindReference, Params: RuleParams{Table: "credit_code"},
		DeptID: "dept-reg", DeptName: "登记注册科"})
	h.runQuality(t, boss)
	mine := h.issues(t, owner, "")
	if len(mine) != 40 || mine[0].DeptName != "登记注册科" {
		t.Fatalf("owner sees %d issues", len(mine))
	}
	if theirs := h.issues(t, other, ""); len(theirs) != 0 {
		t.Fatalf("another department sees %d issues", len(theirs))
	}
	if all := h.issues(t, boss, "dataset=entities&status=open"); len(all) != 40 {
		t.Fatalf("the manager sees %d issues", len(all))
	}
	id := itoa(mine[0].ID)
	for name, c := range map[string]struct {
		who, path string
		body      HandleInput
		code      int
		want      string
	}{
		"other-get-404":     {other, "", HandleInput{}, 404, "质量问题不存在"},
		"other-fix-404":     {other, "/fix", HandleInput{Note: "改了"}, 404, "质量问题不存在"},
		"boss-fix-403":      {boss, "/fix", HandleInput{Note: "改了"}, 403, "登记注册科"},
		"explain-empty-400": {owner, "/explain", HandleInput{Note: " "}, 400, "请说明该值为何无需更正"},
	} {
		method := "POST"
		if c.path == "" {
			method = "GET"
		}
		var body any = c.body
		if method == "GET" {
			body = nil
		}
		rec := h.do(t, c.who, method, "/datahub/v1/quality/issues/"+id+c.path, body)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	rec := h.do(t, owner, "POST", "/datahub/v1/quality/issues/"+id+"/explain", HandleInput{Note: "历史数据，登记时尚无校验位规则"})
	var x Issue
	if err := json.Unmarshal(rec.Body.Bytes(), &x); err != nil || rec.Code != 200 || x.Status != "explained" || x.HandledName != "dept-reg专员" {
		t.Fatalf("explain: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, owner, "POST", "/datahub/v1/quality/issues/"+id+"/explain", HandleInput{Note: "再次"}); rec.Code != 409 {
		t.Errorf("explaining twice: %d", rec.Code)
	}
	if rec := h.do(t, owner, "POST", "/datahub/v1/quality/issues/"+id+"/fix", HandleInput{Note: "已在登记系统更正"}); rec.Code != 200 {
		t.Errorf("fix after explain: %d %s", rec.Code, rec.Body)
	}
	// An explained issue stays explained at the next run; the operation log has each step.
	var ops []string
	for _, o := range auditlogtest.Ops(t, h.pool, "") {
		ops = append(ops, o.Action+" "+o.Username+" "+auditlogtest.Field(o.Before, "status")+">"+auditlogtest.Field(o.After, "status"))
	}
	want := []string{
		"datahub.quality.rule.create dept-city >",
		"datahub.quality.run dept-city >done",
		"datahub.quality.issue.explain dept-reg open>explained",
		"datahub.quality.issue.fix dept-reg explained>fixed",
	}
	if strings.Join(ops, "\n") != strings.Join(want, "\n") {
		t.Errorf("operation log:\n%s\nwant:\n%s", strings.Join(ops, "\n"), strings.Join(want, "\n"))
	}
	_ = r
	// The list exports, the owner's issues only.
	rec = h.do(t, owner, "GET", "/datahub/v1/quality/issues?format=csv", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "记录标识") || strings.Count(rec.Body.String(), "\n") != 41 ||
		!strings.Contains(rec.Body.String(), "已修复待复查") {
		t.Errorf("export: %d %d lines", rec.Code, strings.Count(rec.Body.String(), "\n"))
	}
	if rec := h.do(t, other, "GET", "/datahub/v1/quality/issues?format=csv", nil); strings.Count(rec.Body.String(), "\n") != 1 {
		t.Errorf("another department's export has rows: %s", rec.Body)
	}
	// Handling needs the handle permission; configuring rules needs manage.
	viewer := h.iss.Bearer(auth.Principal{UserID: "v", DeptID: "dept-reg", Perms: []string{"datahub.quality:view"}})
	if rec := h.do(t, viewer, "POST", "/datahub/v1/quality/issues/"+itoa(mine[1].ID)+"/fix", HandleInput{Note: "x"}); rec.Code != 403 {
		t.Errorf("fix without handle: %d", rec.Code)
	}
	if rec := h.do(t, owner, "POST", "/datahub/v1/quality/runs", nil); rec.Code != 403 {
		t.Errorf("run without manage: %d", rec.Code)
	}
}

// FP-98: bad rules are refused with the reason in Chinese, naming the part.
func TestQualityBadInput(t *testing.T) {
	h := newHarness(t)
	m := deptUser(h, "dept-reg", true)
	b := func(s string) *Bound { x := Bound(s); return &x }
	for name, c := range map[string]struct {
		in   RuleInput
		want string
	}{
		"unknown-dataset": {RuleInput{Dataset: "nope", Field: "x", Kind: KindCompleteness}, "数据集“nope”不存在"},
		"unknown-field":   {RuleInput{Dataset: "entities", Field: "nosuch", Kind: KindCompleteness}, "没有字段“nosuch”"},
		"unknown-kind":    {RuleInput{Dataset: "entities", Field: "name", Kind: "magic"}, "未知的规则类型“magic”"},
		"range-min-max":   {RuleInput{Dataset: "entities", Field: "registered_capital", Kind: KindRange, Params: RuleParams{Min: b("10"), Max: b("5")}}, "最小值 10 大于最大值 5"},
		"range-not-num":   {RuleInput{Dataset: "entities", Field: "registered_capital", Kind: KindRange, Params: RuleParams{Min: b("abc")}}, "最小值“abc”不是数字"},
		"range-bad-date":  {RuleInput{Dataset: "entities", Field: "established_on", Kind: KindRange, Params: RuleParams{Max: b("2020-13-01")}}, "不是日期"},
		"range-on-text":   {RuleInput{Dataset: "entities", Field: "name", Kind: KindRange, Params: RuleParams{Max: b("5")}}, "是文本类型"},
		"range-empty":     {RuleInput{Dataset: "entities", Field: "registered_capital", Kind: KindRange}, "至少需要最小值"},
		"format-regex":    {RuleInput{Dataset: "entities", Field: "name", Kind: KindFormat, Params: RuleParams{Pattern: "(("}}, "正则表达式不正确"},
		"reference-table": {RuleInput{Dataset: "entities", Field: "name", Kind: KindReference, Params: RuleParams{Table: "zip"}}, "未知的代码表“zip”"},
		"timeliness-days": {RuleInput{Dataset: "entities", Field: "updated_at", Kind: KindTimeliness}, "1 至 3650"},
		"timeliness-text": {RuleInput{Dataset: "entities", Field: "name", Kind: KindTimeliness, Params: RuleParams{MaxAgeDays: 3}}, "不是日期或时间类型"},
	} {
		rec := h.do(t, m, "POST", "/datahub/v1/quality/rules", c.in)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d %s, want %q", name, rec.Code, rec.Body, c.want)
		}
	}
	if rec := h.do(t, m, "GET", "/datahub/v1/quality/issues?status=gone", nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "状态应为") {
		t.Errorf("bad status: %d %s", rec.Code, rec.Body)
	}
	// A range bound may be sent as a JSON number.
	rec := h.do(t, m, "POST", "/datahub/v1/quality/rules", map[string]any{"dataset": "entities", "field": "registered_capital", "kind": "range",
		"params": map[string]any{"min": 0, "max": 99.5}})
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"max":"99.5"`) {
		t.Errorf("numeric bounds: %d %s", rec.Code, rec.Body)
	}
}

// FP-98: the datahub-quality PingSource's tick runs the rules; another
// schedule's tick does nothing.
func TestQualityRunsOnPing(t *testing.T) {
	h := newHarness(t)
	m := deptUser(h, "dept-reg", true)
	h.rule(t, m, RuleInput{Dataset: "licences", Field: "ref_no", Kind: KindUniqueness})
	tick := func(task string) {
		e := event.New()
		e.SetID("tick-" + task)
		e.SetSource("/apis/v1/namespaces/smartreg/pingsources/datahub-quality")
		e.SetType(events.Ping)
		_ = e.SetData(event.ApplicationJSON, map[string]string{"task": task})
		if _, err := h.f.Receive(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	tick("audit-maintain")
	runs, _ := listQualityRuns(context.Background(), h.pool, 10)
	if len(runs) != 0 {
		t.Fatalf("another tick ran the rules: %+v", runs)
	}
	tick(QualityTask)
	runs, _ = listQualityRuns(context.Background(), h.pool, 10)
	if len(runs) != 1 || runs[0].Trigger != "schedule" || runs[0].Status != "done" || runs[0].RowsChecked != 14 {
		t.Fatalf("runs after the tick: %+v", runs)
	}
}
