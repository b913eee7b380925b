// Package cardgen draws synthetic Chinese resident ID cards (居民身份证,
// front and back) and business licences (营业执照), and turns them into
// phone-like photos: the document anywhere on a background, rotated,
// in perspective, unevenly lit, blurred, noisy and JPEG-compressed. It is
// the ground truth of ocr-idcard's tests and of tests/bench/ocrbench; the
// people and companies are random and fictitious (their numbers are
// well-formed, with real region codes and check characters).
package cardgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/codes"
)

// Person is what an ID card prints.
type Person struct {
	Name      string    `json:"name"`
	Sex       string    `json:"sex"`
	Ethnicity string    `json:"ethnicity"`
	Birth     time.Time `json:"birth"`
	Address   string    `json:"address"`
	IDNumber  string    `json:"id_number"`
	Authority string    `json:"authority"`
	ValidFrom time.Time `json:"valid_from"`
	// ValidUntil is zero for a long-term (长期) card.
	ValidUntil time.Time `json:"valid_until"`
}

// ValidityText is the back's 有效期限 as printed: 2015.03.12-2035.03.12 or
// 2015.03.12-长期.
func (p Person) ValidityText() string {
	if p.ValidUntil.IsZero() {
		return p.ValidFrom.Format("2006.01.02") + "-长期"
	}
	return p.ValidFrom.Format("2006.01.02") + "-" + p.ValidUntil.Format("2006.01.02")
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func pickRune(r *rand.Rand, s string) string {
	rs := []rune(s)
	return string(rs[r.IntN(len(rs))])
}

var regions = codes.Regions()

// RandomPerson draws a holder: a name of two to four characters, a region
// anywhere in the country (Hebei more often), a birth date between 1940
// and 2010, a validity period that matches the age at issue.
func RandomPerson(r *rand.Rand) Person {
	var p Person
	if r.IntN(40) == 0 {
		p.Name = pick(r, compoundSurnames)
	} else {
		p.Name = pickRune(r, surnames)
	}
	for n := 1 + r.IntN(2); n > 0; n-- {
		p.Name += pickRune(r, givenChars)
	}
	if r.IntN(10) < 8 {
		p.Ethnicity = "汉"
	} else {
		p.Ethnicity = pick(r, ethnicities)
	}
	reg := pick(r, regions)
	for r.IntN(2) == 0 && !strings.HasPrefix(reg.Code, "13") {
		reg = pick(r, regions)
	}
	p.Birth = time.Date(1940+r.IntN(70), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	seq := fmt.Sprintf("%03d", r.IntN(1000))
	first17 := reg.Code + p.Birth.Format("20060102") + seq
	c, _ := codes.IDCheckChar(first17)
	p.IDNumber = first17 + string(c)
	p.Sex = codes.IDSex(p.IDNumber)
	p.Address = address(r, reg)
	// The authority fits its line (14 characters) as on real cards: a
	// district's 分局 when it fits, else the county's own 公安局.
	county := reg.Name
	p.Authority = county + "公安局"
	if a := reg.City + "公安局" + county + "分局"; strings.HasSuffix(county, "区") && reg.City != "" && len([]rune(a)) <= 14 {
		p.Authority = a
	}
	if r := []rune(p.Authority); len(r) > 14 {
		p.Authority = string(r[len(r)-14:])
	}
	// Issued some time after the 16th birthday (or younger for a few), and
	// no later than 2024.
	age := 5 + r.IntN(60)
	from := p.Birth.AddDate(age, r.IntN(12), r.IntN(28))
	if from.Year() > 2024 {
		from = time.Date(2014+r.IntN(10), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	}
	if from.Before(p.Birth.AddDate(1, 0, 0)) {
		from = p.Birth.AddDate(1, 0, 0)
	}
	p.ValidFrom = from
	a := from.Year() - p.Birth.Year()
	if from.Month() < p.Birth.Month() || from.Month() == p.Birth.Month() && from.Day() < p.Birth.Day() {
		a--
	}
	switch {
	case a < 16:
		p.ValidUntil = from.AddDate(5, 0, 0)
	case a <= 25:
		p.ValidUntil = from.AddDate(10, 0, 0)
	case a <= 45:
		p.ValidUntil = from.AddDate(20, 0, 0)
	}
	return p
}

func address(r *rand.Rand, reg codes.Region) string {
	var b strings.Builder
	b.WriteString(reg.Province)
	if reg.City != "" && reg.City != reg.Province {
		b.WriteString(reg.City)
	}
	b.WriteString(reg.Name)
	if r.IntN(2) == 0 {
		b.WriteString(pick(r, streetWords) + pick(r, streetKinds))
		fmt.Fprintf(&b, "%d号", 1+r.IntN(399))
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "%d栋%d单元%d号", 1+r.IntN(30), 1+r.IntN(6), 101+r.IntN(25)*100+r.IntN(4))
		}
	} else {
		b.WriteString(pick(r, streetWords) + pick(r, townKinds))
		b.WriteString(pick(r, streetWords) + pick(r, villageKinds))
		fmt.Fprintf(&b, "%d号", 1+r.IntN(199))
	}
	s := []rune(b.String())
	if len(s) > 33 {
		s = s[:33]
	}
	return string(s)
}

// Licence is what a business licence (营业执照) prints.
type Licence struct {
	CreditCode     string    `json:"credit_code"`
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	Representative string    `json:"representative"`
	Scope          string    `json:"scope"`
	Capital        string    `json:"capital"`
	Founded        time.Time `json:"founded"`
	Address        string    `json:"address"`
	Authority      string    `json:"authority"`
}

// RandomLicence draws a company in one of Shijiazhuang's districts.
func RandomLicence(r *rand.Rand) Licence {
	var sjz []codes.Region
	for _, reg := range regions {
		if strings.HasPrefix(reg.Code, "1301") && !reg.Abolished && !strings.Contains(reg.Name, "园区") && !strings.Contains(reg.Name, "开发区") {
			sjz = append(sjz, reg)
		}
	}
	reg := pick(r, sjz)
	const base = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	org := "MA0"
	for i := 0; i < 5; i++ {
		org += string(base[r.IntN(len(base))])
	}
	// MakeCreditCode computes the organisation code's check character.
	code, err := codes.MakeCreditCode("91", reg.Code, org[:8])
	if err != nil {
		panic(err)
	}
	place := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(reg.Name, "区"), "县"), "市")
	if len([]rune(place)) < 2 {
		place = reg.Name
	}
	name := "石家庄" + pick(r, brandWords) + pick(r, tradeWords) + pick(r, formWords)
	if r.IntN(2) == 0 {
		name = place + pick(r, brandWords) + pick(r, tradeWords) + pick(r, formWords)
	}
	p := RandomPerson(r)
	return Licence{
		CreditCode: code, Name: name, Type: pick(r, entityTypes), Representative: p.Name,
		Scope: pick(r, scopeWords), Capital: fmt.Sprintf("%d万元", 10*(1+r.IntN(500))),
		Founded: time.Date(2000+r.IntN(24), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC),
		Address: address(r, reg), Authority: "石家庄市" + reg.Name + "市场监督管理局",
	}
}
