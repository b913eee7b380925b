package render

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sjzamr/smartreg/shared/pdffont"
)

// The font chain itself (order, coverage, outlines) is tested in
// shared/pdffont; these tests are the poster's use of it.

// FP-23. A font that makes the PDF library panic (here a chunk cut short) does
// not fail the poster: it is drawn again with the base font alone, the
// characters it lacks as 〓, and the page's text is still the name.
func TestPosterSurvivesBrokenFont(t *testing.T) {
	broken := fstest.MapFS{}
	err := fs.WalkDir(pdffont.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			var b []byte
			if b, err = fs.ReadFile(pdffont.Files(), p); err == nil {
				broken[p] = &fstest.MapFile{Data: b}
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := pdffont.Chunk(pdffont.Files(), "fonts/scsip/20800.ttf.gz")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw[:1000])
	zw.Close()
	broken["fonts/scsip/20800.ttf.gz"] = &fstest.MapFile{Data: z.Bytes()}
	// Another chunk that is not even gzip: the chain passes over it.
	broken["fonts/hanb/20000.ttf.gz"] = &fstest.MapFile{Data: []byte("not a font")}

	r := &Renderer{fonts: broken}
	in := PosterInput{Name: "石家庄市𠮷祥超市", CreditCode: "91130102MA0CXXXX1K", URL: testURLs[0]}
	m, _ := r.Matrix(in.URL)
	if _, err := r.poster(in, "A4", m, false); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("the cut-short font should make fpdf panic, got %v", err)
	}
	pdf, err := r.Poster(in)
	if err != nil {
		t.Fatalf("Poster: %v", err)
	}
	if text := pdftotext(t, pdf); !strings.Contains(text, in.Name) {
		t.Errorf("text lacks %q:\n%s", in.Name, text)
	}
	if fonts := pdffonts(t, pdf); len(fonts) != 1 || fonts[0] != "utf8base" {
		t.Errorf("fonts %v, want the base font only", fonts)
	}

	in.Name = "石家庄\U00020001商店" // only the not-gzip chunk has it
	pdf, err = r.Poster(in)
	if err != nil {
		t.Fatalf("Poster: %v", err)
	}
	if text := pdftotext(t, pdf); !strings.Contains(text, in.Name) {
		t.Errorf("text lacks %q:\n%s", in.Name, text)
	}
}

// pdffonts lists the fonts a PDF embeds (poppler-utils).
func pdffonts(t *testing.T, pdf []byte) []string {
	t.Helper()
	out, err := exec.Command("pdffonts", writeTemp(t, "f.pdf", pdf)).CombinedOutput()
	if err != nil {
		t.Fatalf("pdffonts: %v: %s", err, out)
	}
	var names []string
	for i, ln := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(ln); i >= 2 && len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}
