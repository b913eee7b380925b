package render

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/sjzamr/smartreg/shared/pdffont"
	"github.com/sjzamr/smartreg/shared/pdffont/pdffonttest"
)

var testURLs = []string{
	"http://localhost:8080/q/Ab3dE5gH7jK9mN1p",
	"https://smartreg.sjz.gov.cn/q/x7Yz0-_QwErTyUi",
	"https://smartreg.sjz.gov.cn/q/AAAAAAAAAAAAAAAA?src=poster&v=2026",
}

// zbar decodes the QR in an image file with zbarimg, the scanner the
// acceptance criteria name.
func zbar(t *testing.T, path string) string {
	t.Helper()
	// stdout only: ImageMagick inside zbarimg may complain about D-Bus on stderr.
	var stderr bytes.Buffer
	cmd := exec.Command("zbarimg", "--raw", "-q", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v: %s", path, err, stderr.Bytes())
	}
	return strings.TrimRight(string(out), "\n")
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPNGDecodesAtEverySize(t *testing.T) {
	r := New(LevelDefault)
	for _, size := range []int{MinSize, 333, 512, 1000, 1777, MaxSize} {
		for i, u := range testURLs {
			if size > 1000 && i > 0 {
				break // a big image takes zbarimg a second; one URL will do
			}
			// zbarimg mostly waits (ImageMagick start-up), so run in parallel.
			t.Run(fmt.Sprintf("%d-%d", size, i), func(t *testing.T) {
				t.Parallel()
				b, err := r.PNG(u, size)
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := png.DecodeConfig(bytes.NewReader(b))
				if err != nil || cfg.Width != size || cfg.Height != size {
					t.Fatalf("config %+v, %v", cfg, err)
				}
				if got := zbar(t, writeTemp(t, "c.png", b)); got != u {
					t.Fatalf("zbarimg read %q, want %q", got, u)
				}
			})
		}
	}
}

// The PNG's pixels must be exactly the matrix scaled up, with the spare
// pixels in the quiet zone: checked independently of any scanner.
func TestPNGPixelsMatchMatrix(t *testing.T) {
	r := New(LevelM)
	const size = 777
	b, err := r.PNG(testURLs[0], size)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := r.Matrix(testURLs[0])
	scale := size / m.Size
	off := (size - scale*m.Size) / 2
	dark := func(x, y int) bool { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 128 }
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			want := false
			if mx, my := (x-off)/scale, (y-off)/scale; x >= off && y >= off && mx < m.Size && my < m.Size {
				want = m.Dark(mx, my)
			}
			if dark(x, y) != want {
				t.Fatalf("pixel (%d,%d) dark=%v, want %v", x, y, dark(x, y), want)
			}
		}
	}
	// The quiet zone is at least 4 modules of white on every side.
	for i := 0; i < off+QuietModules*scale; i++ {
		if dark(i, size/2) || dark(size/2, i) || dark(size-1-i, size/2) || dark(size/2, size-1-i) {
			t.Fatalf("quiet zone has a dark pixel %d px from the edge", i)
		}
	}
}

func TestPNGRejects(t *testing.T) {
	r := New(LevelDefault)
	for name, c := range map[string]struct {
		content string
		size    int
		want    error
	}{
		"too-small": {testURLs[0], MinSize - 1, ErrSize},
		"too-big":   {testURLs[0], MaxSize + 1, ErrSize},
		"empty":     {"", 300, ErrEmpty},
		"too-long":  {strings.Repeat("漢", 2000), 2000, ErrTooLong},
		// A version-40 symbol (185 modules with quiet zone) fits 200 px
		// only at 1 px a module; with more data it must not be clipped.
	} {
		if _, err := r.PNG(c.content, c.size); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
	}
}

func TestLevelChangesSymbol(t *testing.T) {
	low, _ := New(LevelL).Matrix(testURLs[2])
	high, _ := New(LevelH).Matrix(testURLs[2])
	def, _ := New(LevelDefault).Matrix(testURLs[2])
	m, _ := New(LevelM).Matrix(testURLs[2])
	if low.Size >= high.Size || def.Size != m.Size {
		t.Fatalf("sizes L=%d H=%d default=%d M=%d", low.Size, high.Size, def.Size, m.Size)
	}
	var zero Renderer
	if z, _ := zero.Matrix(testURLs[2]); z.Size != m.Size {
		t.Fatalf("zero Renderer size %d, want level M's %d", z.Size, m.Size)
	}
	for in, want := range map[string]Level{"": LevelM, "m": LevelM, "L": LevelL, " q": LevelQ, "H": LevelH} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("X"); err == nil {
		t.Error("ParseLevel(X) accepted")
	}
	b, err := New(LevelH).PNG(testURLs[2], 400)
	if err != nil {
		t.Fatal(err)
	}
	if got := zbar(t, writeTemp(t, "h.png", b)); got != testURLs[2] {
		t.Fatalf("level H read %q", got)
	}
}

