package laws

import (
	"context"
	"strings"
	"testing"
)

func search(t *testing.T, h *harness, q string) SearchResult {
	t.Helper()
	res, err := h.f.Search(context.Background(), SearchRequest{Q: q, Size: 10})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	return res
}

// FP-67: the in-force version ranks above an amended or repealed one with
// the same words, and the same article of other versions folds into it.
// FP-65: the law library.
func TestInForceVersionRanksFirst(t *testing.T) {
	h := newHarness(t)
	mustImport(t, h, testCorpus())
	res := search(t, h, "广告 最高级 最佳 用语")
	if len(res.Hits) == 0 {
		t.Fatal("no hits")
	}
	top := res.Hits[0]
	if top.ShortTitle != "广告法" || top.Label != "第九条" || top.Status != StatusInForce || top.OtherVersion != 1 {
		t.Fatalf("top hit %+v", top)
	}
	if !strings.Contains(top.Snippet, "<em>最高</em>") && !strings.Contains(top.Snippet, "<em>最高级</em>") {
		t.Errorf("snippet not highlighted: %s", top.Snippet)
	}
	// The same words in a pending and an in-force version: in force first.
	res = search(t, h, "虚假或者引人误解的商业宣传")
	if res.Hits[0].Status != StatusInForce || res.Hits[0].ShortTitle != "反不正当竞争法" {
		t.Fatalf("in-force first: %+v", res.Hits[0])
	}
	var pending bool
	for _, hit := range res.Hits {
		pending = pending || hit.Status == StatusPending
	}
	if !pending {
		t.Error("the pending version (another article number) should still be listed")
	}
	if len(res.Hits[0].Factors) < 2 || !strings.Contains(res.Hits[0].Factors[1], "现行有效") {
		t.Errorf("ranking not explained: %v", res.Hits[0].Factors)
	}
	// A repealed law still answers, below nothing better.
	res = search(t, h, "环境噪声")
	if len(res.Hits) == 0 || res.Hits[0].Status != StatusRepealed {
		t.Fatalf("repealed law: %+v", res.Hits)
	}
}

func TestDirectLookupAndAbbreviations(t *testing.T) {
	h := newHarness(t)
	mustImport(t, h, testCorpus())
	for _, q := range []string{"广告法第九条", "中华人民共和国广告法第九条", "《广告法》第9条", "广告法 第九条"} {
		res := search(t, h, q)
		if len(res.Hits) != 1 || res.Hits[0].Label != "第九条" || res.Hits[0].Status != StatusInForce || !strings.Contains(res.Hits[0].Factors[0], "直接定位") {
			t.Errorf("%s: %+v", q, res.Hits)
		}
	}
	res := search(t, h, "广告法第九条第一款")
	if len(res.Hits) != 1 || !strings.HasPrefix(res.Hits[0].Snippet, "<em>广告不得有下列情形") {
		t.Errorf("paragraph lookup: %+v", res.Hits)
	}
	if res := search(t, h, "广告法第二百条"); len(res.Hits) != 0 || !strings.Contains(res.Message, "没有第二百条") {
		t.Errorf("missing article: %+v", res)
	}
	// 反法 is 反不正当竞争法: the search is confined to it.
	res = search(t, h, "反法 虚假宣传")
	if res.Query.Law != "反不正当竞争法" || len(res.Hits) == 0 {
		t.Fatalf("abbreviation: %+v", res)
	}
	for _, hit := range res.Hits {
		if hit.ShortTitle != "反不正当竞争法" {
			t.Errorf("abbreviation leaked to %s", hit.ShortTitle)
		}
	}
	if res := search(t, h, "反法第八条"); len(res.Hits) != 1 || res.Hits[0].ShortTitle != "反不正当竞争法" {
		t.Errorf("abbreviated lookup: %+v", res.Hits)
	}
	// The law named alone lists its versions, the in-force one first.
	res = search(t, h, "反不正当竞争法")
	if len(res.Laws) != 2 || res.Laws[0].Status != StatusInForce {
		t.Errorf("law alone: %+v", res.Laws)
	}
}

func TestSearchFacets(t *testing.T) {
	h := newHarness(t)
	mustImport(t, h, testCorpus())
	res, err := h.f.Search(context.Background(), SearchRequest{Q: "虚假宣传 赔偿", Nature: "案例", Size: 10})
	if err != nil || len(res.Hits) == 0 {
		t.Fatalf("nature filter: %v %+v", err, res)
	}
	for _, hit := range res.Hits {
		if hit.Nature != "案例" {
			t.Errorf("nature filter leaked %s", hit.Nature)
		}
	}
	res, err = h.f.Search(context.Background(), SearchRequest{Q: "虚假 宣传", Status: StatusPending, Size: 10})
	if err != nil || len(res.Hits) != 1 || res.Hits[0].Status != StatusPending {
		t.Fatalf("status filter: %v %+v", err, res.Hits)
	}
}
