package registry

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Sheet is an uploaded file as read, before any column is interpreted:
// Rows[i] is row i+1 of the file, blank rows included, so the row numbers
// in error messages are the ones a person sees in Excel.
type Sheet struct {
	Rows [][]Cell
	// Date1904 is set when the workbook counts dates from 1904-01-01
	// (Excel for Mac before 2011) instead of 1900-01-00.
	Date1904 bool
}

// Cell is one cell. Text is what the sheet shows: the CSV field, or the
// XLSX cell's value with its number format applied. Number is an XLSX
// numeric cell's stored value ("44931" for a date cell that shows
// 2023/1/5, "1000.5" for a capital that shows ¥1,000.50), "" for text
// cells and CSV.
type Cell struct{ Text, Number string }

func (c Cell) blank() bool { return strings.TrimSpace(c.Text) == "" && c.Number == "" }

// maxUnzipped bounds what an XLSX may expand to, so a small compressed
// upload cannot exhaust memory or disk.
const maxUnzipped = 512 << 20

// ParseFile reads a CSV or XLSX file; format is "csv" or "xlsx".
func ParseFile(format string, data []byte) (Sheet, error) {
	switch format {
	case "xlsx":
		return readXLSX(data)
	case "csv":
		return readCSV(data)
	}
	return Sheet{}, errs.New(errs.Invalid, "仅支持 CSV 或 XLSX 文件")
}

func readXLSX(data []byte) (Sheet, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped})
	if err != nil {
		return Sheet{}, errs.Wrap(errs.Invalid, "无法读取 Excel 文件，请确认为 .xlsx 格式", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return Sheet{}, errs.New(errs.Invalid, "Excel 文件中没有工作表")
	}
	name := sheets[0]
	// Both views of every cell: the shown one keeps what a number format
	// means for codes (0111 in format 0000), the stored one keeps what it
	// means for dates and amounts (the serial 44931, not "01-05-23").
	shown, err := f.GetRows(name)
	if err != nil {
		return Sheet{}, errs.Wrap(errs.Invalid, "无法读取 Excel 工作表", err)
	}
	raw, err := f.GetRows(name, excelize.Options{RawCellValue: true})
	if err != nil {
		return Sheet{}, errs.Wrap(errs.Invalid, "无法读取 Excel 工作表", err)
	}
	props, err := f.GetWorkbookProps()
	if err != nil {
		return Sheet{}, errs.Wrap(errs.Invalid, "无法读取 Excel 工作簿属性", err)
	}
	out := Sheet{Rows: make([][]Cell, max(len(shown), len(raw))), Date1904: props.Date1904 != nil && *props.Date1904}
	at := func(rows [][]string, i, j int) string {
		if i < len(rows) && j < len(rows[i]) {
			return rows[i][j]
		}
		return ""
	}
	for i := range out.Rows {
		n := 0
		if i < len(shown) {
			n = len(shown[i])
		}
		if i < len(raw) {
			n = max(n, len(raw[i]))
		}
		row := make([]Cell, n)
		for j := range row {
			row[j].Text = at(shown, i, j)
			v := at(raw, i, j)
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				continue
			}
			// Text cells holding digits ("130102" typed as text) stay text.
			// Excel writes numbers without a type attribute, which excelize
			// reports as unset.
			ref, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if t, err := f.GetCellType(name, ref); err == nil && (t == excelize.CellTypeNumber || t == excelize.CellTypeUnset) {
				row[j].Number = v
			}
		}
		out.Rows[i] = row
	}
	return out, nil
}

