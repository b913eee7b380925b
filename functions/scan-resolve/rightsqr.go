package scanresolve

import (
	"encoding/base64"
	"fmt"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// qrDataPrefix starts every QR image qrDataURI renders.
const qrDataPrefix = "data:image/svg+xml;base64,"

// qrDataURI renders content as a QR code in an SVG data URI (FP-80–84):
// the symbol comes from go-qrcode, the drawing is ours — one path of unit
// squares, crisp at any size and a few hundred bytes, so the page needs
// no image request and the CSP's img-src data: suffices.
func qrDataURI(content string) (string, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", err
	}
	bm := q.Bitmap() // with go-qrcode's 4-module quiet zone
	n := len(bm)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n, n, n)
	for y, row := range bm {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			run := 1 // merge horizontal runs: a third of the path's size
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run - 1
		}
	}
	b.WriteString(`"/></svg>`)
	return qrDataPrefix + base64.StdEncoding.EncodeToString([]byte(b.String())), nil
}
