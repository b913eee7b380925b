package codes

import (
	"strings"
	"time"
	"unicode/utf8"
)

// idWeights are the GB 11643-1999 weights for the first 17 digits (2^(17-i) mod 11).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idProvinces are the provincial division codes an ID number can start with
// (GB/T 2260 provinces plus 71 Taiwan, 81 Hong Kong, 82 Macao for residence
// permits of the same format).
const idProvinces = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82"

// IDCheckChar computes the 18th character of a resident ID number.
func IDCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, invalid("id_number", "身份证号码前17位长度应为17位，实际为%d位", utf8.RuneCountInString(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, invalid("id_number", "身份证号码第%d位应为数字", i+1)
		}
		sum += int(c-'0') * idWeights[i]
	}
	switch c := (12 - sum%11) % 11; c {
	case 10:
		return 'X', nil
	default:
		return byte('0' + c), nil
	}
}

// CheckIDNumber validates an 18-digit resident ID number: digits, province,
// a real birth date (1800-01-01 to 2099-12-31; a library has no clock, so
// "not in the future" is the caller's check) and the check character. The
// old 15-digit form is rejected: it has no check digit.
func CheckIDNumber(s string) error {
	if s == "" {
		return invalid("id_number", "身份证号码不能为空")
	}
	if n := utf8.RuneCountInString(s); n != 18 {
		return invalid("id_number", "身份证号码长度应为18位，实际为%d位", n)
	}
	pos := 0
	for _, r := range s {
		if pos < 17 && (r < '0' || r > '9') {
			return invalid("id_number", "身份证号码第%d位应为数字", pos+1)
		}
		pos++
	}
	if len(s) != 18 {
		return invalid("id_number", "身份证号码第18位应为数字或X")
	}
	if last := s[17]; (last < '0' || last > '9') && last != 'X' {
		if last == 'x' {
			return invalid("id_number", "身份证号码第18位校验码X须大写")
		}
		return invalid("id_number", "身份证号码第18位应为数字或X")
	}
	if !strings.Contains(" "+idProvinces+" ", " "+s[:2]+" ") {
		return invalid("id_number", "身份证号码前2位省级行政区划代码“%s”无效", s[:2])
	}
	if !validBirthDate(s[6:14]) {
		return invalid("id_number", "身份证号码中的出生日期“%s”无效", s[6:14])
	}
	c, err := IDCheckChar(s[:17])
	if err != nil {
		return err
	}
	if c != s[17] {
		return invalid("id_number", "身份证号码校验位错误")
	}
	return nil
}

// validBirthDate reports whether yyyymmdd is a real calendar date in range.
func validBirthDate(yyyymmdd string) bool {
	t, err := time.Parse("20060102", yyyymmdd)
	if err != nil {
		return false
	}
	return t.Year() >= 1800 && t.Year() <= 2099
}