// svgToPNG rasterises an SVG the way a browser or print shop would.
func svgToPNG(t *testing.T, svg []byte) string {
	t.Helper()
	in := writeTemp(t, "c.svg", svg)
	out := filepath.Join(t.TempDir(), "svg.png")
	cmd := exec.Command("rsvg-convert", "-w", "600", "-h", "600", "-b", "white", "-o", out, in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rsvg-convert (Debian package librsvg2-bin): %v: %s", err, b)
	}
	return out
}

func TestSVGDecodes(t *testing.T) {
	r := New(LevelDefault)
	for _, u := range testURLs {
		svg, err := r.SVG(u)
		if err != nil {
			t.Fatal(err)
		}
		// Well-formed XML with an svg root.
		var root struct {
			XMLName xml.Name
			ViewBox string `xml:"viewBox,attr"`
		}
		if err := xml.Unmarshal(svg, &root); err != nil || root.XMLName.Local != "svg" || root.ViewBox == "" {
			t.Fatalf("svg root %+v: %v", root, err)
		}
		if len(svg) > 8<<10 {
			t.Errorf("svg is %d bytes; runs should keep it small", len(svg))
		}
		if got := zbar(t, svgToPNG(t, svg)); got != u {
			t.Fatalf("svg read %q, want %q", got, u)
		}
	}
	if _, err := r.SVG(""); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty svg: %v", err)
	}
}

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", writeTemp(t, "p.pdf", pdf), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

func TestPosterShowsEntityAndScans(t *testing.T) {
	r := New(LevelDefault)
	for _, c := range []struct {
		paper string
		name  string
		w, h  int // points
	}{
		{"A4", "石家庄市桥西区惠民百货商店", 595, 842},
		{"a5", "河北省石家庄市长安区某某餐饮管理有限公司第一分公司（连锁经营）", 420, 595},
	} {
		in := PosterInput{
			Name: c.name, CreditCode: "91130102MA0CXXXX1K", URL: testURLs[1], Paper: c.paper,
			Authority: "石家庄市市场监督管理局", Date: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		}
		pdf, err := r.Poster(in)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s poster: %d bytes", c.paper, len(pdf))
		if len(pdf) > 200<<10 {
			t.Errorf("%s poster is %d bytes; the font subset should keep it small", c.paper, len(pdf))
		}
		text := strings.Join(strings.Fields(pdftotext(t, pdf)), "")
		for _, want := range []string{c.name, in.CreditCode, PosterTitle, PosterScan, PosterHotline, in.Authority} {
			if !strings.Contains(text, want) {
				t.Errorf("%s poster text lacks %q:\n%s", c.paper, want, text)
			}
		}
		// Rasterise the page and scan the printed code.
		dir := t.TempDir()
		out, err := exec.Command("pdftoppm", "-r", "100", "-gray", "-png", writeTemp(t, "s.pdf", pdf), filepath.Join(dir, "page")).CombinedOutput()
		if err != nil {
			t.Fatalf("pdftoppm: %v: %s", err, out)
		}
		pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
		if len(pages) != 1 {
			t.Fatalf("pdftoppm pages %v", pages)
		}
		f, _ := os.Open(pages[0])
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err != nil || abs(cfg.Width-c.w*100/72) > 2 || abs(cfg.Height-c.h*100/72) > 2 {
			t.Errorf("%s page is %dx%d px at 100 dpi, want about %dx%d", c.paper, cfg.Width, cfg.Height, c.w*100/72, c.h*100/72)
		}
		if got := zbar(t, pages[0]); got != testURLs[1] {
			t.Fatalf("%s poster code read %q", c.paper, got)
		}
	}
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func TestPosterRejects(t *testing.T) {
	r := New(LevelDefault)
	ok := PosterInput{Name: "某商店", CreditCode: "91130102MA0CXXXX1K", URL: testURLs[0]}
	bad := ok
	bad.Paper = "Letter"
	if _, err := r.Poster(bad); !errors.Is(err, ErrPaper) {
		t.Errorf("paper: %v", err)
	}
	for _, name := range []string{" ", "\n\t\x00"} {
		bad = ok
		bad.Name = name
		if _, err := r.Poster(bad); !errors.Is(err, ErrPosterData) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if _, err := r.Poster(ok); err != nil {
		t.Errorf("default A4: %v", err)
	}
}

// FP-23, issue 10: every character an entity name can hold prints with a
// real glyph (or, for a character no font has, as 〓), never a panic or
// an empty box, and the page's text is the name. The text comes from
// pdftotext; that each character has an outline in the font that draws it
// is checked apart, on the font files (assertDrawn), because a missing
// glyph's empty box still extracts as the character.
func TestPosterPrintsEveryName(t *testing.T) {
	r := New(LevelDefault)
	for _, c := range []struct {
		name    string
		text    string // the name as the page's text, when it differs
		missing string // characters no font has
		font    string // a font the poster must embed
	}{
		{name: "石家庄市𠮷祥超市", font: "utf8scsip-20800"},
		{name: "𡈼记商行", font: "utf8scsip-21000"},
		{name: "石家庄𠀁𪛖商店", font: "utf8hanb-2a400"}, // Extension B beyond Noto: HanaMinB
		{name: "张·三便利店"},
		{name: "李•四商店"},
		{name: "王‧五超市"},
		{name: "赵・六餐馆"},
		{name: "钱･七商行"},
		{name: "喆堃赟珺商贸有限公司", font: "utf8scbmp-8c00"},
		{name: "石家庄㐀䶵商贸（有限）公司"}, // Extension A
		{name: "石家庄市\n惠民超市", text: "石家庄市 惠民超市"},
		{name: "笑脸😀商店", missing: "😀"},
		{name: "石家庄\U0002B740商店", missing: "\U0002B740"}, // Extension D: in no face
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := PosterInput{Name: c.name, CreditCode: "91130102MA0CXXXX1K", URL: testURLs[0], Paper: "A5"}
			pdf, err := r.Poster(in)
			if err != nil {
				t.Fatal(err)
			}
			want := c.text
			if want == "" {
				want = c.name
			}
			if text := pdftotext(t, pdf); !strings.Contains(text, want) {
				t.Errorf("text lacks %q:\n%s", want, text)
			}
			if fonts := pdffonts(t, pdf); c.font != "" && !slices.Contains(fonts, c.font) {
				t.Errorf("fonts %v lack %s", fonts, c.font)
			}
			pdffonttest.AssertDrawn(t, pdffonttest.Layout(t, pdffont.Files(), c.name), c.missing)
		})
	}
}

