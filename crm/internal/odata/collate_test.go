package odata

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
	"unicode"
)

// TestFoldTable checks the hand-written Latin table against Unicode's own
// case pairs: an entry shifted by one would split an upper/lower pair.
func TestFoldTable(t *testing.T) {
	for r := rune(0xC0); r < 0x180; r++ {
		if lo := unicode.ToLower(r); foldRune(lo) != foldRune(r) {
			t.Errorf("fold(%c U+%04X) = %c but fold(%c) = %c", r, r, foldRune(r), lo, foldRune(lo))
		}
		if f := foldRune(r); unicode.IsUpper(f) {
			t.Errorf("fold(%c) = %c is upper case", r, f)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"ÀÉÎÕÜÇÑÝ", "aeioucny"},
		{"ĀĆĎĒĜĤĨĴĶĹŃŌŔŚŢŨŴŶŹ", "acdeghijklnorstuwyz"},
		{"ŁØĐ", "lod"},
		{"ßÆŒ", "ßæœ"},
		{"ΑΒΓ", "αβγ"},
	} {
		if got := fold(tc.in); got != tc.want {
			t.Errorf("fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCollate(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		want int
	}{
		{"Equal", "abc", "abc", 0},
		{"Case", "ABC", "abc", 0},
		{"Accent", "Crème Brûlée", "creme brulee", 0},
		{"TrailingSpaces", "abc   ", "ABC", 0},
		{"LeadingSpaceCounts", " abc", "abc", -1},
		{"Prefix", "abc", "abcd", -1},
		{"Longer", "abcd", "abc", 1},
		{"TabSortsBeforePadding", "abc\t", "abc", -1},
		{"Order", "apple", "Banana", -1},
		{"AccentedOrder", "Émile", "Zoe", -1},
		{"Empty", "", "", 0},
		{"EmptyVsSpaces", "", "   ", 0},
		{"InvalidUTF8", "a\xff", "a\xff", 0},
	} {
		t.Run(tc.name, func(t *testing.T) { assertOrder(t, collate, tc.a, tc.b, tc.want) })
	}
}

func TestLikePattern(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, s string
		want             bool
	}{
		{"Literal", "abc", "ABC", true},
		{"LiteralMismatch", "abc", "abd", false},
		{"Percent", "a%c", "abbbc", true},
		{"PercentEmpty", "a%c", "ac", true},
		{"PercentNeedsEnd", "a%c", "abcd", false},
		{"Underscore", "a_c", "abc", true},
		{"UnderscoreOneRune", "a_c", "aéc", true},
		{"UnderscoreNotZero", "a_c", "ac", false},
		{"Set", "[bc]at", "Cat", true},
		{"SetMiss", "[bc]at", "hat", false},
		{"Range", "[a-f]1", "E1", true},
		{"NegatedSet", "[^a-f]1", "g1", true},
		{"NegatedSetMiss", "[^a-f]1", "a1", false},
		{"EscapedPercent", "50[%]", "50%", true},
		{"EscapedPercentIsLiteral", "50[%]", "500", false},
		{"EscapedBracket", "[[]x]", "[x]", true},
		{"UnclosedBracketIsLiteral", "a[b", "a[b", true},
		{"Backtracking", "%ab%ab%", "xxabyyabzz", true},
		{"BacktrackingFails", "%ab%ab%", "xxabyy", false},
		{"AccentInsensitive", "%zur%", "Zürich", true},
		{"EmptyPatternEmptyString", "", "", true},
		{"EmptyPatternNonEmpty", "", "a", false},
		{"OnlyPercent", "%", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := compileLike(tc.pattern, false, false).match(tc.s); got != tc.want {
				t.Errorf("%q LIKE %q = %v, want %v", tc.s, tc.pattern, got, tc.want)
			}
		})
	}
}

func TestEscapeLikeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "50%", "a_b", "[x]", "%_[]^-", "Zoë"} {
		p := compileLike(EscapeLike(s), true, true)
		if !p.match("pre" + s + "post") {
			t.Errorf("escaped %q does not find itself", s)
		}
		if s != "" && p.match("pre"+"post") {
			t.Errorf("escaped %q matches without it", s)
		}
	}
}

func TestCompare(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		a, b any
		want int
	}{
		{"NullFirst", nil, "a", -1},
		{"NullBeforeNumber", nil, int64(-5), -1},
		{"NullsEqual", nil, nil, 0},
		{"IntVsFloat", int64(2), 1.5, 1},
		{"IntVsJSONNumber", 3, json.Number("3"), 0},
		{"FloatVsJSONFloat", 0.5, json.Number("0.25"), 1},
		{"Int32VsUint8", int32(-1), uint8(0), -1},
		{"Strings", "apple", "Banana", -1},
		{"StringsCaseInsensitive", "ABC", "abc", 0},
		{"RFC3339Chronological", "2026-01-01T10:00:00+02:00", "2026-01-01T09:00:00Z", -1},
		{"FractionChronological", "2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00Z", 1},
		{"DatesAsStrings", "2026-02-01", "2026-01-31", 1},
		{"Times", t1, t1.Add(time.Second), -1},
		{"Bools", false, true, -1},
		{"GUIDType", GUID("A"), "a", 0},
		{"GUIDsAsUniqueidentifiers", GUID("ff000000-0000-0000-0000-000000000001"), GUID("00000000-0000-0000-0000-000000000002"), -1},
		{"GUIDsAnyCase", GUID("0B8D0000-0000-0000-0000-000000000001"), GUID("0b8d0000-0000-0000-0000-000000000001"), 0},
		{"GUIDStringIsAString", GUID("ff000000-0000-0000-0000-000000000001"), "00000000-0000-0000-0000-000000000002", 1},
		{"MalformedGUIDsCollate", GUID("b"), GUID("A"), 1},
		{"MixedKindsTotal", "a", int64(1), 1},
	} {
		t.Run(tc.name, func(t *testing.T) { assertOrder(t, Compare, tc.a, tc.b, tc.want) })
	}
}

func TestCompareSorts(t *testing.T) {
	vals := []any{"banana", nil, "Apple", "cherry", nil, "apple "}
	slices.SortStableFunc(vals, Compare)
	want := []any{nil, nil, "Apple", "apple ", "banana", "cherry"}
	if !slices.Equal(vals, want) {
		t.Errorf("ascending = %q, want %q", vals, want)
	}
	slices.SortStableFunc(vals, func(a, b any) int { return -Compare(a, b) })
	if vals[len(vals)-1] != nil || vals[0] != "cherry" {
		t.Errorf("descending = %q, want nulls last", vals)
	}
	if !Less(nil, "a") || Less("a", nil) {
		t.Error("Less disagrees with Compare")
	}
}
