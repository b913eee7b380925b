package publicity

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// A request signed with another secret, or too old, is refused.
func TestSignature(t *testing.T) {
	s := New("app", "secret")
	path := "/openapi/v1/penalty/incremental?fromId=0&size=10"
	for name, c := range map[string]struct {
		secret string
		age    time.Duration
		want   int
	}{"signed-200": {"secret", 0, 200}, "wrong-secret-403": {"other", 0, 403}, "stale-403": {"secret", 10 * time.Minute, 403}} {
		ts := strconv.FormatInt(time.Now().Add(-c.age).Unix(), 10)
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("X-Gsxt-AppId", "app")
		req.Header.Set("X-Gsxt-Timestamp", ts)
		req.Header.Set("X-Gsxt-Sign", Sign(c.secret, "app", ts, path))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}
