package codes

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"sync"
)

// divisionsCSV is Shijiazhuang's division table (GB/T 2260 codes from the
// National Bureau of Statistics, 2023), embedded so the binary does not depend
// on the shared data folder at run time.
//
//go:embed data/shijiazhuang-divisions-gbt2260.csv
var divisionsCSV string

// DivisionLevel is the tier of an administrative division.
type DivisionLevel string

const (
	LevelCity     DivisionLevel = "city"
	LevelCounty   DivisionLevel = "county"   // district, county or county-level city (and the two statistics-only zones)
	LevelTownship DivisionLevel = "township" // township, town or street
)

// Division is one row of the division table.
type Division struct {
	Code   string
	Name   string
	Level  DivisionLevel
	Parent string
}

// DivisionTable is the loaded, read-only division table.
type DivisionTable struct {
	byCode    map[string]Division
	counties  []Division
	townships map[string][]Division // by county code, in table order
}

var (
	divisionsOnce sync.Once
	divisionsTab  *DivisionTable
)

// Divisions returns the embedded division table, parsed on first use. The
// data is compiled in and checked by the tests, so a parse failure is a build
// defect and panics.
func Divisions() *DivisionTable {
	divisionsOnce.Do(func() {
		t, err := parseDivisions(strings.NewReader(divisionsCSV))
		if err != nil {
			panic(fmt.Sprintf("codes: embedded division table: %v", err))
		}
		divisionsTab = t
	})
	return divisionsTab
}

func parseDivisions(r io.Reader) (*DivisionTable, error) {
	rows, err := readTable(r)
	if err != nil {
		return nil, err
	}
	t := &DivisionTable{byCode: make(map[string]Division, len(rows)), townships: map[string][]Division{}}
	for i, row := range rows {
		d := Division{Code: row[0], Name: row[1], Level: DivisionLevel(row[2]), Parent: row[3]}
		if _, dup := t.byCode[d.Code]; dup {
			return nil, fmt.Errorf("row %d: duplicate code %s", i+2, d.Code)
		}
		switch d.Level {
		case LevelCity:
		case LevelCounty:
			t.counties = append(t.counties, d)
		case LevelTownship:
			t.townships[d.Parent] = append(t.townships[d.Parent], d)
		default:
			return nil, fmt.Errorf("row %d: unknown level %q", i+2, d.Level)
		}
		t.byCode[d.Code] = d
	}
	for county, ts := range t.townships {
		if p, ok := t.byCode[county]; !ok || p.Level != LevelCounty {
			return nil, fmt.Errorf("township %s: parent %s is not a county in the table", ts[0].Code, county)
		}
	}
	return t, nil
}

// readTable reads a code,name,level,parent CSV with its header and returns
// the data rows.
func readTable(r io.Reader) ([][]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 4
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "code,name,level,parent" {
		return nil, fmt.Errorf("missing header code,name,level,parent")
	}
	return rows[1:], nil
}

// Lookup returns the division with the given code.
func (t *DivisionTable) Lookup(code string) (Division, bool) {
	d, ok := t.byCode[code]
	return d, ok
}

// Counties returns the county-level divisions in table order.
func (t *DivisionTable) Counties() []Division {
	return append([]Division(nil), t.counties...)
}

// Townships returns the townships and streets of a county, in table order.
func (t *DivisionTable) Townships(county string) []Division {
	return append([]Division(nil), t.townships[county]...)
}

// CheckDistrict accepts a county-level division code of Shijiazhuang.
func (t *DivisionTable) CheckDistrict(code string) error {
	if code == "" {
		return invalid("district_code", "行政区划代码不能为空")
	}
	d, ok := t.byCode[code]
	if !ok {
		return invalid("district_code", "行政区划代码 %s 不存在或不属于石家庄市", code)
	}
	if d.Level != LevelCounty {
		return invalid("district_code", "行政区划代码 %s（%s）不是县级行政区划，应填写区、县或县级市代码", code, d.Name)
	}
	return nil
}

// CheckTownship accepts an empty township, or a township or street whose
// parent is the given district.
func (t *DivisionTable) CheckTownship(district, township string) error {
	if township == "" {
		return nil
	}
	d, ok := t.byCode[township]
	if !ok || d.Level != LevelTownship {
		return invalid("township_code", "乡镇（街道）代码 %s 不存在或不属于石家庄市", township)
	}
	if d.Parent != district {
		return invalid("township_code", "乡镇（街道）代码 %s（%s）不属于行政区划 %s", township, d.Name, district)
	}
	return nil
}

// CheckDistrict checks code against the embedded division table.
func CheckDistrict(code string) error { return Divisions().CheckDistrict(code) }

// CheckTownship checks township against the embedded division table.
func CheckTownship(district, township string) error {
	return Divisions().CheckTownship(district, township)
}
