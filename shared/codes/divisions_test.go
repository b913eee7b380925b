package codes

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
)

func TestEmbeddedDivisionsMatchSharedData(t *testing.T) {
	shared := readSharedTable(t, "shijiazhuang-divisions-gbt2260.csv")
	embedded, err := readTable(strings.NewReader(divisionsCSV))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(embedded, shared) {
		t.Fatalf("embedded division table differs from %s/shijiazhuang-divisions-gbt2260.csv; copy it again", sharedDataDir)
	}
}

func TestDivisionsTable(t *testing.T) {
	d := Divisions()
	if got := len(d.Counties()); got != 24 {
		t.Errorf("Counties() = %d, want 22 districts/counties/cities + 2 zones = 24", got)
	}
	c, ok := d.Lookup("130102")
	if !ok || c.Name != "长安区" || c.Level != LevelCounty || c.Parent != "130100" {
		t.Errorf("Lookup(130102) = %+v, %v", c, ok)
	}
	ts := d.Townships("130102")
	if len(ts) == 0 || ts[0].Code != "130102001" || ts[0].Name != "建北街道" {
		t.Errorf("Townships(130102) starts %+v", ts)
	}
	total := 0
	for _, county := range d.Counties() {
		for _, tw := range d.Townships(county.Code) {
			if tw.Parent != county.Code || tw.Level != LevelTownship || len(tw.Code) != 9 || tw.Code[:6] != county.Code {
				t.Errorf("township %+v under %s", tw, county.Code)
			}
			total++
		}
	}
	if total != 280 {
		t.Errorf("townships = %d, want 280 (the count in the shared file)", total)
	}
	// Callers must not be able to change the table through returned slices.
	d.Counties()[0].Name = "x"
	if d.Counties()[0].Name == "x" {
		t.Error("Counties() exposes the table's backing array")
	}
}

func TestCheckDistrict(t *testing.T) {
	tests := []struct {
		code, wantMsg string
	}{
		{"130102", ""},
		{"130133", ""},
		{"130171", ""}, // high-tech zone: a statistics-only county-level zone
		{"", "行政区划代码不能为空"},
		{"130199", "行政区划代码 130199 不存在或不属于石家庄市"},
		{"110105", "行政区划代码 110105 不存在或不属于石家庄市"},
		{"130100", "行政区划代码 130100（石家庄市）不是县级行政区划"},
		{"130102001", "行政区划代码 130102001（建北街道）不是县级行政区划"},
	}
	for _, tt := range tests {
		checkMsg(t, "CheckDistrict("+tt.code+")", CheckDistrict(tt.code), "district_code", tt.wantMsg)
	}
}

func TestCheckTownship(t *testing.T) {
	tests := []struct {
		district, township, wantMsg string
	}{
		{"130102", "", ""},
		{"130102", "130102001", ""},
		{"130102", "130104001", "不属于行政区划 130102"},
		{"130102", "130102999", "乡镇（街道）代码 130102999 不存在或不属于石家庄市"},
		{"130102", "130102", "乡镇（街道）代码 130102 不存在或不属于石家庄市"},
	}
	for _, tt := range tests {
		checkMsg(t, "CheckTownship("+tt.district+", "+tt.township+")", CheckTownship(tt.district, tt.township), "township_code", tt.wantMsg)
	}
}

// checkMsg asserts err is nil when wantMsg is empty, otherwise an Invalid
// *errs.Error naming field whose message contains wantMsg.
func checkMsg(t *testing.T, call string, err error, field, wantMsg string) {
	t.Helper()
	if wantMsg == "" {
		if err != nil {
			t.Errorf("%s = %v, want nil", call, err)
		}
		return
	}
	e := errs.As(err)
	if e == nil || e.Code != errs.Invalid || !strings.Contains(e.Message, wantMsg) {
		t.Errorf("%s = %v, want invalid containing %q", call, err, wantMsg)
		return
	}
	if len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Errorf("%s fields = %+v, want %s", call, e.Fields, field)
	}
}
