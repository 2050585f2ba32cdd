package cards

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks a truncated text.
const Ellipsis = "…"

// Truncate cuts s to at most max runes, ending with Ellipsis when cut. It
// counts runes and never splits a UTF-8 sequence. Both renderers use it.
func Truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max-1 {
			break
		}
		b.WriteRune(r)
		n++
	}
	b.WriteString(Ellipsis)
	return b.String()
}
