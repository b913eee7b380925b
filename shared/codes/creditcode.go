// Package codes validates the national codes SmartReg accepts at its input
// edge: the unified social credit code (GB 32100-2015), the resident ID number
// (GB 11643-1999), Shijiazhuang's administrative divisions (GB/T 2260) and the
// industry classification (GB/T 4754-2017). Every check returns a *errs.Error
// with code Invalid and a Chinese message that names the field, so handlers can
// pass it straight to the client.
package codes

import (
	"fmt"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/errs"
)

// creditAlphabet is the GB 32100 character set; a character's value is its
// index. I, O, S, V and Z are left out so they cannot be mistaken for 1, 0, 5, U
// and 2.
const creditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditWeights are the GB 32100 weights for positions 1–17 (3^(i) mod 31).
var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// orgWeights are the GB 11714 weights for the eight body characters.
var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// creditKinds lists, per registering authority (position 1), the entity kinds
// (position 2) that GB 32100-2015 table 1 defines. A code whose first two
// characters are not here was not issued under the standard.
var creditKinds = map[byte]string{
	'1': "1239", // 机构编制：机关、事业单位、中央编办直管群众团体、其他
	'2': "19",   // 外交
	'3': "123459",
	'4': "19", // 文化
	'5': "1239",
	'6': "129", // 旅游
	'7': "129", // 宗教
	'8': "19",  // 工会
	'9': "123", // 工商（市场监管）：企业、个体工商户、农民专业合作社
	'A': "19",  // 中央军委改革和编制办公室
	'N': "1239",
	'Y': "1",
}

// creditValue returns the value of c in the GB 32100 alphabet, or -1.
func creditValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		for i := 10; i < len(creditAlphabet); i++ {
			if creditAlphabet[i] == c {
				return i
			}
		}
	}
	return -1
}

// base36Value is the GB 11714 value of an organisation-code character
// (0–9, A=10 … Z=35), or -1. It differs from creditValue for letters after H.
func base36Value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// invalid builds the Invalid error every check returns: the message names the
// field in Chinese, and Fields carries the JSON name for forms.
func invalid(field, format string, args ...any) *errs.Error {
	msg := fmt.Sprintf(format, args...)
	return &errs.Error{Code: errs.Invalid, Message: msg, Fields: []errs.FieldError{{Field: field, Message: msg}}}
}

// CreditCodeCheckChar computes the 18th character of a unified social credit
// code from its first 17.
func CreditCodeCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, invalid("credit_code", "统一社会信用代码前17位长度应为17位，实际为%d位", utf8.RuneCountInString(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := creditValue(first17[i])
		if v < 0 {
			return 0, illegalChar(first17, i)
		}
		sum += v * creditWeights[i]
	}
	return creditAlphabet[(31-sum%31)%31], nil
}

// OrgCodeCheckChar computes the check character of an organisation code
// (GB 11714) from its eight body characters.
func OrgCodeCheckChar(first8 string) (byte, error) {
	if len(first8) != 8 {
		return 0, invalid("org_code", "组织机构代码本体长度应为8位，实际为%d位", utf8.RuneCountInString(first8))
	}
	sum := 0
	for i := 0; i < 8; i++ {
		v := base36Value(first8[i])
		if v < 0 {
			return 0, invalid("org_code", "组织机构代码第%d位含非法字符“%s”", i+1, charAt(first8, i))
		}
		sum += v * orgWeights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X', nil
	case 11:
		return '0', nil
	default:
		return byte('0' + c), nil
	}
}

