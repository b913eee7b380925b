package httpx

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/errs"
)

// MsgBadText is the answer to bytes that are not text.
const MsgBadText = "请求包含无效字符（非 UTF-8 编码或控制字符），请检查后重试"

// ValidText reports whether s is UTF-8 without NUL or other C0 controls
// but tab, newline and carriage return. Such bytes end up as 500s in
// PostgreSQL (which refuses NUL) or as U+FFFD silently stored.
func ValidText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// CheckQuery refuses a query string or path whose decoded bytes are not
// valid text, before any handler sees it.
func CheckQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validURL(r.URL) {
			Fail(w, r, errs.New(errs.Invalid, MsgBadText))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func validURL(u *url.URL) bool {
	if !ValidText(u.Path) {
		return false
	}
	if u.RawQuery == "" {
		return true
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// A malformed escape; keep what parsed, the handler refuses the rest.
		return !strings.Contains(u.RawQuery, "%00")
	}
	for k, vs := range q {
		if !ValidText(k) {
			return false
		}
		for _, v := range vs {
			if !ValidText(v) {
				return false
			}
		}
	}
	return true
}
