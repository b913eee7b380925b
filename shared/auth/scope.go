package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Scope kinds, as configured on a role (FP-6).
const (
	ScopeAll          = "all"
	ScopeDeptAndBelow = "dept_and_below"
	ScopeDept         = "dept"
	ScopeSelf         = "self"
	ScopeCustom       = "custom"
)

// Scope is a caller's data scope, already resolved by identity into the
// division codes the caller may see. Kind records where it came from; only
// ScopeAll changes the meaning (everything). For every other kind the codes
// decide:
//
//   - a district in Districts with none of its townships in Townships is
//     visible whole;
//   - a township in Townships is visible, and narrows its district (the
//     first six digits of its code) to the listed townships.
//
// So Districts [130102 130104] with Townships [130104001] is all of 长安区 and
// one street of 桥西区. An empty non-"all" scope sees nothing.
type Scope struct {
	Kind      string   `json:"kind"`
	Districts []string `json:"districts,omitempty"`
	Townships []string `json:"townships,omitempty"`
}

// All is the city-wide scope.
func All() Scope { return Scope{Kind: ScopeAll} }

// districtOf is the county-level code a township code belongs to.
func districtOf(township string) string {
	if len(township) < 6 {
		return township
	}
	return township[:6]
}

// narrowed reports whether some listed township narrows district d.
func (s Scope) narrowed(d string) bool {
	for _, t := range s.Townships {
		if districtOf(t) == d {
			return true
		}
	}
	return false
}

// Allows reports whether a record located in district/township is inside
// the scope. township may be empty when the record has none; it is then
// visible only through a whole district.
func (s Scope) Allows(district, township string) bool {
	if s.Kind == ScopeAll {
		return true
	}
	if township != "" && slices.Contains(s.Townships, township) {
		return true
	}
	return slices.Contains(s.Districts, district) && !s.narrowed(district)
}

// whole is the districts visible in full.
func (s Scope) whole() []string {
	var out []string
	for _, d := range s.Districts {
		if !s.narrowed(d) {
			out = append(out, d)
		}
	}
	return out
}

// Filter returns an SQL predicate over the given columns that holds exactly
// for rows Allows accepts: "TRUE" for the city-wide scope, "FALSE" for an
// empty one. Its arguments (text arrays) are appended to *args and
// numbered $len(*args)+1…, so it can be ANDed into a query built the same
// way. Column names are trusted code, never user input.
func (s Scope) Filter(districtCol, townshipCol string, args *[]any) string {
	if s.Kind == ScopeAll {
		return "TRUE"
	}
	var conds []string
	if w := s.whole(); len(w) > 0 {
		*args = append(*args, w)
		conds = append(conds, fmt.Sprintf("%s = ANY($%d::text[])", districtCol, len(*args)))
	}
	if len(s.Townships) > 0 {
		*args = append(*args, slices.Clone(s.Townships))
		conds = append(conds, fmt.Sprintf("%s = ANY($%d::text[])", townshipCol, len(*args)))
	}
	switch len(conds) {
	case 0:
		return "FALSE"
	case 1:
		return conds[0]
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// IsEmpty reports whether the scope sees nothing.
func (s Scope) IsEmpty() bool {
	return s.Kind != ScopeAll && len(s.Districts) == 0 && len(s.Townships) == 0
}

// Union is the scope of a user holding several roles: what any one of the
// scopes allows, the union allows, and nothing more. A district visible
// whole through one role stays whole even if another role lists only some
// of its townships.
func Union(scopes ...Scope) Scope {
	whole := map[string]bool{}
	towns := map[string]bool{}
	kind := ""
	for _, s := range scopes {
		if s.Kind == ScopeAll {
			return All()
		}
		if kind == "" {
			kind = s.Kind
		} else if kind != s.Kind {
			kind = ScopeCustom
		}
		for _, d := range s.whole() {
			whole[d] = true
		}
		for _, t := range s.Townships {
			towns[t] = true
		}
	}
	if kind == "" {
		kind = ScopeSelf
	}
	out := Scope{Kind: kind}
	for d := range whole {
		out.Districts = append(out.Districts, d)
	}
	for t := range towns {
		if !whole[districtOf(t)] {
			out.Townships = append(out.Townships, t)
			if !slices.Contains(out.Districts, districtOf(t)) {
				out.Districts = append(out.Districts, districtOf(t))
			}
		}
	}
	slices.Sort(out.Districts)
	slices.Sort(out.Townships)
	return out
}

// Within reports whether everything s allows, outer allows too: nobody may
// grant a data scope wider than their own.
func (s Scope) Within(outer Scope) bool {
	if outer.Kind == ScopeAll {
		return true
	}
	if s.Kind == ScopeAll {
		return false
	}
	for _, d := range s.whole() {
		if !outer.Allows(d, "") {
			return false
		}
	}
	for _, t := range s.Townships {
		if !outer.Allows(districtOf(t), t) {
			return false
		}
	}
	return true
}
