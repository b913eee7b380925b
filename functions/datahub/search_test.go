package datahub

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/httpx"
)

var searchPerms = append([]string{"datahub.search:view", "datahub.search:create", "datahub.search:export"}, allPerms...)

func searchUser(h *harness) string { return h.iss.Bearer(authtest.InDistricts(searchPerms, "130102")) }

func (h *harness) search(t *testing.T, bearer string, in any) (SearchResult, int, string) {
	t.Helper()
	rec := h.do(t, bearer, "POST", "/datahub/v1/search/run", in)
	var res SearchResult
	if rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rows {
			if code, _ := r["credit_code"].(string); outsideScope[code] {
				t.Fatalf("%v: row %s outside the scope", in, code)
			}
			if d, ok := r["district_code"]; ok && d != "130102" {
				t.Fatalf("%v: row of %v outside the scope", in, d)
			}
		}
	}
	return res, rec.Code, rec.Body.String()
}

func codesOf(res SearchResult) []string {
	var out []string
	for _, r := range res.Rows {
		out = append(out, r["credit_code"].(string))
	}
	return out
}

// TestSearchBuilderAndExpression (FP-136): the visual builder's tree and
// the CEL text it shows give the same rows, within the caller's scope;
// every operator of the builder (= ≠ > < ≥ ≤ between in contains, and/or/not)
// compiles; the check answers the CEL, the tree drawn back and the columns.
func TestSearchBuilderAndExpression(t *testing.T) {
	h := newHarness(t)
	b := searchUser(h)
	builder := Cond{Op: "and", Items: []Cond{
		{Field: "established_on", Op: "between", Value: "2016-01-01", Value2: "2022-12-31"},
		{Op: "or", Items: []Cond{
			{Field: "registered_capital", Op: "lt", Value: "100"},
			{Field: "name", Op: "contains", Value: "18"},
			{Field: "entity_type", Op: "in", Values: []string{"individual"}},
		}},
		{Field: "status", Op: "neq", Value: "revoked"},
		{Field: "credit_code", Op: "gte", Value: "0"},
		{Field: "name", Op: "starts_with", Value: "测试", Not: true},
	}}
	rec := h.do(t, b, "POST", "/datahub/v1/search/check", SearchSpec{Dataset: "entities", Builder: &builder})
	var chk CheckResult
	if err := json.Unmarshal(rec.Body.Bytes(), &chk); err != nil || rec.Code != 200 {
		t.Fatalf("check: %d %s", rec.Code, rec.Body)
	}
	want := `(established_on >= "2016-01-01" && established_on <= "2022-12-31") && (registered_capital < 100.0 || name.contains("18") || entity_type in ["individual"]) && status != "revoked" && credit_code >= "0" && !(name.startsWith("测试"))`
	if chk.Expr != want {
		t.Errorf("builder's CEL:\n%s\nwant\n%s", chk.Expr, want)
	}
	fromBuilder, code, body := h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "entities", Builder: &builder, Select: []string{"credit_code"}}, PageSize: 100})
	if code != 200 {
		t.Fatalf("run: %d %s", code, body)
	}
	// Every seeded name starts with 测试, so the last condition leaves nothing; drop it.
	if fromBuilder.Total != 0 {
		t.Errorf("not-startsWith: %d rows", fromBuilder.Total)
	}
	builder.Items = builder.Items[:4]
	rec = h.do(t, b, "POST", "/datahub/v1/search/check", SearchSpec{Dataset: "entities", Builder: &builder})
	_ = json.Unmarshal(rec.Body.Bytes(), &chk)
	fromBuilder, _, _ = h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "entities", Builder: &builder, Select: []string{"credit_code"}}, PageSize: 100})
	fromExpr, code, body := h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "entities", Expr: chk.Expr, Select: []string{"credit_code"}}, PageSize: 100})
	if code != 200 {
		t.Fatalf("expr run: %d %s", code, body)
	}
	// 长安区 (even i), 2016–2022 (i%10 in 1..7), capital < 100 (i < 10) or 18 in the name or individual (i%4 in 2,3), not revoked (i%5 != 4).
	var direct int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM registry.stub_datahub_entities WHERE district_code = '130102'
		AND established_on BETWEEN '2016-01-01' AND '2022-12-31' AND (registered_capital < 100 OR name LIKE '%18%' OR entity_type = 'individual')
		AND status <> 'revoked'`).Scan(&direct); err != nil {
		t.Fatal(err)
	}
	if fromBuilder.Total != direct || fromExpr.Total != direct || direct == 0 ||
		strings.Join(codesOf(fromBuilder), ",") != strings.Join(codesOf(fromExpr), ",") {
		t.Errorf("builder %d rows, expression %d, direct SQL %d", fromBuilder.Total, fromExpr.Total, direct)
	}
	// The expression is drawn back into the builder's tree.
	rec = h.do(t, b, "POST", "/datahub/v1/search/check", SearchSpec{Dataset: "entities", Expr: chk.Expr})
	var back CheckResult
	_ = json.Unmarshal(rec.Body.Bytes(), &back)
	if !back.Drawable || back.Builder == nil || len(back.Builder.Items) != 5 || back.Builder.Items[2].Op != "or" || len(back.Builder.Items[2].Items) != 3 {
		t.Errorf("drawn back: %s", rec.Body)
	}
	// A form the builder cannot draw is still a valid expression.
	rec = h.do(t, b, "POST", "/datahub/v1/search/check", SearchSpec{Dataset: "entities", Expr: `!(status == "a" || status == "b")`})
	if rec.Code != 200 {
		t.Errorf("not-or: %d %s", rec.Code, rec.Body)
	}
	// Paging: pages of 3 walk all rows once.
	seen := map[string]bool{}
	for pg := 1; pg <= 10; pg++ {
		res, _, _ := h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "entities", Select: []string{"credit_code"}}, Page: pg, PageSize: 3})
		for _, c := range codesOf(res) {
			if seen[c] {
				t.Fatalf("page %d repeats %s", pg, c)
			}
			seen[c] = true
		}
	}
	if len(seen) != 20 {
		t.Errorf("paging walked %d rows, want 长安区's 20", len(seen))
	}
}

// TestSearchAggregates (FP-136): grouped counts and sums equal a direct
// SQL GROUP BY over the same rows, confined to the scope; aggregates of
// the wrong type are refused naming the aggregate.
func TestSearchAggregates(t *testing.T) {
	h := newHarness(t)
	b := searchUser(h)
	res, code, body := h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "entities", Expr: `established_on >= "2016-01-01"`,
		GroupBy: []string{"status", "entity_type"}, Aggregates: []Aggregate{{Fn: "count"}, {Fn: "sum", Field: "registered_capital"},
			{Fn: "avg", Field: "registered_capital"}, {Fn: "max", Field: "established_on"}, {Fn: "min", Field: "registered_capital"}},
		Order: []SearchOrder{{By: "count", Desc: true}}}})
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	rows, err := h.pool.Query(context.Background(), `SELECT status, entity_type, count(*), sum(registered_capital)::float8, max(established_on)::text
		FROM registry.stub_datahub_entities WHERE district_code = '130102' AND established_on >= '2016-01-01'
		GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for rows.Next() {
		var st, et, mx string
		var n int
		var sum float64
		if err := rows.Scan(&st, &et, &n, &sum, &mx); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%s/%s:%d:%g:%s", st, et, n, sum, mx))
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, fmt.Sprintf("%s/%s:%v:%v:%v", r["status"], r["entity_type"], r["count"], r["sum_registered_capital"], r["max_established_on"]))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || res.Total != len(want) || len(want) < 3 {
		t.Errorf("grouped:\n%v\nwant\n%v", got, want)
	}
	if len(res.Columns) != 7 || res.Columns[3].Title != "注册资本（万元）（合计）" {
		t.Errorf("columns %+v", res.Columns)
	}
	// No grouping: one row over the whole scope.
	res, _, body = h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "entities", Aggregates: []Aggregate{{Fn: "count"}}}})
	if len(res.Rows) != 1 || res.Rows[0]["count"] != float64(20) {
		t.Errorf("count of the scope: %s", body)
	}
	for name, c := range map[string]struct {
		in   SearchSpec
		part string
		want string
	}{
		"sum-text":     {SearchSpec{Dataset: "entities", Aggregates: []Aggregate{{Fn: "sum", Field: "name"}}}, "aggregates.0", "是文本类型，不能求合计"},
		"max-text":     {SearchSpec{Dataset: "entities", Aggregates: []Aggregate{{Fn: "count"}, {Fn: "max", Field: "status"}}}, "aggregates.1", "不能求最大"},
		"median":       {SearchSpec{Dataset: "entities", Aggregates: []Aggregate{{Fn: "median", Field: "registered_capital"}}}, "aggregates.0", "未知统计方式“median”"},
		"group-nosuch": {SearchSpec{Dataset: "entities", GroupBy: []string{"nosuch"}}, "group_by", "未知字段“nosuch”"},
		"group-legal":  {SearchSpec{Dataset: "entities", GroupBy: []string{"legal_rep"}}, "group_by", "是个人信息"},
		"order-alias":  {SearchSpec{Dataset: "entities", GroupBy: []string{"status"}, Order: []SearchOrder{{By: "sum_x"}}}, "order", "只能按分组字段或统计项排序"},
	} {
		_, code, body := h.search(t, b, SearchInput{SearchSpec: c.in})
		if code != 400 || !strings.Contains(body, c.want) || !strings.Contains(body, `"field":"`+c.part+`"`) {
			t.Errorf("%s: %d %s, want %q at %s", name, code, body, c.want, c.part)
		}
	}
}

