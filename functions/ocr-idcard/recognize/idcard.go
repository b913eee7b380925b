package recognize

import (
	"context"
	"image"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/otiai10/gosseract/v2"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
)

// Card geometry (GB/T 14916, mm) and the resolution fields are read at:
// 12 px/mm puts the values at 40–50 px, where Tesseract reads best.
const (
	cardW     = 85.6
	cardH     = 54.0
	cardScale = 12.0
)

// Check is one cross-check of a field.
type Check struct {
	Name    string `json:"name"`
	Passed  bool   `json:"passed"`
	Message string `json:"message,omitempty"`
}

// Field is one value read from a document.
type Field struct {
	Value      string  `json:"value"`
	Confidence float64 `json:"confidence"` // 0–1
	Checks     []Check `json:"checks,omitempty"`
	Repaired   bool    `json:"repaired,omitempty"`
	// Flagged means a person must look: a check failed, or the reading is
	// uncertain.
	Flagged bool     `json:"flagged"`
	Options []string `json:"options,omitempty"`
}

func (f *Field) check(name string, err error) {
	c := Check{Name: name, Passed: err == nil}
	if err != nil {
		c.Message = errMessage(err)
		f.Flagged = true
	}
	f.Checks = append(f.Checks, c)
}

// lowConfidence flags a field below which a reading is not trusted.
const lowConfidence = 0.6

func newField(value string, conf float64) Field {
	f := Field{Value: value, Confidence: round2(conf / 100)}
	if value == "" || f.Confidence < lowConfidence {
		f.Flagged = true
	}
	return f
}

func round2(v float64) float64 { return float64(int(v*100+0.5)) / 100 }

// Front is what the front of an ID card says.
type Front struct {
	Name      Field `json:"name"`
	Sex       Field `json:"sex"`
	Ethnicity Field `json:"ethnicity"`
	Birth     Field `json:"birth"` // YYYY-MM-DD
	Address   Field `json:"address"`
	IDNumber  Field `json:"id_number"`
}

// Back is what the back of an ID card says.
type Back struct {
	Authority  Field `json:"authority"`
	ValidFrom  Field `json:"valid_from"`  // YYYY-MM-DD
	ValidUntil Field `json:"valid_until"` // YYYY-MM-DD or 长期
}

// The front's field zones, mm, with a margin around the printed text.
var (
	zName      = zone{13.6, 5.0, 54.6, 12.6}
	zSex       = zone{13.6, 12.8, 23.5, 18.8}
	zEthnicity = zone{32.5, 12.8, 54.6, 18.8}
	zBirth     = zone{13.6, 19.2, 54.6, 25.0}
	zAddress   = zone{13.6, 25.6, 54.6, 41.6}
	zNumber    = zone{26.0, 43.6, 84.5, 50.8}

	zAuthority = zone{30.2, 37.6, 84.5, 43.8}
	zValidity  = zone{30.2, 44.4, 84.5, 50.6}
)

const digits = "0123456789"

var ethnicities = []string{"汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
	"哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
	"达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯",
	"鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺"}

