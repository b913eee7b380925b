package tabular

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1":               "'=1+1",
		"+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
		"-2+3":               "'-2+3",
		"@SUM(A1)":           "'@SUM(A1)",
		"\t=x":               "'\t=x",
		"\r=x":               "'\r=x",
		"-12.5":              "-12.5",
		"+86":                "+86",
		"=12":                "'=12",
		"石家庄市𠮷祥超市":           "石家庄市𠮷祥超市",
		"":                   "",
		"a=b":                "a=b",
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSVIsSafeAndExcelFriendly(t *testing.T) {
	var b bytes.Buffer
	tbl := Table{Header: []string{"名称", "资本"}, Rows: [][]any{{"=HYPERLINK(\"http://evil\")", -5}, {"张·三", 1.5}, {nil, "x,\"y\""}}}
	if err := WriteCSV(&b, tbl); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("\xef\xbb\xbf")) {
		t.Error("no UTF-8 BOM")
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(b.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[1][0] != `'=HYPERLINK("http://evil")` || recs[1][1] != "-5" || recs[2][0] != "张·三" || recs[3][1] != `x,"y"` {
		t.Errorf("records %q", recs)
	}
}

func TestServeXLSX(t *testing.T) {
	w := httptest.NewRecorder()
	if err := Serve(w, "市场主体_20261202", XLSX, Table{Header: []string{"名称"}, Rows: [][]any{{"@danger"}, {"正常"}}}); err != nil {
		t.Fatal(err)
	}
	if cd := w.Header().Get("Content-Disposition"); !strings.Contains(cd, "filename*=utf-8''%E5%B8%82") {
		t.Errorf("Content-Disposition %q", cd)
	}
	x, err := excelize.OpenReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("Sheet1")
	if len(rows) != 3 || rows[1][0] != "'@danger" || rows[2][0] != "正常" {
		t.Errorf("rows %q", rows)
	}
}

func TestParseFormat(t *testing.T) {
	if f, err := ParseFormat("", XLSX); f != XLSX || err != nil {
		t.Error(f, err)
	}
	if f, err := ParseFormat("CSV", XLSX); f != CSV || err != nil {
		t.Error(f, err)
	}
	if _, err := ParseFormat("pdf", XLSX); err == nil {
		t.Error("pdf accepted")
	}
}

// A workbook keeps its sheets' names and order, each sheet neutralised.
func TestWorkbookNamedSheets(t *testing.T) {
	rec := httptest.NewRecorder()
	err := ServeWorkbook(rec, "赋码统计", Sheet{Name: "赋码统计", Table: Table{Header: []string{"区县", "赋码数"}, Rows: [][]any{{"=cmd", int64(3)}}}},
		Sheet{Name: "下载统计", Table: Table{Header: []string{"文档类型", "下载次数"}, Rows: [][]any{{"PNG 图片", 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Header().Get("Content-Disposition"), ".xlsx") || rec.Header().Get("Content-Type") != XLSX.ContentType() {
		t.Errorf("headers %v", rec.Header())
	}
	x, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetList(); len(got) != 2 || got[0] != "赋码统计" || got[1] != "下载统计" {
		t.Fatalf("sheets %v", got)
	}
	a, _ := x.GetRows("赋码统计")
	b, _ := x.GetRows("下载统计")
	if len(a) != 2 || a[1][0] != "'=cmd" || a[1][1] != "3" || len(b) != 2 || b[1][0] != "PNG 图片" {
		t.Errorf("rows %v / %v", a, b)
	}
	if err := WriteWorkbook(io.Discard); err == nil {
		t.Error("a workbook without sheets was written")
	}
}
