// Package render draws a verification certificate (检定证书) or a notice
// of verification result (检定结果通知书) as PDF, with the content JJF
// 1069-2012 asks for: certificate number and page x of n on every page,
// the institution and its authorisation number, the client, the
// instrument, the conclusion and class, verifier, checker and approver,
// the dates, the measurement standards and main standard instruments used
// with their certificates, the environment, the data and, for fuel and gas
// dispensers, the result of every nozzle; and a QR code to the public
// authenticity page.
package render

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/sjzamr/smartreg/events"
)

// The font: GB2312 Noto Sans CJK SC, see fonts/README.md.
var (
	//go:embed fonts/base.ttf
	fontTTF []byte
	//go:embed fonts/base.cov
	fontCov []byte
)

// missing is printed for a character the font lacks.
const missing = '〓'

// Titles of the two documents.
const (
	TitleCertificate = "检定证书"
	TitleNotice      = "检定结果通知书"
)

// Doc is what one PDF shows.
type Doc struct {
	Data      events.VerificationCompletedData
	Version   int    // 1 for the first issue
	VerifyURL string // the QR's content: the public authenticity page
	IssuedAt  time.Time
}

// Notice reports whether the document is a notice of failure.
func (d Doc) Notice() bool { return d.Data.Result != "pass" }

// ErrData is a document missing what it must print.
var ErrData = errors.New("render: certificate data incomplete")

// Renderer draws certificates. It is safe for concurrent use.
type Renderer struct{}

// New returns a renderer.
func New() *Renderer { return &Renderer{} }

// has reports whether the font draws r.
func has(r rune) bool {
	return r >= 0 && int(r>>3) < len(fontCov) && fontCov[r>>3]&(1<<(r&7)) != 0
}

// clean keeps what the font can draw: other characters print as 〓,
// control characters as spaces.
func clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t' || r < 0x20:
			b.WriteByte(' ')
		case has(r):
			b.WriteRune(r)
		default:
			b.WriteRune(missing)
		}
	}
	return b.String()
}

// date writes 2026-03-09 as 2026年03月09日, as certificates print it.
func date(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("2006年01月02日")
}

// Render draws the document and reports its page count. fpdf panics on
// some malformed input; that is returned as an error.
func (r *Renderer) Render(d Doc) (out []byte, pages int, err error) {
	if d.Data.CertificateNo == "" || d.Data.Institution.Name == "" || d.Data.Instrument.Name == "" || d.VerifyURL == "" {
		return nil, 0, ErrData
	}
	defer func() {
		if v := recover(); v != nil {
			out, pages, err = nil, 0, fmt.Errorf("render: PDF library panicked: %v", v)
		}
	}()
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCompression(true)
	p.AddUTF8FontFromBytes("sc", "", fontTTF)
	// After the font: fpdf then keeps the digits in the subset, which the
	// page-count alias is replaced with at the end.
	p.AliasNbPages("{nb}")
	p.SetMargins(20, 18, 20)
	p.SetAutoPageBreak(true, 22)
	title := TitleCertificate
	if d.Notice() {
		title = TitleNotice
	}
	p.SetTitle(title+" "+d.Data.CertificateNo, true)
	p.SetAuthor(d.Data.Institution.Name, true)
	p.SetCreator("SmartReg certificate-print", true)
	p.SetCreationDate(d.IssuedAt)
	p.SetModificationDate(d.IssuedAt)
	no := clean(d.Data.CertificateNo)
	p.SetFooterFunc(func() {
		p.SetY(-15)
		p.SetFont("sc", "", 9)
		p.SetTextColor(80, 80, 80)
		p.CellFormat(85, 5, "证书编号："+no, "", 0, "L", false, 0, "")
		p.CellFormat(85, 5, fmt.Sprintf("第 %d 页 共 {nb} 页", p.PageNo()), "", 0, "R", false, 0, "")
		p.SetTextColor(0, 0, 0)
	})
	if err := r.cover(p, d, title); err != nil {
		return nil, 0, err
	}
	r.results(p, d)
	pages = p.PageNo()
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		return nil, 0, fmt.Errorf("render: %w", err)
	}
	return b.Bytes(), pages, nil
}