// TestSearchErrorsNameThePart (FP-136, 137): bad conditions, in the
// expression or in the builder, are refused in Chinese naming the part
// at fault: an unknown field, an operator not allowed for the type, a
// malformed date, a value of the wrong type, a personal field used as a
// condition by someone who sees it masked.
func TestSearchErrorsNameThePart(t *testing.T) {
	h := newHarness(t)
	b := searchUser(h)
	for name, c := range map[string]struct {
		in   SearchSpec
		part string
		want string
	}{
		"expr-unknown":    {SearchSpec{Dataset: "entities", Expr: `nosuch == "x"`}, "expr", "未知字段“nosuch”"},
		"expr-type":       {SearchSpec{Dataset: "entities", Expr: `registered_capital > "x"`}, "expr", "不能用于 数值 与 文本"},
		"expr-int":        {SearchSpec{Dataset: "entities", Expr: `registered_capital > 5`}, "expr", "数值 与 整数"},
		"expr-date":       {SearchSpec{Dataset: "entities", Expr: `established_on >= "2020-02-30"`}, "expr", "日期“2020-02-30”格式不正确"},
		"expr-personal":   {SearchSpec{Dataset: "entities", Expr: `legal_rep == "张三丰0"`}, "expr", "是个人信息，您只能看到脱敏后的值"},
		"expr-op":         {SearchSpec{Dataset: "entities", Expr: `registered_capital.contains("5")`}, "expr", "数值类型不能用 contains"},
		"expr-notbool":    {SearchSpec{Dataset: "entities", Expr: `name`}, "expr", "结果应为真假值"},
		"expr-dollar":     {SearchSpec{Dataset: "entities", Expr: `name == $`}, "expr", "“$”后应为变量名"},
		"expr-var-alone":  {SearchSpec{Dataset: "entities", Expr: `$a == "x"`}, "expr", "不支持"},
		"builder-unknown": {SearchSpec{Dataset: "entities", Builder: &Cond{Op: "and", Items: []Cond{{Field: "name", Op: "eq", Value: "x"}, {Field: "nosuch", Op: "eq", Value: "1"}}}}, "builder.items.1", "未知字段“nosuch”"},
		"builder-op":      {SearchSpec{Dataset: "entities", Builder: &Cond{Op: "and", Items: []Cond{{Op: "or", Items: []Cond{{Field: "registered_capital", Op: "contains", Value: "1"}}}}}}, "builder.items.0.items.0", "是数值类型，不能用运算符“包含”"},
		"builder-date":    {SearchSpec{Dataset: "entities", Builder: &Cond{Op: "and", Items: []Cond{{Field: "established_on", Op: "between", Value: "2020-01-01", Value2: "2020/12/31"}}}}, "builder.items.0", "日期“2020/12/31”格式不正确"},
		"builder-number":  {SearchSpec{Dataset: "entities", Builder: &Cond{Op: "and", Items: []Cond{{Field: "registered_capital", Op: "gt", Value: "五十"}}}}, "builder.items.0", "的值“五十”不是数值"},
		"builder-empty":   {SearchSpec{Dataset: "entities", Builder: &Cond{Op: "and", Items: []Cond{{Op: "or"}}}}, "builder.items.0", "条件组中还没有条件"},
		"builder-novalue": {SearchSpec{Dataset: "entities", Builder: &Cond{Op: "and", Items: []Cond{{Field: "name", Op: "eq"}}}}, "builder.items.0", "请填写字段“name”"},
		"both":            {SearchSpec{Dataset: "entities", Expr: "true", Builder: &Cond{Op: "and"}}, "expr", "只用一种写法"},
		"dataset":         {SearchSpec{Dataset: "nope"}, "dataset", "请选择数据集"},
		"select":          {SearchSpec{Dataset: "entities", Select: []string{"name; DROP"}}, "select", "未知字段"},
		"order-personal":  {SearchSpec{Dataset: "entities", Order: []SearchOrder{{By: "legal_rep"}}}, "order", "不能按其排序"},
	} {
		rec := h.do(t, b, "POST", "/datahub/v1/search/check", c.in)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) || !strings.Contains(rec.Body.String(), `"field":"`+c.part+`"`) {
			t.Errorf("%s: %d %s, want %q at %s", name, rec.Code, rec.Body, c.want, c.part)
		}
	}
	// With datahub.personal:view the personal field may be a condition and shows unmasked.
	u := h.iss.Bearer(authtest.InDistricts(append(searchPerms, "datahub.personal:view"), "130102"))
	res, code, body := h.search(t, u, SearchInput{SearchSpec: SearchSpec{Dataset: "entities", Expr: `legal_rep == "张三丰0"`, Select: []string{"legal_rep"}}})
	if code != 200 || len(res.Rows) != 1 || res.Rows[0]["legal_rep"] != "张三丰0" {
		t.Errorf("unmasked: %d %s", code, body)
	}
	// Without it the field is shown masked.
	res, _, body = h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "entities", Select: []string{"legal_rep"}}, PageSize: 50})
	if len(res.Rows) != 20 || strings.Contains(body, "三丰") || !res.Columns[0].Masked {
		t.Errorf("masked: %s", body)
	}
	if _, code, body := h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "entities"}, PageSize: -1}); code != 400 || !strings.Contains(body, "每页条数") {
		t.Errorf("negative page size: %d %s", code, body)
	}
	// Without the dataset's permission nothing runs.
	if _, code, _ := h.search(t, h.iss.Bearer(authtest.CityWide("datahub.search:view")), SearchInput{SearchSpec: SearchSpec{Dataset: "entities"}}); code != 403 {
		t.Errorf("without registry.entity:view: %d", code)
	}
}

