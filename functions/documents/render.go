package documents

import (
	"math/big"
	"strings"
	"time"
)

// Block is one paragraph of a rendered document.
type Block struct {
	Text  string `json:"text"`
	Align string `json:"align,omitempty"` // "" (justified left) or "right" (落款, dates)
}

// Rendered is a template filled with values: what the preview shows and
// what the PDF and DOCX print.
type Rendered struct {
	Title  string  `json:"title"`
	Blocks []Block `json:"blocks"`
	// Text is the plain text (title, then one line per block): what
	// search, the diff and the output checks compare.
	Text string `json:"text"`
}

// blank is printed for an empty field, a line to write on by hand.
const blank = "________"

// Render fills a template's body with values, as documents are printed.
func Render(t TemplateInput, values map[string]string) Rendered {
	return render(t.Title, t.Body, t.Fields, values)
}

// render fills body with values. A body line that starts with ">" is
// right-aligned (signature blocks, dates); a multi-line value makes
// paragraphs of its own.
func render(title, body string, fields []Field, values map[string]string) Rendered {
	byKey := map[string]Field{}
	for _, f := range fields {
		byKey[f.Key] = f
	}
	out := Rendered{Title: title}
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		align := ""
		if t := strings.TrimLeft(line, " \t\u3000"); strings.HasPrefix(t, ">") {
			align, line = "right", strings.TrimSpace(t[1:])
		}
		filled := placeholderRe.ReplaceAllStringFunc(line, func(m string) string {
			key := placeholderRe.FindStringSubmatch(m)[1]
			f, ok := byKey[key]
			if !ok {
				return m
			}
			return formatValue(f, values[key])
		})
		for _, l := range strings.Split(filled, "\n") {
			out.Blocks = append(out.Blocks, Block{Text: strings.TrimRight(l, " \t"), Align: align})
		}
	}
	// Blank lines at the ends carry nothing.
	for len(out.Blocks) > 0 && out.Blocks[len(out.Blocks)-1].Text == "" {
		out.Blocks = out.Blocks[:len(out.Blocks)-1]
	}
	lines := []string{title}
	for _, b := range out.Blocks {
		lines = append(lines, b.Text)
	}
	out.Text = strings.Join(lines, "\n")
	return out
}

// formatValue is a value as printed: dates in Chinese, amounts with their
// capital form (大写), signatures with their mark.
func formatValue(f Field, v string) string {
	if v == "" {
		if f.Type == FieldSignature {
			return blank + "（签字/盖章）"
		}
		return blank
	}
	switch f.Type {
	case FieldDate:
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			return d.Format("2006年1月2日")
		}
	case FieldAmount:
		if a := parseAmount(v); a != nil {
			return "人民币" + a.FloatString(2) + "元（大写：" + upperAmount(a) + "）"
		}
	case FieldSignature:
		return v + "（签字/盖章）"
	}
	return v
}

// upperAmount is an amount in Chinese capital numerals (中文大写金额), as
// 《支付结算办法》 writes them: 壹仟贰佰万零伍佰元整, 叁角伍分.
func upperAmount(a *big.Rat) string {
	const digits = "零壹贰叁肆伍陆柒捌玖"
	d := []rune(digits)
	cents := new(big.Rat).Mul(a, big.NewRat(100, 1))
	n := new(big.Int).Quo(cents.Num(), cents.Denom()).Int64()
	yuan, jiao, fen := n/100, n/10%10, n%10
	var b strings.Builder
	if yuan > 0 {
		small := []string{"", "拾", "佰", "仟"}
		bigUnits := []string{"", "万", "亿", "万亿"}
		var groups []int64
		for y := yuan; y > 0; y /= 10000 {
			groups = append(groups, y%10000)
		}
		started, zero := false, false
		for gi := len(groups) - 1; gi >= 0; gi-- {
			g := groups[gi]
			if g == 0 {
				zero = zero || started
				continue
			}
			if started && g < 1000 {
				zero = true
			}
			for pos, p := 3, int64(1000); pos >= 0; pos, p = pos-1, p/10 {
				digit := g / p % 10
				if digit == 0 {
					zero = zero || started
					continue
				}
				if zero {
					b.WriteRune(d[0])
					zero = false
				}
				b.WriteRune(d[digit])
				b.WriteString(small[pos])
				started = true
			}
			b.WriteString(bigUnits[gi])
			// A group's own trailing zeros need no 零 before the next group
			// (壹拾万伍仟); a short or empty next group adds it itself.
			zero = false
		}
		b.WriteString("元")
	}
	switch {
	case jiao == 0 && fen == 0:
		if yuan == 0 {
			return "零元整"
		}
		b.WriteString("整")
	default:
		if jiao > 0 {
			b.WriteRune(d[jiao])
			b.WriteString("角")
		} else if yuan > 0 {
			b.WriteRune(d[0])
		}
		if fen > 0 {
			b.WriteRune(d[fen])
			b.WriteString("分")
		}
	}
	return b.String()
}
