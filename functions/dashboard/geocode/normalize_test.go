package geocode

import (
	"slices"
	"strings"
	"testing"
)

// FP-124: Shijiazhuang addresses as people write them are cut into
// district, township, road, number and building, graded by precision, and
// flagged when they cannot be placed.
func TestNormalize(t *testing.T) {
	n := NewNormalizer()
	cases := []struct {
		in, district, township, road, number, building, grade string
		issues                                                []string
		normalized                                            string
	}{
		{"河北省石家庄市长安区建北街道中山东路１２３号５号楼２单元３０１室", "130102", "130102001", "中山东路", "123", "5号楼2单元", GradeBuilding, nil,
			"河北省石家庄市长安区建北街道中山东路123号5号楼2单元301室"},
		{"石家庄 桥西区 中华南大街 88号", "130104", "", "中华南大街", "88", "", GradeNumber, nil, "河北省石家庄市桥西区中华南大街88号"},
		{"裕华区槐安东路", "130108", "", "槐安东路", "", "", GradeRoad, nil, "河北省石家庄市裕华区槐安东路"},
		{"正定县新城铺镇东权城村", "130123", "130123102", "东权城村", "", "", GradeRoad, nil, "河北省石家庄市正定县新城铺镇东权城村"},
		{"鹿泉区铜冶镇", "130110", "130110101", "", "", "", GradeTownship, []string{IssueVague}, "河北省石家庄市鹿泉区铜冶镇"},
		{"石家庄市藁城区", "130109", "", "", "", "", GradeDistrict, []string{IssueVague}, "河北省石家庄市藁城区"},
		{"建北街道育才街12号", "130102", "130102001", "育才街", "12", "", GradeNumber, []string{IssueDistrictInferred}, "河北省石家庄市长安区建北街道育才街12号"},
		{"长安区东里街道", "130102", "130104001", "", "", "", GradeTownship, []string{IssueTownshipMismatch, IssueVague}, "河北省石家庄市长安区东里街道"},
		{"井陉矿区贾庄镇", "130107", "130107100", "", "", "", GradeTownship, []string{IssueVague}, "河北省石家庄市井陉矿区贾庄镇"},
		{"高新区长江大道10号", "130171", "", "长江大道", "10", "", GradeNumber, nil, "河北省石家庄市石家庄高新技术产业开发区长江大道10号"},
		{"辛集市辛集镇教育路3号", "130181", "130181100", "教育路", "3", "", GradeNumber, nil, "河北省石家庄市辛集市辛集镇教育路3号"},
		{"保定市莲池区东风路1号", "", "", "", "", "", GradeNone, []string{IssueOutsideCity}, ""},
		{"某某大厦三楼", "", "", "", "", "", GradeNone, []string{IssueNoDistrict}, ""},
		{"新华区某新街道友谊北大街2号", "130105", "", "友谊北大街", "2", "", GradeNumber, nil, "河北省石家庄市新华区友谊北大街2号"},
		{"晋州市桃园镇", "130183", "130183103", "", "", "", GradeTownship, []string{IssueVague}, "河北省石家庄市晋州市桃园镇"},
	}
	for _, c := range cases {
		a := n.Normalize(c.in)
		if c.issues == nil {
			c.issues = []string{}
		}
		got := []string{a.DistrictCode, a.TownshipCode, a.Road, a.Number, a.Building, a.Grade, a.Normalized}
		want := []string{c.district, c.township, c.road, c.number, c.building, c.grade, c.normalized}
		if !slices.Equal(got, want) || !slices.Equal(a.Issues, c.issues) {
			t.Errorf("%s:\n got  %q %v\n want %q %v", c.in, got, a.Issues, want, c.issues)
		}
		if a.GradeName == "" {
			t.Errorf("%s: no grade name", c.in)
		}
	}
	// The same address written differently normalises to the same string.
	a := n.Normalize("河北省 石家庄市 长安区 中山东路 123号")
	b := n.Normalize("长安区中山东路１２３號")
	if a.Normalized != b.Normalized || !strings.HasSuffix(a.Normalized, "123号") {
		t.Errorf("variants differ: %q vs %q", a.Normalized, b.Normalized)
	}
}
