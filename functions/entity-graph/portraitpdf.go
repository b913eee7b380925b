package entitygraph

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/pdffont"
)

// A4 portrait, in millimetres; the same page and row model as the
// dashboard's reports (functions/dashboard/reportpdf.go).
const (
	ppPageW, ppPageH = 210.0, 297.0
	ppMarginX        = 18.0
	ppTop, ppBottom  = 18.0, 20.0
	ppPtToMM         = 25.4 / 72
	ppWidth          = ppPageW - 2*ppMarginX
	// The ownership chart: at most this many boxes a level, the rest
	// summed up in one box.
	ppChartPerLevel = 5
	ppChartLevelH   = 24.0
	ppBoxH          = 12.0
)

type ppCell struct {
	gs    []pdffont.Glyph
	x     float64
	right bool
}

// ppRow is one line of the report, laid out before any page exists
// (measuring selects fonts, which on a page would write font switches).
// A row with draw is a drawing (the chart) of height h.
type ppRow struct {
	cells []ppCell
	size  float64
	h     float64
	rule  bool
	color [3]int
	fill  *[3]int // a band behind the row (section headings)
	draw  func(pdf *fpdf.Fpdf, y float64)
}

var (
	ppInk   = [3]int{0x22, 0x22, 0x22}
	ppMuted = [3]int{0x77, 0x77, 0x77}
	ppRed   = [3]int{0xc4, 0x1d, 0x1d}
	ppBand  = [3]int{0xec, 0xf3, 0xfc}
)

// renderPortrait prints the portrait with the shared CJK font chain, so a
// name with 𠮷 prints and extracts as itself; the chart is vector
// drawing, its labels real text.
func renderPortrait(p *Portrait) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("entity-graph: pdf: PDF library panicked: %v", v)
		}
	}()
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetMargins(0, 0, 0)
	pdf.SetCellMargin(0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetTitle(string(pdffont.UTF16BE("企业数字画像 "+p.Entity.Name)), false)
	pdf.SetCreator("SmartReg entity-graph", true)
	pdf.SetCreationDate(p.GeneratedAt)
	pdf.SetModificationDate(p.GeneratedAt)
	ts, err := pdffont.New(pdf, nil, false)
	if err != nil {
		return nil, err
	}
	b := &ppBuilder{ts: ts}
	b.build(p)

	pages := 0
	newPage := func() float64 { pdf.AddPage(); pages++; return ppTop }
	y := newPage()
	for _, r := range b.rows {
		if y+r.h > ppPageH-ppBottom {
			y = newPage()
		}
		if r.fill != nil {
			pdf.SetFillColor(r.fill[0], r.fill[1], r.fill[2])
			pdf.Rect(ppMarginX, y, ppWidth, r.h, "F")
		}
		if r.draw != nil {
			r.draw(pdf, y)
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
			pdf.SetLineWidth(0.2)
			pdf.Line(ppMarginX, y+r.h, ppPageW-ppMarginX, y+r.h)
		}
		y += r.h
	}
	pdf.SetTextColor(ppMuted[0], ppMuted[1], ppMuted[2])
	for n := 1; n <= pages; n++ {
		pdf.SetPage(n)
		ts.Draw(b.footer[0], ppMarginX, ppPageH-14, 7.5, 4)
		fg := ts.Glyphs(fmt.Sprintf("第 %d 页 / 共 %d 页", n, pages))
		ts.Draw(fg, ppPageW-ppMarginX-ts.Width(fg, 7.5), ppPageH-14, 7.5, 4)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("entity-graph: pdf: %w", err)
	}
	return buf.Bytes(), nil
}

type ppBuilder struct {
	ts     *pdffont.Typesetter
	rows   []ppRow
	footer [][]pdffont.Glyph
	nth    int
}

func (b *ppBuilder) text(s string, x float64) ppCell { return ppCell{gs: b.ts.Glyphs(s), x: x} }

