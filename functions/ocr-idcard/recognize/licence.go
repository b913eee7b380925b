package recognize

import (
	"context"
	"image"

	"github.com/otiai10/gosseract/v2"

	"github.com/sjzamr/smartreg/shared/codes"
)

// Business licence copy (营业执照副本, landscape A4), mm, read at 5 px/mm.
const (
	licenceW     = 297.0
	licenceH     = 210.0
	licenceScale = 5.0
)

var (
	zCreditCode  = zone{18, 36.5, 128, 46.5}
	zLicenceName = zone{58, 85.5, 168, 95.5}

	specCreditCode  = fieldSpec{Lang: "eng", PSM: gosseract.PSM_SINGLE_LINE, Whitelist: "0123456789ABCDEFGHJKLMNPQRTUWXY"}
	specLicenceName = fieldSpec{Lang: "chi_sim", PSM: gosseract.PSM_SINGLE_LINE, TextPx: chiPx}
)

// Licence is what a business licence says.
type Licence struct {
	CreditCode Field `json:"credit_code"`
	Name       Field `json:"name"`
}

// ReadLicence reads the credit code (GB 32100, repaired as ID numbers
// are) and the name from a photo of a business licence.
func (p *Engines) ReadLicence(ctx context.Context, img image.Image) (Licence, error) {
	doc, err := normaliseLicence(img)
	if err != nil {
		return Licence{}, err
	}
	var l Licence
	if l.CreditCode, err = p.readCreditCode(ctx, doc); err != nil {
		return l, err
	}
	if err := ctx.Err(); err != nil {
		return l, err
	}
	name, nameText, err := p.voteRead(ctx, doc, licenceScale, zLicenceName, lum, specLicenceName, namePx,
		func(r reading) string { return cleanText(r.text("")) })
	if err != nil {
		return l, err
	}
	l.Name = newField(nameText, name.conf())
	snapLicenceName(&l.Name, l.CreditCode.Value)
	return l, nil
}

// creditPx are the line heights the credit code is read at when the
// first reading (at the document's own resolution) fails GB 32100.
var creditPx = []int{0, 40, 52, 32}

// readCreditCode reads the code at the document's resolution and, when
// that fails GB 32100 (with the check-digit repair), again at other line
// heights. A re-read's code is trusted only when two re-reads agree on it:
// with one in 31 random misreads passing the check digit, a single
// re-read that passes stays flagged for the correction step (with the
// value filled in), and when none passes the first reading stays, flagged.
func (p *Engines) readCreditCode(ctx context.Context, doc *rgb) (Field, error) {
	var first, candidate Field
	seen := map[string]int{}
	for i, px := range creditPx {
		if err := ctx.Err(); err != nil {
			return first, err
		}
		var r reading
		if fi := fieldImageAt(doc, licenceScale, zCreditCode, lum, px); fi != nil {
			var err error
			if r, err = p.read(fi, specCreditCode); err != nil {
				return first, err
			}
		} else if i == 0 {
			return creditCodeField(r), nil
		}
		f := creditCodeField(r)
		if i == 0 {
			if first = f; f.Checks[0].Passed {
				return f, nil
			}
			continue
		}
		if !f.Checks[0].Passed {
			continue
		}
		if seen[f.Value]++; seen[f.Value] == 2 {
			f.Repaired = true
			return f, nil
		}
		if candidate.Value == "" {
			candidate = f
		}
	}
	if candidate.Value == "" {
		return first, nil
	}
	candidate.Repaired, candidate.Flagged = true, true
	candidate.Options = []string{candidate.Value}
	candidate.Checks[0].Message = "重新识别后才通过校验，请与原件核对"
	return candidate, nil
}

func creditCodeField(r reading) Field {
	syms := r.symbols()
	raw := ""
	var alts [][]byte
	for _, s := range syms {
		raw += s.Char
		var a []byte
		for _, c := range s.Choices {
			if len(c) == 1 {
				a = append(a, c[0])
			}
		}
		alts = append(alts, a)
	}
	if len(raw) != len(alts) {
		alts = nil
	}
	rep := codes.RepairCreditCode(raw, alts)
	f := newField(rep.Value, r.conf())
	f.Repaired = rep.Repaired
	c := Check{Name: "gb32100", Passed: rep.Valid}
	if !rep.Valid {
		c.Message = rep.Reason
		f.Flagged = true
		f.Options = rep.Options
	}
	f.Checks = append(f.Checks, c)
	return f
}

// The licence's red frame (mm): its inside is as light as the paper, so
// the region found may be the paper or only what the frame encloses.
const frameOuter, frameInner = 8.0, 11.0

// normaliseLicence finds the licence and maps it onto its geometry. When
// the region found shows no red frame near its edge, it was the inside of
// the frame: the paper lies 11 mm further out.
func normaliseLicence(img image.Image) (*rgb, error) {
	m := toRGB(img)
	q, ok := findDocument(m, licenceW/licenceH)
	if !ok {
		return nil, ErrNoCard
	}
	w, h := int(licenceW*licenceScale), int(licenceH*licenceScale)
	doc := m.warp(q, w, h)
	if frameSaturation(doc) > 60 {
		return doc, nil
	}
	in := [4][2]float64{{frameInner, frameInner}, {licenceW - frameInner, frameInner}, {licenceW - frameInner, licenceH - frameInner}, {frameInner, licenceH - frameInner}}
	hm := homography(in, q)
	var paper quad
	for i, c := range [4][2]float64{{0, 0}, {licenceW, 0}, {licenceW, licenceH}, {0, licenceH}} {
		paper[i][0], paper[i][1] = apply(hm, c[0], c[1])
	}
	return m.warp(paper, w, h), nil
}

// frameSaturation is the mean saturation where the frame would be.
func frameSaturation(doc *rgb) float64 {
	var sum, n float64
	band := func(x0, y0, x1, y1 float64) {
		for y := int(y0 * licenceScale); y < int(y1*licenceScale); y++ {
			for x := int(x0 * licenceScale); x < int(x1*licenceScale); x++ {
				if x < 0 || y < 0 || x >= doc.w || y >= doc.h {
					continue
				}
				i := 3 * (y*doc.w + x)
				r, g, b := int(doc.pix[i]), int(doc.pix[i+1]), int(doc.pix[i+2])
				sum += float64(max(r, g, b) - min(r, g, b))
				n++
			}
		}
	}
	a, b := frameOuter+0.7, frameInner-0.7
	band(30, a, licenceW-30, b)
	band(30, licenceH-b, licenceW-30, licenceH-a)
	band(a, 30, b, licenceH-30)
	band(licenceW-b, 30, licenceW-a, licenceH-30)
	if n == 0 {
		return 0
	}
	return sum / n
}
