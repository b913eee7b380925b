package dashboard

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/functions/dashboard/geocode"
	"github.com/sjzamr/smartreg/functions/dashboard/geocode/amapsim"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

var geoPerms = []string{PermGeo + ":view", PermGeo + ":edit"}

// withSimulator points the function's AMap client at the simulator.
func withSimulator(t *testing.T, h harness) *amapsim.Simulator {
	t.Helper()
	sim := amapsim.New("k", "s")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	h.f.geocoder = &geocode.AMap{BaseURL: srv.URL, Key: "k", Secret: "s"}
	return sim
}

// FP-124: a batch is normalised and graded; bad input is refused plainly.
func TestNormalizeRoute(t *testing.T) {
	h := newHarness(t)
	tok := h.iss.Bearer(authtest.CityWide(geoPerms...))
	res := decode[struct {
		Items  []geocode.Address
		Grades map[string]int
	}](t, h.do(t, tok, "POST", "/dashboard/v1/geocode/normalize", map[string]any{"addresses": []string{
		"长安区中山东路123号5号楼", "桥西区中华南大街88号", "鹿泉区铜冶镇", "北京市朝阳区"}}), 200)
	if got := []string{res.Items[0].Grade, res.Items[1].Grade, res.Items[2].Grade, res.Items[3].Grade}; !slices.Equal(got, []string{"A", "B", "D", "F"}) {
		t.Errorf("grades %v", got)
	}
	if res.Grades["A"] != 1 || res.Grades["F"] != 1 {
		t.Errorf("grade counts %v", res.Grades)
	}
	for name, body := range map[string]any{"empty": map[string]any{"addresses": []string{}}, "blank": map[string]any{"addresses": []string{" "}},
		"too-many": map[string]any{"addresses": make([]string, maxNormalize+1)}} {
		if rec := h.do(t, tok, "POST", "/dashboard/v1/geocode/normalize", body); rec.Code != 400 {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
}

// FP-139, FP-140: addresses are geocoded through AMap once per
// normalised form (the cache answers a variant spelling); a point placed
// in another district, a township-level address and an unplaceable one
// are flagged, the flagged ones land in the worklist of the station whose
// district they are, which confirms or moves them; AMap's limit answers a
// clear 503.
func TestGeocodeCacheAndAnomalies(t *testing.T) {
	h := newHarness(t)
	sim := withSimulator(t, h)
	city := h.iss.Bearer(authtest.CityWide(geoPerms...))
	sim.Misplace["河北省石家庄市桥西区中华南大街88号"] = "130105"
	type answer struct{ Items []Geocoded }
	got := decode[answer](t, h.do(t, city, "POST", "/dashboard/v1/geocode", map[string]any{"addresses": []string{
		"长安区中山东路123号", "桥西区中华南大街88号", "鹿泉区铜冶镇", "某某大厦三楼"}}), 200)
	if len(got.Items) != 4 || sim.Calls() != 3 {
		t.Fatalf("%d answers, %d AMap calls (want 4, 3: the unplaceable one is not sent)", len(got.Items), sim.Calls())
	}
	if it := got.Items[0]; !it.Found || it.Cached || len(it.Issues) != 0 || it.AnomalyID != nil || it.Point.Adcode != "130102" {
		t.Errorf("precise: %+v", it)
	}
	if it := got.Items[1]; !slices.Contains(it.Issues, "outside_district") || it.AnomalyID == nil {
		t.Errorf("misplaced: %+v", it)
	}
	if it := got.Items[2]; !slices.Contains(it.Issues, geocode.IssueVague) || it.AnomalyID == nil {
		t.Errorf("vague: %+v", it)
	}
	if it := got.Items[3]; it.Found || !slices.Contains(it.Issues, geocode.IssueNoDistrict) || it.AnomalyID != nil {
		t.Errorf("unplaceable: %+v", it)
	}
	// A variant spelling of the first address: answered from the cache.
	again := decode[answer](t, h.do(t, city, "POST", "/dashboard/v1/geocode", map[string]any{"addresses": []string{"河北省 石家庄市 长安区 中山东路 １２３号"}}), 200)
	if !again.Items[0].Cached || sim.Calls() != 3 || *again.Items[0].Point != *got.Items[0].Point {
		t.Errorf("cache: %+v, %d calls", again.Items[0], sim.Calls())
	}
	// Re-flagging the same address keeps one open anomaly.
	decode[answer](t, h.do(t, city, "POST", "/dashboard/v1/geocode", map[string]any{"addresses": []string{"鹿泉区铜冶镇"}}), 200)

	qiaoxi := h.iss.Bearer(authtest.InDistricts(geoPerms, "130104"))
	list := decode[struct {
		Items []Anomaly
		Total int
	}](t, h.do(t, qiaoxi, "GET", "/dashboard/v1/geocode/anomalies", nil), 200)
	if list.Total != 1 || list.Items[0].DistrictName != "桥西区" || !slices.Contains(list.Items[0].Issues, "outside_district") {
		t.Fatalf("桥西区 worklist: %+v", list)
	}
	all := decode[struct{ Total int }](t, h.do(t, city, "GET", "/dashboard/v1/geocode/anomalies", nil), 200)
	if all.Total != 2 {
		t.Errorf("city worklist total %d, want 2", all.Total)
	}
	id := list.Items[0].ID
	fix := fmt.Sprintf("/dashboard/v1/geocode/anomalies/%d/fix", id)
	if rec := h.do(t, qiaoxi, "POST", fix, map[string]any{"lng": 120.0, "lat": 38.0}); rec.Code != 400 || !strings.Contains(rec.Body.String(), "经度") {
		t.Errorf("a point outside the city: %d %s", rec.Code, rec.Body)
	}
	luquan := decode[struct{ Items []Anomaly }](t, h.do(t, city, "GET", "/dashboard/v1/geocode/anomalies", nil), 200).Items
	var other int64
	for _, a := range luquan {
		if a.DistrictCode == "130110" {
			other = a.ID
		}
	}
	if rec := h.do(t, qiaoxi, "POST", fmt.Sprintf("/dashboard/v1/geocode/anomalies/%d/confirm", other), map[string]any{}); rec.Code != 404 {
		t.Errorf("桥西区 handled 鹿泉区's point: %d", rec.Code)
	}
	fixed := decode[Anomaly](t, h.do(t, qiaoxi, "POST", fix, map[string]any{"lng": 114.47, "lat": 38.03, "note": "现场核实"}), 200)
	if fixed.Status != "fixed" || *fixed.FixedLng != 114.47 || fixed.HandledBy != "district" {
		t.Errorf("fixed: %+v", fixed)
	}
	if rec := h.do(t, qiaoxi, "POST", fix, map[string]any{"lng": 114.47, "lat": 38.03}); rec.Code != 409 {
		t.Errorf("fixed twice: %d", rec.Code)
	}
	if done := decode[struct{ Total int }](t, h.do(t, qiaoxi, "GET", "/dashboard/v1/geocode/anomalies?status=fixed", nil), 200); done.Total != 1 {
		t.Errorf("fixed list: %d", done.Total)
	}

	sim.PerSecond = 1
	var busy bool
	for i := range 4 {
		rec := h.do(t, city, "POST", "/dashboard/v1/geocode", map[string]any{"addresses": []string{fmt.Sprintf("长安区育才街%d号", 100+i)}})
		busy = busy || (rec.Code == 503 && strings.Contains(rec.Body.String(), "繁忙"))
	}
	if !busy {
		t.Error("AMap's per-second limit never surfaced as 503")
	}
}
