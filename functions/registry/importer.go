package registry

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Import limits: a county bureau's monthly batch fits easily; larger loads
// go through the seed/COPY path.
const (
	MaxImportBytes = 20 << 20
	MaxImportRows  = 50000
)

// headerAliases are the header names accepted for each field: Chinese as
// in the bureau's templates, or the API's snake_case. They are compared
// after NormalizeName, so brackets, full-width forms, spaces, a BOM and
// ASCII case do not matter (法定代表人(负责人) = 法定代表人（负责人）,
// Credit_Code = credit_code). The capital's column may also carry its
// unit (注册资本（万元）, 注册资本(元), 注册资本万元): see capitalUnits.
var headerAliases = map[string][]string{
	"credit_code":        {"统一社会信用代码", "社会信用代码", "信用代码"},
	"name":               {"主体名称", "名称", "企业名称", "市场主体名称"},
	"entity_type":        {"主体类型", "类型", "市场主体类型"},
	"legal_rep":          {"法定代表人", "法定代表人（负责人）", "负责人", "经营者"},
	"established_on":     {"成立日期", "成立时间"},
	"registered_capital": {"注册资本"},
	"business_scope":     {"经营范围"},
	"address":            {"住所", "地址", "经营场所", "住所（经营场所）"},
	"district_code":      {"行政区划代码", "区县代码"},
	"township_code":      {"乡镇街道代码"},
	"industry_code":      {"行业代码", "国民经济行业代码"},
	"status":             {"登记状态", "状态"},
	"longitude":          {"经度"},
	"latitude":           {"纬度"},
}

// ignoredHeaders are columns templates carry that hold nothing for the
// register (a running number, a note): known, and deliberately skipped.
var ignoredHeaders = []string{"序号", "备注"}

// columns maps every normalised header name to its field ("" for an
// ignored column).
var columns = func() map[string]string {
	m := map[string]string{}
	for field, names := range headerAliases {
		m[field] = field
		for _, n := range names {
			m[NormalizeName(n)] = field
		}
	}
	for _, n := range ignoredHeaders {
		m[NormalizeName(n)] = ""
	}
	return m
}()

// capitalUnits are the units a capital header may name, as the power of
// ten that turns the unit into 万元, the unit stored (registered_capital
// numeric(20,4), 万元). Without a unit the column is in 万元.
var capitalUnits = map[string]int{
	"万元": 0, "万": 0, "人民币万元": 0, "万元人民币": 0,
	"元": -4, "人民币元": -4, "元人民币": -4,
	"亿元": 4, "亿": 4, "人民币亿元": 4,
}

var required = []string{"credit_code", "name", "entity_type", "legal_rep", "established_on", "address", "district_code", "industry_code"}

// Chinese labels accepted in place of the stored values.
var typeLabels, statusLabels = invert(entityTypes), invert(statuses)

func invert(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[v] = k
	}
	out["个体户"] = "individual"
	out["合作社"] = "cooperative"
	out["民非"] = "non_enterprise"
	out["在营"], out["开业"] = "active", "active"
	return out
}

// ImportResult answers a successful import.
type ImportResult struct {
	Imported int `json:"imported"`
}

// column is where a field is found in the file, and for the capital the
// power of ten its unit is away from 万元.
type column struct {
	index int
	scale int
}

// fileRow is one data row's input and the row of the file it came from.
type fileRow struct {
	in  EntityInput
	row int
}

// colName names a column the way a person finds it: 第 3 列（C 列）.
func colName(i int) string {
	letters, _ := excelize.ColumnNumberToName(i + 1)
	return fmt.Sprintf("第 %d 列（%s 列）", i+1, letters)
}

