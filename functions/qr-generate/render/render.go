// Package render draws a code's URL as the downloads of FP-23: PNG at a
// chosen pixel size, SVG, a print-ready PDF poster (A4/A5) and a ZIP of many.
//
// The QR matrix comes from github.com/skip2/go-qrcode; the PNG is written by
// a small encoder of our own (1-bit grey, rows repeated inside a module are
// sent with the PNG "Up" filter so they compress to nothing) because it
// measured several times faster than image/png on the same bitmap — see
// BenchmarkPNG* and docs/benchmarks.md.
package render

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"strings"
	"sync"

	qrcode "github.com/skip2/go-qrcode"
)

// Level is the QR error-correction level.
type Level int

// Error-correction levels. The zero value means M, the level the
// requirement asks for: 15% of the symbol may be damaged (a dirty or
// partly covered shop-front poster) and still scan.
const (
	LevelDefault Level = iota
	LevelL
	LevelM
	LevelQ
	LevelH
)

// Pixel sizes accepted by PNG. Below 200 px a long URL's modules become too
// small to print; above 2000 px the file grows with no benefit to scanning.
const (
	MinSize = 200
	MaxSize = 2000
)

// QuietModules is the white border around the symbol, in modules (ISO/IEC
// 18004 asks for 4).
const QuietModules = 4

// Errors callers can map to user messages.
var (
	ErrSize       = errors.New("render: image size out of range")
	ErrTooLong    = errors.New("render: content too long for a QR code")
	ErrEmpty      = errors.New("render: empty content")
	ErrPaper      = errors.New("render: unknown paper size")
	ErrPosterData = errors.New("render: poster needs name, credit code and URL")
)

// Renderer renders codes at one error-correction level. It is safe for
// concurrent use; it keeps a pool of compressor state, the expensive part
// of writing a PNG. The zero value renders at level M.
type Renderer struct {
	level Level
	pool  sync.Pool // *pngState
	fonts fs.FS     // the poster's font chain; nil means the embedded one
}

// New returns a Renderer for the level (LevelDefault means LevelM).
func New(level Level) *Renderer { return &Renderer{level: level} }

func (l Level) recovery() qrcode.RecoveryLevel {
	switch l {
	case LevelL:
		return qrcode.Low
	case LevelQ:
		return qrcode.High // go-qrcode names Q "High"
	case LevelH:
		return qrcode.Highest
	}
	return qrcode.Medium
}

// ParseLevel reads "L", "M", "Q" or "H" (case-insensitive; "" is M), for
// configuration.
func ParseLevel(s string) (Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "M":
		return LevelM, nil
	case "L":
		return LevelL, nil
	case "Q":
		return LevelQ, nil
	case "H":
		return LevelH, nil
	}
	return 0, fmt.Errorf("render: unknown error-correction level %q (want L, M, Q or H)", s)
}

// Matrix is the QR symbol including its quiet zone: Dark(x, y) for
// 0 <= x, y < Size.
type Matrix struct {
	Size int
	bits [][]bool
}

// Dark reports whether the module at (x, y) is dark.
func (m Matrix) Dark(x, y int) bool { return m.bits[y][x] }

// Matrix encodes content into a QR symbol with a 4-module quiet zone.
func (r *Renderer) Matrix(content string) (Matrix, error) {
	if content == "" {
		return Matrix{}, ErrEmpty
	}
	q, err := qrcode.New(content, r.level.recovery())
	if err != nil {
		return Matrix{}, fmt.Errorf("%w: %v", ErrTooLong, err)
	}
	bm := q.Bitmap() // includes go-qrcode's 4-module border
	return Matrix{Size: len(bm), bits: bm}, nil
}

type pngState struct {
	buf  bytes.Buffer
	zw   *zlib.Writer
	line []byte // filter byte + packed pixels of the current module row
	up   []byte // filter "Up" + zeros: a row equal to the one above
}