func (b *ppBuilder) fit(s string, size, w, x float64) ppCell {
	gs := b.ts.Glyphs(s)
	if b.ts.Width(gs, size) <= w {
		return ppCell{gs: gs, x: x}
	}
	dots := b.ts.Glyphs("…")
	for len(gs) > 1 && b.ts.Width(gs, size)+b.ts.Width(dots, size) > w {
		gs = gs[:len(gs)-1]
	}
	return ppCell{gs: append(gs, dots...), x: x}
}

func (b *ppBuilder) line(size float64, cells ...ppCell) ppRow {
	return ppRow{cells: cells, size: size, h: size * ppPtToMM * 1.7, color: ppInk}
}

func (b *ppBuilder) add(r ppRow) { b.rows = append(b.rows, r) }

func (b *ppBuilder) gap(h float64) { b.rows = append(b.rows, ppRow{h: h}) }

// para wraps s over the width from x, in colour c.
func (b *ppBuilder) para(s string, size, x float64, c [3]int) {
	for _, l := range b.ts.Wrap(b.ts.Glyphs(s), size, ppPageW-ppMarginX-x) {
		b.rows = append(b.rows, ppRow{cells: []ppCell{{gs: l, x: x}}, size: size, h: size * ppPtToMM * 1.6, color: c})
	}
}

func (b *ppBuilder) heading(s string) {
	b.nth++
	b.gap(4)
	band := ppBand
	b.add(ppRow{cells: []ppCell{b.text(fmt.Sprintf("%s、%s", chineseOrdinal(b.nth), s), ppMarginX+2)}, size: 12, h: 8, color: ppInk, fill: &band})
	b.gap(1.5)
}

// kv prints label: value pairs, two to a line where both fit.
func (b *ppBuilder) kv(pairs [][2]string) {
	const size = 9.5
	half := ppWidth / 2
	for i := 0; i < len(pairs); i++ {
		l, v := pairs[i][0], pairs[i][1]
		if v == "" {
			v = "—"
		}
		long := b.ts.Width(b.ts.Glyphs(v), size) > half-30
		if long || i+1 == len(pairs) {
			lc := b.text(l+"：", ppMarginX)
			for j, w := range b.ts.Wrap(b.ts.Glyphs(v), size, ppWidth-26) {
				cells := []ppCell{{gs: w, x: ppMarginX + 26}}
				if j == 0 {
					cells = append(cells, lc)
				}
				b.add(b.line(size, cells...))
			}
			continue
		}
		l2, v2 := pairs[i+1][0], pairs[i+1][1]
		if v2 == "" {
			v2 = "—"
		}
		if b.ts.Width(b.ts.Glyphs(v2), size) > half-30 {
			b.add(b.line(size, b.text(l+"：", ppMarginX), b.text(v, ppMarginX+26)))
			continue
		}
		b.add(b.line(size, b.text(l+"：", ppMarginX), b.text(v, ppMarginX+26), b.text(l2+"：", ppMarginX+half),
			b.text(v2, ppMarginX+half+26)))
		i++
	}
}

var entityTypeNames = map[string]string{"enterprise": "企业", "individual": "个体工商户", "cooperative": "农民专业合作社",
	"institution": "事业单位", "non_enterprise": "民办非企业单位"}

var statusNames = map[string]string{"active": "存续（在营）", "revoked": "吊销", "deregistered": "注销"}

var changeNames = map[string]string{"transfer": "股权转让", "increase": "增资", "decrease": "减资", "pledge": "股权出质"}

var relationNames = map[string]string{"investment": "对外投资", "parent_subsidiary": "母子公司", "cooperation": "合作"}

func divisionName(code string) string {
	if code == "" {
		return ""
	}
	if d, ok := codes.Divisions().Lookup(code); ok {
		return d.Name
	}
	return code
}

func scopeText(s auth.Scope) string {
	if s.Kind == auth.ScopeAll {
		return "全市"
	}
	if s.IsEmpty() {
		return "无"
	}
	var names []string
	for _, d := range s.Districts {
		names = append(names, divisionName(d))
	}
	for _, t := range s.Townships {
		names = append(names, divisionName(t))
	}
	return strings.Join(names, "、")
}

