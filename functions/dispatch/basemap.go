package dispatch

import (
	"net/http"

	"github.com/sjzamr/smartreg/shared/codes"
)

// basemap is the default base map (FP-142): schematic outlines of
// Shijiazhuang's districts drawn by us from their seats' rough positions,
// so the centre works without any online tile service. It makes no claim
// to survey accuracy and carries no 审图号; docs/functions/dispatch.md
// says so, and so does the document itself (properties.note). It is the
// one copy in shared/codes that the dashboard's big screen draws too.
var basemap = codes.SchematicMap()

func (f *Function) baseMap(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(basemap)
}
