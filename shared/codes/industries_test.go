package codes

import (
	"reflect"
	"strings"
	"testing"
)

// amendment1 is the only change the embedded industry table makes to the
// shared one: GB/T 4754-2017 Amendment No. 1 (see industries.go). Rows are
// code,name,level,parent.
var amendment1 = struct{ removed, added [][]string }{
	removed: [][]string{
		{"923", "人民法院和人民检察院", "group", "92"},
		{"9231", "人民法院", "class", "923"},
		{"9232", "人民检察院", "class", "923"},
	},
	added: [][]string{
		{"923", "监察委员会、人民法院和人民检察院", "group", "92"},
		{"9231", "监察委员会", "class", "923"},
		{"9232", "人民法院", "class", "923"},
		{"9233", "人民检察院", "class", "923"},
	},
}

func TestEmbeddedIndustriesDifferOnlyByMissingClass(t *testing.T) {
	shared := readSharedTable(t, "industry-gbt4754-2017.csv")
	embedded, err := readTable(strings.NewReader(industriesCSV))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countLevel(shared, "class"), 1381; got != want {
		t.Fatalf("shared table has %d classes, want %d (has it been corrected upstream?)", got, want)
	}
	if got, want := countLevel(embedded, "class"), 1382; got != want {
		t.Errorf("embedded table has %d classes, want %d", got, want)
	}
	// The class codes differ by exactly one: the class the shared file lacks.
	sharedCodes, embeddedCodes := codeSet(shared, "class"), codeSet(embedded, "class")
	var extra []string
	for c := range embeddedCodes {
		if !sharedCodes[c] {
			extra = append(extra, c)
		}
	}
	for c := range sharedCodes {
		if !embeddedCodes[c] {
			t.Errorf("class %s of the shared table is missing from the embedded one", c)
		}
	}
	if !reflect.DeepEqual(extra, []string{"9233"}) {
		t.Errorf("extra class codes = %v, want [9233]", extra)
	}
	// Row for row, applying the amendment to the shared table gives the
	// embedded one, in the same order.
	var want [][]string
	for _, row := range shared {
		if reflect.DeepEqual(row, amendment1.removed[0]) {
			want = append(want, amendment1.added...)
			continue
		}
		if containsRow(amendment1.removed, row) {
			continue
		}
		want = append(want, row)
	}
	if !reflect.DeepEqual(embedded, want) {
		for i := range min(len(embedded), len(want)) {
			if !reflect.DeepEqual(embedded[i], want[i]) {
				t.Fatalf("embedded row %d = %v, want %v", i+2, embedded[i], want[i])
			}
		}
		t.Fatalf("embedded has %d rows, want %d", len(embedded), len(want))
	}
}

func TestIndustriesTable(t *testing.T) {
	in := Industries()
	counts := map[IndustryLevel]int{}
	for _, row := range mustRows(t, industriesCSV) {
		counts[IndustryLevel(row[2])]++
	}
	want := map[IndustryLevel]int{LevelSection: 20, LevelDivision: 97, LevelGroup: 473, LevelClass: 1382}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("level counts = %v, want %v", counts, want)
	}
	if got := len(in.Classes()); got != 1382 {
		t.Errorf("Classes() = %d, want 1382", got)
	}
	c, ok := in.Lookup("9231")
	if !ok || c.Name != "监察委员会" || c.Parent != "923" {
		t.Errorf("Lookup(9231) = %+v, %v", c, ok)
	}
	for code, section := range map[string]string{"6291": "H", "0111": "A", "9233": "S", "9700": "T", "52": "F", "A": "A"} {
		s, ok := in.Section(code)
		if !ok || s.Code != section || s.Level != LevelSection {
			t.Errorf("Section(%s) = %+v, %v; want %s", code, s, ok, section)
		}
	}
	if _, ok := in.Section("9999"); ok {
		t.Error("Section(9999) found a section")
	}
}

func TestCheckIndustry(t *testing.T) {
	tests := []struct{ code, wantMsg string }{
		{"6291", ""},
		{"9233", ""},
		{"", "行业代码不能为空"},
		{"9234", "行业代码 9234 不存在于国民经济行业分类"},
		{"62", "行业代码 62（餐饮业）是大类代码，应填写4位小类代码"},
		{"629", "行业代码 629（其他餐饮业）是中类代码"},
		{"H", "行业代码 H（住宿和餐饮业）是门类代码"},
		{"62a1", "行业代码 62a1 无效，应为4位数字"},
		{"62910", "行业代码 62910 无效"},
	}
	for _, tt := range tests {
		checkMsg(t, "CheckIndustry("+tt.code+")", CheckIndustry(tt.code), "industry_code", tt.wantMsg)
	}
}

func mustRows(t *testing.T, data string) [][]string {
	t.Helper()
	rows, err := readTable(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func countLevel(rows [][]string, level string) int {
	return len(codeSet(rows, level))
}

func codeSet(rows [][]string, level string) map[string]bool {
	set := map[string]bool{}
	for _, r := range rows {
		if r[2] == level {
			set[r[0]] = true
		}
	}
	return set
}

func containsRow(rows [][]string, row []string) bool {
	for _, r := range rows {
		if reflect.DeepEqual(r, row) {
			return true
		}
	}
	return false
}
