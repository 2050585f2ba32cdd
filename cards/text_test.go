package cards

import (
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"Zoë Lefèvre", 4, "Zoë…"},
		{"日本語テキスト", 3, "日本…"},
		{"abc", 0, ""},
		{"abc", 1, "…"},
	} {
		got := Truncate(c.in, c.max)
		if got != c.want || !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(c.max, 0) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}
