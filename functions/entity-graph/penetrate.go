package entitygraph

import (
	"cmp"
	"slices"
)

// Edge is a holding: Holder owns Share (a fraction, 0–1) of Held.
type Edge struct {
	Holder, Held string
	Share        float64
}

// Chain is one path of holdings from a holder down to the target: Path
// starts at the holder and ends at the target; Share is the product of
// the shares along it.
type Chain struct {
	Path  []string `json:"path"`
	Share float64  `json:"share"`
}

// Stake is what one party holds of the target, directly and through every
// chain: Share is the sum of its chains' products (FP-135).
type Stake struct {
	ID     string  `json:"id"`
	Share  float64 `json:"share"`
	Direct float64 `json:"direct"`
	// Root: nobody holds the party in the data (a natural person, the
	// state, or an entity whose holders are unknown).
	Root   bool    `json:"root"`
	Chains []Chain `json:"chains"`
}

// Walk limits: a chain longer than MaxDepth holdings is not followed (real
// chains are rarely over 6), and at most MaxChains chains are enumerated,
// so a dense cross-holding cluster cannot explode; Truncated says so.
const (
	MaxDepth  = 12
	MaxChains = 20000
)

// Penetration is the upward walk's result.
type Penetration struct {
	Stakes    []Stake `json:"stakes"` // largest share first
	Truncated bool    `json:"truncated"`
}

// Penetrate enumerates every simple chain of holdings ending at target
// (holders maps a party to the edges of its holders) and sums each
// holder's chains. A cycle (A holds B holds A) is walked once around and
// cut where it would revisit a party already on the chain, so every figure
// is a finite sum of products, each explained by its chain; the target
// itself never counts as its own holder.
func Penetrate(target string, holders map[string][]Edge, maxDepth, maxChains int) Penetration {
	stakes := map[string]*Stake{}
	var out Penetration
	chains := 0
	path := []string{target}
	on := map[string]bool{target: true}
	var walk func(node string, share float64)
	walk = func(node string, share float64) {
		for _, e := range holders[node] {
			if on[e.Holder] {
				continue // the cycle closes here
			}
			if chains >= maxChains {
				out.Truncated = true
				return
			}
			chains++
			s := share * e.Share
			st := stakes[e.Holder]
			if st == nil {
				st = &Stake{ID: e.Holder, Root: len(holders[e.Holder]) == 0}
				stakes[e.Holder] = st
			}
			st.Share += s
			if node == target {
				st.Direct += e.Share
			}
			p := make([]string, 0, len(path)+1)
			p = append(p, e.Holder)
			for i := len(path) - 1; i >= 0; i-- {
				p = append(p, path[i])
			}
			st.Chains = append(st.Chains, Chain{Path: p, Share: s})
			if len(path) >= maxDepth {
				out.Truncated = out.Truncated || len(holders[e.Holder]) > 0
				continue
			}
			path = append(path, e.Holder)
			on[e.Holder] = true
			walk(e.Holder, s)
			on[e.Holder] = false
			path = path[:len(path)-1]
		}
	}
	walk(target, 1)
	for _, st := range stakes {
		slices.SortFunc(st.Chains, func(a, b Chain) int { return cmp.Compare(b.Share, a.Share) })
		out.Stakes = append(out.Stakes, *st)
	}
	slices.SortFunc(out.Stakes, func(a, b Stake) int {
		if c := cmp.Compare(b.Share, a.Share); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}