// mapHeader finds the field of every header. Every column is accounted
// for: a header that names no field, names one twice or gives the capital
// an unknown unit is an error naming it, and so is data under an empty
// header. Nothing is dropped silently.
func mapHeader(header []Cell, data [][]Cell, headerRow int) (map[string]column, []errs.FieldError) {
	cols := map[string]column{}
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg, Row: headerRow}) }
	width := len(header)
	for _, r := range data {
		width = max(width, len(r))
	}
	for i := range width {
		var h string
		if i < len(header) {
			h = strings.TrimSpace(header[i].Text)
		}
		if NormalizeName(h) == "" {
			for n, r := range data {
				if i < len(r) && !r[i].blank() {
					fe = append(fe, errs.FieldError{Field: "header", Row: headerRow + 1 + n,
						Message: colName(i) + "有数据但没有列名，请补上列名或删除该列"})
					break
				}
			}
			continue
		}
		field, scale, msg := headerField(h)
		switch {
		case msg != "":
			add(field, colName(i)+msg)
			continue
		case field == "":
			continue // an ignored column
		}
		if prev, ok := cols[field]; ok {
			add(field, fmt.Sprintf("%s“%s”与%s“%s”是同一列（%s），请只保留一列", colName(i), h, colName(prev.index),
				strings.TrimSpace(header[prev.index].Text), headerName(field)))
			continue
		}
		cols[field] = column{index: i, scale: scale}
	}
	return cols, fe
}

// headerField is the field a header names ("" for an ignored column), the
// unit's power of ten for the capital, or a message saying what is wrong.
func headerField(h string) (field string, scale int, problem string) {
	n := NormalizeName(h)
	if f, ok := columns[n]; ok {
		return f, 0, ""
	}
	// A unit after the name: 注册资本(万元) (brackets are () once
	// normalised) or 注册资本万元.
	base, unit := n, ""
	if strings.HasSuffix(n, ")") {
		if i := strings.LastIndex(n, "("); i > 0 {
			base, unit = n[:i], n[i+1:len(n)-1]
		}
	} else {
		for u := range capitalUnits {
			if b, ok := strings.CutSuffix(n, u); ok && columns[b] == "registered_capital" {
				base, unit = b, u
				break
			}
		}
	}
	if columns[base] == "registered_capital" {
		if sc, ok := capitalUnits[unit]; ok {
			return "registered_capital", sc, ""
		}
		return "registered_capital", 0, fmt.Sprintf("“%s”的单位无法识别：注册资本的单位应为万元或元", h)
	}
	return "header", 0, fmt.Sprintf("的列名“%s”无法识别，请使用导入模板中的列名（如 统一社会信用代码、主体名称、注册资本（万元））", h)
}

func blankRow(r []Cell) bool {
	for _, c := range r {
		if !c.blank() {
			return false
		}
	}
	return true
}

