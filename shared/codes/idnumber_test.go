package codes

import (
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
)

func TestCheckIDNumber(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		wantMsg string // "" means valid
	}{
		{"standard-example-X", "11010519491231002X", ""},
		{"standard-example-1880", "440524188001010014", ""},
		{"hebei", "130102199003071233", ""},
		{"empty", "", "不能为空"},
		{"old-15-digit", "110105491231002", "长度应为18位，实际为15位"},
		{"too-long", "11010519491231002X1", "长度应为18位，实际为19位"},
		{"letter-inside", "1101051949123100AX", "第17位应为数字"},
		{"chinese", "11010519491231002中", "第18位应为数字或X"},
		{"lowercase-x", "11010519491231002x", "X须大写"},
		{"bad-last", "11010519491231002Y", "第18位应为数字或X"},
		{"province", "99010519491231002X", "省级行政区划代码“99”无效"},
		{"feb-30", "110105194902300022", "出生日期“19490230”无效"},
		{"month-13", "110105194913010022", "出生日期“19491301”无效"},
		{"year-1700", "110105170001010022", "出生日期“17000101”无效"},
		{"check", "110105194912310021", "校验位错误"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckIDNumber(tt.id)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("CheckIDNumber(%q) = %v, want nil", tt.id, err)
				}
				return
			}
			e := errs.As(err)
			if e == nil || e.Code != errs.Invalid || !strings.HasPrefix(e.Message, "身份证号码") || !strings.Contains(e.Message, tt.wantMsg) {
				t.Fatalf("CheckIDNumber(%q) = %v, want invalid mentioning %q", tt.id, err, tt.wantMsg)
			}
			if len(e.Fields) != 1 || e.Fields[0].Field != "id_number" {
				t.Errorf("fields = %+v, want id_number", e.Fields)
			}
		})
	}
}

func TestIDCheckChar(t *testing.T) {
	for first17, want := range map[string]byte{"11010519491231002": 'X', "44052418800101001": '4', "13010219900307123": '3'} {
		if got, err := IDCheckChar(first17); err != nil || got != want {
			t.Errorf("IDCheckChar(%q) = %q, %v; want %q", first17, got, err, want)
		}
	}
	if _, err := IDCheckChar("1101051949123100"); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("short input: %v, want invalid", err)
	}
}
