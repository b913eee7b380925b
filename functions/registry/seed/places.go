package seed

import (
	"strings"

	"github.com/sjzamr/smartreg/shared/codes"
)

// place is a county-level division with what the generator needs to name,
// address and locate entities in it.
type place struct {
	code      string
	name      string // 长安区, 赵县
	prefix    string // used in entity names and addresses: 石家庄市长安区, 赵县
	abbr      string // used in document numbers: 石长, 赵县
	authority string // 石家庄市长安区市场监督管理局
	lon, lat  float64
	spread    float64 // degrees; rough radius of the built-up area entities fall in
	urban     bool
	weight    float64 // share of the city's market entities
	townships []codes.Division
}

// placeMeta: approximate centre, spread and share of market entities per
// county-level division. Codes missing here (should the table grow) get the
// city centre and a small share.
var placeMeta = map[string]struct {
	lon, lat, spread, weight float64
	abbr                     string
}{
	"130102": {114.540, 38.050, 0.03, 10, "石长"},
	"130104": {114.465, 38.030, 0.03, 12, "石桥"},
	"130105": {114.460, 38.075, 0.03, 9, "石新"},
	"130107": {114.060, 38.070, 0.03, 1, "石矿"},
	"130108": {114.530, 38.010, 0.03, 10, "石裕"},
	"130109": {114.850, 38.020, 0.10, 6, "石藁"},
	"130110": {114.310, 38.090, 0.08, 5, "石鹿"},
	"130111": {114.650, 37.900, 0.06, 3.5, "石栾"},
	"130121": {114.140, 38.030, 0.10, 2, "井陉"},
	"130123": {114.570, 38.150, 0.06, 5, "正定"},
	"130125": {114.550, 38.440, 0.08, 2.5, "行唐"},
	"130126": {114.380, 38.310, 0.08, 2, "灵寿"},
	"130127": {114.610, 37.620, 0.04, 1.2, "高邑"},
	"130128": {115.200, 38.180, 0.05, 1.4, "深泽"},
	"130129": {114.390, 37.670, 0.07, 1.5, "赞皇"},
	"130130": {114.980, 38.180, 0.06, 2.3, "无极"},
	"130131": {114.200, 38.260, 0.15, 3, "平山"},
	"130132": {114.530, 37.770, 0.07, 2.5, "元氏"},
	"130133": {114.780, 37.760, 0.07, 3, "赵县"},
	"130171": {114.620, 38.020, 0.03, 5, "石高新"},
	"130172": {114.810, 37.950, 0.03, 0.3, "石循化"},
	"130181": {115.220, 37.940, 0.08, 4, "辛集"},
	"130183": {115.040, 38.030, 0.07, 3, "晋州"},
	"130184": {114.680, 38.340, 0.07, 3, "新乐"},
}

// Shijiazhuang's rough bounding box; every generated point stays inside.
const (
	minLon, maxLon = 113.5, 115.5
	minLat, maxLat = 37.4, 38.8
)

// loadPlaces builds the county-level places from the division table.
func loadPlaces() []place {
	divs := codes.Divisions()
	var out []place
	for _, c := range divs.Counties() {
		p := place{code: c.Code, name: c.Name, townships: divs.Townships(c.Code)}
		m, ok := placeMeta[c.Code]
		if !ok {
			m.lon, m.lat, m.spread, m.weight, m.abbr = 114.51, 38.04, 0.1, 0.5, "石"
		}
		p.lon, p.lat, p.spread, p.weight, p.abbr = m.lon, m.lat, m.spread, m.weight, m.abbr
		switch {
		case strings.HasSuffix(c.Name, "区") && !strings.HasPrefix(c.Name, "石家庄"):
			p.prefix, p.urban = "石家庄市"+c.Name, true // 市辖区 carry the city name
		default:
			p.prefix = c.Name // counties, county-level cities and the two zones
			p.urban = strings.HasPrefix(c.Name, "石家庄")
		}
		p.authority = p.prefix + "市场监督管理局"
		out = append(out, p)
	}
	return out
}
