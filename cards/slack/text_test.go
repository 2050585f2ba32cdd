package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	cases := []struct {
		name, in string
		max      int
		want     string
	}{
		{"fits", "Seán", 4, "Seán"},
		{"cut counts runes", "Seán O'Brien", 5, "Seán…"},
		{"emoji kept whole", "😀😀😀", 2, "😀…"},
		{"one", "abc", 1, "…"},
		{"zero", "abc", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := truncate(c.in, c.max)
			if got != c.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("invalid UTF-8 %q", got)
			}
		})
	}
}

func TestEscapeFit(t *testing.T) {
	cases := []struct {
		name, in string
		max      int
		want     string
	}{
		{"escapes", "Seán O'Brien & Co <test>", -1, "Seán O'Brien &amp; Co &lt;test&gt;"},
		{"link cannot be forged", "<https://evil|x> <!here>", -1, "&lt;https://evil|x&gt; &lt;!here&gt;"},
		{"fits exactly", "a&b", 7, "a&amp;b"},
		{"never cuts an entity", "a&b", 6, "a…"},
		{"cut after entity", "&&&", 11, "&amp;&amp;…"},
		{"accents", "Éé<", 3, "Éé…"},
		{"zero", "x", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := escapeFit(c.in, c.max)
			if got != c.want {
				t.Errorf("escapeFit(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
			}
			if c.max >= 0 && utf8.RuneCountInString(got) > c.max {
				t.Errorf("%d runes > %d", utf8.RuneCountInString(got), c.max)
			}
		})
	}
}

// FuzzEscapeFit: whatever the text, the result fits, is valid UTF-8 and
// holds no raw < or > (an & only starts an entity).
func FuzzEscapeFit(f *testing.F) {
	f.Add("Seán O'Brien & Co <test>", 10)
	f.Add("😀&<>", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if !utf8.ValidString(s) || max < 0 || max > 5000 {
			return
		}
		got := escapeFit(s, max)
		if utf8.RuneCountInString(got) > max {
			t.Fatalf("%d runes > %d", utf8.RuneCountInString(got), max)
		}
		if strings.ContainsAny(got, "<>") {
			t.Fatalf("raw < or > in %q", got)
		}
		rest := got
		for {
			i := strings.IndexByte(rest, '&')
			if i < 0 {
				break
			}
			rest = rest[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Fatalf("bare & in %q", got)
			}
			rest = rest[1:]
		}
	})
}

func TestLabelledFits(t *testing.T) {
	got := labelled(huge, huge, MaxFieldText)
	if n := utf8.RuneCountInString(got); n > MaxFieldText {
		t.Errorf("%d runes > %d", n, MaxFieldText)
	}
	if !strings.HasPrefix(got, "*é&amp;&lt;€&gt;") || !strings.Contains(got, "…*\n") {
		t.Errorf("label not bold and cut: %.40q", got)
	}
}
