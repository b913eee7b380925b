// Package geocode is the dashboard's geocoding quality (FP-124, 139, 140):
// a normaliser for Shijiazhuang addresses (district, township, road,
// number, building) that grades how precisely an address is given, a
// client for AMap's geocoding API with signed requests, and the checks
// that flag a geocoded point as suspect (outside its district, too vague).
package geocode

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/codes"
)

// Grades of an address, from the most precise.
const (
	GradeBuilding = "A" // road, number and building (楼栋级)
	GradeNumber   = "B" // road and house number (门牌级)
	GradeRoad     = "C" // road or village, no number (道路级)
	GradeTownship = "D" // township only (乡镇级)
	GradeDistrict = "E" // district only (区县级)
	GradeNone     = "F" // not placeable in the city (无法识别)
)

// GradeNames are the grades' Chinese names.
var GradeNames = map[string]string{GradeBuilding: "楼栋级", GradeNumber: "门牌级", GradeRoad: "道路级",
	GradeTownship: "乡镇级", GradeDistrict: "区县级", GradeNone: "无法识别"}

// Issues an address can carry.
const (
	IssueVague            = "too_vague"         // grade D or worse: cannot place a point
	IssueOutsideCity      = "outside_city"      // names another city
	IssueTownshipMismatch = "township_mismatch" // the township is not in the named district
	IssueDistrictInferred = "district_inferred" // no district written; taken from the township
	IssueNoDistrict       = "no_district"       // neither district nor township found
)

// Address is a normalised address.
type Address struct {
	Input        string   `json:"input"`
	Normalized   string   `json:"normalized"`
	DistrictCode string   `json:"district_code"`
	District     string   `json:"district"`
	TownshipCode string   `json:"township_code"`
	Township     string   `json:"township"`
	Road         string   `json:"road"`
	Number       string   `json:"number"`
	Building     string   `json:"building"`
	Room         string   `json:"room"`
	Grade        string   `json:"grade"`
	GradeName    string   `json:"grade_name"`
	Issues       []string `json:"issues"`
}

// Normalizer parses addresses against the city's division table. It is
// safe for concurrent use; build one and keep it.
type Normalizer struct {
	counties  []place // longest name first, so 井陉矿区 wins over 井陉
	townships []place
}

type place struct{ code, name, parent string }

// aliases are the names people write for divisions whose official name
// nobody types.
var aliases = map[string]string{"高新区": "130171", "高新技术产业开发区": "130171", "循环化工园区": "130172", "矿区": "130107"}

// NewNormalizer loads the division table.
func NewNormalizer() *Normalizer {
	n := &Normalizer{}
	t := codes.Divisions()
	for _, c := range t.Counties() {
		n.counties = append(n.counties, place{code: c.Code, name: c.Name})
		for _, tw := range t.Townships(c.Code) {
			n.townships = append(n.townships, place{code: tw.Code, name: tw.Name, parent: c.Code})
		}
	}
	for a, code := range aliases {
		d, _ := t.Lookup(code)
		n.counties = append(n.counties, place{code: code, name: a, parent: d.Name})
	}
	byLen := func(a, b place) int { return utf8.RuneCountInString(b.name) - utf8.RuneCountInString(a.name) }
	slices.SortStableFunc(n.counties, byLen)
	slices.SortStableFunc(n.townships, byLen)
	return n
}

var (
	prefixes  = []string{"中华人民共和国", "中国", "河北省", "河北", "石家庄市", "石家庄"}
	otherCity = regexp.MustCompile(`^(?:[\p{Han}]{2,3}省)?([\p{Han}]{2,4}市)`)
	roadRe    = regexp.MustCompile(`^([\p{Han}A-Za-z0-9]{1,14}?(?:大街|大道|公路|胡同|路|街|道|巷|线))`)
	villageRe = regexp.MustCompile(`^([\p{Han}]{1,10}?(?:村|社区|小区|庄|营|屯|工业园|园区))`)
	numberRe  = regexp.MustCompile(`^(\d+(?:-\d+)?)号`)
	buildRe   = regexp.MustCompile(`(\d+|[A-Za-z])(?:号楼|栋|幢|座|号院)`)
	unitRe    = regexp.MustCompile(`(\d+)单元`)
	roomRe    = regexp.MustCompile(`(\d+)(?:室|号房|房)`)
	cityLevel = map[string]bool{"辛集市": true, "晋州市": true, "新乐市": true}
)

