package entitygraph

import (
	"context"
	_ "embed"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/entity/v1/openapi.yaml", openapi }

// PermGraph is the permission resource of the graph and the penetration
// (action view), listed in shared/auth's catalogue.
const PermGraph = "entity.graph"

// Handler serves the API behind token verification. Every route names the
// entity it is about and answers only inside the caller's data scope;
// parties outside it appear as nodes without details.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-134: the graph around an entity, expandable level by level.
	m.Handle("GET /entity/v1/entities/{code}/graph", httpx.Endpoint(f.graph), auth.Requires(PermGraph, "view"), httpx.EntityIn("code"),
		httpx.Params("depth"))
	// FP-135: equity penetration with the chains behind every figure.
	m.Handle("GET /entity/v1/entities/{code}/penetration", httpx.Endpoint(f.penetration), auth.Requires(PermGraph, "view"),
		httpx.EntityIn("code"), httpx.Params("threshold"))
	// FP-134: change records of the entity's holdings.
	m.Handle("GET /entity/v1/entities/{code}/changes", httpx.Endpoint(f.changes), auth.Requires(PermGraph, "view"), httpx.EntityIn("code"))
	// FP-125: the enterprise portrait as a PDF.
	m.Handle("GET /entity/v1/entities/{code}/portrait.pdf", http.HandlerFunc(f.portraitPDF), auth.Requires(PermGraph, "view"),
		httpx.EntityIn("code"))
	return m
}

func scopeOf(r *http.Request) auth.Scope {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.Scope
	}
	return auth.Scope{}
}

// Node is a party of the graph as the caller may see it. A party outside
// the caller's data scope keeps only an opaque id and its kind.
type Node struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"` // entity | person | unknown
	Name   string `json:"name"`
	Hidden bool   `json:"hidden,omitempty"`
}

// Link is an edge of the graph: a holding (with its percentage) or a
// relation.
type Link struct {
	Source string   `json:"source"`
	Target string   `json:"target"`
	Kind   string   `json:"kind"` // holding | investment | parent_subsidiary | cooperation
	Pct    *float64 `json:"pct,omitempty"`
}

// Graph is the neighbourhood of one entity.
type Graph struct {
	Center string `json:"center"`
	Nodes  []Node `json:"nodes"`
	Links  []Link `json:"links"`
}

// view maps stored ids to what the caller may see.
type view struct {
	scope   auth.Scope
	parties map[string]party
	masked  map[string]string
}

func (v *view) id(id string) string {
	p, ok := v.parties[id]
	if ok && (p.District == "" || v.scope.Allows(p.District, p.Township)) {
		return id
	}
	if m, ok := v.masked[id]; ok {
		return m
	}
	m := "hidden-" + strconv.Itoa(len(v.masked)+1)
	v.masked[id] = m
	return m
}

func (v *view) node(id string) Node {
	p, ok := v.parties[id]
	if !ok {
		return Node{ID: v.id(id), Kind: "unknown", Name: "（未登记主体）"}
	}
	if p.District != "" && !v.scope.Allows(p.District, p.Township) {
		return Node{ID: v.id(id), Kind: p.Kind, Name: "（数据权限范围外）", Hidden: true}
	}
	return Node{ID: id, Kind: p.Kind, Name: p.Name}
}

// center loads the requested entity, refusing one outside the scope as
// missing.
func (f *Function) center(ctx context.Context, scope auth.Scope, code string) (*view, error) {
	ps, err := loadParties(ctx, f.pool, []string{code})
	if err != nil {
		return nil, err
	}
	p, ok := ps[code]
	if !ok || p.Kind != "entity" || !scope.Allows(p.District, p.Township) {
		return nil, errs.New(errs.NotFound, "未找到该市场主体的股权信息")
	}
	return &view{scope: scope, parties: ps, masked: map[string]string{}}, nil
}

