package registry

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/sjzamr/smartreg/shared/httpx"
)

// Tests of bulk import on files as people really make them (issue 10,
// "Real files and real names"; FP-13).

const importHeader = "统一社会信用代码,主体名称,主体类型,法定代表人,成立日期,注册资本（万元）,住所,行政区划代码,乡镇街道代码,行业代码,登记状态"

// xlsxFile writes rows into Sheet1 of a new workbook; edit may then style
// cells or set workbook properties before it is saved.
func xlsxFile(t *testing.T, rows [][]any, edit func(x *excelize.File)) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		r := row
		if err := x.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(x)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func anyRow(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// importFields returns the row → field → message of a refused import.
func importFields(t *testing.T, rec *httptest.ResponseRecorder) (string, map[int]map[string]string) {
	t.Helper()
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("import answered %d, want 400: %s", rec.Code, rec.Body)
	}
	var body httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	out := map[int]map[string]string{}
	for _, f := range body.Error.Fields {
		if out[f.Row] == nil {
			out[f.Row] = map[string]string{}
		}
		out[f.Row][f.Field] = f.Message
	}
	return body.Error.Message, out
}

func countEntities(t *testing.T, f *Function) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM registry.entities`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A date cell in Excel's short-date format (14) was read as "01-05-23" and
// refused; yyyy"年"m"月"d"日" came through as the serial 44931.
func TestImportReadsExcelDates(t *testing.T) { // FP-13
	f, _ := newFunction(t)
	h := f.Handler()
	header := anyRow(strings.Split(importHeader, ","))
	cases := []struct {
		name string
		set  func(x *excelize.File, cell string)
	}{
		{"format-14", func(x *excelize.File, cell string) {
			_ = x.SetCellValue("Sheet1", cell, time.Date(2023, 1, 5, 0, 0, 0, 0, time.UTC))
			s, _ := x.NewStyle(&excelize.Style{NumFmt: 14})
			_ = x.SetCellStyle("Sheet1", cell, cell, s)
		}},
		{"custom-年月日", func(x *excelize.File, cell string) {
			_ = x.SetCellInt("Sheet1", cell, 44931)
			format := `yyyy"年"m"月"d"日"`
			s, _ := x.NewStyle(&excelize.Style{CustomNumFmt: &format})
			_ = x.SetCellStyle("Sheet1", cell, cell, s)
		}},
		{"datetime-format-22", func(x *excelize.File, cell string) {
			_ = x.SetCellFloat("Sheet1", cell, 44931.75, -1, 64)
			s, _ := x.NewStyle(&excelize.Style{NumFmt: 22})
			_ = x.SetCellStyle("Sheet1", cell, cell, s)
		}},
		{"serial-as-number", func(x *excelize.File, cell string) { _ = x.SetCellInt("Sheet1", cell, 44931) }},
		{"yyyymmdd-as-number", func(x *excelize.File, cell string) { _ = x.SetCellInt("Sheet1", cell, 20230105) }},
		{"text-年月日", func(x *excelize.File, cell string) { _ = x.SetCellStr("Sheet1", cell, "2023年1月5日") }},
		{"text-slashes", func(x *excelize.File, cell string) { _ = x.SetCellStr("Sheet1", cell, "2023/1/5") }},
		{"text-dots", func(x *excelize.File, cell string) { _ = x.SetCellStr("Sheet1", cell, "2023.1.5") }},
		{"text-full-width", func(x *excelize.File, cell string) {
			_ = x.SetCellStr("Sheet1", cell, "２０２３－０１－０５")
		}},
		{"text-yyyymmdd", func(x *excelize.File, cell string) { _ = x.SetCellStr("Sheet1", cell, "20230105") }},
	}
	rows := [][]any{header}
	var wantCodes []string
	for i := range cases {
		r := importRow(t, 200+i)
		wantCodes = append(wantCodes, r[0])
		rows = append(rows, anyRow(r))
	}
	data := xlsxFile(t, rows, func(x *excelize.File) {
		for i, c := range cases {
			cell, _ := excelize.CoordinatesToCellName(5, i+2)
			c.set(x, cell)
		}
	})
	if rec := upload(t, h, "dates.xlsx", data); rec.Code != http.StatusCreated {
		t.Fatalf("xlsx with Excel dates: %d %s", rec.Code, rec.Body)
	}
	for i, c := range cases {
		if got := fetchEntity(t, h, wantCodes[i]).EstablishedOn; got != "2023-01-05" {
			t.Errorf("%s: established_on %q, want 2023-01-05", c.name, got)
		}
	}

	// The 1904 date system (Excel for Mac) counts 1462 days fewer.
	r := importRow(t, 230)
	data = xlsxFile(t, [][]any{header, anyRow(r)}, func(x *excelize.File) {
		d1904 := true
		if err := x.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &d1904}); err != nil {
			t.Fatal(err)
		}
		_ = x.SetCellInt("Sheet1", "E2", 44931-1462)
		s, _ := x.NewStyle(&excelize.Style{NumFmt: 14})
		_ = x.SetCellStyle("Sheet1", "E2", "E2", s)
	})
	if rec := upload(t, h, "mac.xlsx", data); rec.Code != http.StatusCreated {
		t.Fatalf("1904 workbook: %d %s", rec.Code, rec.Body)
	}
	if got := fetchEntity(t, h, r[0]).EstablishedOn; got != "2023-01-05" {
		t.Errorf("1904 date system: established_on %q, want 2023-01-05", got)
	}

	// What is not a date is refused, naming what was read.
	bad := importRow(t, 231)
	bad[4] = "01-05-23"
	_, fields := importFields(t, upload(t, h, "bad.csv", csvFile(t, bad)))
	if msg := fields[2]["established_on"]; !strings.Contains(msg, "01-05-23") || !strings.Contains(msg, "2023年1月5日") {
		t.Errorf("two-digit year: message %q", msg)
	}
}

// XLSX numbers keep their meaning: a capital shown as ¥1,000.50 is 1000.5,
// and an industry code shown as 0111 (number format 0000) is 0111.
func TestImportReadsXLSXNumbers(t *testing.T) {
	f, _ := newFunction(t)
	h := f.Handler()
	r := importRow(t, 240)
	data := xlsxFile(t, [][]any{anyRow(strings.Split(importHeader, ",")), anyRow(r)}, func(x *excelize.File) {
		_ = x.SetCellFloat("Sheet1", "F2", 1000.5, -1, 64)
		money := `"¥"#,##0.00`
		s, _ := x.NewStyle(&excelize.Style{CustomNumFmt: &money})
		_ = x.SetCellStyle("Sheet1", "F2", "F2", s)
		_ = x.SetCellInt("Sheet1", "H2", 130105)
		_ = x.SetCellInt("Sheet1", "J2", 111)
		four := "0000"
		s, _ = x.NewStyle(&excelize.Style{CustomNumFmt: &four})
		_ = x.SetCellStyle("Sheet1", "J2", "J2", s)
	})
	if rec := upload(t, h, "numbers.xlsx", data); rec.Code != http.StatusCreated {
		t.Fatalf("xlsx with numbers: %d %s", rec.Code, rec.Body)
	}
	e := fetchEntity(t, h, r[0])
	if e.RegisteredCapital != "1000.5" || e.IndustryCode != "0111" || e.DistrictCode != "130105" {
		t.Fatalf("capital %q industry %q district %q", e.RegisteredCapital, e.IndustryCode, e.DistrictCode)
	}
}

