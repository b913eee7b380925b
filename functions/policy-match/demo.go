package policymatch

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
)

// demoPolicies is the demo library (demo/policies.json, made by
// demo/gen.py): 63 policies of the national, Hebei, Shijiazhuang and
// county levels, each with its source. Every text is a summary written for
// the demo and marked 示例 (sample); where the title and number are a real
// document's, the source says whose.
//
//go:embed demo/policies.json
var demoPolicies []byte

type demoPolicy struct {
	PolicyInput
	Published bool `json:"published"`
}

// SeedDemo loads the demo library unless a demo policy exists already
// (smartreg seed -demo calls it; running it again changes nothing). The
// conditions are the drafts suggested from each text; published ones fan
// out when the platform next runs.
func (f *Function) SeedDemo(ctx context.Context) (int, error) {
	var exists bool
	if err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM policy.policies WHERE source_kind = 'demo')`).Scan(&exists); err != nil {
		return 0, err
	}
	if exists {
		return 0, nil
	}
	var list []demoPolicy
	if err := json.Unmarshal(demoPolicies, &list); err != nil {
		return 0, fmt.Errorf("demo policies: %w", err)
	}
	a := Actor{Username: "seed"}
	n := 0
	for _, d := range list {
		p, _, err := f.Save(ctx, a, "demo", d.PolicyInput)
		if err != nil {
			return n, fmt.Errorf("demo policy %q: %w", d.Title, err)
		}
		if d.Published {
			if _, err := f.SetStatus(ctx, a, p.ID, "published"); err != nil {
				return n, err
			}
		}
		n++
	}
	return n, nil
}
