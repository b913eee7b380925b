package main

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/sjzamr/smartreg/functions/qr-generate/render"
)

// The batch mode reads PNGs back to back from one pipe; it must find each
// image's end exactly.
func TestReadPNGSplitsAStream(t *testing.T) {
	r := render.New(render.LevelM)
	us := urls(2)
	var stream bytes.Buffer
	for i, size := range []int{410, 984} {
		b, err := r.PNG(us[i], size)
		if err != nil {
			t.Fatal(err)
		}
		if w, err := pngWidth(b); err != nil || w != size {
			t.Fatalf("pngWidth = %d, %v; want %d", w, err, size)
		}
		stream.Write(b)
	}
	br := bufio.NewReader(&stream)
	for i := 0; i < 2; i++ {
		if err := readPNG(br); err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
	}
	if err := readPNG(br); err == nil {
		t.Fatal("readPNG found a third image in a two-image stream")
	}
	if _, err := pngWidth([]byte("not a png")); err == nil {
		t.Fatal("pngWidth accepted garbage")
	}
}