// FP-23. A batch of posters with Extension B names among others is whole.
func TestZipPostersWithExtensionB(t *testing.T) {
	r := New(LevelDefault)
	names := []string{"石家庄市桥西区惠民百货商店", "石家庄市𠮷祥超市", "𡈼记商行"}
	var items []ZipItem
	for i, n := range names {
		code := fmt.Sprintf("9113010%dMA0CXXXX1K", i)
		items = append(items, ZipItem{Name: ZipName(code, n, "pdf"), Body: func(w io.Writer) error {
			b, err := r.Poster(PosterInput{Name: n, CreditCode: code, URL: testURLs[i]})
			if err == nil {
				_, err = w.Write(b)
			}
			return err
		}})
	}
	var buf bytes.Buffer
	if err := Zip(&buf, items); err != nil {
		t.Fatal(err)
	}
	got := unzipAll(t, buf.Bytes())
	if len(got) != len(names) {
		t.Fatalf("entries %v, want %d posters", keys(got), len(names))
	}
	for i, it := range items {
		pdf, ok := got[it.Name]
		if !ok {
			t.Fatalf("no %s in %v", it.Name, keys(got))
		}
		if text := pdftotext(t, pdf); !strings.Contains(text, names[i]) {
			t.Errorf("%s text lacks %q:\n%s", it.Name, names[i], text)
		}
	}
}