func ethnicChars() string {
	seen := map[rune]bool{}
	var b strings.Builder
	for _, e := range ethnicities {
		for _, r := range e {
			if !seen[r] {
				seen[r] = true
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

var (
	specNumber    = fieldSpec{Lang: "eng", PSM: gosseract.PSM_SINGLE_LINE, Whitelist: digits + "X"}
	specBirth     = fieldSpec{Lang: "eng", PSM: gosseract.PSM_SINGLE_LINE, Whitelist: digits}
	specName      = fieldSpec{Lang: "chi_sim", PSM: gosseract.PSM_SINGLE_LINE, TextPx: chiPx}
	specSex       = fieldSpec{Lang: "chi_sim", PSM: gosseract.PSM_SINGLE_LINE, TextPx: chiPx}
	specEthnicity = fieldSpec{Lang: "chi_sim", PSM: gosseract.PSM_SINGLE_LINE, TextPx: chiPx}
	specAddress   = fieldSpec{Lang: "chi_sim", PSM: gosseract.PSM_SINGLE_BLOCK, TextPx: chiPx}
	specAuthority = fieldSpec{Lang: "chi_sim", PSM: gosseract.PSM_SINGLE_LINE, TextPx: chiPx}
	specValidity  = fieldSpec{Lang: "eng", PSM: gosseract.PSM_SINGLE_LINE, Whitelist: digits + ".-"}
	specLongTerm  = fieldSpec{Lang: "chi_sim", PSM: gosseract.PSM_SINGLE_LINE, Whitelist: digits + ".-长期", TextPx: chiPx}
)

// normalise finds the document in the photo and maps it onto its own
// geometry at scale px/mm.
func normalise(img image.Image, wmm, hmm, scale float64) (*rgb, quad, error) {
	m := toRGB(img)
	q, ok := findDocument(m, wmm/hmm)
	if !ok {
		return nil, quad{}, ErrNoCard
	}
	return m.warp(q, int(wmm*scale), int(hmm*scale)), q, nil
}

// ReadFront reads the front of an ID card from a decoded photo.
func (p *Engines) ReadFront(ctx context.Context, img image.Image) (Front, error) {
	doc, _, err := normalise(img, cardW, cardH, cardScale)
	if err != nil {
		return Front{}, err
	}
	return p.readFront(ctx, doc)
}

func (p *Engines) readFront(ctx context.Context, doc *rgb) (Front, error) {
	var f Front
	rd := func(z zone, spec fieldSpec) (reading, error) {
		if err := ctx.Err(); err != nil {
			return reading{}, err
		}
		fi := fieldImageAt(doc, cardScale, z, blue, spec.TextPx)
		if fi == nil {
			return reading{}, nil
		}
		return p.read(fi, spec)
	}
	num, err := rd(zNumber, specNumber)
	if err != nil {
		return f, err
	}
	f.IDNumber = idNumberField(num)
	name, nameText, err := p.voteRead(ctx, doc, cardScale, zName, blue, specName, namePx, func(r reading) string { return hanOnly(r.text("")) })
	if err != nil {
		return f, err
	}
	f.Name = newField(nameText, name.conf())
	snapSurname(&f.Name, name)
	sex, err := rd(zSex, specSex)
	if err != nil {
		return f, err
	}
	f.Sex = newField(hanOnly(sex.text("")), sex.conf())
	eth, err := rd(zEthnicity, specEthnicity)
	if err != nil {
		return f, err
	}
	f.Ethnicity = ethnicityField(eth)
	birth, err := rd(zBirth, specBirth)
	if err != nil {
		return f, err
	}
	f.Birth = birthField(birth)
	addr, err := rd(zAddress, specAddress)
	if err != nil {
		return f, err
	}
	f.Address = newField(cleanText(addr.text("")), addr.conf())
	id := ""
	if f.IDNumber.Checks[0].Passed {
		id = f.IDNumber.Value
	}
	snapAddress(&f.Address, id)
	crossCheckFront(&f)
	return f, nil
}

// ReadBack reads the back of an ID card from a decoded photo. idNumber,
// when known (the front's, or typed), settles the issuing authority's
// near-ties and checks the validity period against the holder's age.
func (p *Engines) ReadBack(ctx context.Context, img image.Image, idNumber string) (Back, error) {
	doc, _, err := normalise(img, cardW, cardH, cardScale)
	if err != nil {
		return Back{}, err
	}
	var b Back
	auth := fieldImage(doc, cardScale, zAuthority, lum)
	if auth != nil {
		r, err := p.read(auth, specAuthority)
		if err != nil {
			return b, err
		}
		b.Authority = newField(cleanText(r.text("")), r.conf())
		snapAuthority(&b.Authority, idNumber)
	} else {
		b.Authority = newField("", 0)
	}
	if err := ctx.Err(); err != nil {
		return b, err
	}
	val := fieldImage(doc, cardScale, zValidity, lum)
	var r, long reading
	if val != nil {
		if r, err = p.read(val, specValidity); err != nil {
			return b, err
		}
	}
	b.ValidFrom, b.ValidUntil = validityFields(r)
	if val != nil && (b.ValidUntil.Value == "" || b.ValidUntil.Flagged) {
		// Digits alone cannot read 长期: ask chi_sim about the end.
		if long, err = p.read(val, specLongTerm); err != nil {
			return b, err
		}
		if t := long.text(""); strings.ContainsAny(t, "长期") && b.ValidFrom.Value != "" {
			b.ValidUntil = newField("长期", long.conf())
		}
	}
	if idNumber != "" {
		CheckValidity(&b, idNumber)
	}
	return b, nil
}

func idNumberField(r reading) Field {
	syms := r.symbols()
	var raw strings.Builder
	var alts [][]byte
	for _, s := range syms {
		raw.WriteString(s.Char)
		var a []byte
		for _, c := range s.Choices {
			if len(c) == 1 {
				a = append(a, c[0])
			}
		}
		alts = append(alts, a)
	}
	if len(raw.String()) != len(alts) { // a multi-byte symbol: no alignment
		alts = nil
	}
	rep := codes.RepairIDNumber(raw.String(), alts)
	f := newField(rep.Value, r.conf())
	f.Repaired = rep.Repaired
	c := Check{Name: "gb11643", Passed: rep.Valid}
	if !rep.Valid {
		c.Message = rep.Reason
		f.Flagged = true
		f.Options = rep.Options
	}
	f.Checks = append(f.Checks, c)
	if rep.Valid {
		reg, _ := codes.LookupRegion(rep.Value[:6])
		f.Checks = append(f.Checks, Check{Name: "region", Passed: true, Message: reg.Province + reg.City + reg.Name})
	}
	return f
}

func birthField(r reading) Field {
	var groups []string
	for _, w := range r.Words {
		var b strings.Builder
		for _, s := range w {
			b.WriteString(s.Char)
		}
		groups = append(groups, b.String())
	}
	// Glued groups: 1952616 cannot be split without the gaps, but the
	// year's four digits can.
	joined := strings.Join(groups, "")
	var y, m, d string
	switch {
	case len(groups) == 3:
		y, m, d = groups[0], groups[1], groups[2]
	case len(groups) == 2 && len(groups[0]) == 4:
		y = groups[0]
		if len(groups[1]) == 2 {
			m, d = groups[1][:1], groups[1][1:]
		}
	case len(joined) >= 6:
		y = joined[:4]
	}
	t, err := time.Parse("2006-1-2", y+"-"+m+"-"+d)
	if err != nil {
		f := newField("", r.conf())
		f.Flagged = true
		f.Checks = append(f.Checks, Check{Name: "date", Passed: false, Message: "出生日期无法识别"})
		return f
	}
	return newField(t.Format("2006-01-02"), r.conf())
}

var reDate = regexp.MustCompile(`(\d{4})\.?(\d{2})\.?(\d{2})`)

// validityFields reads 2015.03.12-2035.03.12 from the digit reading; the
// end is empty (to be read as 长期) when there is no second date.
func validityFields(r reading) (Field, Field) {
	text := strings.ReplaceAll(r.text(""), " ", "")
	conf := r.conf()
	ms := reDate.FindAllStringSubmatch(text, 2)
	from, until := newField("", conf), newField("", conf)
	if len(ms) == 0 {
		from.Flagged, until.Flagged = true, true
		return from, until
	}
	from.Value = ms[0][1] + "-" + ms[0][2] + "-" + ms[0][3]
	if _, err := time.Parse("2006-01-02", from.Value); err != nil {
		from.check("date", errText("有效期起始日期无效"))
	}
	if len(ms) > 1 {
		until.Value = ms[1][1] + "-" + ms[1][2] + "-" + ms[1][3]
		if _, err := time.Parse("2006-01-02", until.Value); err != nil {
			until.check("date", errText("有效期截止日期无效"))
		}
	}
	return from, until
}

func ethnicityField(r reading) Field {
	t := hanOnly(r.text(""))
	f := newField(t, r.conf())
	// Nearest name; among equals, the one sharing most characters with
	// the reading (傈 is 傈僳 with a character lost, not 回).
	best, bestD, bestCommon := "", 99, -1
	for _, e := range ethnicities {
		d, c := editDistance(t, e), common(t, e)
		if d < bestD || d == bestD && c > bestCommon {
			best, bestD, bestCommon = e, d, c
		}
	}
	if bestD == 0 {
		f.Checks = append(f.Checks, Check{Name: "ethnicity", Passed: true})
		return f
	}
	if bestD == 1 && bestCommon > 0 {
		f.Value, f.Repaired = best, true
		f.Checks = append(f.Checks, Check{Name: "ethnicity", Passed: true})
		return f
	}
	f.check("ethnicity", errText("民族不在56个民族名称中"))
	return f
}

// crossCheckFront compares the printed birth date and sex with the ones
// the number holds; a number that passed GB 11643 wins a disagreement on
// an unreadable date, but both are flagged.
func crossCheckFront(f *Front) {
	if !f.IDNumber.Checks[0].Passed {
		return
	}
	id := f.IDNumber.Value
	b, _ := codes.IDBirthDate(id)
	want := b.Format("2006-01-02")
	if f.Birth.Value == "" {
		// The number is valid: its date is the birth date; say so.
		f.Birth.Value, f.Birth.Repaired = want, true
		f.Birth.Checks = []Check{{Name: "id_number", Passed: true, Message: "出生日期取自身份证号码"}}
		f.Birth.Flagged = false
	} else if f.Birth.Value != want {
		f.Birth.check("id_number", errText("出生日期与身份证号码不一致（号码为"+want+"）"))
	} else {
		f.Birth.check("id_number", nil)
	}
	sex := codes.IDSex(id)
	switch {
	case f.Sex.Value == "":
		f.Sex.Value, f.Sex.Repaired, f.Sex.Flagged = sex, true, false
		f.Sex.Checks = []Check{{Name: "id_number", Passed: true, Message: "性别取自身份证号码"}}
	case f.Sex.Value != sex:
		f.Sex.check("id_number", errText("性别与身份证号码不一致（号码为"+sex+"）"))
	default:
		f.Sex.check("id_number", nil)
	}
}

// CheckValidity cross-checks a back against the holder's number (from the
// front, or typed): the period must match the age at issue.
func CheckValidity(b *Back, idNumber string) {
	birth, ok := codes.IDBirthDate(idNumber)
	if !ok || b.ValidFrom.Value == "" {
		return
	}
	from, err := time.Parse("2006-01-02", b.ValidFrom.Value)
	if err != nil {
		return
	}
	long := b.ValidUntil.Value == "长期"
	var until time.Time
	if !long {
		if until, err = time.Parse("2006-01-02", b.ValidUntil.Value); err != nil {
			return
		}
	}
	b.ValidUntil.check("age", codes.CheckIDValidity(birth, from, until, long))
}

// hanOnly keeps the Chinese characters (and the middle dot of minority
// names).
func hanOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.Is(unicode.Han, r) || r == '·' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cleanText drops spaces and line breaks (Chinese has none) and the
// punctuation the guilloche turns into.
func cleanText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r), r >= '0' && r <= '9', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r == '-', r == '（', r == '）', r == '·':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func common(a, b string) int {
	n := 0
	for _, r := range a {
		if strings.ContainsRune(b, r) {
			n++
		}
	}
	return n
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

type errText string

func (e errText) Error() string { return string(e) }

func errMessage(err error) string {
	if e, ok := err.(*errs.Error); ok {
		return e.Message
	}
	return err.Error()
}

// chiPx is the line height chi_sim fields are resampled to; tuned on the
// test seeds (recognize_test.go), never on the benchmark's.
const chiPx = 30
