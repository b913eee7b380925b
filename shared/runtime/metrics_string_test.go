package runtime

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Cached pages are strings; the wrapper must hand them on without a copy
// and still record the status.
func TestStatusWriterPassesStringsThrough(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := &statusWriter{ResponseWriter: rec}
	if _, ok := any(sw).(io.StringWriter); !ok {
		t.Fatal("statusWriter does not implement io.StringWriter")
	}
	if _, err := io.WriteString(sw, "页面"); err != nil {
		t.Fatal(err)
	}
	if sw.status != http.StatusOK || rec.Body.String() != "页面" {
		t.Fatalf("status %d body %q", sw.status, rec.Body.String())
	}
}