// 注册资本(万元) with half-width brackets was not recognised and silently
// dropped: the file imported with capital 0.
func TestImportHeaderVariants(t *testing.T) { // FP-13
	f, _ := newFunction(t)
	h := f.Handler()
	header := "\ufeffCredit_Code, 主体名称　,主体类型,法定代表人(负责人),成立日期,注册资本(万元),住所（经营场所）,行政区划代码,乡镇街道代码,INDUSTRY_CODE,登记状态,序号"
	rows := []string{header}
	capitals := []struct{ in, want string }{
		{`"1,000.50"`, "1000.5"}, {"100万元", "100"}, {"100万", "100"}, {"１０００", "1000"}, {"￥100", "100"},
		{`"¥ 2,500"`, "2500"}, {"500000元", "50"}, {"1.5亿元", "15000"}, {"", "0"},
	}
	var codes []string
	for i, c := range capitals {
		r := importRow(t, 300+i)
		r[5] = c.in
		codes = append(codes, r[0])
		rows = append(rows, strings.Join(r, ",")+","+string(rune('1'+i)))
	}
	rec := upload(t, h, "variants.csv", []byte(strings.Join(rows, "\r\n")+"\r\n"))
	if rec.Code != http.StatusCreated {
		t.Fatalf("header variants: %d %s", rec.Code, rec.Body)
	}
	for i, c := range capitals {
		if got := fetchEntity(t, h, codes[i]).RegisteredCapital; got != c.want {
			t.Errorf("capital %s: stored %q, want %q", c.in, got, c.want)
		}
	}

	// A header in 元: the amounts are converted to 万元, as stored.
	r := importRow(t, 320)
	r[5] = "1,234,000"
	data := []byte(strings.Replace(importHeader, "注册资本（万元）", "注册资本 (人民币元)", 1) + "\n" + strings.Join(r, ",") + "\n")
	data = bytes.Replace(data, []byte("1,234,000"), []byte(`"1,234,000"`), 1)
	if rec := upload(t, h, "yuan.csv", data); rec.Code != http.StatusCreated {
		t.Fatalf("capital in 元: %d %s", rec.Code, rec.Body)
	}
	if got := fetchEntity(t, h, r[0]).RegisteredCapital; got != "123.4" {
		t.Errorf("1,234,000 元 stored as %q 万元, want 123.4", got)
	}

	before := countEntities(t, f)
	for _, c := range []struct {
		name, header, field, want string
	}{
		{"unknown-header", strings.Replace(importHeader, "注册资本（万元）", "注册资金", 1), "header", "注册资金"},
		{"unknown-unit", strings.Replace(importHeader, "注册资本（万元）", "注册资本(万美元)", 1), "registered_capital", "万美元"},
		{"same-column-twice", importHeader + ",企业名称", "name", "企业名称"},
	} {
		t.Run("import-400-"+c.name, func(t *testing.T) {
			r := importRow(t, 330)
			line := strings.Join(r, ",")
			if c.name == "same-column-twice" {
				line += ",另一个名称"
			}
			_, fields := importFields(t, upload(t, h, "bad.csv", []byte(c.header+"\n"+line+"\n")))
			if msg := fields[1][c.field]; !strings.Contains(msg, c.want) || !containsHan(msg) {
				t.Fatalf("header problem: fields %v, want %s naming %q", fields, c.field, c.want)
			}
		})
	}
	t.Run("import-400-data-without-header", func(t *testing.T) {
		r := importRow(t, 331)
		_, fields := importFields(t, upload(t, h, "bad.csv", []byte(importHeader+"\n"+strings.Join(r, ",")+",,孤立的值\n")))
		if msg := fields[2]["header"]; !strings.Contains(msg, "第 13 列") {
			t.Fatalf("data under no header: %v", fields)
		}
	})
	t.Run("import-400-bad-amounts", func(t *testing.T) {
		var lines []string
		for i, v := range []string{`"1,00"`, "一百万", "12.5元"} {
			r := importRow(t, 340+i)
			r[5] = v
			lines = append(lines, strings.Join(r, ","))
		}
		_, fields := importFields(t, upload(t, h, "bad.csv", []byte(importHeader+"\n"+strings.Join(lines, "\n")+"\n")))
		for row := 2; row <= 4; row++ {
			if fields[row]["registered_capital"] == "" {
				t.Errorf("row %d: no capital error in %v", row, fields)
			}
		}
	})
	if n := countEntities(t, f); n != before {
		t.Fatalf("refused imports wrote %d entities", n-before)
	}
}

