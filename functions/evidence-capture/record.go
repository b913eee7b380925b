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
func extractionRecord(fields []recordField, at time.Time) ([]byte, error) {
	return fieldsPDF(fieldsDoc{title: "电子数据提取笔录", fields: fields, at: at, footer: "提取人（签名）：                见证人（签名）："})
}

// fieldsDoc is an A4 document of labelled lines: the extraction record
// and the certificate.
type fieldsDoc struct {
	title       string
	fields      []recordField
	at          time.Time
	footer      string
	qr          []byte // PNG drawn at the top right, if any
	qrCaption   string
	attachments []fpdf.Attachment
	labelW      float64 // default 26 mm
}

func fieldsPDF(d fieldsDoc) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("%s: PDF library panicked: %v", d.title, v)
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
	pdf.SetTitle(string(pdffont.UTF16BE(d.title)), false)
	pdf.SetCreator("SmartReg evidence-capture", true)
	pdf.SetCreationDate(d.at)
	pdf.SetModificationDate(d.at)
	if len(d.attachments) > 0 {
		pdf.SetAttachments(d.attachments)
	}
	ts, err := pdffont.New(pdf, nil, false)
	if err != nil {
		return nil, err
	}
	lineH := size * ptToMM * 1.7
	width := pageW - 2*marginX
	title := ts.Glyphs(d.title)
	type line struct {
		gs []pdffont.Glyph
		x  float64
	}
	var lines []line
	labelW := d.labelW
	if labelW == 0 {
		labelW = 26
	}
	qrSize := 0.0
	if d.qr != nil {
		qrSize = 34
	}
	for _, f := range d.fields {
		lg, x0 := ts.Glyphs(f.label+"："), marginX
		if f.label == "" { // a continuation line of the field above
			lg, x0 = nil, marginX+labelW
		}
		vs := ts.Wrap(ts.Glyphs(f.value), size, width-labelW)
		if len(vs) == 0 {
			vs = [][]pdffont.Glyph{nil}
		}
		for i, v := range vs {
			if i == 0 {
				lines = append(lines, line{gs: lg, x: x0})
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
	if d.qr != nil {
		if y+qrSize+8 > pageH-25 {
			pdf.AddPage()
			y = top
		}
		pdf.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(d.qr))
		pdf.ImageOptions("qr", marginX, y+4, qrSize, qrSize, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		for i, l := range ts.Wrap(ts.Glyphs(d.qrCaption), size, width-qrSize-6) {
			ts.Draw(l, marginX+qrSize+6, y+8+float64(i)*lineH, size, lineH)
		}
		y += qrSize + 6
	}
	if y > pageH-40 {
		pdf.AddPage()
		y = top
	}
	for i, l := range ts.Wrap(ts.Glyphs(d.footer), size, width) {
		ts.Draw(l, marginX, y+12+float64(i)*lineH, size, lineH)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