// rowsToInputs maps the header and converts every data row. Blank rows
// (",,,," and the empty rows Excel leaves below a table, or between parts
// of it) are skipped, and so are blank rows above the header; row numbers
// in errors are the file's own.
func rowsToInputs(s Sheet) ([]fileRow, []errs.FieldError) {
	h := 0
	for h < len(s.Rows) && blankRow(s.Rows[h]) {
		h++
	}
	if h == len(s.Rows) {
		return nil, []errs.FieldError{{Field: "file", Message: "文件为空"}}
	}
	cols, fe := mapHeader(s.Rows[h], s.Rows[h+1:], h+1)
	for _, f := range required {
		if _, ok := cols[f]; !ok {
			fe = append(fe, errs.FieldError{Field: f, Message: "缺少必需的列：" + headerName(f), Row: h + 1})
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	// Blank means blank in every column read: a template's pre-filled 序号
	// does not make an empty row a row.
	blank := func(r []Cell) bool {
		for _, c := range cols {
			if c.index < len(r) && !r[c.index].blank() {
				return false
			}
		}
		return true
	}
	var out []fileRow
	for i := h + 1; i < len(s.Rows); i++ {
		if blank(s.Rows[i]) {
			continue
		}
		if len(out) == MaxImportRows {
			return nil, []errs.FieldError{{Field: "file", Message: fmt.Sprintf("单个文件最多 %d 行，请拆分后导入", MaxImportRows)}}
		}
		in, rfe := rowInput(s.Rows[i], cols, i+1, s.Date1904)
		fe = append(fe, rfe...)
		out = append(out, fileRow{in: in, row: i + 1})
	}
	if len(out) == 0 {
		return nil, []errs.FieldError{{Field: "file", Message: "文件中没有数据行"}}
	}
	return out, fe
}

// rowInput converts one data row. Names, people and addresses are kept as
// written (trimmed); codes, dates, amounts and coordinates are read the
// way people write them (full-width digits, 2023年1月5日, 1,000.50万元).
func rowInput(rec []Cell, cols map[string]column, row int, date1904 bool) (EntityInput, []errs.FieldError) {
	cell := func(f string) Cell {
		c, ok := cols[f]
		if !ok || c.index >= len(rec) {
			return Cell{}
		}
		return rec[c.index]
	}
	text := func(f string) string { return strings.TrimSpace(cell(f).Text) }
	code := func(f string) string { return strings.Map(dropSpace, norm.NFKC.String(cell(f).Text)) }
	number := func(f string) string {
		if c := cell(f); c.Number != "" {
			return c.Number
		}
		return code(f)
	}
	var fe []errs.FieldError
	reported := map[string]bool{}
	fail := func(field, msg string) {
		fe = append(fe, errs.FieldError{Field: field, Message: msg, Row: row})
		reported[field] = true
	}
	in := EntityInput{
		CreditCode: code("credit_code"), Name: text("name"), EntityType: code("entity_type"), LegalRep: text("legal_rep"),
		BusinessScope: text("business_scope"), Address: text("address"), DistrictCode: code("district_code"),
		TownshipCode: code("township_code"), IndustryCode: code("industry_code"), Status: code("status"),
	}
	if d, msg := parseDate(cell("established_on"), date1904); msg != "" {
		fail("established_on", msg)
	} else {
		in.EstablishedOn = d
	}
	if a, msg := parseAmount(cell("registered_capital"), cols["registered_capital"].scale); msg != "" {
		fail("registered_capital", msg)
	} else {
		in.RegisteredCapital = Decimal(a)
	}
	if v, ok := typeLabels[in.EntityType]; ok {
		in.EntityType = v
	}
	if v, ok := statusLabels[in.Status]; ok {
		in.Status = v
	}
	fe = append(fe, parseCoords(&in, number("longitude"), number("latitude"), row)...)
	for _, e := range in.check(row) {
		if !reported[e.Field] { // one message per field: ours names what was read
			fe = append(fe, e)
		}
	}
	return in, fe
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}

// headerNames is the column title the bureau's template uses for each field.
var headerNames = map[string]string{
	"credit_code": "统一社会信用代码", "name": "主体名称", "entity_type": "主体类型", "legal_rep": "法定代表人",
	"established_on": "成立日期", "address": "住所", "district_code": "行政区划代码", "industry_code": "行业代码",
	"registered_capital": "注册资本（万元）", "business_scope": "经营范围", "township_code": "乡镇街道代码",
	"status": "登记状态", "longitude": "经度", "latitude": "纬度",
}

func headerName(field string) string {
	if h, ok := headerNames[field]; ok {
		return h
	}
	return field
}

// maxSerial is 9999-12-31, Excel's last date.
const maxSerial = 2958465

// parseDate reads an establishment date: an Excel date (a serial in a
// numeric cell, whatever its number format: 14, yyyy"年"m"月"d"日"…, in
// the 1900 or the 1904 date system), or text as Chinese Excel and people
// write it: 2023-01-05, 2023/1/5, 2023.1.5, 2023年1月5日, 20230105, with
// full-width digits, or followed by a time (2023/1/5 0:00).
func parseDate(c Cell, date1904 bool) (string, string) {
	if c.Number != "" {
		v, err := strconv.ParseFloat(c.Number, 64)
		switch {
		case err != nil:
		case v >= 19000101 && v <= 99991231 && v == math.Trunc(v): // 20230105 typed as a number
			return textDate(strconv.FormatInt(int64(v), 10))
		case v >= 1 && v < maxSerial+1:
			// The fraction is the time of day; a date typed in Excel has none.
			if t, err := excelize.ExcelDateToTime(math.Floor(v+1e-7), date1904); err == nil {
				return t.Format(time.DateOnly), ""
			}
		}
		return "", dateProblem(c.Number)
	}
	s := strings.TrimSpace(norm.NFKC.String(c.Text))
	if s == "" {
		return "", "" // check() says it is required
	}
	return textDate(s)
}

func dateProblem(s string) string {
	return fmt.Sprintf("成立日期“%s”无法识别，请写作 2023-01-05、2023/1/5、2023.1.5、2023年1月5日 或 20230105，或设为 Excel 日期格式", s)
}

func textDate(s string) (string, string) {
	orig := s
	if len(s) > 10 && s[10] == 'T' { // ISO 8601 with a time
		s = s[:10]
	}
	if f := strings.Fields(s); len(f) > 1 && strings.Contains(f[len(f)-1], ":") {
		f = f[:len(f)-1]
		s = strings.Join(f, "")
	}
	s = strings.Map(dropSpace, s)
	var y, m, d string
	switch {
	case strings.Contains(s, "年"):
		var rest string
		var ok bool
		y, rest, _ = strings.Cut(s, "年")
		if m, rest, ok = strings.Cut(rest, "月"); !ok {
			return "", dateProblem(orig)
		}
		d = strings.TrimSuffix(rest, "日")
	case len(s) == 8 && strings.Trim(s, "0123456789") == "":
		y, m, d = s[:4], s[4:6], s[6:]
	default:
		for _, sep := range []string{"-", "/", "."} {
			if p := strings.Split(s, sep); len(p) == 3 {
				y, m, d = p[0], p[1], p[2]
				break
			}
		}
	}
	digits := func(v string, lo, hi int) (int, bool) {
		if len(v) < lo || len(v) > hi || strings.Trim(v, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	yy, ok1 := digits(y, 4, 4)
	mm, ok2 := digits(m, 1, 2)
	dd, ok3 := digits(d, 1, 2)
	t := time.Date(yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if !ok1 || !ok2 || !ok3 || t.Month() != time.Month(mm) || t.Day() != dd {
		return "", dateProblem(orig)
	}
	return t.Format(time.DateOnly), ""
}

var (
	plainAmount     = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	thousandsAmount = regexp.MustCompile(`^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$`)
)

// parseAmount reads a registered capital into 万元, the unit stored:
// 1,000.50 / 100万元 / 100万 / １０００ / ￥100 / 人民币50万元, or an XLSX number.
// scale is the column's unit (header 注册资本(元): -4); a unit written in
// the cell wins over the header's.
func parseAmount(c Cell, scale int) (string, string) {
	r := new(big.Rat)
	if c.Number != "" {
		v, err := strconv.ParseFloat(c.Number, 64)
		// Excel shows 15 significant digits; the double it stores may
		// carry binary noise past them (0.30000000000000004).
		if _, ok := r.SetString(strconv.FormatFloat(v, 'g', 15, 64)); err != nil || !ok {
			return "", fmt.Sprintf("注册资本“%s”不是数字", c.Number)
		}
	} else {
		s := strings.ToLower(strings.Map(dropSpace, norm.NFKC.String(c.Text)))
		if s == "" {
			return "", ""
		}
		orig := strings.TrimSpace(c.Text)
		for _, p := range []string{"人民币", "¥", "rmb", "cny"} {
			s = strings.TrimPrefix(s, p)
		}
		s = strings.TrimSuffix(s, "人民币")
		for _, u := range []string{"万元", "亿元", "元", "万", "亿"} { // longest first
			if rest, ok := strings.CutSuffix(s, u); ok {
				s, scale = rest, capitalUnits[u]
				break
			}
		}
		if strings.Contains(s, ",") {
			if !thousandsAmount.MatchString(s) {
				return "", fmt.Sprintf("注册资本“%s”的千位分隔符位置不正确", orig)
			}
			s = strings.ReplaceAll(s, ",", "")
		}
		if !plainAmount.MatchString(s) {
			return "", fmt.Sprintf("注册资本“%s”无法识别，应为数字（单位：万元），如 100、1,000.50、100万元、500000元", orig)
		}
		r.SetString(s)
	}
	switch {
	case scale > 0:
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	case scale < 0:
		r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil)))
	}
	if !new(big.Rat).Mul(r, big.NewRat(10000, 1)).IsInt() {
		if scale < 0 {
			return "", "注册资本按万元保存，精确到元：以元填写时不能有角、分"
		}
		return "", "注册资本最多保留 4 位小数（单位：万元）"
	}
	return trimDecimal(r.FloatString(4)), ""
}

func parseCoords(in *EntityInput, lon, lat string, row int) []errs.FieldError {
	if lon == "" && lat == "" {
		return nil
	}
	x, e1 := strconv.ParseFloat(lon, 64)
	y, e2 := strconv.ParseFloat(lat, 64)
	if e1 != nil || e2 != nil {
		return []errs.FieldError{{Field: "longitude", Message: "经纬度应为数字", Row: row}}
	}
	in.Longitude, in.Latitude = &x, &y
	return nil
}

// Import validates every row and then writes all of them, with their
// entity.registered events, in one transaction — or nothing. The error
// lists every bad row and field.
func (f *Function) Import(ctx context.Context, scope auth.Scope, who auditlog.Actor, s Sheet) (ImportResult, error) {
	rows, fe := rowsToInputs(s)
	fe = append(fe, duplicateRows(rows)...)
	var outside []errs.FieldError
	for _, r := range rows {
		if r.in.DistrictCode != "" && !scope.Allows(r.in.DistrictCode, r.in.TownshipCode) {
			outside = append(outside, errs.FieldError{Field: "district_code", Row: r.row, Message: "不在您的数据权限范围内"})
		}
	}
	// Rows outside the caller's scope make the whole file forbidden, as a
	// single registration there is; the rows are named so the clerk can
	// take them out.
	if len(outside) > 0 {
		return ImportResult{}, &errs.Error{Code: errs.Forbidden, Fields: append(outside, fe...),
			Message: fmt.Sprintf("文件中有 %d 行不在您的数据权限范围内，无权导入", len(outside))}
	}
	if len(fe) > 0 {
		return ImportResult{}, importError(fe)
	}
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if fe := existingRows(ctx, tx, rows); len(fe) > 0 {
			return importError(fe)
		}
		var evs []event.Event
		now := f.now()
		for _, r := range rows {
			e, err := insertEntity(ctx, tx, r.in, now)
			if err != nil {
				return fmt.Errorf("insert %s: %w", r.in.CreditCode, err)
			}
			// One row per entity, so the log finds each by its code and
			// the auditor's scope applies row by row.
			if err := f.audit(ctx, tx, who, "registry.entity.import", e, nil, e); err != nil {
				return err
			}
			ev, err := f.newEvent(events.EntityRegistered, e.CreditCode, events.EntityRegisteredData{Entity: e.event(), RegisteredAt: now})
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
		return outbox.Record(ctx, tx, evs...)
	})
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Imported: len(rows)}, nil
}

