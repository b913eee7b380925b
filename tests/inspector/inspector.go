// Package inspector plays the inspector's app in the end-to-end and
// browser tests: it records an on-the-spot inspection with a photo the way
// the H5 form posts it (multipart/form-data), with a Bearer token.
package inspector

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
)

// PNG is an 8×8 image, small and valid, whose size a browser can check.
func PNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(3, 3, color.RGBA{200, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Record posts the form fields and photo to baseURL's
// /scan/v1/inspections, fails the test unless it is answered 201, and
// decodes the answer into out (when not nil).
func Record(t testing.TB, baseURL, bearer string, fields map[string]string, photo []byte, out any) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	w, _ := mw.CreateFormFile("photos", "现场.png")
	_, _ = w.Write(photo)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/scan/v1/inspections", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("record inspection: %d %s", resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatal(err)
		}
	}
}