func readCSV(data []byte) (Sheet, error) {
	text, err := decodeText(data)
	if err != nil {
		return Sheet{}, err
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	// Excel's "Unicode 文本" (UTF-16, the usual way to get 𠮷 out of an old
	// Excel) separates with tabs.
	if head, _, _ := strings.Cut(text, "\n"); strings.Contains(head, "\t") && !strings.Contains(head, ",") {
		r.Comma = '\t'
	}
	var out Sheet
	// encoding/csv skips empty lines, which Excel shows as empty rows:
	// put them back, so row numbers are the ones Excel shows. (A quoted
	// field holding line breaks is one row there too.)
	var offset int64
	nextLine := 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			row := len(out.Rows) + 1
			return Sheet{}, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("CSV 第 %d 行格式错误（引号或分隔符不匹配）", row), Err: err,
				Fields: []errs.FieldError{{Field: "file", Message: "CSV 格式错误", Row: row}}}
		}
		start, _ := r.FieldPos(0)
		for l := nextLine; l < start; l++ {
			out.Rows = append(out.Rows, nil)
		}
		end := r.InputOffset()
		nextLine += strings.Count(text[offset:end], "\n")
		offset = end
		row := make([]Cell, len(rec))
		for j, v := range rec {
			row[j].Text = v
		}
		out.Rows = append(out.Rows, row)
	}
}

// errEncoding refuses a file whose text cannot be read without guessing.
var errEncoding = errs.New(errs.Invalid,
	"无法识别文件的字符编码（已尝试 UTF-8、UTF-16、GB18030/GBK），请在 Excel 中“另存为”“CSV UTF-8（逗号分隔）”后重新导入")

// decodeText turns a CSV file's bytes into text. It recognises UTF-8 (with
// or without BOM), UTF-16 (with BOM, or without one when the NUL bytes of
// its ASCII characters give it away) and, for anything else, GB18030, the
// superset of GBK and GB2312 that also holds 𠮷 and the other characters
// outside GBK. Whatever cannot be decoded cleanly is refused, never
// imported as mojibake.
func decodeText(data []byte) (string, error) {
	var s string
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		if !utf8.Valid(data[3:]) {
			return "", errEncoding
		}
		s = string(data[3:])
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		dec, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil || len(data)%2 != 0 {
			return "", errEncoding
		}
		s = string(dec)
	case bytes.IndexByte(data, 0) >= 0:
		// No text encoding but UTF-16 puts NUL bytes into a CSV.
		order, ok := utf16Order(data)
		if !ok || len(data)%2 != 0 {
			return "", errEncoding
		}
		dec, err := unicode.UTF16(order, unicode.IgnoreBOM).NewDecoder().Bytes(data)
		if err != nil {
			return "", errEncoding
		}
		s = string(dec)
	case utf8.Valid(data):
		s = string(data)
	default:
		// The decoder writes U+FFFD for every byte sequence GB18030 does
		// not define: any such sequence means the file is in some other
		// encoding (or not text at all).
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
		if err != nil || bytes.ContainsRune(dec, utf8.RuneError) {
			return "", errEncoding
		}
		s = string(dec)
	}
	return s, checkText(s)
}

// utf16Order tells UTF-16 without a BOM by where its NUL bytes fall: the
// commas, digits and line ends of a CSV are ASCII, whose high byte is 0.
// CJK characters put NULs on the other side only rarely (一 is U+4E00).
func utf16Order(data []byte) (unicode.Endianness, bool) {
	sample := data[:min(len(data), 4096)&^1]
	var even, odd int
	for i, b := range sample {
		if b == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	units := len(sample) / 2
	switch {
	case odd*8 >= units && odd > 4*even:
		return unicode.LittleEndian, true
	case even*8 >= units && even > 4*odd:
		return unicode.BigEndian, true
	}
	return unicode.LittleEndian, false
}

// checkText refuses decoded text that still carries the marks of a wrong
// decoding: U+FFFD (the file was damaged, or decoded wrongly, before it got
// here) or control characters, which no register field holds.
func checkText(s string) error {
	line := 1
	for _, r := range s {
		switch {
		case r == '\n':
			line++
		case r == utf8.RuneError:
			return errs.New(errs.Invalid, fmt.Sprintf("文件第 %d 行含有替换字符“\uFFFD”：文件在保存为 CSV 之前已经出现乱码，请用原始数据重新导出后导入", line))
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f:
			return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("文件第 %d 行含有控制字符 U+%04X：文件不是文本 CSV，或字符编码无法识别", line, r),
				Fields: []errs.FieldError{{Field: "file", Message: errEncoding.Message, Row: line}}}
		}
	}
	return nil
}