// cover is the first page: the identification, the conclusion, the
// people, the dates, the institution and the QR code.
func (r *Renderer) cover(p *fpdf.Fpdf, d Doc, title string) error {
	v := d.Data
	p.AddPage()
	p.SetFont("sc", "", 10)
	p.CellFormat(0, 6, "证书编号："+clean(v.CertificateNo), "", 1, "R", false, 0, "")
	p.Ln(12)
	p.SetFont("sc", "", 26)
	spaced := strings.Join(strings.Split(title, ""), " ")
	p.CellFormat(0, 14, spaced, "", 1, "C", false, 0, "")
	p.SetFont("sc", "", 10)
	sub := "VERIFICATION CERTIFICATE"
	if d.Notice() {
		sub = "NOTICE OF VERIFICATION RESULT"
	}
	p.CellFormat(0, 6, sub, "", 1, "C", false, 0, "")
	if d.Version > 1 {
		p.CellFormat(0, 6, fmt.Sprintf("（第 %d 版，替代第 %d 版）", d.Version, d.Version-1), "", 1, "C", false, 0, "")
	}
	p.Ln(10)
	conclusion := v.Conclusion
	if conclusion == "" {
		conclusion = map[bool]string{true: "不合格", false: "合格"}[d.Notice()]
	}
	rows := [][2]string{
		{"送检单位", v.Client.Name},
		{"计量器具名称", v.Instrument.Name},
		{"型号 / 规格", v.Instrument.Model},
		{"出厂编号", v.Instrument.SerialNo},
		{"制造单位", v.Instrument.Manufacturer},
		{"检定依据", v.Basis},
		{"检定结论", conclusion},
	}
	if !d.Notice() {
		rows = append(rows, [2]string{"准确度等级", v.Class})
	} else if v.FailureReason != "" {
		rows = append(rows, [2]string{"不合格项目", v.FailureReason})
	}
	p.SetFont("sc", "", 12)
	for _, row := range rows {
		p.SetX(30)
		p.CellFormat(36, 9, row[0], "", 0, "L", false, 0, "")
		p.MultiCell(114, 9, clean(dash(row[1])), "B", "L", false)
	}
	p.Ln(8)
	p.SetX(30)
	for _, s := range [][2]string{{"批准人", v.Approver}, {"核验员", v.Checker}, {"检定员", v.Verifier}} {
		p.CellFormat(18, 9, s[0], "", 0, "L", false, 0, "")
		p.CellFormat(32, 9, clean(s[1]), "B", 0, "C", false, 0, "")
		p.CellFormat(4, 9, "", "", 0, "L", false, 0, "")
	}
	p.Ln(14)
	p.SetX(30)
	p.CellFormat(36, 9, "检定日期", "", 0, "L", false, 0, "")
	p.CellFormat(60, 9, date(v.VerifiedOn), "B", 1, "L", false, 0, "")
	if !d.Notice() && v.ValidUntil != "" {
		p.SetX(30)
		p.CellFormat(36, 9, "有效期至", "", 0, "L", false, 0, "")
		p.CellFormat(60, 9, date(v.ValidUntil), "B", 1, "L", false, 0, "")
	}
	// The institution, where its seal goes, and the QR beside it.
	y := 218.0
	if err := qr(p, d.VerifyURL, 150, y-2, 30); err != nil {
		return err
	}
	p.SetFont("sc", "", 8)
	p.SetXY(146, y+28)
	p.CellFormat(38, 4, "扫码核验证书真伪", "", 0, "C", false, 0, "")
	p.SetFont("sc", "", 10)
	inst := v.Institution
	for i, line := range []string{
		"检定机构（印章）：" + inst.Name,
		"计量授权证书号：" + dash(inst.Authorisation),
		"地址：" + dash(inst.Address),
		"邮政编码：" + dash(inst.Postcode) + "    电话：" + dash(inst.Phone),
		"签发日期：" + d.IssuedAt.In(cst).Format("2006年01月02日"),
	} {
		p.SetXY(20, y+float64(i)*6.5)
		p.CellFormat(124, 6, clean(line), "", 0, "L", false, 0, "")
	}
	return nil
}

