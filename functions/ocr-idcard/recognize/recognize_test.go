package recognize

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sjzamr/smartreg/tests/cardgen"
)

// dump writes the field images of a card to $OCR_DUMP (for looking at
// what Tesseract is given when tuning; nothing is written otherwise).
func dump(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("OCR_DUMP")
	if dir == "" || img == nil {
		return
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	os.WriteFile(filepath.Join(dir, name+".png"), b.Bytes(), 0o644)
}

func decodeSample(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := Decode(b, DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Generated phone photos of both sides are read field by field with real
// Tesseract. The seeds here are the tuning set; tests/bench/ocrbench
// measures on seeds tuning never saw.
func TestReadGeneratedCards(t *testing.T) {
	e := NewEngines(1, "")
	defer e.Close()
	ctx := context.Background()
	n := 8
	if s := os.Getenv("OCR_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	var okNum, okName, okBirth, okAddr, okSex, okEth, okAuth, okValid int
	for i := 0; i < n; i++ {
		s := cardgen.NewSample(rand.New(rand.NewPCG(100, uint64(i))), cardgen.Realistic)
		p := s.Person
		img := decodeSample(t, s.FrontJPEG)
		doc, _, err := normalise(img, cardW, cardH, cardScale)
		if err != nil {
			t.Errorf("card %d: %v", i, err)
			continue
		}
		for name, z := range map[string]zone{"name": zName, "num": zNumber, "addr": zAddress, "birth": zBirth, "sex": zSex, "eth": zEthnicity} {
			dump(t, fmt.Sprintf("%03d-%s", i, name), fieldImage(doc, cardScale, z, blue))
		}
		f, err := e.readFront(ctx, doc)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.ReadBack(ctx, decodeSample(t, s.BackJPEG), f.IDNumber.Value)
		if err != nil {
			t.Errorf("back %d: %v", i, err)
		}
		report := func(ok *int, what, got, want string) {
			if got == want {
				*ok++
			} else {
				t.Logf("card %d %s: read %q, truth %q", i, what, got, want)
			}
		}
		if f.IDNumber.Value != p.IDNumber && !f.IDNumber.Flagged {
			t.Errorf("card %d: wrong number %s not flagged", i, f.IDNumber.Value)
		}
		report(&okNum, "number", f.IDNumber.Value, p.IDNumber)
		report(&okName, "name", f.Name.Value, p.Name)
		report(&okBirth, "birth", f.Birth.Value, p.Birth.Format("2006-01-02"))
		report(&okAddr, "address", f.Address.Value, p.Address)
		report(&okSex, "sex", f.Sex.Value, p.Sex)
		report(&okEth, "ethnicity", f.Ethnicity.Value, p.Ethnicity)
		report(&okAuth, "authority", b.Authority.Value, p.Authority)
		until := "长期"
		if !p.ValidUntil.IsZero() {
			until = p.ValidUntil.Format("2006-01-02")
		}
		report(&okValid, "validity", b.ValidFrom.Value+"/"+b.ValidUntil.Value, p.ValidFrom.Format("2006-01-02")+"/"+until)
	}
	t.Logf("of %d: number %d, name %d, birth %d, address %d, sex %d, ethnicity %d, authority %d, validity %d",
		n, okNum, okName, okBirth, okAddr, okSex, okEth, okAuth, okValid)
	if okNum < n-1 || okBirth < n-1 || okName < n-2 {
		t.Errorf("number %d, birth %d, name %d of %d", okNum, okBirth, okName, n)
	}
}

func TestReadGeneratedLicences(t *testing.T) {
	e := NewEngines(1, "")
	defer e.Close()
	n := 6
	okCode, okName := 0, 0
	for i := 0; i < n; i++ {
		s := cardgen.NewSample(rand.New(rand.NewPCG(200, uint64(i))), cardgen.Realistic)
		l, err := e.ReadLicence(context.Background(), decodeSample(t, s.LicenceJPEG))
		if err != nil {
			t.Errorf("licence %d: %v", i, err)
			continue
		}
		if l.CreditCode.Value == s.Licence.CreditCode {
			okCode++
		} else {
			if !l.CreditCode.Flagged {
				t.Errorf("licence %d: wrong code %s not flagged", i, l.CreditCode.Value)
			}
			t.Logf("licence %d code: read %q truth %q", i, l.CreditCode.Value, s.Licence.CreditCode)
		}
		if l.Name.Value == s.Licence.Name {
			okName++
		} else {
			t.Logf("licence %d name: read %q truth %q", i, l.Name.Value, s.Licence.Name)
		}
	}
	t.Logf("of %d: code %d, name %d", n, okCode, okName)
	if okCode < n-1 || okName < n-1 {
		t.Errorf("code %d name %d of %d", okCode, okName, n)
	}
}
