// Package tabular writes exports (CSV and XLSX) the one way every function
// shares: Excel-friendly encoding, an attachment name that survives
// Chinese characters, and cells that cannot run as formulas.
package tabular

import (
	"encoding/csv"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Format is an export format.
type Format string

const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ParseFormat reads a "format" parameter; "" gives def.
func ParseFormat(s string, def Format) (Format, error) {
	switch Format(strings.ToLower(s)) {
	case "":
		return def, nil
	case CSV:
		return CSV, nil
	case XLSX:
		return XLSX, nil
	}
	return "", errs.Fields([]errs.FieldError{{Field: "format", Message: "导出格式应为 xlsx 或 csv"}})
}

// ContentType is the format's media type.
func (f Format) ContentType() string {
	if f == CSV {
		return "text/csv; charset=utf-8"
	}
	return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
}

// Table is a header row and data rows. Cells may be strings, numbers,
// booleans, time.Time or nil.
type Table struct {
	Header []string
	Rows   [][]any
}

// Serve answers t as an attachment named name + "." + format.
func Serve(w http.ResponseWriter, name string, f Format, t Table) error {
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Content-Disposition", Attachment(name+"."+string(f)))
	if f == CSV {
		return WriteCSV(w, t)
	}
	return WriteXLSX(w, t)
}

// Attachment is a Content-Disposition value for filename, with the
// RFC 5987 form browsers need for non-ASCII names.
func Attachment(filename string) string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": filename})
}

// WriteCSV writes t as UTF-8 CSV with a BOM (Excel reads UTF-8 CSV
// correctly only with one), every text cell neutralised.
func WriteCSV(w io.Writer, t Table) error {
	s, err := NewCSVStream(w, t.Header)
	if err != nil {
		return err
	}
	for _, row := range t.Rows {
		if err := s.Row(row); err != nil {
			return err
		}
	}
	return s.Flush()
}

// CSVStream writes a CSV row by row, as WriteCSV does for a whole table,
// so an export of any size holds one row in memory.
type CSVStream struct {
	cw  *csv.Writer
	rec []string
}

// NewCSVStream writes the BOM and the header.
func NewCSVStream(w io.Writer, header []string) (*CSVStream, error) {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return nil, err
	}
	s := &CSVStream{cw: csv.NewWriter(w), rec: make([]string, 0, len(header))}
	for _, h := range header {
		s.rec = append(s.rec, Neutralize(h))
	}
	return s, s.cw.Write(s.rec)
}

// Row writes one row (buffered; see Flush).
func (s *CSVStream) Row(cells []any) error {
	s.rec = s.rec[:0]
	for _, c := range cells {
		s.rec = append(s.rec, cellText(c))
	}
	return s.cw.Write(s.rec)
}

// Flush writes what is buffered.
func (s *CSVStream) Flush() error {
	s.cw.Flush()
	return s.cw.Error()
}

func cellText(c any) string {
	switch v := c.(type) {
	case nil:
		return ""
	case string:
		return Neutralize(v)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.Format("2006-01-02 15:04:05")
	case int, int32, int64, float64, bool:
		return fmt.Sprint(v) // numbers are data, not formulas, even when negative
	default:
		return Neutralize(fmt.Sprint(v))
	}
}

// Neutralize keeps a text cell from being read as a formula by a
// spreadsheet (OWASP "CSV injection"): a value starting with =, +, -, @,
// tab or carriage return gets a leading apostrophe. A value that is just a
// number ("-12.5", "+86") is left alone; it cannot call anything.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err == nil && s[0] != '=' && s[0] != '@' {
			return s
		}
		return "'" + s
	}
	return s
}

// WriteXLSX writes t as one worksheet, streamed. Text cells are stored as
// strings, which Excel never evaluates, but they are neutralised as well,
// since a user may save the sheet again as CSV.
func WriteXLSX(w io.Writer, t Table) error {
	return WriteWorkbook(w, Sheet{Name: "Sheet1", Table: t})
}

// Sheet is one named worksheet of a workbook.
type Sheet struct {
	Name string
	Table
}

// ServeWorkbook answers sheets as one XLSX attachment named name + ".xlsx";
// an export of several tables is a workbook (a CSV holds one: Serve it).
func ServeWorkbook(w http.ResponseWriter, name string, sheets ...Sheet) error {
	w.Header().Set("Content-Type", XLSX.ContentType())
	w.Header().Set("Content-Disposition", Attachment(name+".xlsx"))
	return WriteWorkbook(w, sheets...)
}

// WriteWorkbook writes sheets as one XLSX workbook, each sheet streamed and
// its cells neutralised as WriteXLSX does.
func WriteWorkbook(w io.Writer, sheets ...Sheet) error {
	if len(sheets) == 0 {
		return fmt.Errorf("tabular: a workbook needs a sheet")
	}
	x := excelize.NewFile()
	defer x.Close()
	for i, s := range sheets {
		if i == 0 {
			if err := x.SetSheetName("Sheet1", s.Name); err != nil {
				return err
			}
		} else if _, err := x.NewSheet(s.Name); err != nil {
			return err
		}
		if err := writeSheet(x, s); err != nil {
			return err
		}
	}
	_, err := x.WriteTo(w)
	return err
}

func writeSheet(x *excelize.File, s Sheet) error {
	sw, err := x.NewStreamWriter(s.Name)
	if err != nil {
		return err
	}
	row := make([]any, len(s.Header))
	for i, h := range s.Header {
		row[i] = h
	}
	if err := sw.SetRow("A1", row); err != nil {
		return err
	}
	for i, r := range s.Rows {
		out := make([]any, len(r))
		for j, c := range r {
			if text, ok := c.(string); ok {
				c = Neutralize(text)
			}
			out[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, out); err != nil {
			return err
		}
	}
	return sw.Flush()
}
