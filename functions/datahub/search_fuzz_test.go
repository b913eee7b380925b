package datahub

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
)

// FuzzSearch (FP-136) proves, whatever expression, variable value,
// grouping or aggregate a caller sends, that a smart search of a 长安区
// user either is refused as bad input (never a database error, which
// would mean the input reached SQL as text) or runs, and never returns a
// row outside 长安区 nor a column outside the catalogue's names, nor a
// personal field unmasked. The seed corpus holds injection strings in
// every part. `go test -fuzz FuzzSearch ./functions/datahub`.
func FuzzSearch(f *testing.F) {
	for _, s := range [][4]string{
		{`name == "x"`, "", "", ""},
		{`district_code == "130104"`, "", "", ""},
		{`district_code != "130102" || true`, "", "", ""},
		{`!(district_code == "130102")`, "", "district_code", "count"},
		{`name == "x' OR '1'='1"`, "", "", ""},
		{`name == $v`, "x' OR '1'='1", "", ""},
		{`district_code == $v`, "130104') OR TRUE --", "", ""},
		{`name.contains($v)`, "%", "status", "sum"},
		{`registered_capital > $v`, "1; DROP TABLE datahub.formulas", "", "max"},
		{`established_on >= $v`, "2020-01-01'::date OR TRUE", "", ""},
		{`name.startsWith("_") && registered_capital > 1e308`, "", "", ""},
		{`legal_rep == "张三丰0"`, "", "", ""},
		{`name == "a"`, "", "legal_rep", "count"},
		{`name == "a"`, "", "name\"; DELETE FROM datahub.access_log; --", "count"},
		{`name == "a"`, "", "district_code", "sum\" FROM registry.stub_datahub_entities --"},
		{`name in ["a", "b\") OR (TRUE"]`, "", "", ""},
		{`$v == $v`, "1", "", ""},
		{`"$v" == name`, "", "", ""},
		{`name == '''$v'''`, "", "", ""},
		{"name == \"\x00\"", "\x00", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	h := newHarness(f)
	p := &auth.Principal{UserID: "fuzz", Perms: searchPerms, Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}}
	ds := h.f.catalogue["entities"]
	f.Fuzz(func(t *testing.T, expr, value, group, agg string) {
		spec := SearchSpec{Dataset: "entities", Expr: expr}
		if group != "" {
			spec.GroupBy = []string{group}
		}
		if agg != "" {
			spec.Aggregates = []Aggregate{{Fn: agg, Field: "registered_capital"}}
		}
		c, err := h.f.compileSearch(p, spec, map[string]string{"v": value})
		if err != nil {
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("%q %q: refused as %v, not as bad input", expr, value, err)
			}
			return
		}
		rows, _, err := h.f.runSearch(context.Background(), c, 100, 0, true)
		if err != nil {
			t.Fatalf("%q %q %q %q: %v", expr, value, group, agg, err)
		}
		for _, r := range rows {
			for k, v := range r {
				fl, ok := ds.field(k)
				if !ok && !slices.ContainsFunc(c.aggs, func(a aggCol) bool { return a.out.Name == k }) {
					t.Fatalf("%q: column %s outside the allow-list", expr, k)
				}
				if s, _ := v.(string); ok && fl.Sensitivity == Personal && s != "" && !strings.Contains(s, "*") {
					t.Fatalf("%q: personal %s unmasked: %v", expr, k, v)
				}
			}
			if d, ok := r["district_code"]; ok && d != "130102" {
				t.Fatalf("%q: row of %v outside the scope", expr, d)
			}
			if code, _ := r["credit_code"].(string); outsideScope[code] {
				t.Fatalf("%q: entity %s outside the scope", expr, code)
			}
		}
	})
}
