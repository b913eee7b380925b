package evidencecapture

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

// TestCertificate (FP-90 出证): the certificate waits for the receipt
// (409 before a checkpoint covers the bundle); then pdftotext reads its
// hashes, index and verification address, its QR code (zbarimg) opens the
// public page for the manifest's hash, and the embedded receipt
// (pdfdetach) is the bundle's receipt and verifies with the log's key.
func TestCertificate(t *testing.T) {
	h := newHarness(t)
	h.f.cfg.IntegrateEvery = time.Hour // the bundle stays pending until the test integrates
	h.started(t)
	h.f.cfg.Public.BaseURL = "https://amr.example.cn/"
	bearer := h.iss.Bearer(authtest.CityWide(PermBundle + ":view"))
	b, err := h.f.Seal(context.Background(), "u1", "网店价格欺诈页面", "upload", nil, map[string][]byte{"page.html": []byte("<p>原价 999 现价 99</p>")})
	if err != nil {
		t.Fatal(err)
	}
	path := "/evidence/v1/bundles/" + b.ID + "/certificate.pdf"
	if rec := h.do(t, bearer, httptest.NewRequest("GET", path, nil)); rec.Code != 409 || !strings.Contains(rec.Body.String(), "请稍后") {
		t.Fatalf("certificate before the checkpoint: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "", httptest.NewRequest("GET", path, nil)); rec.Code != 401 {
		t.Fatalf("certificate without a login: %d", rec.Code)
	}
	if _, err := h.f.Log().Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	receipt := waitReceipt(t, h.f, b)
	rec := h.do(t, bearer, httptest.NewRequest("GET", path, nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("certificate: %d %s", rec.Code, rec.Body)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "cert.pdf")
	os.WriteFile(pdf, rec.Body.Bytes(), 0o644)
	if p := os.Getenv("CERT_DUMP"); p != "" {
		os.WriteFile(p, rec.Body.Bytes(), 0o644)
	}

	text := pdfText(t, rec.Body.Bytes())
	link := "https://amr.example.cn/console/#/evidence/verify?sha256=" + b.SHA256
	for _, want := range []string{"电子数据存证证书", b.ID, "网店价格欺诈页面", b.SHA256, b.SM3, "日志序号", "page.html",
		seal.Sum([]byte("<p>原价 999 现价 99</p>")).SHA256, "c2sp.org/tlog-proof@v1", h.f.Log().Origin()} {
		if !strings.Contains(text, want) {
			t.Errorf("certificate lacks %q:\n%s", want, text)
		}
	}
	// The address may wrap across lines in the PDF; the QR code holds it whole.
	if !strings.Contains(strings.ReplaceAll(text, " ", ""), link) {
		t.Errorf("certificate lacks the verification address %s", link)
	}
	if out, err := exec.Command("pdfimages", "-png", pdf, filepath.Join(dir, "img")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages: %v %s", err, out)
	}
	imgs, _ := filepath.Glob(filepath.Join(dir, "img*.png"))
	if len(imgs) != 1 {
		t.Fatalf("certificate images: %v", imgs)
	}
	if out, err := exec.Command("zbarimg", "-q", "--raw", imgs[0]).Output(); err != nil || strings.TrimSpace(string(out)) != link {
		t.Errorf("QR code = %q (%v), want %s", out, err, link)
	}
	if out, err := exec.Command("pdfdetach", "-saveall", "-o", dir, pdf).CombinedOutput(); err != nil {
		t.Fatalf("pdfdetach: %v %s", err, out)
	}
	embedded, err := os.ReadFile(filepath.Join(dir, "receipt.tlog-proof"))
	if err != nil || string(embedded) != string(receipt) {
		t.Fatalf("embedded receipt differs from the bundle's (%v)", err)
	}
	r, err := seal.ParseReceipt(embedded)
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if _, err := seal.VerifyReceipt(seal.Entry(manifest), r, h.f.Log().PublicKey()); err != nil {
		t.Fatalf("the embedded receipt does not verify the embedded manifest: %v", err)
	}
}
