package datahub

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
)

func lineageUser(h *harness) string {
	return h.iss.Bearer(auth.Principal{UserID: "lin", Username: "lineage", Name: "血缘管理员", DeptID: "dept-city",
		Perms: []string{"datahub.lineage:view", "datahub.lineage:edit"}, Scope: auth.All()})
}

func (h *harness) lineage(t *testing.T, bearer, path string) Lineage {
	t.Helper()
	rec := h.do(t, bearer, "GET", path, nil)
	var g Lineage
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || rec.Code != 200 {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	return g
}

func nodeByID(g Lineage, id string) *LineageNode {
	for i := range g.Nodes {
		if g.Nodes[i].ID == id {
			return &g.Nodes[i]
		}
	}
	return nil
}

func linkOf(g Lineage, s, t string) *LineageLink {
	for i := range g.Links {
		if g.Links[i].Source == s && g.Links[i].Target == t {
			return &g.Links[i]
		}
	}
	return nil
}

// FP-97: the lineage is derived from what the platform holds: the
// registry's storage sized by pg_total_relation_size, the dataset's rows
// through its published function, an interface with the rows its access
// log says it served, a push job with the rows its runs wrote, each flow
// with its volume; registered sources and flows join it; one dataset's
// lineage holds only what is upstream and downstream of it.
func TestLineageFromPlatformRecords(t *testing.T) {
	h := newHarness(t)
	b := districtUser(h)
	lin := lineageUser(h)
	c := h.generate(t, b, InterfaceInput{Name: "血缘接口", Dataset: "entities", Fields: pushFields})
	for _, q := range []string{"?limit=5", "?limit=3", "?nosuch=eq.1"} {
		call(h.f, c.Key, c.Endpoint+q)
	}
	job := h.createPush(t, b, c.ID, PushInput{Name: "血缘推送", TargetKind: "postgres", TargetDSN: h.pool.Config().ConnString(), TargetTable: "lineage_target"})
	run, err := h.f.RunPush(context.Background(), job.ID)
	if err != nil || run.Status != "done" {
		t.Fatalf("push: %+v %v", run, err)
	}

	g := h.lineage(t, lin, "/datahub/v1/lineage")
	store := nodeByID(g, "store:registry")
	if store == nil || store.SizeBytes == nil || *store.SizeBytes <= 0 || store.Storage != "database" {
		t.Fatalf("storage node: %+v", store)
	}
	if src := nodeByID(g, "src:registry"); src == nil || src.Origin != "upstream" || src.Channel != "manual" {
		t.Fatalf("source node: %+v", src)
	}
	if ds := nodeByID(g, "ds:entities"); ds == nil || ds.Rows == nil || *ds.Rows != 40 {
		t.Fatalf("dataset node: %+v", ds)
	}
	if l := linkOf(g, "ds:licences", "clean:licences"); l == nil || l.Volume != 14 { // records i%3 == 0 of 40
		t.Fatalf("licences cleaning flow: %+v", l)
	}
	if l := linkOf(g, "clean:entities", "if:"+itoa(c.ID)); l == nil || l.Volume != 8 { // 5 + 3 rows; the refused call served none
		t.Fatalf("interface flow: %+v", l)
	}
	if n := nodeByID(g, "if:"+itoa(c.ID)); n == nil || n.Details["拒绝调用"].(float64) != 1 || n.Details["成功调用"].(float64) != 2 {
		t.Fatalf("interface node: %+v", n)
	}
	// The district user's interface serves 长安区's 20 rows: the push read and wrote 20.
	if l := linkOf(g, "clean:entities", "push:"+itoa(job.ID)); l == nil || l.Volume != run.RowsRead || run.RowsRead != 20 {
		t.Fatalf("push read flow: %+v (run read %d)", l, run.RowsRead)
	}
	var tgt *LineageLink
	for i, l := range g.Links {
		if l.Source == "push:"+itoa(job.ID) {
			tgt = &g.Links[i]
		}
	}
	if tgt == nil || tgt.Volume != 20 || !strings.HasSuffix(tgt.Target, "/lineage_target") {
		t.Fatalf("push write flow: %+v", tgt)
	}
	if n := nodeByID(g, tgt.Target); n == nil || h.pool.Config().ConnConfig.Password != "" && !strings.Contains(n.Details["目标库"].(string), ":******@") {
		t.Fatalf("target node shows the password: %+v", n)
	}

	// A source the platform cannot see, registered with its flow.
	rec := h.do(t, lin, "POST", "/datahub/v1/lineage/nodes", LineageNodeInput{Code: "province-return", Name: "省局回流数据", Kind: NodeSource,
		Origin: "returned", Channel: "api", Description: "省市场监管局每日回流"})
	if rec.Code != 201 {
		t.Fatalf("register node: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, lin, "POST", "/datahub/v1/lineage/flows", LineageFlowInput{Source: "ext:province-return", Target: "store:registry", Volume: 1200})
	if rec.Code != 201 {
		t.Fatalf("register flow: %d %s", rec.Code, rec.Body)
	}
	g = h.lineage(t, lin, "/datahub/v1/lineage")
	if l := linkOf(g, "ext:province-return", "store:registry"); l == nil || l.Volume != 1200 || l.Derived {
		t.Fatalf("registered flow: %+v", l)
	}

	// One dataset's lineage: its source (and the registered return), its interface and push, not the others' datasets.
	d := h.lineage(t, lin, "/datahub/v1/lineage/datasets/entities")
	for _, id := range []string{"src:registry", "store:registry", "ds:entities", "clean:entities", "if:" + itoa(c.ID), "push:" + itoa(job.ID),
		"consumer:api", tgt.Target, "ext:province-return"} {
		if nodeByID(d, id) == nil {
			t.Errorf("entities lineage lacks %s", id)
		}
	}
	if nodeByID(d, "ds:licences") != nil || linkOf(d, "store:registry", "ds:licences") != nil {
		t.Error("entities lineage holds the licences dataset")
	}
	if rec := h.do(t, lin, "GET", "/datahub/v1/lineage/datasets/nope", nil); rec.Code != 404 {
		t.Errorf("unknown dataset: %d", rec.Code)
	}
}

// FP-97: bad registrations are refused in Chinese, naming the part.
func TestLineageBadInput(t *testing.T) {
	h := newHarness(t)
	lin := lineageUser(h)
	for name, c := range map[string]struct {
		path string
		body any
		want string
	}{
		"node-code":     {"/datahub/v1/lineage/nodes", LineageNodeInput{Code: "Bad Code", Name: "x", Kind: NodeStorage}, "节点代码只能由"},
		"node-kind":     {"/datahub/v1/lineage/nodes", LineageNodeInput{Code: "a", Name: "x", Kind: "lake"}, "节点类型应为"},
		"node-channel":  {"/datahub/v1/lineage/nodes", LineageNodeInput{Code: "a", Name: "x", Kind: NodeSource, Origin: "upstream", Channel: "fax"}, "采集方式应为"},
		"node-source":   {"/datahub/v1/lineage/nodes", LineageNodeInput{Code: "a", Name: "x", Kind: NodeSource}, "来源节点需填写来源类型和采集方式"},
		"flow-unknown":  {"/datahub/v1/lineage/flows", LineageFlowInput{Source: "ext:nope", Target: "store:registry"}, "节点“ext:nope”不存在"},
		"flow-internal": {"/datahub/v1/lineage/flows", LineageFlowInput{Source: "store:registry", Target: "ds:entities"}, "至少一端应是登记的节点"},
	} {
		rec := h.do(t, lin, "POST", c.path, c.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d %s, want %q", name, rec.Code, rec.Body, c.want)
		}
	}
	in := LineageNodeInput{Code: "paper", Name: "纸质材料", Kind: NodeSource, Origin: "upstream", Channel: "manual"}
	if rec := h.do(t, lin, "POST", "/datahub/v1/lineage/nodes", in); rec.Code != 201 {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, lin, "POST", "/datahub/v1/lineage/nodes", in); rec.Code != 400 || !strings.Contains(rec.Body.String(), "已存在") {
		t.Errorf("duplicate code: %d %s", rec.Code, rec.Body)
	}
	viewer := h.iss.Bearer(auth.Principal{UserID: "v", Perms: []string{"datahub.lineage:view"}})
	if rec := h.do(t, viewer, "POST", "/datahub/v1/lineage/nodes", in); rec.Code != 403 {
		t.Errorf("register without edit: %d", rec.Code)
	}
}