func (v *view) load(ctx context.Context, f *Function, ids []string) error {
	var missing []string
	for _, id := range ids {
		if _, ok := v.parties[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	ps, err := loadParties(ctx, f.pool, missing)
	for k, p := range ps {
		v.parties[k] = p
	}
	return err
}

// Graph is the entity's holders and holdings depth levels up and down
// (1–3), with its relations; hidden parties are not expanded.
func (f *Function) Graph(ctx context.Context, scope auth.Scope, code string, depth int) (Graph, error) {
	v, err := f.center(ctx, scope, code)
	if err != nil {
		return Graph{}, err
	}
	var edges []Edge
	for _, up := range []bool{true, false} {
		frontier, seen := []string{code}, map[string]bool{code: true}
		for level := 0; level < depth && len(frontier) > 0; level++ {
			es, err := edgesOf(ctx, f.pool, frontier, up)
			if err != nil {
				return Graph{}, err
			}
			var next []string
			for _, e := range es {
				edges = append(edges, e)
				n := e.Held
				if up {
					n = e.Holder
				}
				if !seen[n] {
					seen[n] = true
					next = append(next, n)
				}
			}
			if err := v.load(ctx, f, next); err != nil {
				return Graph{}, err
			}
			frontier = slices.DeleteFunc(next, func(id string) bool { return v.node(id).Hidden })
		}
	}
	ids := map[string]bool{code: true}
	for _, e := range edges {
		ids[e.Holder], ids[e.Held] = true, true
	}
	rels, err := relationsOf(ctx, f.pool, []string{code})
	if err != nil {
		return Graph{}, err
	}
	for _, r := range rels {
		ids[r.From], ids[r.To] = true, true
	}
	all := make([]string, 0, len(ids))
	for id := range ids {
		all = append(all, id)
	}
	slices.Sort(all)
	if err := v.load(ctx, f, all); err != nil {
		return Graph{}, err
	}
	g := Graph{Center: code, Nodes: []Node{}, Links: []Link{}}
	for _, id := range all {
		g.Nodes = append(g.Nodes, v.node(id))
	}
	dup := map[[2]string]bool{}
	for _, e := range edges {
		k := [2]string{e.Holder, e.Held}
		if dup[k] {
			continue
		}
		dup[k] = true
		pct := round(e.Share*100, 4)
		g.Links = append(g.Links, Link{Source: v.id(e.Holder), Target: v.id(e.Held), Kind: "holding", Pct: &pct})
	}
	for _, r := range rels {
		g.Links = append(g.Links, Link{Source: v.id(r.From), Target: v.id(r.To), Kind: r.Kind})
	}
	return g, nil
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// StakeView is a stake as the API shows it: percentages, parties as the
// caller may see them, and every chain.
type StakeView struct {
	Node
	Pct       float64     `json:"pct"`        // direct + indirect, %
	DirectPct float64     `json:"direct_pct"` // %
	Root      bool        `json:"root"`
	Chains    []ChainView `json:"chains"`
}

// ChainView is one chain: the parties from the holder to the entity and
// the product of its percentages.
type ChainView struct {
	Path []Node  `json:"path"`
	Pct  float64 `json:"pct"`
}

// PenetrationView is the answer of the penetration route.
type PenetrationView struct {
	Center    Node        `json:"center"`
	Threshold float64     `json:"threshold"`
	Holders   []StakeView `json:"holders"`
	// Controllers are the ultimate holders (roots) at or above the
	// threshold; BeneficialOwners the natural persons among them
	// (受益所有人, at or above the threshold).
	Controllers      []StakeView `json:"controllers"`
	BeneficialOwners []StakeView `json:"beneficial_owners"`
	Truncated        bool        `json:"truncated"`
}

// Penetration walks every chain above the entity and names its ultimate
// controllers and beneficial owners at threshold % (FP-135).
func (f *Function) Penetration(ctx context.Context, scope auth.Scope, code string, threshold float64) (PenetrationView, error) {
	v, err := f.center(ctx, scope, code)
	if err != nil {
		return PenetrationView{}, err
	}
	holders, err := ancestors(ctx, f.pool, code, MaxDepth)
	if err != nil {
		return PenetrationView{}, err
	}
	pen := Penetrate(code, holders, MaxDepth, MaxChains)
	ids := []string{}
	for _, s := range pen.Stakes {
		ids = append(ids, s.ID)
	}
	if err := v.load(ctx, f, ids); err != nil {
		return PenetrationView{}, err
	}
	out := PenetrationView{Center: v.node(code), Threshold: threshold, Holders: []StakeView{}, Controllers: []StakeView{},
		BeneficialOwners: []StakeView{}, Truncated: pen.Truncated}
	for _, s := range pen.Stakes {
		sv := StakeView{Node: v.node(s.ID), Pct: round(s.Share*100, 4), DirectPct: round(s.Direct*100, 4), Root: s.Root}
		for _, c := range s.Chains {
			cv := ChainView{Pct: round(c.Share*100, 4)}
			for _, id := range c.Path {
				cv.Path = append(cv.Path, v.node(id))
			}
			sv.Chains = append(sv.Chains, cv)
		}
		out.Holders = append(out.Holders, sv)
		// A tiny tolerance: 25 % reached through sums of products.
		if s.Share*100+1e-9 >= threshold {
			if s.Root {
				out.Controllers = append(out.Controllers, sv)
			}
			if sv.Kind == "person" {
				out.BeneficialOwners = append(out.BeneficialOwners, sv)
			}
		}
	}
	return out, nil
}

func codeOf(r *http.Request) string { return strings.ToUpper(strings.TrimSpace(r.PathValue("code"))) }

func (f *Function) graph(r *http.Request) (any, error) {
	depth := 1
	if s := r.URL.Query().Get("depth"); s != "" {
		d, err := strconv.Atoi(s)
		if err != nil || d < 1 || d > 3 {
			return nil, errs.Fields([]errs.FieldError{{Field: "depth", Message: "层级应为 1 到 3"}})
		}
		depth = d
	}
	return f.Graph(r.Context(), scopeOf(r), codeOf(r), depth)
}

func (f *Function) penetration(r *http.Request) (any, error) {
	threshold := float64(f.cfg.Threshold)
	if s := r.URL.Query().Get("threshold"); s != "" {
		t, err := strconv.ParseFloat(s, 64)
		if err != nil || t <= 0 || t > 100 {
			return nil, errs.Fields([]errs.FieldError{{Field: "threshold", Message: "阈值应为大于 0 且不超过 100 的百分比"}})
		}
		threshold = t
	}
	return f.Penetration(r.Context(), scopeOf(r), codeOf(r), threshold)
}

// ChangesView lists an entity's holding changes; holders outside the
// scope are masked.
type ChangesView struct {
	Items []Change `json:"items"`
}

func (f *Function) changes(r *http.Request) (any, error) {
	code := codeOf(r)
	v, err := f.center(r.Context(), scopeOf(r), code)
	if err != nil {
		return nil, err
	}
	list, err := changesOf(r.Context(), f.pool, code)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.HolderID)
		if c.Counterparty != "" {
			ids = append(ids, c.Counterparty)
		}
	}
	if err := v.load(r.Context(), f, ids); err != nil {
		return nil, err
	}
	for i := range list {
		list[i].HolderID = v.id(list[i].HolderID)
		if list[i].Counterparty != "" {
			list[i].Counterparty = v.id(list[i].Counterparty)
		}
	}
	return ChangesView{Items: list}, nil
}