// A GB18030 file with 𠮷 (four bytes in GB18030, outside GBK) imported as
// mojibake; UTF-16 was reported as 8 missing columns.
func TestImportEncodings(t *testing.T) { // FP-13
	f, _ := newFunction(t)
	h := f.Handler()
	names := []string{"石家庄𠮷祥餐饮有限公司", "新华区王喆面馆"}
	file := func(base int) (string, []string) {
		var b strings.Builder
		b.WriteString(importHeader + "\r\n")
		var codes []string
		for i, n := range names {
			r := importRow(t, base+i)
			r[1] = n
			codes = append(codes, r[0])
			b.WriteString(strings.Join(r, ",") + "\r\n")
		}
		return b.String(), codes
	}
	utf16Bytes := func(s string, order binary.AppendByteOrder, bom bool) []byte {
		var out []byte
		if bom {
			out = order.AppendUint16(out, 0xFEFF)
		}
		for _, u := range utf16.Encode([]rune(s)) {
			out = order.AppendUint16(out, u)
		}
		return out
	}
	for i, c := range []struct {
		name   string
		encode func(string) []byte
	}{
		{"gb18030", func(s string) []byte {
			b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte{0x95, 0x34, 0xb2, 0x35}) { // 𠮷 in GB18030
				t.Fatal("test file does not hold 𠮷 as GB18030's four bytes")
			}
			return b
		}},
		{"utf16le-bom", func(s string) []byte { return utf16Bytes(s, binary.LittleEndian, true) }},
		{"utf16be-bom", func(s string) []byte { return utf16Bytes(s, binary.BigEndian, true) }},
		{"utf16le-no-bom", func(s string) []byte { return utf16Bytes(s, binary.LittleEndian, false) }},
		{"utf8-bom", func(s string) []byte { return append([]byte("\xef\xbb\xbf"), s...) }},
		{"utf8", func(s string) []byte { return []byte(s) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			text, codes := file(400 + 10*i)
			if rec := upload(t, h, c.name+".csv", c.encode(text)); rec.Code != http.StatusCreated {
				t.Fatalf("%s: %d %s", c.name, rec.Code, rec.Body)
			}
			for j, code := range codes {
				if got := fetchEntity(t, h, code).Name; got != names[j] {
					t.Errorf("%s: name %q, want %q", c.name, got, names[j])
				}
			}
		})
	}

	// Excel's "Unicode 文本": UTF-16 with tabs.
	text, codes := file(480)
	tabbed := strings.ReplaceAll(text, ",", "\t")
	if rec := upload(t, h, "unicode.txt", utf16Bytes(tabbed, binary.LittleEndian, true)); rec.Code != http.StatusCreated {
		t.Fatalf("tab-separated UTF-16: %d %s", rec.Code, rec.Body)
	}
	if got := fetchEntity(t, h, codes[0]).Name; got != names[0] {
		t.Errorf("tab-separated UTF-16: name %q", got)
	}

	before := countEntities(t, f)
	rng := rand.New(rand.NewPCG(10, 10))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	high := make([]byte, 4096) // no NUL byte, not UTF-8, not GB18030
	for i := range high {
		high[i] = byte(0x80 + rng.UintN(128))
	}
	text, _ = file(490)
	big5ish := append([]byte(importHeader+"\n"), 0x81, 0x20, 0xFF, 0x80, '\n')
	for name, data := range map[string][]byte{
		"random-bytes": random, "high-bytes": high, "not-gb18030": big5ish,
		"utf8-bom-then-gbk": append([]byte("\xef\xbb\xbf"), must(simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text)))...),
	} {
		t.Run("import-400-"+name, func(t *testing.T) {
			msg, _ := importFields(t, upload(t, h, name+".csv", data))
			for _, enc := range []string{"UTF-8", "UTF-16", "GB18030"} {
				if !strings.Contains(msg, enc) {
					t.Errorf("message %q does not name %s", msg, enc)
				}
			}
		})
	}
	// Text that was mojibake before it was saved is refused, not stored.
	r := importRow(t, 495)
	r[1] = "石家庄\ufffd\ufffd商贸有限公司"
	msg, _ := importFields(t, upload(t, h, "damaged.csv", csvFile(t, r)))
	if !strings.Contains(msg, "第 2 行") || !strings.Contains(msg, "乱码") {
		t.Errorf("U+FFFD in the file: %q", msg)
	}
	if n := countEntities(t, f); n != before {
		t.Fatalf("refused files wrote %d entities", n-before)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Trailing ",,,," rows rejected the whole file.
func TestImportSkipsBlankRows(t *testing.T) { // FP-13
	f, _ := newFunction(t)
	h := f.Handler()
	a, b := importRow(t, 500), importRow(t, 501)
	blank := strings.Repeat(",", 10)
	csv := strings.Join([]string{importHeader, strings.Join(a, ","), blank, "", "　,  ,", strings.Join(b, ","), blank, blank}, "\n") + "\n"
	if rec := upload(t, h, "blank.csv", []byte(csv)); rec.Code != http.StatusCreated {
		t.Fatalf("blank rows: %d %s", rec.Code, rec.Body)
	}
	if n := countEntities(t, f); n != 2 {
		t.Fatalf("%d entities imported, want 2", n)
	}

	// Row numbers in errors stay the file's (as Excel shows them): the bad
	// rows are 6 and 9, empty lines and a cell holding a line break counted
	// as Excel counts them.
	c, bad, bad2 := importRow(t, 502), importRow(t, 503), importRow(t, 505)
	bad[7], bad2[7] = "130199", "130198"
	c[6] = "\"石家庄市新华区\n中华北大街8号\""
	csv = strings.Join([]string{importHeader, strings.Join(c, ","), blank, "", blank, strings.Join(bad, ","), "", "", strings.Join(bad2, ","), blank}, "\n")
	_, fields := importFields(t, upload(t, h, "bad.csv", []byte(csv)))
	if fields[6]["district_code"] == "" || fields[9]["district_code"] == "" || len(fields) != 2 {
		t.Fatalf("errors %v, want district_code on rows 6 and 9 only", fields)
	}

	// XLSX: rows of empty strings, a pre-numbered 序号 column, blank rows
	// above the header.
	header := anyRow(strings.Split(importHeader+",序号", ","))
	d := importRow(t, 504)
	data := xlsxFile(t, [][]any{
		{"", ""}, header, append(anyRow(d), "1"), anyRow(make([]string, 11)), append(anyRow(make([]string, 11)), "3"),
	}, nil)
	if rec := upload(t, h, "blank.xlsx", data); rec.Code != http.StatusCreated {
		t.Fatalf("xlsx blank rows: %d %s", rec.Code, rec.Body)
	}
	if got := fetchEntity(t, h, d[0]).Name; got != d[1] {
		t.Fatalf("xlsx row: %q", got)
	}
}

// The pure readers, case by case.
func TestParseAmountAndDate(t *testing.T) {
	for _, c := range []struct {
		cell        Cell
		scale       int
		want        string
		wantProblem bool
	}{
		{Cell{Text: "1,000.50"}, 0, "1000.5", false},
		{Cell{Text: "１，０００．５"}, 0, "1000.5", false},
		{Cell{Text: "人民币50万元"}, 0, "50", false},
		{Cell{Text: "RMB 30"}, 0, "30", false},
		{Cell{Text: "12345"}, -4, "1.2345", false},
		{Cell{Text: "3万元"}, -4, "3", false}, // the cell's unit wins
		{Cell{Number: "0.30000000000000004"}, 0, "0.3", false},
		{Cell{Number: "1500000"}, -4, "150", false},
		{Cell{Text: "1,5"}, 0, "", true},
		{Cell{Text: "0.00001"}, 0, "", true},
		{Cell{Text: "abc"}, 0, "", true},
		{Cell{Text: "12.5"}, -4, "", true},
	} {
		got, problem := parseAmount(c.cell, c.scale)
		if got != c.want || (problem != "") != c.wantProblem {
			t.Errorf("parseAmount(%+v, %d) = %q, %q", c.cell, c.scale, got, problem)
		}
	}
	for _, c := range []struct {
		cell Cell
		want string
	}{
		{Cell{Text: "2023-1-5"}, "2023-01-05"},
		{Cell{Text: "2023/01/05 0:00"}, "2023-01-05"},
		{Cell{Text: "2023年 1月 5日"}, "2023-01-05"},
		{Cell{Text: "2023年1月5"}, "2023-01-05"},
		{Cell{Text: "2023-01-05T00:00:00Z"}, "2023-01-05"},
		{Cell{Number: "1"}, "1900-01-01"},
		{Cell{Number: "61"}, "1900-03-01"}, // past Lotus' 1900-02-29
		{Cell{Text: "2023-02-30"}, ""},
		{Cell{Text: "23-1-5"}, ""},
		{Cell{Text: "2023年1"}, ""},
		{Cell{Number: "-3"}, ""},
	} {
		got, problem := parseDate(c.cell, false)
		if got != c.want || (problem == "") != (c.want != "") {
			t.Errorf("parseDate(%+v) = %q, %q; want %q", c.cell, got, problem, c.want)
		}
	}
	if got, _ := parseDate(Cell{Number: "1"}, true); got != "1904-01-02" {
		t.Errorf("1904 serial 1 = %q", got)
	}
	for h, want := range map[string]string{
		"注册资本（万元）": "registered_capital", "注册资本【万元】": "registered_capital", "注册资本万元": "registered_capital",
		" 统一社会信用代码\u3000": "credit_code", "Entity_Type": "entity_type", "住所(经营场所)": "address", "序号": "",
	} {
		if f, _, problem := headerField(h); f != want || problem != "" {
			t.Errorf("headerField(%q) = %q, %q; want %q", h, f, problem, want)
		}
	}
	if _, scale, _ := headerField("注册资本（人民币元）"); scale != -4 {
		t.Errorf("注册资本（人民币元） has scale %d, want -4 (元)", scale)
	}
}
