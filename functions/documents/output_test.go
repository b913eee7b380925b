package documents

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/sjzamr/smartreg/shared/pdffont"
	"github.com/sjzamr/smartreg/shared/pdffont/pdffonttest"
)

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pdftotext is the PDF's text as poppler extracts it.
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", writeTemp(t, "d.pdf", pdf), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

// squash drops white space: a wrapped line breaks a paragraph wherever
// the measure falls, and an extractor adds spaces of its own.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// zbarPDF reads the QR code on the PDF's last page.
func zbarPDF(t *testing.T, pdf []byte) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "d.pdf")
	if err := os.WriteFile(src, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-r", "150", "-png", src, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
	if len(pages) == 0 {
		t.Fatal("pdftoppm made no page")
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", pages[len(pages)-1]).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// docxText converts a DOCX with LibreOffice headless to UTF-8 text.
func docxText(t *testing.T, docx []byte) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "d.docx")
	if err := os.WriteFile(src, docx, 0o600); err != nil {
		t.Fatal(err)
	}
	// A profile of its own: LibreOffice refuses to run twice on one.
	cmd := exec.Command("soffice", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless", "--norestore",
		"--convert-to", "txt:Text (encoded):UTF8", "--outdir", dir, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v: %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "d.txt"))
	if err != nil {
		t.Fatalf("soffice made no text: %v", err)
	}
	return strings.TrimPrefix(string(b), "\uFEFF")
}

// longName is a 60-character entity name with rare characters in it.
var longName = "石家庄市长安区𠮷祥喆堃赟珺𡈼记" + strings.Repeat("诚信", 18) + "守商贸有限责任公司"

func outputSample(name string) Rendered {
	tp := creditRepairTemplate()
	v := repairValues()
	v["entity_name"], v["credit_code"], v["legal_rep"], v["address"], v["signature"] = name, "91130102MA0D00012X", "吉𠮷", "石家庄市中山东路8号", "吉𠮷"
	return render(tp.Title, tp.Body, tp.Fields, v)
}

// FP-38. The PDF prints every character a name can hold — 𠮷 and the
// other CJK Extension B characters, GBK's rare hanzi, a name of 60
// characters over two lines — with a real glyph, and its text (pdftotext)
// is the document's text.
func TestPDFText(t *testing.T) {
	if len([]rune(longName)) != 60 {
		t.Fatalf("the long name has %d characters", len([]rune(longName)))
	}
	for _, name := range []string{"石家庄𠮷祥超市", longName} {
		t.Run(name, func(t *testing.T) {
			r := outputSample(name)
			for _, published := range []bool{false, true} {
				m := Meta{EntityName: name, Version: "1.2.0", Authority: "石家庄市市场监督管理局", Date: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
				if published {
					m.Code, m.VerifyURL = "AbCdEf0123456789xyzABC", "http://localhost:8080/docs/v1/verify/AbCdEf0123456789xyzABC"
				}
				pdf, err := renderPDF(r, m)
				if err != nil {
					t.Fatal(err)
				}
				text := squash(pdftotext(t, pdf))
				for _, line := range strings.Split(r.Text, "\n") {
					if !strings.Contains(text, squash(line)) {
						t.Errorf("published=%v: the PDF's text lacks %q", published, line)
					}
				}
				if !strings.Contains(text, squash(name)) {
					t.Errorf("the PDF's text lacks the name %q", name)
				}
				mark := "未发布，仅供核对"
				if published {
					mark = "验证码AbCdEf0123456789xyzABC"
				}
				if !strings.Contains(text, mark) {
					t.Errorf("published=%v: the PDF lacks %q", published, mark)
				}
			}
			// Each character has an outline in the font that draws it: no
			// empty box for 𠮷 (pdftotext alone cannot tell).
			pdffonttest.AssertDrawn(t, pdffonttest.Layout(t, pdffont.Files(), name), "")
		})
	}
}

// FP-38. The DOCX is a well-formed OOXML package that LibreOffice
// converts, and the converted text is the document's text, 𠮷 and the
// 60-character name included.
func TestDOCXConvertsWithLibreOffice(t *testing.T) {
	for _, name := range []string{"石家庄𠮷祥超市", longName} {
		r := outputSample(name)
		m := Meta{EntityName: name, Version: "2.0.1", Authority: "石家庄市市场监督管理局", Date: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
			Code: "Code123", VerifyURL: "http://localhost:8080/docs/v1/verify/Code123"}
		docx, err := renderDOCX(r, m)
		if err != nil {
			t.Fatal(err)
		}
		checkPackage(t, docx)
		text := docxText(t, docx)
		lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
		want := strings.Split(r.Text, "\n")
		// The converted text is the document's text, paragraph by
		// paragraph, followed by the verification lines.
		if len(lines) < len(want) {
			t.Fatalf("%d lines converted, want at least %d:\n%s", len(lines), len(want), text)
		}
		for i, w := range want {
			if strings.TrimRight(lines[i], " ") != w {
				t.Errorf("line %d: %q, want %q", i+1, lines[i], w)
			}
		}
		if rest := strings.Join(lines[len(want):], "\n"); !strings.Contains(rest, "验证码 Code123") || !strings.Contains(rest, m.VerifyURL) {
			t.Errorf("verification lines: %q", rest)
		}
	}
}

// checkPackage opens the DOCX as Word does: every part is well-formed XML
// and every relationship's target exists.
func checkPackage(t *testing.T, docx []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(docx), int64(len(docx)))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		parts[f.Name] = b
	}
	for _, need := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/styles.xml", "word/media/qr.png"} {
		if parts[need] == nil {
			t.Errorf("package lacks %s", need)
		}
	}
	for name, b := range parts {
		if !strings.HasSuffix(name, ".xml") && !strings.HasSuffix(name, ".rels") {
			continue
		}
		d := xml.NewDecoder(bytes.NewReader(b))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s is not well-formed: %v", name, err)
			}
		}
	}
	for _, rel := range []struct{ file, dir string }{{"_rels/.rels", ""}, {"word/_rels/document.xml.rels", "word/"}} {
		var rs struct {
			R []struct {
				Target string `xml:"Target,attr"`
			} `xml:"Relationship"`
		}
		if err := xml.Unmarshal(parts[rel.file], &rs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs.R {
			if parts[rel.dir+r.Target] == nil {
				t.Errorf("%s names %s, which is missing", rel.file, r.Target)
			}
		}
	}
	if !strings.Contains(string(parts["word/document.xml"]), `w:eastAsia="SimSun-ExtB"`) {
		t.Error("the supplementary-plane run has no Extension B font")
	}
}

// A PDF library panic on a broken font chunk does not lose the document:
// it is printed with the base font alone (the text still extracts).
func TestPDFSurvivesEveryName(t *testing.T) {
	for _, name := range []string{"笑脸😀商店", "石家庄\U0002B740商店", strings.Repeat("长", 300)} {
		r := outputSample(name)
		pdf, err := renderPDF(r, Meta{EntityName: name, Version: "1.0.0"})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if text := squash(pdftotext(t, pdf)); !strings.Contains(text, squash(pdffont.NormalizeSpace(name))) {
			t.Errorf("%q: the PDF's text lacks the name", name)
		}
	}
}
