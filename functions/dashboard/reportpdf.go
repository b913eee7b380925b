package dashboard

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/pdffont"
)

// A4 portrait, in millimetres and points.
const (
	rpPageW, rpPageH = 210.0, 297.0
	rpMarginX        = 18.0
	rpTop, rpBottom  = 18.0, 20.0
	rpPtToMM         = 25.4 / 72
	rpChartRows      = 12 // bars per chart; the table below lists every row
)

// rpCell is one piece of text of a laid-out row.
type rpCell struct {
	gs    []pdffont.Glyph
	x     float64
	right bool // x is the right edge
}

// rpRow is one line of the report, laid out before any page exists
// (measuring selects fonts, which on a page would write font switches).
type rpRow struct {
	cells []rpCell
	size  float64
	h     float64
	bar   float64 // a chart bar's width in mm from rpBarX, 0 for none
	rule  bool    // a line under the row (table headers)
	color [3]int
}

const rpBarX = rpMarginX + 42

// renderReport prints a report with the shared CJK font chain, as the
// documents function prints its documents: charts are drawn bars, and the
// text (pdftotext, search) is the report's text. Every row of the period's
// roster is printed: nothing is cut at 2 000 rows.
func renderReport(d ReportData) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("dashboard: pdf: PDF library panicked: %v", v)
		}
	}()
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetMargins(0, 0, 0)
	pdf.SetCellMargin(0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetTitle(string(pdffont.UTF16BE(d.Report.Title)), false)
	pdf.SetCreator("SmartReg dashboard", true)
	pdf.SetCreationDate(d.GeneratedAt)
	pdf.SetModificationDate(d.GeneratedAt)
	ts, err := pdffont.New(pdf, nil, false)
	if err != nil {
		return nil, err
	}
	text := func(s string, x float64) rpCell { return rpCell{gs: ts.Glyphs(s), x: x} }
	right := func(s string, x float64) rpCell { return rpCell{gs: ts.Glyphs(s), x: x, right: true} }
	fit := func(s string, size, w, x float64) rpCell {
		gs := ts.Glyphs(s)
		for len(gs) > 1 && ts.Width(gs, size) > w {
			gs = gs[:len(gs)-1]
		}
		return rpCell{gs: gs, x: x}
	}
	line := func(size float64, cells ...rpCell) rpRow {
		return rpRow{cells: cells, size: size, h: size * rpPtToMM * 1.7, color: [3]int{0x22, 0x22, 0x22}}
	}
	width := rpPageW - 2*rpMarginX
	var rows []rpRow
	para := func(s string, size float64) {
		for _, l := range ts.Wrap(ts.Glyphs(s), size, width) {
			rows = append(rows, rpRow{cells: []rpCell{{gs: l, x: rpMarginX}}, size: size, h: size * rpPtToMM * 1.7, color: [3]int{0x22, 0x22, 0x22}})
		}
	}
	gap := func(h float64) { rows = append(rows, rpRow{h: h}) }

	title := ts.Glyphs(d.Report.Title)
	rows = append(rows, rpRow{cells: []rpCell{{gs: title, x: rpMarginX + (width-ts.Width(title, 18))/2}}, size: 18, h: 12})
	period := fmt.Sprintf("统计周期：%s 至 %s（%s）", d.From.Format("2006-01-02"), d.To.Format("2006-01-02"), periodNames[d.Report.Period])
	rows = append(rows, line(9.5, text(period, rpMarginX)))
	rows = append(rows, line(9.5, text("数据范围："+scopeText(d.Scope), rpMarginX)))
	rows = append(rows, line(9.5, text("生成时间："+d.GeneratedAt.In(beijing()).Format("2006-01-02 15:04")+"（按接收人本人的数据范围生成）", rpMarginX)))
	gap(3)
	if d.Notice != "" {
		para("【提示】"+d.Notice+"。", 11)
		gap(2)
	}
	if !d.Scope.IsEmpty() {
		para(fmt.Sprintf("一、概况：数据范围内现有市场主体 %d 户；本期新登记 %d 户。", d.Stock, d.NewInPeriod), 11)
	}
	for i, b := range d.Breakdowns {
		gap(4)
		rows = append(rows, line(12.5, text(fmt.Sprintf("%s、按%s", chineseOrdinal(i+2), b.Title), rpMarginX)))
		stockLabel, periodLabel := "现有（户）", "本期新登记（户）"
		if b.Dimension == "record_kind" {
			stockLabel, periodLabel = "有此类记录的主体（户）", "本期记录（条）"
		}
		var most int64
		for _, x := range b.Rows {
			most = max(most, x.Stock)
		}
		if most == 0 {
			// No chart is drawn without data: a clear sentence instead.
			para("本期数据范围内没有"+b.Title+"数据。", 10.5)
			continue
		}
		for j, x := range b.Rows {
			if j == rpChartRows {
				break
			}
			r := line(9, fit(x.Name, 9, 40, rpMarginX), text(fmt.Sprint(x.Stock), rpBarX+float64(x.Stock)*100/float64(most)+2))
			r.bar = float64(x.Stock) * 100 / float64(most)
			rows = append(rows, r)
		}
		gap(2)
		hdr := line(9, text(b.Title, rpMarginX), right(stockLabel, rpMarginX+120), right(periodLabel, rpMarginX+width))
		hdr.rule = true
		rows = append(rows, hdr)
		for _, x := range b.Rows {
			rows = append(rows, line(9, fit(x.Name, 9, 80, rpMarginX), right(fmt.Sprint(x.Stock), rpMarginX+120), right(fmt.Sprint(x.Period), rpMarginX+width)))
		}
	}
	if !d.Scope.IsEmpty() {
		gap(4)
		rows = append(rows, line(12.5, text(fmt.Sprintf("附：本期新登记主体名单（共 %d 户）", len(d.Roster)), rpMarginX)))
		if len(d.Roster) == 0 {
			para("本期数据范围内没有新登记的主体。", 10.5)
		} else {
			hdr := line(8, text("序号", rpMarginX), text("统一社会信用代码", rpMarginX+12), text("名称", rpMarginX+50),
				text("主体类型", rpMarginX+118), text("区县", rpMarginX+138), text("成立日期", rpMarginX+158))
			hdr.rule = true
			rows = append(rows, hdr)
			for i, x := range d.Roster {
				rows = append(rows, line(8, text(fmt.Sprint(i+1), rpMarginX), text(x.CreditCode, rpMarginX+12), fit(x.Name, 8, 66, rpMarginX+50),
					fit(x.EntityType, 8, 19, rpMarginX+118), fit(x.DistrictName, 8, 19, rpMarginX+138), text(x.Established, rpMarginX+158)))
			}
		}
	}

	pages := 0
	newPage := func() float64 { pdf.AddPage(); pages++; return rpTop }
	y := newPage()
	for _, r := range rows {
		if y+r.h > rpPageH-rpBottom {
			y = newPage()
		}
		if r.bar > 0 {
			pdf.SetFillColor(0x40, 0x9e, 0xff)
			pdf.Rect(rpBarX, y+r.h*0.2, max(r.bar, 0.5), r.h*0.6, "F")
		}
		pdf.SetTextColor(r.color[0], r.color[1], r.color[2])
		for _, c := range r.cells {
			x := c.x
			if c.right {
				x -= ts.Width(c.gs, r.size)
			}
			ts.Draw(c.gs, x, y, r.size, r.h)
		}
		if r.rule {
			pdf.SetDrawColor(0x99, 0x99, 0x99)
			pdf.Line(rpMarginX, y+r.h, rpPageW-rpMarginX, y+r.h)
		}
		y += r.h
	}
	pdf.SetTextColor(0x77, 0x77, 0x77)
	for n := 1; n <= pages; n++ {
		pdf.SetPage(n)
		fg := ts.Glyphs(fmt.Sprintf("第 %d 页 / 共 %d 页", n, pages))
		ts.Draw(fg, rpMarginX+(width-ts.Width(fg, 8))/2, rpPageH-12, 8, 4)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("dashboard: pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// scopeText names a data scope for a reader.
func scopeText(s auth.Scope) string {
	if s.Kind == auth.ScopeAll {
		return "全市"
	}
	if s.IsEmpty() {
		return "无（数据范围为空）"
	}
	var names []string
	for _, d := range s.Districts {
		n := d
		if c, ok := codes.Divisions().Lookup(d); ok {
			n = c.Name
		}
		var towns []string
		for _, t := range s.Townships {
			if strings.HasPrefix(t, d) {
				if c, ok := codes.Divisions().Lookup(t); ok {
					towns = append(towns, c.Name)
				} else {
					towns = append(towns, t)
				}
			}
		}
		if len(towns) > 0 {
			n += "（" + strings.Join(towns, "、") + "）"
		}
		names = append(names, n)
	}
	return strings.Join(names, "、")
}

func chineseOrdinal(n int) string {
	digits := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}
	if n <= 10 {
		return digits[n]
	}
	return fmt.Sprint(n)
}
