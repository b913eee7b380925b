package codes

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// nationalCSV is the whole GB/T 2260 table to county level (provinces,
// prefectures, counties), from npm's china-division 2.7.0 (data of the
// National Bureau of Statistics; licence in data/LICENSE-china-division.txt).
//
//go:embed data/gbt2260-national.csv
var nationalCSV string

// abolishedCSV lists county-level codes abolished since numbers were issued
// under them (石家庄市桥东区 130103 in 2014, for one). An ID number keeps the
// code its holder was first registered under, so these stay valid prefixes.
//
//go:embed data/gbt2260-abolished.csv
var abolishedCSV string

// Region is a county-level division an ID number can start with.
type Region struct {
	Code      string
	Name      string // county name
	Province  string
	City      string // empty for 直辖市 districts listed under 市辖区
	Abolished bool
}

var (
	nationalOnce sync.Once
	nationalTab  map[string]Region
)

// nationalRegions parses both tables on first use; they are compiled in and
// tested, so a parse failure is a build defect.
func nationalRegions() map[string]Region {
	nationalOnce.Do(func() {
		names := map[string]string{}
		out := map[string]Region{}
		for _, src := range []struct {
			csv       string
			abolished bool
		}{{nationalCSV, false}, {abolishedCSV, true}} {
			rows, err := readTable(strings.NewReader(src.csv))
			if err != nil {
				panic(fmt.Sprintf("codes: embedded national division table: %v", err))
			}
			for _, r := range rows {
				names[r[0]] = r[1]
				if r[2] != "county" {
					continue
				}
				out[r[0]] = Region{Code: r[0], Name: r[1], Abolished: src.abolished}
			}
		}
		for code, reg := range out {
			reg.Province = names[code[:2]+"0000"]
			if c := names[code[:4]+"00"]; c != "市辖区" && c != "县" {
				reg.City = c
			}
			out[code] = reg
		}
		nationalTab = out
	})
	return nationalTab
}

// LookupRegion returns the county-level division of a six-digit code from
// the national table, abolished codes included.
func LookupRegion(code string) (Region, bool) {
	r, ok := nationalRegions()[code]
	return r, ok
}

// RegionCount is the number of county-level codes known (current and
// abolished), for tests and diagnostics.
func RegionCount() int { return len(nationalRegions()) }

// CheckIDRegion checks an ID number's first six digits against the national
// GB/T 2260 table.
func CheckIDRegion(id string) error {
	if len(id) < 6 {
		return invalid("id_number", "身份证号码过短，无法识别地址码")
	}
	if _, ok := LookupRegion(id[:6]); !ok {
		return invalid("id_number", "身份证号码前6位地址码“%s”不在全国行政区划代码表中", id[:6])
	}
	return nil
}

// Regions returns every county-level code of the national table, abolished
// ones included, in code order.
func Regions() []Region {
	m := nationalRegions()
	out := make([]Region, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
