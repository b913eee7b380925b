// Package recognize reads Chinese resident ID cards and business licences
// from photos: it finds the document, straightens it (rotation and
// perspective), normalises it to the document's geometry, cuts the field
// zones of the layout and reads each with its own Tesseract settings, then
// cross-checks the values (shared/codes). It holds no state but a pool of
// Tesseract engines, and never logs what it reads.
package recognize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	_ "image/jpeg" // decoders registered for image.Decode
	_ "image/png"

	_ "golang.org/x/image/webp"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Input limits: a phone photo is 12–50 MP at most; anything larger is
// refused before its pixels are decoded (a decompression bomb is a small
// file that claims a huge image).
const (
	DefaultMaxPixels = 50_000_000
)

// Errors a caller maps to 400: not an image, a truncated or empty file, a
// decompression bomb, no document in the photo.
var (
	ErrEmpty     = errs.New(errs.Invalid, "上传的文件为空")
	ErrNotImage  = errs.New(errs.Invalid, "文件不是可识别的图片，请上传 JPEG、PNG 或 WebP 格式的照片")
	ErrTruncated = errs.New(errs.Invalid, "图片文件不完整或已损坏，请重新拍摄上传")
	ErrTooLarge  = errs.New(errs.Invalid, "图片像素过多，请压缩后再上传")
	ErrNoCard    = errs.New(errs.Invalid, "照片中未找到证件，请将证件完整放入画面、背景与证件颜色区分明显后重新拍摄")
)

// Decode decodes a JPEG, PNG or WebP after checking its declared size
// against maxPixels, and turns it upright by its EXIF orientation.
func Decode(b []byte, maxPixels int) (image.Image, error) {
	if len(b) == 0 {
		return nil, ErrEmpty
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, ErrNotImage
		}
		return nil, ErrTruncated
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels || cfg.Width > 20000 || cfg.Height > 20000 {
		return nil, ErrTooLarge
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, ErrTruncated
	}
	if format == "jpeg" {
		img = orient(img, exifOrientation(b))
	}
	return img, nil
}

// exifOrientation reads the Orientation tag (0x0112) of a JPEG's APP1
// Exif segment; 1 (upright) when there is none.
func exifOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		if marker == 0xDA || marker == 0xD9 { // start of scan: no more metadata
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 14 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(t[4:]))
	if off+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[off:]))
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			v := int(bo.Uint16(t[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// orient applies an EXIF orientation (1–8) to img.
func orient(img image.Image, o int) image.Image {
	if o <= 1 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			out.Set(dx, dy, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}