// TestFormulasWithVariables (FP-136): a saved formula with variables is
// run with the values a user fills in; a shared one runs with the
// runner's own scope; missing values and values of the wrong type are
// refused naming the variable; every run is in the access log, with
// the values of personal fields masked.
func TestFormulasWithVariables(t *testing.T) {
	h := newHarness(t)
	b := searchUser(h)
	in := FormulaInput{Name: "区县新设主体", Shared: true, Spec: SearchSpec{Dataset: "entities",
		Expr: `district_code == $区县 && established_on >= $起始日期 && registered_capital >= $最低资本`, Select: []string{"credit_code", "district_code"}}}
	rec := h.do(t, b, "POST", "/datahub/v1/search/formulas", in)
	var x Formula
	if err := json.Unmarshal(rec.Body.Bytes(), &x); err != nil || rec.Code != 201 {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	if len(x.Variables) != 3 || x.Variables[0].Name != "区县" || x.Variables[0].Type != TypeText || x.Variables[1].Type != TypeDate ||
		x.Variables[2].Type != TypeNumber {
		t.Fatalf("variables %+v", x.Variables)
	}
	run := func(bearer string, vars map[string]string) (SearchResult, int, string) {
		rec := h.do(t, bearer, "POST", fmt.Sprintf("/datahub/v1/search/formulas/%d/run", x.ID), FormulaRun{Vars: vars, PageSize: 100})
		var res SearchResult
		_ = json.Unmarshal(rec.Body.Bytes(), &res)
		return res, rec.Code, rec.Body.String()
	}
	res, code, body := run(b, map[string]string{"区县": "130102", "起始日期": "2020-01-01", "最低资本": "100"})
	var direct int
	_ = h.pool.QueryRow(context.Background(), `SELECT count(*) FROM registry.stub_datahub_entities WHERE district_code = '130102'
		AND established_on >= '2020-01-01' AND registered_capital >= 100`).Scan(&direct)
	if code != 200 || res.Total != direct || direct == 0 {
		t.Fatalf("run: %d, %d rows, direct %d: %s", code, res.Total, direct, body)
	}
	// The district user asking for 桥西区 gets nothing: their scope holds.
	if res, code, _ := run(b, map[string]string{"区县": "130104", "起始日期": "2020-01-01", "最低资本": "0"}); code != 200 || res.Total != 0 {
		t.Errorf("another district through a variable: %d rows", res.Total)
	}
	for vars, want := range map[string]string{
		`{"区县":"130102","起始日期":"2020-01-01"}`:                  `"field":"$最低资本"`,
		`{"区县":"130102","起始日期":"昨天","最低资本":"1"}`:               "日期“昨天”格式不正确",
		`{"区县":"130102","起始日期":"2020-01-01","最低资本":"1' OR 1"}`: "不是数值",
	} {
		var m map[string]string
		_ = json.Unmarshal([]byte(vars), &m)
		if _, code, body := run(b, m); code != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want %q", vars, code, body, want)
		}
	}
	// Shared: a city-wide user sees it and runs it with their own (whole city) scope.
	city := h.iss.Bearer(authtest.CityWide(searchPerms...))
	rec = h.do(t, city, "GET", "/datahub/v1/search/formulas", nil)
	var list struct{ Items []Formula }
	if _ = json.Unmarshal(rec.Body.Bytes(), &list); len(list.Items) != 1 || list.Items[0].Mine || len(list.Items[0].Variables) != 3 {
		t.Fatalf("shared list: %s", rec.Body)
	}
	if res, _, _ := run(city, map[string]string{"区县": "130104", "起始日期": "2015-01-01", "最低资本": "0"}); res.Total != 20 {
		t.Errorf("city-wide run of 桥西区: %d rows", res.Total)
	}
	// Only its owner changes or deletes it; unshared, others no longer see it.
	if rec := h.do(t, city, "DELETE", fmt.Sprintf("/datahub/v1/search/formulas/%d", x.ID), nil); rec.Code != 404 {
		t.Errorf("another's delete: %d", rec.Code)
	}
	in.Shared = false
	if rec := h.do(t, b, "PUT", fmt.Sprintf("/datahub/v1/search/formulas/%d", x.ID), in); rec.Code != 200 {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	if _, code, _ := run(city, nil); code != 404 {
		t.Errorf("unshared run by another: %d", code)
	}
	// A formula built visually with a variable on a personal field, by a user who may see it.
	u := h.iss.Bearer(authtest.InDistricts(append(searchPerms, "datahub.personal:view"), "130102"))
	rec = h.do(t, u, "POST", "/datahub/v1/search/formulas", FormulaInput{Name: "按法定代表人", Spec: SearchSpec{Dataset: "entities",
		Builder: &Cond{Op: "and", Items: []Cond{{Field: "legal_rep", Op: "eq", Value: "$姓名"}}}}})
	var y Formula
	if _ = json.Unmarshal(rec.Body.Bytes(), &y); rec.Code != 201 || y.Spec.Builder == nil {
		t.Fatalf("builder formula: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, u, "POST", fmt.Sprintf("/datahub/v1/search/formulas/%d/run", y.ID), FormulaRun{Vars: map[string]string{"姓名": "张三丰2"}})
	if !strings.Contains(rec.Body.String(), `"total":1`) {
		t.Errorf("builder formula run: %s", rec.Body)
	}
	// Every run is in the runner's access log (authtest's district users
	// are one user: 6 runs); the personal value is masked there.
	var page httpx.PageOf[AccessEntry]
	rec = h.do(t, u, "GET", "/datahub/v1/access-log?page_size=200", nil)
	_ = json.Unmarshal(rec.Body.Bytes(), &page)
	if page.Total != 6 || page.Items[0].Kind != "search" || page.Items[0].FormulaID == nil || *page.Items[0].FormulaID != y.ID ||
		strings.Contains(rec.Body.String(), "三丰") || !strings.Contains(page.Items[0].Query, "张**") {
		t.Errorf("access log of the runs: %s", rec.Body)
	}
	rec = h.do(t, b, "GET", "/datahub/v1/access-log?status=400&page_size=200", nil)
	if _ = json.Unmarshal(rec.Body.Bytes(), &page); page.Total != 3 || !strings.Contains(rec.Body.String(), "最低资本") {
		t.Errorf("refused runs logged: %s", rec.Body)
	}
}

// TestSearchExport (FP-136): a run exports as CSV and XLSX with the
// columns' Chinese titles, masked, every row of the scope.
func TestSearchExport(t *testing.T) {
	h := newHarness(t)
	b := searchUser(h)
	rec := h.do(t, b, "POST", "/datahub/v1/search/export", SearchInput{SearchSpec: SearchSpec{Dataset: "entities",
		Select: []string{"credit_code", "legal_rep"}}, Format: "csv"})
	csv := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(csv, "统一社会信用代码,法定代表人") || strings.Count(csv, "\n") != 21 || strings.Contains(csv, "三丰") {
		t.Errorf("csv: %d %q", rec.Code, csv)
	}
	rec = h.do(t, b, "POST", "/datahub/v1/search/export", SearchInput{SearchSpec: SearchSpec{Dataset: "entities", GroupBy: []string{"status"}}, Format: "xlsx"})
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "PK") {
		t.Errorf("xlsx: %d", rec.Code)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.InDistricts(allPerms, "130102")), "POST", "/datahub/v1/search/export",
		SearchInput{SearchSpec: SearchSpec{Dataset: "entities"}}); rec.Code != 403 {
		t.Errorf("without datahub.search:export: %d", rec.Code)
	}
}

// TestPersonsMasked (FP-93, FP-95): the persons dataset's ID numbers are
// masked as 130102********1234 through a generated interface and a
// search, the unmasked number never appears without
// datahub.personal:view, and with it they are shown whole.
func TestPersonsMasked(t *testing.T) {
	h := newHarness(t)
	c := h.generate(t, districtUser(h), InterfaceInput{Name: "负责人", Dataset: "persons", Fields: []string{"credit_code", "name", "id_number"}})
	rec := call(h.f, c.Key, c.Endpoint+"?limit=100")
	var rows []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &rows); err != nil || rec.Code != 200 || len(rows) != 20 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	for i, r := range rows {
		whole := idNumberOf("130102", 2*i)
		if r["id_number"] != whole[:6]+"********"+whole[14:] || strings.Contains(rec.Body.String(), whole) {
			t.Fatalf("row %d: %v, whole %s", i, r["id_number"], whole)
		}
	}
	// Filtering on the masked number would probe it: the search refuses.
	b := searchUser(h)
	if _, code, body := h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "persons", Expr: `id_number.startsWith("1301021990")`}}); code != 400 ||
		!strings.Contains(body, "身份证号码") {
		t.Errorf("masked condition: %d %s", code, body)
	}
	res, _, body := h.search(t, b, SearchInput{SearchSpec: SearchSpec{Dataset: "persons", Select: []string{"id_number"}}, PageSize: 100})
	if len(res.Rows) != 20 || strings.Contains(body, idNumberOf("130102", 0)) || !strings.Contains(body, "********") {
		t.Errorf("search masked: %s", body)
	}
	u := h.iss.Bearer(authtest.InDistricts(append(searchPerms, "datahub.personal:view"), "130102"))
	res, _, body = h.search(t, u, SearchInput{SearchSpec: SearchSpec{Dataset: "persons", Expr: `id_number == "` + idNumberOf("130102", 4) + `"`,
		Select: []string{"id_number"}}})
	if len(res.Rows) != 1 || res.Rows[0]["id_number"] != idNumberOf("130102", 4) {
		t.Errorf("unmasked: %s", body)
	}
}