func pct(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".") + "%"
}

func (b *ppBuilder) build(p *Portrait) {
	e := p.Entity
	b.footer = [][]pdffont.Glyph{b.ts.Glyphs("石家庄市市场监督管理局 · 企业数字画像 · 按生成人的数据权限范围生成，范围外主体不显示详情")}
	title := b.ts.Glyphs("企业数字画像报告")
	b.add(ppRow{cells: []ppCell{{gs: title, x: ppMarginX + (ppWidth-b.ts.Width(title, 18))/2}}, size: 18, h: 11, color: ppInk})
	name := b.ts.Glyphs(e.Name)
	b.add(ppRow{cells: []ppCell{{gs: name, x: ppMarginX + max(0, (ppWidth-b.ts.Width(name, 14))/2)}}, size: 14, h: 9, color: ppInk})
	b.add(b.line(9, b.text("统一社会信用代码："+e.CreditCode, ppMarginX)))
	b.add(b.line(9, b.text("生成时间："+p.GeneratedAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")+
		"　生成人："+p.GeneratedBy+"　数据范围："+scopeText(p.Scope), ppMarginX)))

	b.heading("基本信息")
	b.kv([][2]string{
		{"企业名称", e.Name}, {"主体类型", entityTypeNames[e.EntityType]},
		{"法定代表人", e.LegalRep}, {"登记状态", statusNames[e.Status]},
		{"成立日期", e.EstablishedOn}, {"注册资本", e.RegisteredCapital + " 万元"},
		{"所属区县", divisionName(e.DistrictCode)}, {"乡镇街道", divisionName(e.TownshipCode)},
		{"行业代码", e.IndustryCode}, {"住所", e.Address}, {"经营范围", e.BusinessScope},
	})

	b.heading("信用等级与风险信号")
	g := p.Grade
	gc := ppInk
	if g.Grade == "C" || g.Grade == "D" {
		gc = ppRed
	}
	b.add(ppRow{cells: []ppCell{b.text(fmt.Sprintf("档案信用等级：%s（%d 分）", g.Grade, g.Score), ppMarginX)}, size: 11, h: 7, color: gc})
	if len(g.Factors) == 0 {
		b.para("依据：本档案中没有扣分记录。", 9, ppMarginX+4, ppMuted)
	} else {
		b.para("依据："+strings.Join(g.Factors, "；")+"。", 9, ppMarginX+4, ppMuted)
	}
	b.para("（按一户一档中的处罚、经营异常、严重违法失信、黑名单、投诉记录，以网络市场信用评价的扣分标准计算。）", 8, ppMarginX+4, ppMuted)
	if len(p.Risks) == 0 {
		b.para("风险信号：未发现。", 9.5, ppMarginX, ppInk)
	} else {
		b.add(b.line(9.5, b.text(fmt.Sprintf("风险信号（%d 项）：", len(p.Risks)), ppMarginX)))
		for _, r := range p.Risks {
			c := ppInk
			if r.Level == "高" {
				c = ppRed
			}
			b.para("【"+r.Level+"】"+r.Text, 9, ppMarginX+4, c)
		}
	}

	b.heading("股权结构图")
	if p.Graph == nil {
		b.para("暂无该主体的股权数据。", 9.5, ppMarginX, ppMuted)
	} else {
		b.chart(p.Graph)
		b.para("图例：蓝框为本主体，浅蓝为企业，浅橙为自然人，灰色为数据权限范围外的主体（不显示名称与代码）；箭头由股东指向被持股主体，数字为持股比例，虚线为其他关联关系。", 8, ppMarginX, ppMuted)
	}

	b.heading("股东、实际控制人与受益所有人")
	if pen := p.Penetration; pen == nil || len(pen.Holders) == 0 {
		b.para("暂无股东数据。", 9.5, ppMarginX, ppMuted)
	} else {
		names := func(ss []StakeView) string {
			if len(ss) == 0 {
				return fmt.Sprintf("未识别（无持股达到 %s 的最终持有人）", pct(pen.Threshold))
			}
			var out []string
			for _, s := range ss {
				out = append(out, fmt.Sprintf("%s（%s）", s.Name, pct(s.Pct)))
			}
			return strings.Join(out, "、")
		}
		b.para("实际控制人："+names(pen.Controllers), 9.5, ppMarginX, ppInk)
		b.para("受益所有人："+names(pen.BeneficialOwners), 9.5, ppMarginX, ppInk)
		b.gap(1.5)
		hdr := b.line(8.5, b.text("股东", ppMarginX), b.text("类型", ppMarginX+80), ppCell{gs: b.ts.Glyphs("直接持股"), x: ppMarginX + 124, right: true},
			ppCell{gs: b.ts.Glyphs("合计持股"), x: ppMarginX + 150, right: true}, b.text("最终持有人", ppMarginX+156))
		hdr.rule = true
		b.add(hdr)
		for _, s := range pen.Holders {
			kind := map[string]string{"entity": "企业", "person": "自然人"}[s.Kind]
			root := ""
			if s.Root {
				root = "是"
			}
			b.add(b.line(8.5, b.fit(s.Name, 8.5, 78, ppMarginX), b.text(kind, ppMarginX+80),
				ppCell{gs: b.ts.Glyphs(pct(s.DirectPct)), x: ppMarginX + 124, right: true},
				ppCell{gs: b.ts.Glyphs(pct(s.Pct)), x: ppMarginX + 150, right: true}, b.text(root, ppMarginX+160)))
		}
		if pen.Truncated {
			b.para("（股权链条超过穿透上限，以上结果已截断。）", 8, ppMarginX, ppMuted)
		}
	}
	if len(p.Changes) > 0 {
		b.gap(2)
		b.add(b.line(9.5, b.text(fmt.Sprintf("股权变更记录（%d 条）", len(p.Changes)), ppMarginX)))
		for _, c := range p.Changes {
			s := fmt.Sprintf("%s　%s　%s", c.OccurredOn, changeNames[c.Kind], p.Names[c.HolderID])
			if c.PctBefore != nil && c.PctAfter != nil {
				s += fmt.Sprintf("　%s → %s", pct(*c.PctBefore), pct(*c.PctAfter))
			}
			if c.Counterparty != "" {
				s += "　相对方：" + p.Names[c.Counterparty]
			}
			b.para(s, 8.5, ppMarginX+4, ppInk)
		}
	}

	b.heading("监管记录")
	bySection := map[string]PortraitSection{}
	for _, s := range e.Sections {
		bySection[s.Kind] = s
	}
	anyRec := false
	for _, k := range portraitKinds {
		s, ok := bySection[k]
		if !ok || s.Total == 0 {
			continue
		}
		anyRec = true
		more := ""
		if s.Total > len(s.Records) {
			more = fmt.Sprintf("，列出最近 %d 条", len(s.Records))
		}
		b.gap(1)
		b.add(b.line(10, b.text(fmt.Sprintf("%s（共 %d 条%s）", kindName(k), s.Total, more), ppMarginX)))
		for _, r := range s.Records {
			head := r.OccurredOn + "　" + r.Title
			if r.RefNo != "" {
				head += "　" + r.RefNo
			}
			b.para(head, 8.5, ppMarginX+4, ppInk)
			var sub []string
			if r.Authority != "" {
				sub = append(sub, "机关："+r.Authority)
			}
			if r.Status != "" {
				sub = append(sub, "状态："+r.Status)
			}
			if r.ValidUntil != "" {
				sub = append(sub, "有效期至："+r.ValidUntil)
			}
			if k == "penalty" {
				for _, d := range [][2]string{{"penalty_type", "处罚种类"}, {"amount", "金额（元）"}, {"legal_basis", "依据"}, {"execution", "执行情况"}} {
					if v, ok := r.Details[d[0]]; ok && fmt.Sprint(v) != "" {
						sub = append(sub, d[1]+"："+fmt.Sprint(v))
					}
				}
			}
			if !r.Public {
				sub = append(sub, "不公示")
			}
			if len(sub) > 0 {
				b.para(strings.Join(sub, "；"), 8, ppMarginX+8, ppMuted)
			}
		}
	}
	if !anyRec {
		b.para("暂无监管记录。", 9.5, ppMarginX, ppMuted)
	}

	b.heading("国家企业数据（全国公示信息与外地关联主体）")
	for _, n := range p.National {
		who := n.Node.Name
		if n.Node.ID == e.CreditCode {
			who = "本主体：" + e.Name
		}
		b.add(b.line(9.5, b.fit(who+"（"+n.Node.ID+"）", 9.5, ppWidth, ppMarginX)))
		switch {
		case n.Err != "":
			b.para("未能获取："+n.Err+"。本节其余内容不受影响。", 9, ppMarginX+4, ppRed)
		case n.Found == nil:
			b.para("国家企业信用信息中未查询到该主体。", 9, ppMarginX+4, ppMuted)
		default:
			x := n.Found
			b.para(fmt.Sprintf("登记机关：%s；登记状态：%s；法定代表人：%s；成立日期：%s；注册资本：%s", x.RegAuthority, x.RegStatus, x.LegalRep,
				x.EstablishedOn, x.RegisteredCapital), 8.5, ppMarginX+4, ppInk)
			if len(x.Abnormal)+len(x.SeriousIllegal)+len(x.Penalties) == 0 {
				b.para("全国范围内无经营异常、严重违法失信与行政处罚公示信息。", 8.5, ppMarginX+4, ppMuted)
			}
			for _, l := range x.Abnormal {
				b.para(fmt.Sprintf("经营异常名录：%s（%s，%s%s）", l.Reason, l.Authority, l.ListedOn, removedText(l.RemovedOn)), 8.5, ppMarginX+4, ppInk)
			}
			for _, l := range x.SeriousIllegal {
				b.para(fmt.Sprintf("严重违法失信名单：%s（%s，%s%s）", l.Reason, l.Authority, l.ListedOn, removedText(l.RemovedOn)), 8.5, ppMarginX+4, ppRed)
			}
			for _, pe := range x.Penalties {
				b.para(fmt.Sprintf("行政处罚：%s %s（%s，%s）", pe.RefNo, pe.Content, pe.Authority, pe.DecidedOn), 8.5, ppMarginX+4, ppInk)
			}
		}
	}
	if p.NationalNote != "" {
		b.para(p.NationalNote, 8, ppMarginX, ppMuted)
	}
}

