package entitygraph

import (
	"math"
	"strings"
	"testing"
)

// handBuilt is the graph of the tests, drawn:
//
//	P1 ─50%→ A ─60%→ T ←40%─ B ←90%─ P3
//	P2 ─80%→ C ─50%→ A        B ←10%─ P1
//	A  ─20%→ C   (A and C hold each other: a cycle)
//	T  ─10%→ A   (T holds its own holder: a cycle through the target)
//
// By hand, every simple chain ending at T:
//
//	A→T .60; P1→A→T .5×.6 = .30; C→A→T .5×.6 = .30; P2→C→A→T .8×.5×.6 = .24
//	(C←A closes the cycle A→C→A and is cut; T→A is the target itself)
//	B→T .40; P3→B→T .9×.4 = .36; P1→B→T .1×.4 = .04
//
// so P1 = .30 + .04 = .34 over two chains, P3 = .36, P2 = .24, C = .30,
// A = .60, B = .40. At 25 %: controllers (roots) P3 and P1; beneficial
// owners P3 and P1; P2 (24 %) is below.
var handBuilt = []Edge{
	{"A", "T", .6}, {"B", "T", .4}, {"P1", "A", .5}, {"C", "A", .5}, {"P2", "C", .8}, {"A", "C", .2},
	{"T", "A", .1}, {"P3", "B", .9}, {"P1", "B", .1},
}

func holdersOf(edges []Edge) map[string][]Edge {
	m := map[string][]Edge{}
	for _, e := range edges {
		m[e.Held] = append(m[e.Held], e)
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPenetrateHandBuiltGraphWithCycles(t *testing.T) { // FP-135
	p := Penetrate("T", holdersOf(handBuilt), MaxDepth, MaxChains)
	want := map[string]struct {
		share, direct float64
		root          bool
		chains        []string
	}{
		"A":  {.60, .6, false, []string{"A>T"}},
		"B":  {.40, .4, false, []string{"B>T"}},
		"P3": {.36, 0, true, []string{"P3>B>T"}},
		"P1": {.34, 0, true, []string{"P1>A>T", "P1>B>T"}},
		"C":  {.30, 0, false, []string{"C>A>T"}},
		"P2": {.24, 0, true, []string{"P2>C>A>T"}},
	}
	if len(p.Stakes) != len(want) || p.Truncated {
		t.Fatalf("stakes = %+v (truncated %v)", p.Stakes, p.Truncated)
	}
	order := []string{"A", "B", "P3", "P1", "C", "P2"}
	for i, s := range p.Stakes {
		w := want[s.ID]
		if s.ID != order[i] || !near(s.Share, w.share) || !near(s.Direct, w.direct) || s.Root != w.root {
			t.Errorf("stake %d = %s %.4f direct %.4f root %v, want %s %.4f %.4f %v", i, s.ID, s.Share, s.Direct, s.Root, order[i], w.share, w.direct, w.root)
		}
		var got []string
		sum := 0.0
		for _, c := range s.Chains {
			got = append(got, strings.Join(c.Path, ">"))
			sum += c.Share
		}
		if strings.Join(got, ",") != strings.Join(w.chains, ",") || !near(sum, s.Share) {
			t.Errorf("%s chains = %v (sum %.4f), want %v", s.ID, got, sum, w.chains)
		}
	}
}

// A cycle with no root: X and Y hold half of each other and nobody else
// holds either. Y's only holder is X at 50 %, through one chain; X is not
// a root, so there is no ultimate controller.
func TestPenetratePureCycle(t *testing.T) {
	p := Penetrate("Y", holdersOf([]Edge{{"X", "Y", .5}, {"Y", "X", .5}}), MaxDepth, MaxChains)
	if len(p.Stakes) != 1 || p.Stakes[0].ID != "X" || !near(p.Stakes[0].Share, .5) || p.Stakes[0].Root || len(p.Stakes[0].Chains) != 1 {
		t.Fatalf("stakes = %+v", p.Stakes)
	}
}

// A diamond: P holds 100 % of L and R, which hold 50 % of T each; P's
// stake is the sum of both chains, 100 %.
func TestPenetrateSumsParallelChains(t *testing.T) {
	p := Penetrate("T", holdersOf([]Edge{{"L", "T", .5}, {"R", "T", .5}, {"P", "L", 1}, {"P", "R", 1}}), MaxDepth, MaxChains)
	if p.Stakes[0].ID != "P" || !near(p.Stakes[0].Share, 1) || len(p.Stakes[0].Chains) != 2 {
		t.Fatalf("stakes = %+v", p.Stakes)
	}
}

// The limits hold: a chain deeper than the depth is cut and reported.
func TestPenetrateLimits(t *testing.T) {
	var chain []Edge
	for i := range 20 {
		chain = append(chain, Edge{Holder: string(rune('a' + i + 1)), Held: string(rune('a' + i)), Share: 1})
	}
	p := Penetrate("a", holdersOf(chain), 5, MaxChains)
	if len(p.Stakes) != 5 || !p.Truncated {
		t.Errorf("depth 5: %d stakes, truncated %v", len(p.Stakes), p.Truncated)
	}
	p = Penetrate("a", holdersOf(chain), MaxDepth, 3)
	if len(p.Stakes) != 3 || !p.Truncated {
		t.Errorf("3 chains: %d stakes, truncated %v", len(p.Stakes), p.Truncated)
	}
}