// PNG renders content as a sizePx × sizePx 1-bit greyscale PNG. Modules are
// a whole number of pixels (crisp edges); the pixels left over when sizePx
// is not a multiple of the symbol width widen the quiet zone, centred.
func (r *Renderer) PNG(content string, sizePx int) ([]byte, error) {
	if sizePx < MinSize || sizePx > MaxSize {
		return nil, fmt.Errorf("%w: %d px (allowed %d–%d)", ErrSize, sizePx, MinSize, MaxSize)
	}
	m, err := r.Matrix(content)
	if err != nil {
		return nil, err
	}
	scale := sizePx / m.Size
	if scale < 1 {
		return nil, fmt.Errorf("%w: %d px is smaller than the %d-module symbol", ErrSize, sizePx, m.Size)
	}
	off := (sizePx - scale*m.Size) / 2

	st, _ := r.pool.Get().(*pngState)
	if st == nil {
		st = &pngState{}
		// BestSpeed: the rows are mostly runs of identical bytes and
		// all-zero "Up" rows, which even the fastest level shrinks well.
		st.zw, _ = zlib.NewWriterLevel(&st.buf, zlib.BestSpeed)
	}
	defer r.pool.Put(st)
	rowBytes := (sizePx + 7) / 8
	if cap(st.line) < rowBytes+1 {
		st.line = make([]byte, rowBytes+1)
		st.up = make([]byte, rowBytes+1)
	}
	line, up := st.line[:rowBytes+1], st.up[:rowBytes+1]
	clear(up)
	up[0] = 2 // PNG filter type Up

	st.buf.Reset()
	st.buf.WriteString(pngSignature)
	writeChunk(&st.buf, "IHDR", ihdr(sizePx))
	// IDAT is written after compression; remember where its length goes.
	idatStart := st.buf.Len()
	st.buf.Write([]byte{0, 0, 0, 0, 'I', 'D', 'A', 'T'})
	st.zw.Reset(&st.buf)

	// White margin rows (grey bit 1 = white).
	whiteLine := func() {
		line[0] = 0
		for i := 1; i < len(line); i++ {
			line[i] = 0xff
		}
	}
	writeRows := func(n int) {
		if n <= 0 {
			return
		}
		st.zw.Write(line)
		for i := 1; i < n; i++ {
			st.zw.Write(up)
		}
	}
	whiteLine()
	writeRows(off)
	for my := 0; my < m.Size; my++ {
		whiteLine()
		row := m.bits[my]
		for mx := 0; mx < m.Size; mx++ {
			if !row[mx] {
				continue
			}
			for x := off + mx*scale; x < off+(mx+1)*scale; x++ {
				line[1+x>>3] &^= 0x80 >> (x & 7)
			}
		}
		writeRows(scale)
	}
	whiteLine()
	writeRows(sizePx - off - scale*m.Size)
	if err := st.zw.Close(); err != nil {
		return nil, err
	}

	b := st.buf.Bytes()
	dataLen := len(b) - idatStart - 8
	binary.BigEndian.PutUint32(b[idatStart:], uint32(dataLen))
	crc := crc32.ChecksumIEEE(b[idatStart+4:])
	st.buf.Write(binary.BigEndian.AppendUint32(nil, crc))
	writeChunk(&st.buf, "IEND", nil)
	return bytes.Clone(st.buf.Bytes()), nil
}

const pngSignature = "\x89PNG\r\n\x1a\n"

func ihdr(size int) []byte {
	h := make([]byte, 13)
	binary.BigEndian.PutUint32(h[0:], uint32(size))
	binary.BigEndian.PutUint32(h[4:], uint32(size))
	h[8] = 1 // bit depth
	h[9] = 0 // greyscale; compression, filter, interlace all 0
	return h
}

func writeChunk(buf *bytes.Buffer, typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	buf.Write(hdr[:])
	buf.Write(data)
	c := crc32.NewIEEE()
	c.Write(hdr[4:])
	c.Write(data)
	buf.Write(binary.BigEndian.AppendUint32(nil, c.Sum32()))
}
