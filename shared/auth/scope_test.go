package auth_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// Codes from the Shijiazhuang division table: 长安区 130102 (streets
// 130102001, 130102002), 桥西区 130104 (130104001, 130104002), 新华区 130105.
var places = []struct{ district, township string }{
	{"130102", "130102001"}, {"130102", "130102002"}, {"130102", ""},
	{"130104", "130104001"}, {"130104", "130104002"}, {"130104", ""},
	{"130105", "130105001"},
}

var scopes = map[string]auth.Scope{
	"all":              auth.All(),
	"changan":          {Kind: auth.ScopeDept, Districts: []string{"130102"}},
	"changan+qiaoxi":   {Kind: auth.ScopeCustom, Districts: []string{"130102", "130104"}},
	"one-street":       {Kind: auth.ScopeDept, Districts: []string{"130104"}, Townships: []string{"130104001"}},
	"street-only":      {Kind: auth.ScopeDept, Townships: []string{"130104002"}},
	"changan+street":   {Kind: auth.ScopeCustom, Districts: []string{"130102", "130104"}, Townships: []string{"130104001"}},
	"empty":            {Kind: auth.ScopeSelf},
	"unknown-district": {Kind: auth.ScopeDept, Districts: []string{"139999"}},
}

// want lists, per scope, the indexes into places it allows.
var want = map[string][]int{
	"all":              {0, 1, 2, 3, 4, 5, 6},
	"changan":          {0, 1, 2},
	"changan+qiaoxi":   {0, 1, 2, 3, 4, 5},
	"one-street":       {3},
	"street-only":      {4},
	"changan+street":   {0, 1, 2, 3},
	"empty":            nil,
	"unknown-district": nil,
}

func TestScopeAllows(t *testing.T) {
	for name, s := range scopes {
		var got []int
		for i, p := range places {
			if s.Allows(p.district, p.township) {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s allows %v, want %v", name, got, want[name])
		}
	}
}

// TestScopeFilterSelectsTheRightRows runs each scope's SQL predicate on
// real PostgreSQL and checks it picks exactly the rows Allows accepts,
// with the filter's arguments numbered after arguments already present.
func TestScopeFilterSelectsTheRightRows(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE places (id int PRIMARY KEY, district text NOT NULL, township text, kind text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i, p := range places {
		var town any
		if p.township != "" {
			town = p.township
		}
		for _, kind := range []string{"shop", "factory"} { // the pre-existing $1 filters on kind
			if _, err := pool.Exec(ctx, `INSERT INTO places VALUES ($1, $2, $3, $4)`, i*2+len(kind)%2, p.district, town, kind); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, s := range scopes {
		args := []any{"shop"}
		pred := s.Filter("district", "township", &args)
		rows, err := pool.Query(ctx, `SELECT id / 2 FROM places WHERE kind = $1 AND `+pred+` ORDER BY id`, args...)
		if err != nil {
			t.Fatalf("%s: %s: %v", name, pred, err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			got = nil
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s: WHERE %s with %v selects places %v, want %v", name, pred, args[1:], got, want[name])
		}
	}
}

func TestScopeUnion(t *testing.T) {
	cases := []struct {
		name string
		in   []auth.Scope
		want auth.Scope
	}{
		{"all-wins", []auth.Scope{scopes["changan"], auth.All()}, auth.All()},
		{"districts-add", []auth.Scope{scopes["changan"], {Kind: auth.ScopeDept, Districts: []string{"130104"}}},
			auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102", "130104"}}},
		// One role sees a street of 桥西区, another all of it: all of it.
		{"whole-beats-street", []auth.Scope{scopes["one-street"], {Kind: auth.ScopeCustom, Districts: []string{"130104"}}},
			auth.Scope{Kind: auth.ScopeCustom, Districts: []string{"130104"}}},
		{"district-and-other-street", []auth.Scope{scopes["changan"], scopes["street-only"]},
			auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102", "130104"}, Townships: []string{"130104002"}}},
		{"none", nil, auth.Scope{Kind: auth.ScopeSelf}},
	}
	for _, c := range cases {
		got := auth.Union(c.in...)
		if got.Kind != c.want.Kind || !slices.Equal(got.Districts, c.want.Districts) || !slices.Equal(got.Townships, c.want.Townships) {
			t.Errorf("%s: Union = %+v, want %+v", c.name, got, c.want)
		}
		// The union allows exactly what some input allows.
		for _, p := range places {
			any := false
			for _, s := range c.in {
				any = any || s.Allows(p.district, p.township)
			}
			if got.Allows(p.district, p.township) != any {
				t.Errorf("%s: union allows %v = %v, inputs say %v", c.name, p, !any, any)
			}
		}
	}
}

func TestScopeWithin(t *testing.T) {
	cases := []struct {
		inner, outer string
		want         bool
	}{
		{"changan", "all", true},
		{"all", "changan", false},
		{"changan", "changan+qiaoxi", true},
		{"changan+qiaoxi", "changan", false},
		{"one-street", "changan+qiaoxi", true},
		{"changan+qiaoxi", "changan+street", false},
		{"one-street", "street-only", false},
		{"empty", "changan", true},
	}
	for _, c := range cases {
		if got := scopes[c.inner].Within(scopes[c.outer]); got != c.want {
			t.Errorf("%s within %s = %v, want %v", c.inner, c.outer, got, c.want)
		}
	}
}