func removedText(on string) string {
	if on == "" {
		return ""
	}
	return "，" + on + " 已移出"
}

func chineseOrdinal(n int) string {
	digits := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}
	if n <= 10 {
		return digits[n]
	}
	return fmt.Sprint(n)
}

// chart lays the ownership graph out in levels — holders above the
// entity, what it holds below, other relations beside it — and adds it
// as one drawing row.
func (b *ppBuilder) chart(g *Graph) {
	level := map[string]int{g.Center: 0}
	queue := []string{g.Center}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, l := range g.Links {
			if l.Kind != "holding" {
				continue
			}
			if l.Target == n && level[n] <= 0 {
				if _, ok := level[l.Source]; !ok {
					level[l.Source] = level[n] - 1
					queue = append(queue, l.Source)
				}
			}
			if l.Source == n && level[n] >= 0 {
				if _, ok := level[l.Target]; !ok {
					level[l.Target] = level[n] + 1
					queue = append(queue, l.Target)
				}
			}
		}
	}
	for _, l := range g.Links {
		if l.Kind == "holding" {
			continue
		}
		for _, id := range []string{l.Source, l.Target} {
			if _, ok := level[id]; !ok {
				level[id] = 0
			}
		}
	}
	nodes := map[string]Node{}
	for _, n := range g.Nodes {
		nodes[n.ID] = n
	}
	lo, hi := 0, 0
	byLevel := map[int][]string{}
	for _, n := range g.Nodes {
		lv, ok := level[n.ID]
		if !ok {
			continue
		}
		lo, hi = min(lo, lv), max(hi, lv)
		if n.ID == g.Center {
			continue
		}
		byLevel[lv] = append(byLevel[lv], n.ID)
	}
	// The centre in the middle of its level.
	mid := byLevel[0]
	half := len(mid) / 2
	byLevel[0] = append(append(append([]string{}, mid[:half]...), g.Center), mid[half:]...)

	type box struct {
		x, y, w float64
		lines   [][]pdffont.Glyph
		fill    [3]int
		centre  bool
		rest    bool
	}
	boxes := map[string]*box{}
	var extra []*box
	const size = 7.0
	for lv := lo; lv <= hi; lv++ {
		ids := byLevel[lv]
		shown, rest := ids, 0
		if len(ids) > ppChartPerLevel {
			shown, rest = ids[:ppChartPerLevel-1], len(ids)-(ppChartPerLevel-1)
		}
		n := len(shown)
		if rest > 0 {
			n++
		}
		w := min(42.0, (ppWidth-float64(n-1)*4)/float64(n))
		x0 := ppMarginX + (ppWidth-(float64(n)*w+float64(n-1)*4))/2
		y := float64(lv-lo)*ppChartLevelH + 2
		for i, id := range shown {
			nd := nodes[id]
			bx := &box{x: x0 + float64(i)*(w+4), y: y, w: w}
			switch {
			case id == g.Center:
				bx.fill, bx.centre = [3]int{0x40, 0x9e, 0xff}, true
			case nd.Hidden || nd.Kind == "unknown":
				bx.fill = [3]int{0xdd, 0xdd, 0xdd}
			case nd.Kind == "person":
				bx.fill = [3]int{0xfd, 0xe9, 0xd3}
			default:
				bx.fill = [3]int{0xe0, 0xee, 0xfd}
			}
			ls := b.ts.Wrap(b.ts.Glyphs(nd.Name), size, w-3)
			if len(ls) > 2 {
				ls = ls[:2]
				ls[1] = b.fit(string(glyphText(ls[1]))+"……", size, w-3, 0).gs
			}
			bx.lines = ls
			boxes[id] = bx
		}
		if rest > 0 {
			bx := &box{x: x0 + float64(n-1)*(w+4), y: y, w: w, fill: [3]int{0xf4, 0xf4, 0xf5}, rest: true,
				lines: [][]pdffont.Glyph{b.ts.Glyphs(fmt.Sprintf("另有 %d 个主体", rest))}}
			extra = append(extra, bx)
		}
	}
	type edge struct {
		from, to *box
		label    []pdffont.Glyph
		dashed   bool
		shift    float64 // the second and later links of one pair move aside, so no label hides another
	}
	var edges []edge
	pairs := map[[2]*box]int{}
	for _, l := range g.Links {
		s, t := boxes[l.Source], boxes[l.Target]
		if s == nil || t == nil {
			continue
		}
		k := [2]*box{s, t}
		if t.y < s.y || (t.y == s.y && t.x < s.x) {
			k = [2]*box{t, s}
		}
		shift := float64(pairs[k]) * 6
		pairs[k]++
		if l.Kind == "holding" && l.Pct != nil {
			edges = append(edges, edge{from: s, to: t, label: b.ts.Glyphs(pct(*l.Pct)), shift: shift})
		} else {
			edges = append(edges, edge{from: s, to: t, label: b.ts.Glyphs(relationNames[l.Kind]), dashed: true, shift: shift})
		}
	}
	height := float64(hi-lo+1)*ppChartLevelH + 2
	ts := b.ts
	b.add(ppRow{h: height, draw: func(pdf *fpdf.Fpdf, top float64) {
		pdf.SetLineWidth(0.3)
		// Labels go on top of the boxes: a relation between neighbours has
		// a gap narrower than its label.
		type label struct {
			gs     []pdffont.Glyph
			mx, my float64
		}
		var labels []label
		for _, e := range edges {
			x1, y1 := e.from.x+e.from.w/2, top+e.from.y+ppBoxH
			x2, y2 := e.to.x+e.to.w/2, top+e.to.y
			if e.from.y == e.to.y { // same level: side to side
				y1, y2 = top+e.from.y+ppBoxH/2, top+e.to.y+ppBoxH/2
				if e.from.x < e.to.x {
					x1, x2 = e.from.x+e.from.w, e.to.x
				} else {
					x1, x2 = e.from.x, e.to.x+e.to.w
				}
			} else if e.from.y > e.to.y { // a holding upwards (a cycle)
				y1, y2 = top+e.from.y, top+e.to.y+ppBoxH
			}
			if e.from.y == e.to.y {
				y1, y2 = y1+e.shift/3, y2+e.shift/3
			} else {
				x1, x2 = x1+e.shift, x2+e.shift
			}
			pdf.SetDrawColor(0x66, 0x77, 0x88)
			if e.dashed {
				pdf.SetDashPattern([]float64{1.2, 1.2}, 0)
			}
			pdf.Line(x1, y1, x2, y2)
			pdf.SetDashPattern([]float64{}, 0)
			if !e.dashed {
				arrow(pdf, x1, y1, x2, y2)
			}
			labels = append(labels, label{e.label, (x1 + x2) / 2, (y1 + y2) / 2})
		}
		all := make([]*box, 0, len(boxes)+len(extra))
		for _, bx := range boxes {
			all = append(all, bx)
		}
		all = append(all, extra...)
		for _, bx := range all {
			pdf.SetFillColor(bx.fill[0], bx.fill[1], bx.fill[2])
			pdf.SetDrawColor(0x99, 0xaa, 0xbb)
			pdf.SetLineWidth(0.2)
			pdf.Rect(bx.x, top+bx.y, bx.w, ppBoxH, "FD")
			if bx.centre {
				pdf.SetTextColor(0xff, 0xff, 0xff)
			} else {
				pdf.SetTextColor(0x22, 0x22, 0x22)
			}
			lh := size * ppPtToMM * 1.4
			y := top + bx.y + (ppBoxH-float64(len(bx.lines))*lh)/2
			for _, l := range bx.lines {
				ts.Draw(l, bx.x+(bx.w-ts.Width(l, size))/2, y, size, lh)
				y += lh
			}
		}
		for _, l := range labels {
			w := ts.Width(l.gs, 6.5)
			pdf.SetFillColor(0xff, 0xff, 0xff)
			pdf.Rect(l.mx-w/2-0.6, l.my-1.6, w+1.2, 3.2, "F")
			pdf.SetTextColor(0x33, 0x55, 0x88)
			ts.Draw(l.gs, l.mx-w/2, l.my-1.6, 6.5, 3.2)
		}
	}})
}

// arrow draws a small head at (x2, y2) pointing along the line.
func arrow(pdf *fpdf.Fpdf, x1, y1, x2, y2 float64) {
	dx, dy := x2-x1, y2-y1
	l := math.Sqrt(dx*dx + dy*dy)
	if l == 0 {
		return
	}
	ux, uy := dx/l, dy/l
	const s = 1.8
	pdf.SetFillColor(0x66, 0x77, 0x88)
	pdf.Polygon([]fpdf.PointType{{X: x2, Y: y2}, {X: x2 - s*ux - s*0.5*uy, Y: y2 - s*uy + s*0.5*ux},
		{X: x2 - s*ux + s*0.5*uy, Y: y2 - s*uy - s*0.5*ux}}, "F")
}

func glyphText(gs []pdffont.Glyph) []rune {
	var out []rune
	for _, g := range gs {
		out = append(out, []rune(g.Text)...)
	}
	return out
}
