package render

import (
	"archive/zip"
	"encoding/binary"
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

// Zip streams items into w as a ZIP archive. Entries are stored, not
// deflated: PNG, PDF are already compressed and deflating them again
// costs CPU for nothing. Names are flagged UTF-8 (general purpose bit 11)
// and carried in a Unicode Path extra field too, so Chinese file names show
// correctly in Windows Explorer, macOS, 7-Zip, WinRAR and Info-ZIP unzip.
func Zip(w io.Writer, items []ZipItem) error {
	zw := zip.NewWriter(w)
	for i, it := range items {
		method := zip.Store
		if strings.HasSuffix(strings.ToLower(it.Name), ".svg") {
			method = zip.Deflate // text: deflating pays
		}
		fh := &zip.FileHeader{Name: it.Name, Method: method, Modified: it.Modified, Extra: unicodePath(it.Name)}
		fh.Flags |= 0x800
		f, err := zw.CreateHeader(fh)
		if err != nil {
			return fmt.Errorf("render: zip entry %d %q: %w", i, it.Name, err)
		}
		if it.Body != nil {
			err = it.Body(f)
		} else {
			_, err = f.Write(it.Data)
		}
		if err != nil {
			return fmt.Errorf("render: zip entry %d %q: %w", i, it.Name, err)
		}
	}
	return zw.Close()
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
