package codes

import (
	"testing"
	"time"
)

func TestLookupRegionNational(t *testing.T) {
	for code, want := range map[string]string{"130102": "长安区", "440305": "南山区", "650102": "天山区", "130103": "桥东区"} {
		r, ok := LookupRegion(code)
		if !ok || r.Name != want {
			t.Errorf("%s: %+v %v, want %s", code, r, ok, want)
		}
	}
	if r, _ := LookupRegion("130103"); !r.Abolished || r.City != "石家庄市" || r.Province != "河北省" {
		t.Errorf("abolished 130103: %+v", r)
	}
	if _, ok := LookupRegion("139999"); ok {
		t.Error("an unknown code found")
	}
	if n := RegionCount(); n < 2900 {
		t.Errorf("only %d county-level codes: the whole country should be there", n)
	}
	if err := CheckIDRegion("130103199003071236"); err != nil {
		t.Errorf("a number issued under an abolished code refused: %v", err)
	}
	if err := CheckIDRegion("139999199003071236"); err == nil {
		t.Error("an unknown region accepted")
	}
}

func withCheck(first17 string) string {
	c, err := IDCheckChar(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

func TestRepairIDNumber(t *testing.T) {
	good := withCheck("13010219900307123")
	// Letters where only digits can stand are replaced without a guess.
	r := RepairIDNumber("13O1021990O3071"+good[15:], nil)
	if !r.Valid || r.Value != good || !r.Repaired || len(r.Changed) != 2 {
		t.Fatalf("confusions: %+v, want %s", r, good)
	}
	// A wrong digit with one alternative that makes it valid is repaired.
	bad := []byte(good)
	bad[15] = good[15] + 1
	alts := make([][]byte, 18)
	alts[15] = []byte{bad[15], good[15]}
	alts[3] = []byte{'1', '7'}
	r = RepairIDNumber(string(bad), alts)
	if !r.Valid || r.Value != good || r.Changed[0] != 15 {
		t.Fatalf("one alternative: %+v", r)
	}
	// No alternative: flagged, never guessed from the check digit.
	r = RepairIDNumber(string(bad), nil)
	if r.Valid || r.Reason == "" || r.Value != string(bad) {
		t.Fatalf("no alternative: %+v", r)
	}
	// Two alternatives that both validate: flagged with both options.
	var two [][]byte
	for pos := 0; pos < 17 && two == nil; pos++ {
		for d := byte('0'); d <= '9'; d++ {
			b := []byte(string(bad))
			if pos == 15 || b[pos] == d {
				continue
			}
			b[pos] = d
			if CheckIDNumber(string(b)) == nil && CheckIDRegion(string(b)) == nil {
				two = make([][]byte, 18)
				two[15] = []byte{good[15]}
				two[pos] = []byte{d}
				break
			}
		}
	}
	if two == nil {
		t.Fatal("test setup: no second valid substitution")
	}
	r = RepairIDNumber(string(bad), two)
	if r.Valid || len(r.Options) != 2 {
		t.Fatalf("ambiguous: %+v", r)
	}
	if r := RepairIDNumber("11010519491231002x", nil); !r.Valid || r.Value != "11010519491231002X" {
		t.Fatalf("lower-case x: %+v", r)
	}
}

func TestRepairCreditCode(t *testing.T) {
	code, err := MakeCreditCode("91", "130102", "MA0CK5R8")
	if err != nil {
		t.Fatal(err)
	}
	read := []byte(code)
	for i, c := range read {
		if c == '0' {
			read[i] = 'O'
		}
	}
	if r := RepairCreditCode(string(read), nil); !r.Valid || r.Value != code {
		t.Fatalf("O for 0: %+v want %s", r, code)
	}
	bad := []byte(code)
	bad[12] = 'P'
	alts := make([][]byte, 18)
	alts[12] = []byte{'P', code[12], 'F'}
	if r := RepairCreditCode(string(bad), alts); !r.Valid || r.Value != code {
		t.Fatalf("alternative: %+v", r)
	}
	if r := RepairCreditCode(string(bad), nil); r.Valid {
		t.Fatalf("no alternative but valid: %+v", r)
	}
}

func TestIDParts(t *testing.T) {
	id := "11010519491231002X"
	if b, ok := IDBirthDate(id); !ok || !b.Equal(time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("birth %v %v", b, ok)
	}
	if IDSex(id) != "女" || IDSex("130102199003071235") != "男" {
		t.Error("sex from digit 17")
	}
}

func TestCheckIDValidity(t *testing.T) {
	d := func(y, m, dd int) time.Time { return time.Date(y, time.Month(m), dd, 0, 0, 0, 0, time.UTC) }
	birth := d(1990, 3, 7)
	cases := []struct {
		name        string
		from, until time.Time
		long, ok    bool
	}{
		{"15-5y", d(2005, 1, 1), d(2010, 1, 1), false, true},
		{"20-10y", d(2010, 3, 7), d(2020, 3, 7), false, true},
		{"day-before-16-5y", d(2006, 3, 6), d(2011, 3, 6), false, true},
		{"30-20y", d(2020, 5, 1), d(2040, 5, 1), false, true},
		{"30-wrong-10y", d(2020, 5, 1), d(2030, 5, 1), false, false},
		{"30-long", d(2020, 5, 1), time.Time{}, true, false},
		{"50-long", d(2040, 5, 1), time.Time{}, true, true},
		{"50-20y", d(2040, 5, 1), d(2060, 5, 1), false, false},
		{"before-birth", d(1980, 5, 1), d(1985, 5, 1), false, false},
	}
	for _, c := range cases {
		if err := CheckIDValidity(birth, c.from, c.until, c.long); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
