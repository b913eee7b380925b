package seed

import (
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/codes"
)

func TestTradesUseRealIndustryClasses(t *testing.T) {
	for _, ti := range typeInfo {
		for _, tr := range ti.trades {
			if err := codes.CheckIndustry(tr.industry); err != nil {
				t.Errorf("%s %q: %v", ti.name, tr.word, err)
			}
			if tr.weight <= 0 || tr.scope == "" {
				t.Errorf("%s %q: weight %v, scope %q", ti.name, tr.word, tr.weight, tr.scope)
			}
		}
	}
}

func TestPlacesCoverEveryCounty(t *testing.T) {
	places := loadPlaces()
	if len(places) != len(codes.Divisions().Counties()) {
		t.Fatalf("places = %d, counties = %d", len(places), len(codes.Divisions().Counties()))
	}
	for _, p := range places {
		if _, ok := placeMeta[p.code]; !ok {
			t.Errorf("no centre or weight for %s %s", p.code, p.name)
		}
		if len(p.townships) == 0 {
			t.Errorf("%s %s has no townships", p.code, p.name)
		}
		if p.lon < minLon || p.lon > maxLon || p.lat < minLat || p.lat > maxLat {
			t.Errorf("%s centre %f,%f outside the city", p.name, p.lon, p.lat)
		}
	}
}

func TestOrgTailsAreDistinct(t *testing.T) {
	g := newGenerator(99)
	seen := make(map[[7]byte]bool, 300_000)
	for i := range uint64(300_000) {
		tail := g.orgTail(i)
		if seen[tail] {
			t.Fatalf("tail %s repeats at %d", tail[:], i)
		}
		seen[tail] = true
	}
	// The last index of the last lane still maps inside the space.
	last := newGenerator(orgLanes - 1)
	if tail := last.orgTail(MaxCount - 1); strings.ContainsAny(string(tail[:]), "IOSVZ") {
		t.Errorf("tail %s outside the credit alphabet", tail[:])
	}
	if orgLanes*MaxCount > orgSpace || orgLanes != 1375 {
		t.Errorf("orgLanes = %d; lanes overflow the space or the package doc is stale", orgLanes)
	}
}

func TestSeedsInDifferentLanesShareNoTail(t *testing.T) {
	a, b := newGenerator(1), newGenerator(2)
	seen := make(map[[7]byte]bool, 200_000)
	for i := range uint64(200_000) {
		seen[a.orgTail(i)] = true
	}
	for i := range uint64(200_000) {
		if tail := b.orgTail(i); seen[tail] {
			t.Fatalf("seeds 1 and 2 share tail %s", tail[:])
		}
	}
	if newGenerator(1).orgTail(7) != newGenerator(1+orgLanes).orgTail(7) {
		t.Error("seeds equal modulo orgLanes should share a lane")
	}
}

func TestNamesLookReal(t *testing.T) {
	g := newGenerator(5)
	want := map[entityType][]string{
		tIndividual:    {"石家庄市", "记"},
		tEnterprise:    {"公司"},
		tCooperative:   {"专业合作社"},
		tNonEnterprise: {"中心", "幼儿园", "学校", "俱乐部", "医院"},
	}
	counts := map[entityType]int{}
	var row entityRow
	for range 3000 {
		if err := g.next(&row); err != nil {
			t.Fatal(err)
		}
		typ := g.sums[len(g.sums)-1].typ
		name := row.name
		counts[typ]++
		if ws, ok := want[typ]; ok && !containsAny(name, ws) && typ != tIndividual {
			t.Errorf("%s name %q lacks any of %v", typeInfo[typ].name, name, ws)
		}
		if typ == tInstitution && strings.ContainsAny(name, "{}") {
			t.Errorf("institution name %q has an unfilled pattern", name)
		}
	}
	if counts[tIndividual] == 0 || counts[tInstitution] == 0 {
		t.Errorf("type counts %v", counts)
	}
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func TestChineseNumber(t *testing.T) {
	for n, want := range map[int]string{1: "一", 10: "十", 11: "十一", 20: "二十", 23: "二十三", 45: "四十五"} {
		if got := chineseNumber(n); got != want {
			t.Errorf("chineseNumber(%d) = %q, want %q", n, got, want)
		}
	}
}
