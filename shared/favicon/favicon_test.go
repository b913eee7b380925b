package favicon

import (
	"bytes"
	"image/png"
	"net/http/httptest"
	"testing"
)

func TestServesAValidIcon(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/favicon.ico", nil))
	b := rec.Body.Bytes()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/x-icon" || len(b) > 2048 {
		t.Fatalf("%d %v %d bytes", rec.Code, rec.Header(), len(b))
	}
	// ICONDIR, one entry, whose image is a 32×32 PNG.
	if !bytes.Equal(b[:6], []byte{0, 0, 1, 0, 1, 0}) {
		t.Fatalf("not an ICO header: % x", b[:6])
	}
	img, err := png.Decode(bytes.NewReader(b[22:]))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("icon image: %v", err)
	}
}
