package render

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"
	"unicode"
)

// ZipItem is one file of a batch download. Body writes the file's bytes
// when its turn comes, so a batch of thousands of codes never holds more
// than one image in memory; Data is used when Body is nil.
type ZipItem struct {
	Name     string // path inside the archive, UTF-8 (see ZipName)
	Modified time.Time
	Data     []byte
	Body     func(w io.Writer) error
}

// ZipReportName is the text file a batch gains when some of its items
// could not be made.
const ZipReportName = "下载失败清单.txt"

// Zip streams items into w as a ZIP archive. Entries are stored, not
// deflated: PNG, PDF are already compressed and deflating them again
// costs CPU for nothing. Names are flagged UTF-8 (general purpose bit 11)
// and carried in a Unicode Path extra field too, so Chinese file names show
// correctly in Windows Explorer, macOS, 7-Zip, WinRAR and Info-ZIP unzip.
//
// One item never spoils the batch: each Body writes into a buffer first,
// and an item whose Body fails is left out and named in ZipReportName at
// the end of the archive, which is still complete and valid (the caller
// learns the reason inside its Body, where it can log it). Zip fails only
// when w does, or when a Body reports that the request is over
// (context.Canceled, context.DeadlineExceeded).
func Zip(w io.Writer, items []ZipItem) error {
	zw := zip.NewWriter(w)
	var buf bytes.Buffer
	var failed []string
	var last time.Time
	for i, it := range items {
		data := it.Data
		if it.Body != nil {
			buf.Reset()
			if err := it.Body(&buf); err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("render: zip entry %d %q: %w", i, it.Name, err)
				}
				failed = append(failed, it.Name)
				continue
			}
			data = buf.Bytes()
		}
		if err := zipEntry(zw, it.Name, it.Modified, data); err != nil {
			return fmt.Errorf("render: zip entry %d %q: %w", i, it.Name, err)
		}
		if it.Modified.After(last) {
			last = it.Modified
		}
	}
	if len(failed) > 0 {
		if err := zipEntry(zw, ZipReportName, last, zipReport(failed)); err != nil {
			return fmt.Errorf("render: zip report: %w", err)
		}
	}
	return zw.Close()
}

func zipEntry(zw *zip.Writer, name string, modified time.Time, data []byte) error {
	method := zip.Store
	if strings.HasSuffix(strings.ToLower(name), ".svg") || strings.HasSuffix(name, ".txt") {
		method = zip.Deflate // text: deflating pays
	}
	fh := &zip.FileHeader{Name: name, Method: method, Modified: modified, Extra: unicodePath(name)}
	fh.Flags |= 0x800
	f, err := zw.CreateHeader(fh)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return err
}

// zipReport lists the files left out of a batch: UTF-8 with a byte-order
// mark and CRLF, so Notepad on a Chinese Windows (GBK by default) shows it.
func zipReport(names []string) []byte {
	var b strings.Builder
	b.WriteString("\uFEFF")
	fmt.Fprintf(&b, "以下 %d 个文件生成失败，未放入本压缩包。请稍后单独下载，或重新批量下载：\r\n", len(names))
	for _, n := range names {
		b.WriteString(n + "\r\n")
	}
	return []byte(b.String())
}

// unicodePath is the Info-ZIP Unicode Path extra field (0x7075) repeating
// the UTF-8 name: Info-ZIP unzip as shipped by Debian, and older archivers
// common on office PCs, ignore the UTF-8 flag but honour this field.
func unicodePath(name string) []byte {
	ex := binary.LittleEndian.AppendUint16(nil, 0x7075)
	ex = binary.LittleEndian.AppendUint16(ex, uint16(5+len(name)))
	ex = append(ex, 1) // version
	ex = binary.LittleEndian.AppendUint32(ex, crc32.ChecksumIEEE([]byte(name)))
	return append(ex, name...)
}

// ZipName is the file name of a code's download inside a batch:
// "<credit_code>_<name>.<ext>", with characters that are not allowed in
// Windows file names, path separators and control characters replaced by
// "_", and the name cut to 60 characters so paths stay within limits.
func ZipName(creditCode, name, ext string) string {
	clean := func(s string, max int) string {
		var b strings.Builder
		n := 0
		for _, r := range strings.TrimSpace(s) {
			if n == max {
				break
			}
			if unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
				r = '_'
			}
			b.WriteRune(r)
			n++
		}
		return b.String()
	}
	base := clean(creditCode, 32)
	if nm := clean(name, 60); nm != "" {
		base += "_" + nm
	}
	return base + "." + strings.TrimPrefix(ext, ".")
}
