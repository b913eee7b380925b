package codes

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// industriesCSV is GB/T 4754-2017 with its Amendment No. 1 (国家标准第1号修改单,
// approved 2019-03-25, in force 2019-03-29): 20 sections, 97 divisions, 473
// groups, 1382 classes.
//
// The shared data file lists 1381 classes. Comparing each group with its
// classes, every group is complete except group 923: the file has the
// pre-amendment "923 人民法院和人民检察院" with 9231 人民法院 and 9232 人民检察院.
// The amendment followed the 2018 constitutional amendment and the
// Supervision Law, which created the supervisory commissions as state organs
// beside the courts and procuratorates: it renamed the group "监察委员会、人民法院
// 和人民检察院" and gave the commissions their own class, 9231 监察委员会,
// moving 人民法院 to 9232 and 人民检察院 to 9233. Evidence: the National Bureau of
// Statistics table "国民经济行业分类（GB/T 4754-2017）（按第1号修改单修订）" lists
// exactly these codes, and its count of 1382 classes matches the standard's.
// The embedded copy applies that change and nothing else; industries_test.go
// checks this against the shared file. Adding 监察委员会 under a free code
// instead would leave 9232 meaning 人民检察院, contrary to the standard, and
// reject the real code 9233.
//
//go:embed data/industry-gbt4754-2017.csv
var industriesCSV string

// IndustryLevel is the tier of an industry code.
type IndustryLevel string

const (
	LevelSection  IndustryLevel = "section"  // 门类, one letter
	LevelDivision IndustryLevel = "division" // 大类, 2 digits
	LevelGroup    IndustryLevel = "group"    // 中类, 3 digits
	LevelClass    IndustryLevel = "class"    // 小类, 4 digits
)

// Industry is one row of the industry classification.
type Industry struct {
	Code   string
	Name   string
	Level  IndustryLevel
	Parent string
}

// IndustryTable is the loaded, read-only industry classification.
type IndustryTable struct {
	byCode  map[string]Industry
	classes []Industry
}

var (
	industriesOnce sync.Once
	industriesTab  *IndustryTable
)

// Industries returns the embedded industry classification, parsed on first
// use. Like Divisions it panics on a malformed embedded table.
func Industries() *IndustryTable {
	industriesOnce.Do(func() {
		t, err := parseIndustries(industriesCSV)
		if err != nil {
			panic(fmt.Sprintf("codes: embedded industry table: %v", err))
		}
		industriesTab = t
	})
	return industriesTab
}

func parseIndustries(data string) (*IndustryTable, error) {
	rows, err := readTable(strings.NewReader(data))
	if err != nil {
		return nil, err
	}
	t := &IndustryTable{byCode: make(map[string]Industry, len(rows))}
	wantLen := map[IndustryLevel]int{LevelSection: 1, LevelDivision: 2, LevelGroup: 3, LevelClass: 4}
	for i, row := range rows {
		in := Industry{Code: row[0], Name: strings.TrimSpace(row[1]), Level: IndustryLevel(row[2]), Parent: row[3]}
		n, ok := wantLen[in.Level]
		if !ok {
			return nil, fmt.Errorf("row %d: unknown level %q", i+2, in.Level)
		}
		if len(in.Code) != n {
			return nil, fmt.Errorf("row %d: %s code %q should have %d characters", i+2, in.Level, in.Code, n)
		}
		if _, dup := t.byCode[in.Code]; dup {
			return nil, fmt.Errorf("row %d: duplicate code %s", i+2, in.Code)
		}
		if in.Level != LevelSection {
			if _, ok := t.byCode[in.Parent]; !ok {
				return nil, fmt.Errorf("row %d: parent %q of %s not listed before it", i+2, in.Parent, in.Code)
			}
		}
		t.byCode[in.Code] = in
		if in.Level == LevelClass {
			t.classes = append(t.classes, in)
		}
	}
	return t, nil
}

// Lookup returns the section, division, group or class with the given code.
func (t *IndustryTable) Lookup(code string) (Industry, bool) {
	in, ok := t.byCode[code]
	return in, ok
}

// Classes returns the 4-digit classes in standard order.
func (t *IndustryTable) Classes() []Industry {
	return append([]Industry(nil), t.classes...)
}

// Section returns the section (门类) a class, group or division belongs to.
func (t *IndustryTable) Section(code string) (Industry, bool) {
	in, ok := t.byCode[code]
	for ok && in.Level != LevelSection {
		in, ok = t.byCode[in.Parent]
	}
	return in, ok
}

// CheckIndustry accepts a 4-digit class code of GB/T 4754-2017; registration
// records the class, not a coarser level.
func (t *IndustryTable) CheckIndustry(code string) error {
	if code == "" {
		return invalid("industry_code", "行业代码不能为空")
	}
	in, ok := t.byCode[code]
	if !ok {
		if len(code) == 4 && isDigits(code) {
			return invalid("industry_code", "行业代码 %s 不存在于国民经济行业分类（GB/T 4754-2017）", code)
		}
		return invalid("industry_code", "行业代码 %s 无效，应为4位数字的国民经济行业小类代码", code)
	}
	if in.Level != LevelClass {
		return invalid("industry_code", "行业代码 %s（%s）是%s代码，应填写4位小类代码", code, in.Name, in.Level.chinese())
	}
	return nil
}

func (l IndustryLevel) chinese() string {
	switch l {
	case LevelSection:
		return "门类"
	case LevelDivision:
		return "大类"
	case LevelGroup:
		return "中类"
	}
	return "小类"
}

// CheckIndustry checks code against the embedded industry classification.
func CheckIndustry(code string) error { return Industries().CheckIndustry(code) }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
