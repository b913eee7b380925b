package render

import (
	"strconv"
)

// SVG renders content as a scalable SVG. Each horizontal run of dark
// modules is one path segment ("M x y h w v1 h-w z" in relative form), so a
// typical URL code is about 3 KB. The quiet zone is a white background; the
// nominal size is 8 px per module and the viewBox lets it scale.
func (r *Renderer) SVG(content string) ([]byte, error) {
	m, err := r.Matrix(content)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(m.Size)
	px := strconv.Itoa(m.Size * 8)
	b := make([]byte, 0, 256+m.Size*m.Size/2)
	b = append(b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="`...)
	b = append(b, px+`" height="`+px+`" viewBox="0 0 `+n+` `+n+`" shape-rendering="crispEdges">`...)
	b = append(b, `<rect width="`+n+`" height="`+n+`" fill="#fff"/><path fill="#000" d="`...)
	for y := 0; y < m.Size; y++ {
		for x := 0; x < m.Size; {
			if !m.Dark(x, y) {
				x++
				continue
			}
			start := x
			for x < m.Size && m.Dark(x, y) {
				x++
			}
			b = append(b, 'M')
			b = strconv.AppendInt(b, int64(start), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(y), 10)
			b = append(b, 'h')
			b = strconv.AppendInt(b, int64(x-start), 10)
			b = append(b, "v1h-"...)
			b = strconv.AppendInt(b, int64(x-start), 10)
			b = append(b, 'z')
		}
	}
	b = append(b, `"/></svg>`+"\n"...)
	return b, nil
}
