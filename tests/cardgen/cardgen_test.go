package cardgen

import (
	"bytes"
	"image/jpeg"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/codes"
)

// Every character a card can carry is in the embedded font subsets, so a
// generated card never prints a blank where the truth has a character.
func TestFontsCoverEveryCharacter(t *testing.T) {
	all := surnames + givenChars + labels + strings.Join(compoundSurnames, "") + strings.Join(ethnicities, "") +
		strings.Join(streetWords, "") + strings.Join(streetKinds, "") + strings.Join(townKinds, "") +
		strings.Join(villageKinds, "") + strings.Join(brandWords, "") + strings.Join(tradeWords, "") +
		strings.Join(formWords, "") + strings.Join(entityTypes, "") + strings.Join(scopeWords, "") + "栋单元号（）副本"
	for _, reg := range codes.Regions() {
		all += reg.Name + reg.Province + reg.City
	}
	if m := Missing(all); len(m) > 0 {
		t.Fatalf("characters missing from fonts/ (extend fonts/charset.txt, run fonts/mkfonts.sh): %q", string(m))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		p, l := RandomPerson(r), RandomLicence(r)
		if m := Missing(p.Name + p.Address + p.Authority + p.Ethnicity + l.Name + l.Address + l.Type + l.Scope); len(m) > 0 {
			t.Fatalf("sample %d draws %q", i, string(m))
		}
	}
}

func TestPeopleAreWellFormed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		p := RandomPerson(r)
		if err := codes.CheckIDNumber(p.IDNumber); err != nil {
			t.Fatalf("%s: %v", p.IDNumber, err)
		}
		if err := codes.CheckIDRegion(p.IDNumber); err != nil {
			t.Fatalf("%s: %v", p.IDNumber, err)
		}
		if b, _ := codes.IDBirthDate(p.IDNumber); !b.Equal(p.Birth) || codes.IDSex(p.IDNumber) != p.Sex {
			t.Fatalf("%+v: number disagrees with birth or sex", p)
		}
		if err := codes.CheckIDValidity(p.Birth, p.ValidFrom, p.ValidUntil, p.ValidUntil.IsZero()); err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if n := len([]rune(p.Address)); n < 8 || n > 33 {
			t.Fatalf("address %q", p.Address)
		}
		l := RandomLicence(r)
		if err := codes.CheckCreditCode(l.CreditCode); err != nil {
			t.Fatalf("%s: %v", l.CreditCode, err)
		}
	}
}

func TestPhotographPutsTheCardWhereItSays(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	card := Front(RandomPerson(r), RandomStyle(r), 8)
	o := Realistic
	o.Width, o.Height = 800, 600
	b, shot := Photograph(card, r, o)
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 800 || shot.Quality < 40 || shot.Quality > 90 {
		t.Fatalf("size %v quality %d", img.Bounds(), shot.Quality)
	}
	// The card is light, the centre of its quad must be brighter than the
	// background darkest corner of the frame on average.
	cx := (shot.Corners[0][0] + shot.Corners[2][0]) / 2
	cy := (shot.Corners[0][1] + shot.Corners[2][1]) / 2
	for _, c := range shot.Corners {
		if c[0] < 0 || c[1] < 0 || c[0] > 800 || c[1] > 600 {
			t.Fatalf("corner %v outside the frame", c)
		}
	}
	if !inside(shot.Corners, cx, cy) || inside(shot.Corners, 1, 1) {
		t.Fatal("quad test")
	}
}
