package evidencecapture

import (
	"bytes"
	"fmt"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/sjzamr/smartreg/shared/pdffont"
)

// recordField is one line of the extraction record.
type recordField struct{ label, value string }

// extractionRecord writes the 电子数据提取笔录 (FP-90) with the fields the
// SAMR rules (《市场监督管理行政执法电子数据取证暂行规定》) ask for: case,
// object, method, time, place, equipment, operators and hash values.
// It lists the hashes of the other files, so it is made last and sealed
// with them.
func extractionRecord(fields []recordField, at time.Time) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("extraction record: PDF library panicked: %v", v)
		}
	}()
	const (
		pageW, pageH = 210.0, 297.0
		marginX, top = 20.0, 22.0
		size, ptToMM = 10.5, 0.3528
	)
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetMargins(0, 0, 0)
	pdf.SetCellMargin(0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetTitle(string(pdffont.UTF16BE("电子数据提取笔录")), false)
	pdf.SetCreator("SmartReg evidence-capture", true)
	pdf.SetCreationDate(at)
	pdf.SetModificationDate(at)
	ts, err := pdffont.New(pdf, nil, false)
	if err != nil {
		return nil, err
	}
	lineH := size * ptToMM * 1.7
	width := pageW - 2*marginX
	title := ts.Glyphs("电子数据提取笔录")
	type line struct {
		gs []pdffont.Glyph
		x  float64
	}
	var lines []line
	labelW := 26.0
	for _, f := range fields {
		lg := ts.Glyphs(f.label + "：")
		vs := ts.Wrap(ts.Glyphs(f.value), size, width-labelW)
		if len(vs) == 0 {
			vs = [][]pdffont.Glyph{nil}
		}
		for i, v := range vs {
			if i == 0 {
				lines = append(lines, line{gs: lg, x: marginX})
				lines[len(lines)-1].gs = append(lg[:len(lg):len(lg)], v...)
				continue
			}
			lines = append(lines, line{gs: v, x: marginX + labelW})
		}
	}
	pdf.AddPage()
	ts.Draw(title, (pageW-ts.Width(title, 18))/2, top, 18, 18*ptToMM*1.4)
	y := top + 16
	for _, l := range lines {
		if y > pageH-25 {
			pdf.AddPage()
			y = top
		}
		ts.Draw(l.gs, l.x, y, size, lineH)
		y += lineH
	}
	sig := ts.Glyphs("提取人（签名）：                见证人（签名）：")
	if y > pageH-40 {
		pdf.AddPage()
		y = top
	}
	ts.Draw(sig, marginX, y+12, size, lineH)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
