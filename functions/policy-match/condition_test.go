package policymatch

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
)

func fp(x float64) *float64 { return &x }

func mustDate(s string) Date {
	d, err := parseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestConditionTypes tests every condition type (FP-62, 63) on entities on
// both sides of it: Evaluate says met or not with its text, and the SQL
// twin over registry.policy_subjects selects exactly the entities Evaluate
// accepts.
func TestConditionTypes(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	e := map[string]string{
		"food":        h.addEntity(t, entity{industry: "1311", district: "130102", capital: 50, established: "2023-03-01", year: 2024, employees: 8, revenue: 120, assets: 80}),
		"software":    h.addEntity(t, entity{industry: "6513", district: "130104", capital: 500, established: "2015-05-05", year: 2024, employees: 150, revenue: 3000, assets: 2000}),
		"shop":        h.addEntity(t, entity{typ: "individual", industry: "5212", district: "130102", capital: 3, established: "2024-12-01"}),
		"coop":        h.addEntity(t, entity{typ: "cooperative", industry: "0141", district: "130123", capital: 20, established: "2012-01-01"}),
		"abnormal":    h.addEntity(t, entity{industry: "1311", abnormal: true}),
		"serious":     h.addEntity(t, entity{industry: "1311", serious: true}),
		"blacklisted": h.addEntity(t, entity{industry: "1311", blacklisted: true}),
		"penalised":   h.addEntity(t, entity{industry: "1311", lastPenalty: "2024-05-01"}),
		"oldPenalty":  h.addEntity(t, entity{industry: "1311", lastPenalty: "2019-05-01"}),
		"revoked":     h.addEntity(t, entity{industry: "1311", status: "revoked"}),
	}
	name := map[string]string{}
	for k, v := range e {
		name[v] = k
	}
	today := h.f.today()
	cases := []struct {
		name string
		c    Condition
		want []string
		text string // a check text shown for the first wanted entity
	}{
		{"none", Condition{}, []string{"food", "software", "shop", "coop", "abnormal", "serious", "blacklisted", "penalised", "oldPenalty"}, "存续"},
		{"industry section", Condition{Industries: []string{"C"}}, []string{"food", "abnormal", "serious", "blacklisted", "penalised", "oldPenalty"}, "行业 C 符合"},
		{"industry division", Condition{Industries: []string{"65"}}, []string{"software"}, "行业 I65 符合"},
		{"industry group and class", Condition{Industries: []string{"521", "0141"}}, []string{"shop", "coop"}, "行业 F521 符合"},
		{"entity types", Condition{EntityTypes: []string{"individual", "cooperative"}}, []string{"shop", "coop"}, "个体工商户"},
		{"size small and micro", Condition{Sizes: []string{"small", "micro"}}, []string{"food"}, "小微企业"},
		{"size medium", Condition{Sizes: []string{"medium"}}, []string{"software"}, "中型企业"},
		{"districts", Condition{Districts: []string{"130104", "130123"}}, []string{"software", "coop"}, "桥西区"},
		{"established range", Condition{EstablishedFrom: mustDate("2023-01-01"), EstablishedTo: mustDate("2024-12-31")}, []string{"food", "shop"}, "成立时间符合"},
		{"younger than 3 years", Condition{MaxAgeYears: 3}, []string{"food", "shop"}, "成立时间符合"},
		{"at least 10 years", Condition{MinAgeYears: 10}, []string{"software", "coop"}, "成立时间符合"},
		{"capital range", Condition{CapitalMin: fp(10), CapitalMax: fp(100)}, []string{"food", "coop", "abnormal", "serious", "blacklisted", "penalised", "oldPenalty"}, "注册资本符合"},
		{"not abnormal", Condition{Industries: []string{"1311"}, NotAbnormal: true}, []string{"food", "serious", "blacklisted", "penalised", "oldPenalty"}, "未列入经营异常名录"},
		{"not serious illegal", Condition{Industries: []string{"1311"}, NotSeriousIllegal: true}, []string{"food", "abnormal", "blacklisted", "penalised", "oldPenalty"}, "未列入严重违法失信名单"},
		{"not blacklisted", Condition{Industries: []string{"1311"}, NotBlacklisted: true}, []string{"food", "abnormal", "serious", "penalised", "oldPenalty"}, "不在黑名单"},
		{"no penalty in 3 years", Condition{Industries: []string{"1311"}, NoPenaltyYears: 3}, []string{"food", "abnormal", "serious", "blacklisted", "oldPenalty"}, "近 3 年无处罚"},
		{"everything at once", Condition{Industries: []string{"C"}, Sizes: []string{"small", "micro"}, Districts: []string{"130102"}, MaxAgeYears: 5,
			CapitalMax: fp(100), NotAbnormal: true, NotSeriousIllegal: true, NoPenaltyYears: 3, EntityTypes: []string{"enterprise"}}, []string{"food"}, "行业 C 符合"},
	}
	for _, c := range cases {
		if fe := c.c.check(); len(fe) > 0 {
			t.Fatalf("%s: %v", c.name, fe)
		}
		var got []string
		for code, n := range name {
			s, fig, err := loadSubject(ctx, h.pool, code)
			if err != nil {
				t.Fatal(err)
			}
			s.Size, s.SizeReason = SizeOf(s.IndustryCode, fig)
			ok, checks := c.c.Evaluate(s, today)
			if ok != c.c.Matches(s, today) {
				t.Errorf("%s: %s: Evaluate says %v, Matches %v", c.name, n, ok, !ok)
			}
			if ok {
				got = append(got, n)
			}
			if n == c.want[0] && !strings.Contains(Summary(checks)+checks[0].Text, c.text) {
				t.Errorf("%s: %s's checks %q do not say %q", c.name, n, Summary(checks), c.text)
			}
			if !ok && !slices.ContainsFunc(checks, func(ch Check) bool { return !ch.Met && ch.Detail != "" }) {
				t.Errorf("%s: %s fails without a failed check", c.name, n)
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: Evaluate matched %v, want %v", c.name, got, want)
		}
		rows, err := listMatches(ctx, h.pool, c.c, auth.All(), today, 100, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var sqlGot []string
		for _, r := range rows {
			sqlGot = append(sqlGot, name[r.CreditCode])
		}
		slices.Sort(sqlGot)
		if !slices.Equal(sqlGot, want) {
			t.Errorf("%s: SQL matched %v, want %v", c.name, sqlGot, want)
		}
		byD, _, err := countMatches(ctx, h.pool, c.c, auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}, today)
		if err != nil {
			t.Fatal(err)
		}
		var inChangan int64
		for _, d := range byD {
			if d.Code != "130102" {
				t.Errorf("%s: count for %s outside the scope", c.name, d.Code)
			}
			inChangan += d.Count
		}
		var wantChangan int64
		for _, n := range want {
			if e[n][2:8] == "130102" {
				wantChangan++
			}
		}
		if inChangan != wantChangan {
			t.Errorf("%s: %d counted in 长安区, want %d", c.name, inChangan, wantChangan)
		}
	}
}

// A condition that cannot hold is refused with the field named.
func TestConditionValidation(t *testing.T) {
	for name, c := range map[string]Condition{
		"industry":     {Industries: []string{"Z9"}},
		"entity type":  {EntityTypes: []string{"shop"}},
		"size":         {Sizes: []string{"huge"}},
		"district":     {Districts: []string{"110101"}},
		"date range":   {EstablishedFrom: mustDate("2024-01-01"), EstablishedTo: mustDate("2023-01-01")},
		"age range":    {MinAgeYears: 5, MaxAgeYears: 3},
		"capital":      {CapitalMin: fp(100), CapitalMax: fp(10)},
		"penalty span": {NoPenaltyYears: 50},
	} {
		if fe := c.check(); len(fe) == 0 || !strings.HasPrefix(fe[0].Field, "condition.") || fe[0].Message == "" {
			t.Errorf("%s: accepted or unnamed: %v", name, fe)
		}
	}
	if fe := (&Condition{Industries: []string{" c ", "13"}}).check(); len(fe) != 0 {
		t.Errorf("a lower-case section refused: %v", fe)
	}
}
