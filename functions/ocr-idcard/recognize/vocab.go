package recognize

import (
	"strings"
	"sync"

	"github.com/sjzamr/smartreg/shared/codes"
)

// Division names are a closed vocabulary: an address starts with its
// province, city and county, and an issuing authority is a county's
// 公安局 or a city's 公安局 and district 分局. A reading that is within a
// character or two of exactly one of these is corrected to it (the
// characters Tesseract misses in names like 弋江区 or 左翼中旗).

type vocabulary struct {
	prefixes    [][]rune // province+city+county
	authorities [][]rune
}

var (
	vocabOnce sync.Once
	vocab     vocabulary
)

func divisionVocabulary() *vocabulary {
	vocabOnce.Do(func() {
		for _, r := range codes.Regions() {
			city := r.City
			if city == r.Province {
				city = ""
			}
			vocab.prefixes = append(vocab.prefixes, []rune(r.Province+city+r.Name))
			vocab.authorities = append(vocab.authorities, []rune(r.Name+"公安局"))
			if city != "" {
				vocab.authorities = append(vocab.authorities, []rune(city+"公安局"+r.Name+"分局"))
			}
		}
	})
	return &vocab
}

// snapPrefix replaces the start of text by the one candidate it is
// nearest to, when that candidate is close (at most one edit in six
// characters) and no other is as close; ok reports a replacement or an
// exact match.
func snapPrefix(text string, candidates [][]rune, preferred ...[]rune) (string, bool) {
	t := []rune(text)
	// A candidate the ID number points to wins its ties: 飞江区 is as near
	// 弋江区 as 鸠江区, but the number says 340203.
	for _, c := range preferred {
		limit := max(1, len(c)/6)
		for _, n := range []int{len(c), len(c) - 1, len(c) + 1} {
			if n > 0 && n <= len(t) && runeDistance(t[:n], c, limit) <= limit {
				return string(c) + string(t[n:]), true
			}
		}
	}
	best, bestD, bestLen, ties := -1, 1<<30, 0, 0
	for i, c := range candidates {
		if len(c) > len(t)+2 || len(c) < 2 {
			continue
		}
		limit := max(1, len(c)/6)
		if len(c) < 3 {
			limit = 0 // two characters: only an exact match counts
		}
		for _, n := range []int{len(c), len(c) - 1, len(c) + 1} {
			if n <= 0 || n > len(t) {
				continue
			}
			d := runeDistance(t[:n], c, limit)
			if d > limit {
				continue
			}
			switch {
			case d < bestD || d == bestD && len(c) > len(candidates[best]):
				best, bestD, bestLen, ties = i, d, n, 0
			case d == bestD && i != best && !equalRunes(c, candidates[best]) && len(c) == len(candidates[best]):
				ties++
			}
		}
	}
	if best < 0 || ties > 0 {
		return text, false
	}
	return string(candidates[best]) + string(t[bestLen:]), true
}

func equalRunes(a, b []rune) bool { return string(a) == string(b) }

// runeDistance is the edit distance, giving up (answering limit+1) once
// every path exceeds limit.
func runeDistance(a, b []rune, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// regionNames are the address prefix and authorities of the region an ID
// number was issued in.
func regionNames(id string) (prefix []rune, authorities [][]rune) {
	if len(id) < 6 {
		return nil, nil
	}
	r, ok := codes.LookupRegion(id[:6])
	if !ok {
		return nil, nil
	}
	city := r.City
	if city == r.Province {
		city = ""
	}
	authorities = [][]rune{[]rune(r.Name + "公安局")}
	if city != "" {
		authorities = append([][]rune{[]rune(city + "公安局" + r.Name + "分局")}, authorities...)
	}
	return []rune(r.Province + city + r.Name), authorities
}

// snapAddress corrects an address's division prefix, preferring the
// region of the (valid) ID number.
func snapAddress(f *Field, id string) {
	var pref [][]rune
	if p, _ := regionNames(id); p != nil {
		pref = [][]rune{p}
	}
	if s, ok := snapPrefix(f.Value, divisionVocabulary().prefixes, pref...); ok {
		f.Repaired = f.Repaired || s != f.Value
		f.Value = s
		f.Checks = append(f.Checks, Check{Name: "division", Passed: true})
		return
	}
	f.Checks = append(f.Checks, Check{Name: "division", Passed: false, Message: "地址开头不是已知的省市县名称"})
}

// snapAuthority corrects an issuing authority to a known 公安局 / 分局.
func snapAuthority(f *Field, id string) {
	v := strings.TrimSpace(f.Value)
	_, pref := regionNames(id)
	if s, ok := snapPrefix(v, divisionVocabulary().authorities, pref...); ok && len([]rune(s)) <= len([]rune(v))+2 {
		f.Repaired = f.Repaired || s != f.Value
		f.Value = s
		f.Checks = append(f.Checks, Check{Name: "authority", Passed: true})
		return
	}
	f.Checks = append(f.Checks, Check{Name: "authority", Passed: false, Message: "签发机关不是已知的公安机关名称"})
}

var (
	placeOnce sync.Once
	places    [][]rune
)

// snapLicenceName corrects the place a company name starts with (石家庄,
// or one of its counties, with or without 区/县/市) — a name registered in
// Shijiazhuang nearly always starts so.
func snapLicenceName(f *Field, creditCode string) {
	placeOnce.Do(func() {
		places = append(places, []rune("石家庄市"), []rune("石家庄"), []rune("河北"))
		for _, r := range codes.Regions() {
			if !strings.HasPrefix(r.Code, "1301") || r.Abolished {
				continue
			}
			places = append(places, []rune(r.Name))
			if n := []rune(r.Name); len(n) > 2 {
				places = append(places, n[:len(n)-1])
			}
		}
	})
	if s, ok := snapPrefix(f.Value, places, codePlaces(creditCode)...); ok && s != f.Value {
		f.Value, f.Repaired = s, true
	}
}

// codePlaces is the name of the county a valid credit code registers the
// entity in (its characters 3–8): a
// local entity's name usually starts with it, so it settles a misread
// first character (葛城, 紊城) that no other place is nearer to.
func codePlaces(creditCode string) [][]rune {
	if len(creditCode) != 18 || codes.CheckCreditCode(creditCode) != nil {
		return nil
	}
	r, ok := codes.LookupRegion(creditCode[2:8])
	if !ok {
		return nil
	}
	// The short form only (藁城 of 藁城区): names say 藁城XX商行, and the
	// full form would eat the character after the place (平山博远 is as
	// near 平山县 as 平山).
	n := []rune(r.Name)
	if len(n) > 2 {
		return [][]rune{n[:len(n)-1]}
	}
	return [][]rune{n}
}
