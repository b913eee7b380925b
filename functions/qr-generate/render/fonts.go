package render

import (
	"io/fs"

	"github.com/sjzamr/smartreg/shared/pdffont"
)

// fontsOrEmbedded is the font chain a Renderer draws with: shared/pdffont's
// (fonts, origin and licences in shared/pdffont/fonts/README.md), unless a
// test gave it another.
func (r *Renderer) fontsOrEmbedded() fs.FS {
	if r.fonts != nil {
		return r.fonts
	}
	return pdffont.Files()
}
