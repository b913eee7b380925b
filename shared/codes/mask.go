package codes

import (
	"strings"
	"unicode/utf8"
)

// MaskIDNumber hides the middle of an ID number for lists, logs and exports,
// keeping the first 6 (division) and last 4 characters:
// 11010519491231002X → 110105********002X. Anything too short to keep both
// ends without revealing most of it is masked entirely.
func MaskIDNumber(s string) string {
	return maskMiddle(s, 6, 4, 11)
}

// MaskPhone hides the middle of a phone number, keeping the first 3 and last 4
// characters: 13812341234 → 138****1234. Numbers shorter than 8 characters are
// masked entirely.
func MaskPhone(s string) string {
	return maskMiddle(s, 3, 4, 8)
}

// maskMiddle keeps head and tail runes of s and stars the rest; strings with
// fewer than minLen runes become all stars so a short value never leaks.
func maskMiddle(s string, head, tail, minLen int) string {
	n := utf8.RuneCountInString(s)
	if n < minLen {
		return strings.Repeat("*", n)
	}
	r := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(string(r[:head]))
	b.WriteString(strings.Repeat("*", n-head-tail))
	b.WriteString(string(r[n-tail:]))
	return b.String()
}
