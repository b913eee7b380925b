package tabular

import (
	"bytes"
	"encoding/csv"
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
