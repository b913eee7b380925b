//go:build ignore

// Command gen draws favicon.ico: go run ./shared/favicon/gen shared/favicon/favicon.ico

package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
)

// A 32×32 mark: the bureau's red with a white code-like pattern (three
// finder squares), readable at 16 px.
func main() {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red := color.NRGBA{0xc8, 0x16, 0x1d, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			// rounded corners
			cx, cy := min(x, n-1-x), min(y, n-1-y)
			if cx < 3 && cy < 3 && (3-cx)*(3-cx)+(3-cy)*(3-cy) > 9 {
				continue
			}
			img.Set(x, y, red)
		}
	}
	finder := func(ox, oy int) {
		for y := 0; y < 10; y++ {
			for x := 0; x < 10; x++ {
				ring := x == 0 || y == 0 || x == 9 || y == 9
				core := x >= 3 && x <= 6 && y >= 3 && y <= 6
				if ring || core {
					img.Set(ox+x, oy+y, white)
				}
			}
		}
	}
	finder(4, 4)
	finder(18, 4)
	finder(4, 18)
	for _, p := range [][2]int{{19, 19}, {22, 19}, {25, 22}, {19, 25}, {22, 25}, {25, 25}, {22, 22}} {
		for y := 0; y < 3; y++ {
			for x := 0; x < 3; x++ {
				img.Set(p[0]+x, p[1]+y, white)
			}
		}
	}
	var pb bytes.Buffer
	_ = png.Encode(&pb, img)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, []uint16{0, 1, 1})                  // ICONDIR: reserved, type icon, 1 image
	b.Write([]byte{n, n, 0, 0})                                                   // width, height, colours, reserved
	_ = binary.Write(&b, binary.LittleEndian, []uint16{1, 32})                    // planes, bits per pixel
	_ = binary.Write(&b, binary.LittleEndian, []uint32{uint32(pb.Len()), 6 + 16}) // size, offset
	b.Write(pb.Bytes())
	_ = os.WriteFile(os.Args[1], b.Bytes(), 0o644)
}