func importError(fe []errs.FieldError) error {
	rows := map[int]bool{}
	for _, e := range fe {
		rows[e.Row] = true
	}
	return &errs.Error{Code: errs.Invalid, Fields: fe,
		Message: fmt.Sprintf("导入失败：%d 行存在 %d 处错误，未导入任何数据，请修正后重新导入", len(rows), len(fe))}
}

func duplicateRows(rows []fileRow) []errs.FieldError {
	seen := map[string]int{}
	var fe []errs.FieldError
	for _, r := range rows {
		if first, ok := seen[r.in.CreditCode]; ok && r.in.CreditCode != "" {
			fe = append(fe, errs.FieldError{Field: "credit_code", Row: r.row, Message: fmt.Sprintf("与第 %d 行的统一社会信用代码重复", first)})
			continue
		}
		seen[r.in.CreditCode] = r.row
	}
	return fe
}

func existingRows(ctx context.Context, tx pgx.Tx, rows []fileRow) []errs.FieldError {
	codes := make([]string, len(rows))
	for i, r := range rows {
		codes[i] = r.in.CreditCode
	}
	res, err := tx.Query(ctx, `SELECT credit_code FROM registry.entities WHERE credit_code = ANY($1)`, codes)
	if err != nil {
		return []errs.FieldError{{Field: "file", Message: "检查重复数据失败，请重试"}}
	}
	existing, _ := pgx.CollectRows(res, pgx.RowTo[string])
	have := map[string]bool{}
	for _, c := range existing {
		have[c] = true
	}
	var fe []errs.FieldError
	for _, r := range rows {
		if have[r.in.CreditCode] {
			fe = append(fe, errs.FieldError{Field: "credit_code", Row: r.row, Message: "该统一社会信用代码已登记"})
		}
	}
	return fe
}