var cst = time.FixedZone("CST", 8*3600)

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// results is the second page on: authorisation, environment, standards,
// data and nozzles.
func (r *Renderer) results(p *fpdf.Fpdf, d Doc) {
	v := d.Data
	p.AddPage()
	heading := func(s string) {
		p.Ln(3)
		p.SetFont("sc", "", 12)
		p.CellFormat(0, 8, s, "", 1, "L", false, 0, "")
		p.SetFont("sc", "", 9)
	}
	heading("检定机构授权说明")
	p.MultiCell(0, 6, clean(fmt.Sprintf("本机构经计量行政部门授权开展强制检定，计量授权证书号：%s。", dash(v.Institution.Authorisation))), "", "L", false)
	heading("检定环境条件")
	env := fmt.Sprintf("温度：%s    相对湿度：%s    地点：%s", dash(v.Environment.Temperature), dash(v.Environment.Humidity), dash(v.Environment.Place))
	if v.Environment.Other != "" {
		env += "    其他：" + v.Environment.Other
	}
	p.MultiCell(0, 6, clean(env), "", "L", false)

	heading("检定所使用的计量标准")
	table(p, []float64{42, 30, 24, 50, 24}, []string{"计量标准名称", "测量范围", "准确度等级", "计量标准证书编号", "有效期至"}, func(add func(...string)) {
		for _, s := range v.Standards {
			for i, c := range s.Certificates {
				name, rng, acc := "", "", ""
				if i == 0 {
					name, rng, acc = s.Name, s.Range, s.Accuracy
				}
				add(name, rng, acc, certKind(c.Kind)+" "+c.Number, c.ValidUntil)
			}
			if len(s.Certificates) == 0 {
				add(s.Name, s.Range, s.Accuracy, "—", "—")
			}
		}
	})
	heading("主要标准器")
	table(p, []float64{34, 24, 24, 22, 42, 24}, []string{"名称", "型号", "编号", "准确度等级", "检定/校准证书编号", "有效期至"}, func(add func(...string)) {
		for _, s := range v.Standards {
			for _, i := range s.Instruments {
				add(i.Name, i.Model, i.SerialNo, i.Accuracy, i.CertificateNo, i.ValidUntil)
			}
		}
	})
	if len(v.Data) > 0 {
		heading("检定结果")
		table(p, []float64{56, 38, 38, 38}, []string{"检定项目", "检定结果", "最大允许误差 / 要求", "结论"}, func(add func(...string)) {
			for _, row := range v.Data {
				add(row.Name, row.Value, row.Limit, row.Result)
			}
		})
	}
	if len(v.Nozzles) > 0 {
		heading(fmt.Sprintf("按枪检定结果（共 %d 枪）", len(v.Nozzles)))
		table(p, []float64{16, 50, 40, 24, 40}, []string{"序号", "枪编号", "示值误差", "结论", "备注"}, func(add func(...string)) {
			for i, n := range v.Nozzles {
				add(fmt.Sprint(i+1), n.Serial, n.Error, resultName(n.Result), n.Note)
			}
		})
	}
	heading("说明")
	note := "1. 本证书的检定结果仅对所检计量器具在检定时的计量特性有效。\n2. 未经本机构书面批准，不得部分复制本证书。\n3. 扫描首页二维码可核验本证书的真伪和版本。"
	if d.Notice() {
		note = "1. 经检定，该计量器具不合格，不得用于贸易结算、安全防护、医疗卫生和环境监测。\n2. 修理后应重新申请检定。\n3. 扫描首页二维码可核验本通知书的真伪和版本。"
	}
	for _, line := range strings.Split(note, "\n") {
		p.MultiCell(0, 6, line, "", "L", false)
	}
}

func certKind(k string) string {
	switch k {
	case "authorisation":
		return "授权"
	case "social_public":
		return "社会公用"
	case "assessment":
		return "考核"
	}
	return k
}

func resultName(r string) string {
	switch r {
	case "pass":
		return "合格"
	case "fail":
		return "不合格"
	}
	return r
}

// table draws a header row and the rows fill adds; a cell too wide for
// its column is cut with an ellipsis, so a row stays one line.
func table(p *fpdf.Fpdf, widths []float64, header []string, fill func(add func(...string))) {
	p.SetFillColor(235, 235, 235)
	for i, h := range header {
		p.CellFormat(widths[i], 7, h, "1", 0, "C", true, 0, "")
	}
	p.Ln(-1)
	n := 0
	fill(func(cells ...string) {
		n++
		for i, c := range cells {
			p.CellFormat(widths[i], 7, fit(p, clean(dash(c)), widths[i]-2), "1", 0, "C", false, 0, "")
		}
		p.Ln(-1)
	})
	if n == 0 {
		total := 0.0
		for _, w := range widths {
			total += w
		}
		p.CellFormat(total, 7, "（无）", "1", 1, "C", false, 0, "")
	}
}

func fit(p *fpdf.Fpdf, s string, w float64) string {
	if p.GetStringWidth(s) <= w {
		return s
	}
	rs := []rune(s)
	for len(rs) > 1 && p.GetStringWidth(string(rs)+"…") > w {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…"
}

// qr draws content as a QR code of side mm at (x, y): one filled
// rectangle per run of dark modules in a row.
func qr(p *fpdf.Fpdf, content string, x, y, side float64) error {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("render: QR: %w", err)
	}
	bm := q.Bitmap()
	m := side / float64(len(bm))
	p.SetFillColor(0, 0, 0)
	for row, line := range bm {
		for col := 0; col < len(line); {
			if !line[col] {
				col++
				continue
			}
			start := col
			for col < len(line) && line[col] {
				col++
			}
			p.Rect(x+float64(start)*m, y+float64(row)*m, float64(col-start)*m, m, "F")
		}
	}
	return nil
}

// Font is the embedded TrueType font, for a benchmark's bare-fpdf anchor.
func Font() []byte { return fontTTF }
