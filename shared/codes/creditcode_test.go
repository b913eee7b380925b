package codes

import (
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/errs"
)

func TestOrgCodeCheckChar(t *testing.T) {
	tests := []struct {
		body string
		want byte
	}{
		{"M000100Y", '4'}, // from the GB 32100 example code
		{"MA0G1004", 'X'}, // 11 - Σ mod 11 = 10
		{"MA0G1009", '0'}, // 11 - Σ mod 11 = 11
		{"00000000", '0'},
		{"12345678", '8'},
	}
	for _, tt := range tests {
		got, err := OrgCodeCheckChar(tt.body)
		if err != nil || got != tt.want {
			t.Errorf("OrgCodeCheckChar(%q) = %q, %v; want %q", tt.body, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "M000100", "M000100Y4", "m000100Y", "M000-00Y"} {
		if _, err := OrgCodeCheckChar(bad); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("OrgCodeCheckChar(%q) error = %v, want invalid", bad, err)
		}
	}
}

func TestCreditCodeCheckChar(t *testing.T) {
	got, err := CreditCodeCheckChar("91350100M000100Y4")
	if err != nil || got != '3' {
		t.Fatalf("CreditCodeCheckChar = %q, %v; want '3'", got, err)
	}
	for _, bad := range []string{"", "91350100M000100Y", "91350100M000100YI", "91350100M000100Y43"} {
		if _, err := CreditCodeCheckChar(bad); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("CreditCodeCheckChar(%q) error = %v, want invalid", bad, err)
		}
	}
}

func TestCheckCreditCode(t *testing.T) {
	valid := mustMake(t, "91", "130102", "MA0G1004") // org check X
	tests := []struct {
		name    string
		code    string
		wantMsg string // substring of the Chinese message; "" means valid
	}{
		{"standard-example", "91350100M000100Y43", ""},
		{"enterprise", valid, ""},
		{"individual", mustMake(t, "92", "130133", "L0000001"), ""},
		{"cooperative", mustMake(t, "93", "130133", "MA0CXXXX"), ""},
		{"institution", mustMake(t, "12", "130104", "00000000"), ""},
		{"non-enterprise", mustMake(t, "52", "130104", "MA07RLL8"), ""},
		{"empty", "", "不能为空"},
		{"short", valid[:17], "长度应为18位，实际为17位"},
		{"long", valid + "0", "长度应为18位，实际为19位"},
		{"chinese", "91350100M000100Y4中", "第18位含非法字符“中”"},
		{"lowercase", strings.ToLower(valid), "字母须大写"},
		{"letter-I", "91350100I000100Y43", "第9位含非法字符“I”"},
		{"letter-O", "9135010OM000100Y43", "第8位含非法字符“O”"},
		{"space", " 1350100M000100Y43", "第1位含非法字符"},
		{"authority", "B1350100M000100Y43", "第1位登记管理部门代码“B”无效"},
		{"kind", "94350100M000100Y43", "第2位机构类别代码“4”与登记管理部门“9”不匹配"},
		{"district", "9135A100M000100Y43", "第3-8位应为6位数字"},
		{"org-check", "91350100M000100Y53", "组织机构代码校验位错误"},
		{"check", "91350100M000100Y44", "统一社会信用代码校验位错误"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCreditCode(tt.code)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("CheckCreditCode(%q) = %v, want nil", tt.code, err)
				}
				return
			}
			e := errs.As(err)
			if e == nil || e.Code != errs.Invalid {
				t.Fatalf("CheckCreditCode(%q) = %v, want *errs.Error invalid", tt.code, err)
			}
			if !strings.Contains(e.Message, tt.wantMsg) || !strings.HasPrefix(e.Message, "统一社会信用代码") {
				t.Errorf("message %q, want it to name the field and contain %q", e.Message, tt.wantMsg)
			}
			if len(e.Fields) != 1 || e.Fields[0].Field != "credit_code" {
				t.Errorf("fields = %+v, want credit_code", e.Fields)
			}
		})
	}
}

func TestMakeCreditCodeRejects(t *testing.T) {
	tests := []struct{ prefix, district, org string }{
		{"9", "130102", "MA0G1004"},
		{"91", "13010", "MA0G1004"},
		{"91", "130102", "MA0G100"},
		{"91", "130102", "MA0G100I"}, // I is outside the credit alphabet
		{"B1", "130102", "MA0G1004"},
		{"91", "13O102", "MA0G1004"},
	}
	for _, tt := range tests {
		if code, err := MakeCreditCode(tt.prefix, tt.district, tt.org); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("MakeCreditCode(%q, %q, %q) = %q, %v; want invalid", tt.prefix, tt.district, tt.org, code, err)
		}
	}
}

func mustMake(t testing.TB, prefix, district, org string) string {
	t.Helper()
	code, err := MakeCreditCode(prefix, district, org)
	if err != nil {
		t.Fatalf("MakeCreditCode(%q, %q, %q): %v", prefix, district, org, err)
	}
	return code
}

// FuzzCheckCreditCode builds codes from arbitrary parts with MakeCreditCode,
// asserts they validate, and that changing any one character makes them fail
// (every weight is non-zero mod 31, so a single substitution always moves the
// check sum). Arbitrary strings must never panic the checker.
func FuzzCheckCreditCode(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint64(0), uint8(0), uint8(1), "91350100M000100Y43")
	f.Add(uint8(3), uint8(7), uint64(123456789), uint8(17), uint8(30), "")
	f.Add(uint8(1), uint8(23), uint64(852891037440), uint8(8), uint8(5), "9213O133")
	prefixes := []string{"91", "92", "93", "12", "52", "11", "51", "53", "Y1", "N2", "31"}
	counties := Divisions().Counties()
	f.Fuzz(func(t *testing.T, p, d uint8, org uint64, pos, repl uint8, raw string) {
		_ = CheckCreditCode(raw) // must not panic on anything

		body := make([]byte, 8)
		for i := range body {
			body[i] = creditAlphabet[org%31]
			org /= 31
		}
		code, err := MakeCreditCode(prefixes[int(p)%len(prefixes)], counties[int(d)%len(counties)].Code, string(body))
		if err != nil {
			t.Fatalf("MakeCreditCode: %v", err)
		}
		if err := CheckCreditCode(code); err != nil {
			t.Fatalf("CheckCreditCode(%q) = %v for a made code", code, err)
		}
		i := int(pos) % 18
		c := creditAlphabet[int(repl)%len(creditAlphabet)]
		if c == code[i] {
			c = creditAlphabet[(int(repl)+1)%len(creditAlphabet)]
		}
		changed := code[:i] + string(c) + code[i+1:]
		if err := CheckCreditCode(changed); err == nil {
			t.Fatalf("CheckCreditCode(%q) accepted %q with position %d changed", changed, code, i+1)
		}
	})
}