func TestZipStreamsNamedEntries(t *testing.T) {
	r := New(LevelDefault)
	type ent struct{ code, name, url string }
	ents := []ent{
		{"91130102MA0CXXXX1K", "惠民百货/商店", testURLs[0]},
		{"52130100MJ0000001X", "石家庄市某某民办学校", testURLs[1]},
		{"12130100000000002Y", "", testURLs[2]},
	}
	var items []ZipItem
	for _, e := range ents {
		items = append(items, ZipItem{
			Name: ZipName(e.code, e.name, "png"),
			Body: func(w io.Writer) error {
				b, err := r.PNG(e.url, 300)
				if err != nil {
					return err
				}
				_, err = w.Write(b)
				return err
			},
		})
	}
	svg, _ := r.SVG(testURLs[0])
	items = append(items, ZipItem{Name: ZipName(ents[0].code, ents[0].name, "svg"), Data: svg})

	var buf bytes.Buffer
	if err := Zip(&buf, items); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"91130102MA0CXXXX1K_惠民百货_商店.png",
		"52130100MJ0000001X_石家庄市某某民办学校.png",
		"12130100000000002Y.png",
		"91130102MA0CXXXX1K_惠民百货_商店.svg",
	}
	if len(zr.File) != len(want) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(want))
	}
	for i, f := range zr.File {
		if f.Name != want[i] {
			t.Errorf("entry %d name %q, want %q", i, f.Name, want[i])
		}
		if f.Flags&0x800 == 0 {
			t.Errorf("entry %q lacks the UTF-8 flag", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if i < len(ents) {
			if got := zbar(t, writeTemp(t, "z.png", b)); got != ents[i].url {
				t.Errorf("entry %q decodes to %q", f.Name, got)
			}
		} else if !bytes.Equal(b, svg) {
			t.Errorf("svg entry differs")
		}
	}
	// Info-ZIP unzip agrees on the names (it reads the Unicode Path field).
	out, err := exec.Command("unzip", "-Z1", writeTemp(t, "b.zip", buf.Bytes())).Output()
	if err != nil || strings.TrimSpace(string(out)) != strings.Join(want, "\n") {
		t.Errorf("unzip -Z1: %v:\n%s", err, out)
	}
}

// FP-23: one item that cannot be made is left out and named in a report;
// the other items and the archive stay whole.
func TestZipReportsFailedItem(t *testing.T) {
	boom := errors.New("boom")
	items := []ZipItem{
		{Name: "a.png", Data: []byte("A")},
		{Name: "b_惠民商店.pdf", Body: func(w io.Writer) error {
			w.Write([]byte("half a poster")) // written before failing: must not leak into the archive
			return boom
		}},
		{Name: "c.png", Body: func(w io.Writer) error { _, err := w.Write([]byte("C")); return err }},
	}
	var buf bytes.Buffer
	if err := Zip(&buf, items); err != nil {
		t.Fatalf("Zip: %v", err)
	}
	got := unzipAll(t, buf.Bytes())
	if len(got) != 3 || string(got["a.png"]) != "A" || string(got["c.png"]) != "C" {
		t.Fatalf("entries %v", keys(got))
	}
	report := string(got[ZipReportName])
	if !strings.HasPrefix(report, "\uFEFF以下 1 个文件生成失败") || !strings.Contains(report, "\r\nb_惠民商店.pdf\r\n") {
		t.Errorf("report %q", report)
	}

	// A request that is over stops the batch.
	items[1].Body = func(io.Writer) error { return fmt.Errorf("render: %w", context.Canceled) }
	if err := Zip(io.Discard, items); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func unzipAll(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out[f.Name] = data
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestZipName(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"91130102MA0CXXXX1K", "a:b*c?"}:    "91130102MA0CXXXX1K_a_b_c_.png",
		{"91130102MA0CXXXX1K", " 石家庄\t商店 "}: "91130102MA0CXXXX1K_石家庄_商店.png",
		{"91130102MA0CXXXX1K", ""}:          "91130102MA0CXXXX1K.png",
	} {
		if got := ZipName(in[0], in[1], ".png"); got != want {
			t.Errorf("ZipName(%q) = %q, want %q", in, got, want)
		}
	}
	long := ZipName("X", strings.Repeat("名", 100), "pdf")
	if got := len([]rune(long)); got != 1+1+60+4 {
		t.Errorf("long name has %d runes", got)
	}
}

// BenchmarkPNG and BenchmarkPNGGoQRCode compare our encoder with
// go-qrcode's own PNG (image/png, default compression) on the same symbol.
func BenchmarkPNG(b *testing.B) {
	r := New(LevelDefault)
	for _, size := range []int{300, 1000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := r.PNG(testURLs[i%len(testURLs)], size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPNGGoQRCode(b *testing.B) {
	for _, size := range []int{300, 1000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := qrcode.Encode(testURLs[i%len(testURLs)], qrcode.Medium, size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPoster(b *testing.B) {
	r := New(LevelDefault)
	in := PosterInput{Name: "石家庄市桥西区惠民百货商店", CreditCode: "91130102MA0CXXXX1K", URL: testURLs[0], Authority: "石家庄市市场监督管理局"}
	for b.Loop() {
		if _, err := r.Poster(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPosterRareName: a name that needs three chunks besides the base
// font (Noto above the BMP, HanaMinB, Noto's GBK hanzi).
func BenchmarkPosterRareName(b *testing.B) {
	r := New(LevelDefault)
	in := PosterInput{Name: "石家庄市𠮷祥超市𪛖喆", CreditCode: "91130102MA0CXXXX1K", URL: testURLs[0], Authority: "石家庄市市场监督管理局"}
	for b.Loop() {
		if _, err := r.Poster(in); err != nil {
			b.Fatal(err)
		}
	}
}
