package datahub

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
)

// FuzzQuery proves, whatever query string a consumer sends, that a
// generated interface of a 长安区 user over three fields never returns a
// row outside 长安区 nor a column outside the three, and that a refused
// query is refused as bad input (never a database error, which would mean
// the request reached SQL as text). The seed corpus holds injection
// strings against every part of the grammar.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"name=eq.x",
		"district_code=eq.130104",
		"or=(district_code.eq.130104,name.like.*)",
		"not.and=(district_code.eq.130102)",
		"name=eq.x' OR '1'='1",
		"name=eq.x%27%20OR%201=1--",
		"name=like.*'); DROP TABLE datahub.interfaces; --",
		"select=name,legal_rep",
		"select=*",
		"select=name,(SELECT legal_rep)",
		"select=\"name\"",
		"order=name;DELETE FROM datahub.access_log",
		"order=district_code.desc,1",
		"limit=1;SELECT 1",
		"limit=-1",
		"offset=0 UNION SELECT credit_code FROM registry.stub_datahub_entities",
		"after=' OR TRUE --",
		"or=(name.eq.a,or(district_code.neq.130102,name.is.null))",
		"or=(district_code.in.(130104,\"130102) OR (TRUE\"))",
		"name=in.(a,b,\"c,d\")",
		"district_code=not.eq.130102",
		"or=(name.eq.\"x\")) OR TRUE --\")",
		"name\"=eq.1",
		"name=is.null&district_code=is.null",
		"or=((((((((((name.eq.x))))))))))",
		"name=eq.\x00",
		"established_on=gte.2020-01-01'::date OR TRUE",
		"registered_capital=gt.NaN",
		"legal_rep=eq.张三丰0",
		`where=name == "x" || true`,
		`where=name == "x' OR '1'='1"`,
		`where=district_code != "130102" || district_code == "130104"`,
		`where=!(district_code == "130102")`,
		`where=legal_rep.contains("%")`,
		`where=name.startsWith("_") && registered_capital > 1e308`,
	} {
		f.Add(s)
	}
	h := newHarness(f)
	it := Interface{ID: 1, Dataset: "entities", Fields: []string{"credit_code", "name", "district_code"},
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}}
	ds := h.f.catalogue["entities"]
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v, ds, it.Fields)
		if err != nil {
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("%q: refused as %v, not as bad input", raw, err)
			}
			return
		}
		rows, err := h.f.query(context.Background(), ds, it, q)
		if err != nil {
			// A parsed query must always run: a database error means a
			// value or a name reached SQL where it should not.
			t.Fatalf("%q: %v", raw, err)
		}
		for _, r := range rows {
			for k := range r {
				if !slices.Contains(it.Fields, k) {
					t.Fatalf("%q: column %s outside the allow-list", raw, k)
				}
			}
			if d, ok := r["district_code"]; ok && d != "130102" {
				t.Fatalf("%q: row of %v outside the scope", raw, d)
			}
			if code, _ := r["credit_code"].(string); code != "" && outsideScope[code] {
				t.Fatalf("%q: entity %s outside the scope", raw, code)
			}
		}
	})
}

// outsideScope is the seeded entities of 桥西区 (odd numbers).
var outsideScope = func() map[string]bool {
	m := map[string]bool{}
	for i := 1; i < 40; i += 2 {
		m[codeOf(i)] = true
	}
	return m
}()