// CheckCreditCode validates a unified social credit code: length, alphabet,
// registering authority and kind, the district part, the embedded
// organisation code's check character and the code's own check character.
// It does not trim or upper-case: callers normalise before checking so that
// what is stored is exactly what was validated.
func CheckCreditCode(s string) error {
	if s == "" {
		return invalid("credit_code", "统一社会信用代码不能为空")
	}
	if n := utf8.RuneCountInString(s); n != 18 {
		return invalid("credit_code", "统一社会信用代码长度应为18位，实际为%d位", n)
	}
	pos := 0
	for i, r := range s {
		if r >= utf8.RuneSelf || creditValue(byte(r)) < 0 {
			return illegalRune(pos, s[i:])
		}
		pos++
	}
	// From here on s is 18 ASCII bytes.
	kinds, ok := creditKinds[s[0]]
	if !ok {
		return invalid("credit_code", "统一社会信用代码第1位登记管理部门代码“%c”无效", s[0])
	}
	if !containsByte(kinds, s[1]) {
		return invalid("credit_code", "统一社会信用代码第2位机构类别代码“%c”与登记管理部门“%c”不匹配", s[1], s[0])
	}
	for i := 2; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return invalid("credit_code", "统一社会信用代码第3-8位应为6位数字的行政区划代码")
		}
	}
	oc, err := OrgCodeCheckChar(s[8:16])
	if err != nil {
		return invalid("credit_code", "统一社会信用代码第9-16位不是有效的组织机构代码本体")
	}
	if oc != s[16] {
		return invalid("credit_code", "统一社会信用代码第9-17位组织机构代码校验位错误")
	}
	cc, err := CreditCodeCheckChar(s[:17])
	if err != nil {
		return err
	}
	if cc != s[17] {
		return invalid("credit_code", "统一社会信用代码校验位错误")
	}
	return nil
}

// MakeCreditCode assembles a valid credit code from its parts, computing both
// check characters: prefix2 is the authority and kind (e.g. "91"), district6 a
// six-digit division code, orgBase8 the organisation-code body. The synthetic
// generator and the tests build codes with it.
func MakeCreditCode(prefix2, district6, orgBase8 string) (string, error) {
	if len(prefix2) != 2 {
		return "", invalid("credit_code", "统一社会信用代码前2位应为登记管理部门代码和机构类别代码")
	}
	if len(district6) != 6 {
		return "", invalid("credit_code", "行政区划代码应为6位数字")
	}
	if len(orgBase8) != 8 {
		return "", invalid("credit_code", "组织机构代码本体应为8位")
	}
	for i := 0; i < 8; i++ {
		// The body must also fit the credit alphabet, which has no I, O, S, V, Z.
		if creditValue(orgBase8[i]) < 0 {
			return "", invalid("credit_code", "组织机构代码本体第%d位含非法字符“%s”", i+1, charAt(orgBase8, i))
		}
	}
	oc, err := OrgCodeCheckChar(orgBase8)
	if err != nil {
		return "", err
	}
	first17 := prefix2 + district6 + orgBase8 + string(oc)
	cc, err := CreditCodeCheckChar(first17)
	if err != nil {
		return "", err
	}
	code := first17 + string(cc)
	// Validate the whole so a bad prefix or district fails here, not later.
	if err := CheckCreditCode(code); err != nil {
		return "", err
	}
	return code, nil
}

func illegalChar(s string, i int) *errs.Error {
	return illegalRune(utf8.RuneCountInString(s[:i]), s[i:])
}

// illegalRune reports the character at the start of rest, which is at
// 0-based character position pos of a credit code.
func illegalRune(pos int, rest string) *errs.Error {
	c := charAt(rest, 0)
	switch {
	case c >= "a" && c <= "z":
		return invalid("credit_code", "统一社会信用代码第%d位含非法字符“%s”（字母须大写）", pos+1, c)
	case c == "I" || c == "O" || c == "S" || c == "V" || c == "Z":
		return invalid("credit_code", "统一社会信用代码第%d位含非法字符“%s”（不使用I、O、S、V、Z）", pos+1, c)
	}
	return invalid("credit_code", "统一社会信用代码第%d位含非法字符“%s”", pos+1, c)
}

// charAt returns the character starting at byte i for error messages, or the
// raw byte in hex when it is not valid UTF-8.
func charAt(s string, i int) string {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("\\x%02x", s[i])
	}
	return string(r)
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
