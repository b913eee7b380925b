// Package favicon is the platform's icon, a 267-byte ICO served by the
// public page and the console, so a scan does not log a 404 for
// /favicon.ico (drawn by gen/main.go).
package favicon

import (
	_ "embed"
	"net/http"
)

//go:embed favicon.ico
var ico []byte

// Handler serves the icon, cacheable for a week.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/x-icon")
		w.Header().Set("Cache-Control", "public, max-age=604800")
		_, _ = w.Write(ico)
	})
}