// clean turns full-width ASCII and ideographic spaces into their plain
// forms and drops white space and separators people type between parts.
func clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		if unicode.IsSpace(r) || strings.ContainsRune(",，、;；:：()（）[]【】\"'“”‘’", r) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(b.String(), "號", "号")
}

// Normalize parses one address.
func (n *Normalizer) Normalize(input string) Address {
	a := Address{Input: input, Issues: []string{}}
	s := clean(input)
	for stripped := true; stripped; {
		stripped = false
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				s, stripped = s[len(p):], true
			}
		}
	}
	if m := otherCity.FindStringSubmatch(s); m != nil && !cityLevel[m[1]] && !strings.HasPrefix(s, "石家庄") {
		if !n.startsCounty(s) {
			a.Issues = append(a.Issues, IssueOutsideCity)
			a.Grade, a.GradeName = GradeNone, GradeNames[GradeNone]
			return a
		}
	}
	if c, rest, ok := n.cut(n.counties, s); ok {
		a.DistrictCode, s = c.code, rest
		d, _ := codes.Divisions().Lookup(c.code)
		a.District = d.Name
	}
	if t, rest, ok := n.township(s, a.DistrictCode); ok {
		a.TownshipCode, a.Township, s = t.code, t.name, rest
		switch {
		case a.DistrictCode == "":
			d, _ := codes.Divisions().Lookup(t.parent)
			a.DistrictCode, a.District = t.parent, d.Name
			a.Issues = append(a.Issues, IssueDistrictInferred)
		case t.parent != a.DistrictCode:
			a.Issues = append(a.Issues, IssueTownshipMismatch)
		}
	}
	// A 街道 the table does not know is skipped, not taken for a road.
	if m := roadRe.FindStringSubmatch(s); m != nil && strings.HasPrefix(s[len(m[1]):], "道") {
		s = s[len(m[1])+len("道"):]
	}
	if m := roadRe.FindStringSubmatch(s); m != nil {
		a.Road, s = m[1], s[len(m[1]):]
	} else if m := villageRe.FindStringSubmatch(s); m != nil {
		a.Road, s = m[1], s[len(m[1]):]
	}
	if m := numberRe.FindStringSubmatch(s); m != nil && a.Road != "" {
		a.Number, s = m[1], s[len(m[0]):]
	}
	if m := buildRe.FindStringSubmatch(s); m != nil && a.Number != "" {
		a.Building = m[1] + "号楼"
		if u := unitRe.FindStringSubmatch(s); u != nil {
			a.Building += u[1] + "单元"
		}
	}
	if m := roomRe.FindStringSubmatch(s); m != nil && a.Building != "" {
		a.Room = m[1] + "室"
	}
	switch {
	case a.DistrictCode == "":
		a.Grade = GradeNone
		a.Issues = append(a.Issues, IssueNoDistrict)
	case a.Building != "":
		a.Grade = GradeBuilding
	case a.Number != "":
		a.Grade = GradeNumber
	case a.Road != "":
		a.Grade = GradeRoad
	case a.TownshipCode != "":
		a.Grade = GradeTownship
	default:
		a.Grade = GradeDistrict
	}
	if a.Grade == GradeTownship || a.Grade == GradeDistrict {
		a.Issues = append(a.Issues, IssueVague)
	}
	a.GradeName = GradeNames[a.Grade]
	if a.DistrictCode != "" {
		var b strings.Builder
		b.WriteString("河北省石家庄市" + a.District + a.Township + a.Road)
		if a.Number != "" {
			b.WriteString(a.Number + "号")
		}
		b.WriteString(a.Building + a.Room)
		a.Normalized = b.String()
	}
	return a
}

func (n *Normalizer) startsCounty(s string) bool {
	_, _, ok := n.cut(n.counties, s)
	return ok
}

// cut finds the place whose name s starts with (longest first).
func (n *Normalizer) cut(list []place, s string) (place, string, bool) {
	for _, p := range list {
		if strings.HasPrefix(s, p.name) {
			return p, s[len(p.name):], true
		}
	}
	return place{}, s, false
}

// township finds the township s starts with, preferring the district's
// own when a name exists in two districts (桃园镇, 北正乡).
func (n *Normalizer) township(s, district string) (place, string, bool) {
	var found *place
	for i, t := range n.townships {
		if strings.HasPrefix(s, t.name) {
			if t.parent == district {
				return t, s[len(t.name):], true
			}
			if found == nil {
				found = &n.townships[i]
			}
		}
	}
	if found == nil {
		return place{}, s, false
	}
	return *found, s[len(found.name):], true
}
