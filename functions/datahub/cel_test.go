package datahub

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestCELFilter (FP-136): a where= expression gives the same rows as the
// same condition in the grammar, stays inside the scope and allow-list,
// and an expression that does not type-check, or names a field outside
// the interface, or holds a malformed date, is refused naming where=.
func TestCELFilter(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "CEL", Dataset: "entities",
		Fields: []string{"credit_code", "name", "district_code", "established_on", "registered_capital"}})
	rows := func(q string) []string {
		t.Helper()
		rec := call(h.f, c.Key, c.Endpoint+"?"+q+"&order=credit_code&select=credit_code")
		var out []map[string]any
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			t.Fatalf("%s: %d %s", q, rec.Code, rec.Body)
		}
		var codes []string
		for _, r := range out {
			code := r["credit_code"].(string)
			if outsideScope[code] {
				t.Fatalf("%s: %s outside the scope", q, code)
			}
			codes = append(codes, code)
		}
		return codes
	}
	for expr, grammar := range map[string]string{
		`established_on >= "2020-01-01" && (registered_capital < 50.0 || name.contains("18"))`: "established_on=gte.2020-01-01&or=(registered_capital.lt.50,name.like.*18*)",
		`!(registered_capital >= 100.0) && name.startsWith("测试0")`:                             "not.and=(registered_capital.gte.100)&name=like.测试0*",
		`"2018-01-01" < established_on`:                                                        "established_on=gt.2018-01-01",
	} {
		got, want := rows("where="+url.QueryEscape(expr)), rows(grammar)
		if strings.Join(got, ",") != strings.Join(want, ",") || len(want) == 0 {
			t.Errorf("%s: %v, the grammar gives %v", expr, got, want)
		}
	}
	if got := rows("where=" + url.QueryEscape(`district_code in ["130102", "130104"]`)); len(got) != 20 {
		t.Errorf("in: %d rows, want 长安区's 20", len(got))
	}
	for expr, want := range map[string]string{
		`name + 1 == "x"`:                 "where 表达式无法通过类型检查",
		`address == "x"`:                  "where 表达式无法通过类型检查", // not a variable of this interface
		`registered_capital < 50`:         "where 表达式无法通过类型检查", // a double against an int
		`name`:                            "结果应为真假值",
		`established_on >= "2020-13-01"`:  "字段“established_on”的日期“2020-13-01”格式不正确",
		`name == credit_code`:             "不支持",
		`2015 == 2015`:                    "不支持",
		`established_on.contains("2020")`: "不能用 contains",
		`size(name) > 3`:                  "不支持",
	} {
		rec := call(h.f, c.Key, c.Endpoint+"?where="+url.QueryEscape(expr))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), want) || !strings.Contains(rec.Body.String(), `"field":"where"`) {
			t.Errorf("%s: %d %s, want %q", expr, rec.Code, rec.Body, want)
		}
	}
}
