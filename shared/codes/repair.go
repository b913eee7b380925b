package codes

import (
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
)

// idConfusions maps the characters an OCR engine reads instead of a digit
// to that digit. Positions 1–17 of an ID number and every position of a
// credit code hold no such letter, so the replacement is not a guess.
var idConfusions = map[byte]byte{
	'O': '0', 'o': '0', 'D': '0', 'Q': '0', 'U': '0',
	'I': '1', 'l': '1', 'i': '1', '|': '1', 'L': '1', 'J': '1',
	'Z': '2', 'z': '2',
	'S': '5', 's': '5',
	'G': '6', 'b': '6',
	'T': '7',
	'B': '8',
	'g': '9', 'q': '9',
}

// creditConfusions maps letters GB 32100 leaves out (I, O, S, V, Z) and
// lower case to what the code must have held.
var creditConfusions = map[byte]byte{'I': '1', 'O': '0', 'S': '5', 'V': 'U', 'Z': '2', 'i': '1', 'o': '0', 'l': '1', '|': '1'}

// Repair is the outcome of checking a reading and, when it fails, trying
// the alternatives.
type Repair struct {
	Value    string   // the valid value, or the reading when none was found
	Valid    bool     // Value passes every check
	Repaired bool     // Value differs from the reading
	Changed  []int    // 0-based positions that were replaced
	Reason   string   // why the reading was flagged (Chinese), when !Valid
	Options  []string // the valid alternatives when more than one was found
}

// RepairIDNumber checks an ID number read by OCR. Characters that cannot
// stand where they are (O for 0, I for 1, B for 8 …) are replaced first;
// if the number then fails its checks (GB 11643 check character, birth
// date, GB/T 2260 region), every single replacement among alts (alts[i]
// are the engine's other readings of position i, best first) is tried, and
// the number is repaired only when exactly one of them is valid. Several
// valid alternatives, or none, leave the reading flagged for a person.
func RepairIDNumber(read string, alts [][]byte) Repair {
	norm := normalise(read, 17, idConfusions)
	check := func(s string) error {
		if err := CheckIDNumber(s); err != nil {
			return err
		}
		return CheckIDRegion(s)
	}
	return repair(read, norm, alts, check)
}

// RepairCreditCode is RepairIDNumber for a unified social credit code
// (GB 32100 check character).
func RepairCreditCode(read string, alts [][]byte) Repair {
	norm := normalise(strings.ToUpper(read), 18, creditConfusions)
	return repair(read, norm, alts, CheckCreditCode)
}

func normalise(s string, upto int, conf map[byte]byte) string {
	b := []byte(s)
	for i := range b {
		if i >= upto {
			if b[i] == 'x' {
				b[i] = 'X'
			}
			continue
		}
		if r, ok := conf[b[i]]; ok {
			b[i] = r
		}
	}
	return string(b)
}

func repair(read, norm string, alts [][]byte, check func(string) error) Repair {
	err := check(norm)
	if err == nil {
		return Repair{Value: norm, Valid: true, Repaired: norm != read, Changed: diff(read, norm)}
	}
	seen := map[string]bool{}
	var found []string
	if len(norm) == 18 {
		b := []byte(norm)
		for i := range b {
			if i >= len(alts) {
				break
			}
			orig := b[i]
			for _, c := range alts[i] {
				if c == orig {
					continue
				}
				b[i] = c
				s := string(b)
				if !seen[s] && check(s) == nil {
					seen[s] = true
					found = append(found, s)
				}
			}
			b[i] = orig
		}
	}
	switch len(found) {
	case 1:
		return Repair{Value: found[0], Valid: true, Repaired: true, Changed: diff(read, found[0])}
	case 0:
		return Repair{Value: norm, Reason: errMessage(err)}
	default:
		return Repair{Value: norm, Reason: "存在多个可能的读法，请人工核对", Options: found}
	}
}

func diff(a, b string) []int {
	var out []int
	for i := 0; i < len(b); i++ {
		if i >= len(a) || a[i] != b[i] {
			out = append(out, i)
		}
	}
	return out
}

func errMessage(err error) string {
	if e, ok := err.(*errs.Error); ok {
		return e.Message
	}
	return err.Error()
}

// IDBirthDate is the birth date held in digits 7–14 of a valid number.
func IDBirthDate(id string) (time.Time, bool) {
	if len(id) < 14 {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102", id[6:14])
	return t, err == nil
}

// IDSex is 男 or 女 from digit 17 (odd for men), "" when unreadable.
func IDSex(id string) string {
	if len(id) < 17 || id[16] < '0' || id[16] > '9' {
		return ""
	}
	if (id[16]-'0')%2 == 1 {
		return "男"
	}
	return "女"
}

// CheckIDValidity checks a card's validity period against its holder's age
// on the day of issue (居民身份证法 第五条): under 16 five years, 16–25 ten
// years, 26–45 twenty years, 46 and over long-term (长期). longTerm is
// true when the card reads 长期; until is then ignored.
func CheckIDValidity(birth, from, until time.Time, longTerm bool) error {
	if from.Before(birth) {
		return invalid("valid_from", "有效期起始日期早于出生日期")
	}
	age := from.Year() - birth.Year()
	if from.Month() < birth.Month() || from.Month() == birth.Month() && from.Day() < birth.Day() {
		age--
	}
	var years int
	switch {
	case age < 16:
		years = 5
	case age <= 25:
		years = 10
	case age <= 45:
		years = 20
	default:
		if !longTerm {
			return invalid("valid_until", "持证人领证时已满46周岁，有效期应为长期")
		}
		return nil
	}
	if longTerm {
		return invalid("valid_until", "持证人领证时%d周岁，有效期应为%d年，不应为长期", age, years)
	}
	if want := from.AddDate(years, 0, 0); !until.Equal(want) {
		return invalid("valid_until", "有效期应为%d年（至%s），证件为%s", years, want.Format("2006.01.02"), until.Format("2006.01.02"))
	}
	return nil
}
