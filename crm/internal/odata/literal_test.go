package odata

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Plain", "Contoso", "'Contoso'"},
		{"Quote", "O'Brien", "'O''Brien'"},
		{"OnlyQuotes", "''", "''''''"},
		{"Empty", "", "''"},
		{"Unicode", "Zoë & co", "'Zoë & co'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestGuid(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Lowercased", "0B8D1B5A-1234-4321-ABCD-0123456789AB", "0b8d1b5a-1234-4321-abcd-0123456789ab"},
		{"Braces", "{0b8d1b5a-1234-4321-abcd-0123456789ab}", "0b8d1b5a-1234-4321-abcd-0123456789ab"},
		{"NotAGUIDIsQuoted", "x' or 1 eq 1", "'x'' or 1 eq 1'"},
		{"NoHyphens", "0b8d1b5a12344321abcd0123456789ab", "'0b8d1b5a12344321abcd0123456789ab'"},
		{"BadHex", "0b8d1b5a-1234-4321-abcd-0123456789ag", "'0b8d1b5a-1234-4321-abcd-0123456789ag'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Guid(tc.in); got != tc.want {
				t.Errorf("Guid(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestDateTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name string
		in   time.Time
		want string
	}{
		{"UTC", time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC), "2026-11-24T15:04:05Z"},
		{"ConvertedToUTC", time.Date(2026, 11, 24, 0, 30, 0, 0, cet), "2026-11-23T23:30:00Z"},
		{"FractionKept", time.Date(2026, 11, 24, 15, 4, 5, 120_000_000, time.UTC), "2026-11-24T15:04:05.12Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DateTime(tc.in); got != tc.want {
				t.Errorf("DateTime = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDate(t *testing.T) {
	// The calendar day the caller holds, not the UTC day of that instant.
	late := time.Date(2026, 11, 24, 23, 30, 0, 0, time.FixedZone("PST", -8*3600))
	if got := Date(late); got != "2026-11-24" {
		t.Errorf("Date = %s, want 2026-11-24", got)
	}
}

type stateCode int
type label string

func TestLiteral(t *testing.T) {
	name := "O'Brien"
	var nilStr *string
	for _, tc := range []struct {
		name    string
		in      any
		want    string
		wantErr string
	}{
		{"Nil", nil, "null", ""},
		{"String", "O'Brien", "'O''Brien'", ""},
		{"GUIDLikeStringStaysString", "0b8d1b5a-1234-4321-abcd-0123456789ab", "'0b8d1b5a-1234-4321-abcd-0123456789ab'", ""},
		{"GUID", GUID("0B8D1B5A-1234-4321-ABCD-0123456789AB"), "0b8d1b5a-1234-4321-abcd-0123456789ab", ""},
		{"BadGUID", GUID("nope"), "", `"nope" is not a GUID`},
		{"True", true, "true", ""},
		{"Int", -42, "-42", ""},
		{"Int8", int8(7), "7", ""},
		{"Uint64", uint64(math.MaxUint64), "18446744073709551615", ""},
		{"Float", 0.1, "0.1", ""},
		{"FloatNoExponent", 1e21, "1000000000000000000000", ""},
		{"SmallFloatNoExponent", 1.5e-7, "0.00000015", ""},
		{"Float32Shortest", float32(0.1), "0.1", ""},
		{"NaN", math.NaN(), "", "no literal form"},
		{"Inf", math.Inf(1), "", "no literal form"},
		{"Decimal", Decimal("12.50"), "12.50", ""},
		{"NegativeDecimal", Decimal("-0.5"), "-0.5", ""},
		{"DecimalNotANumber", Decimal("1 or 1 eq 1"), "", "is not a decimal number"},
		{"DecimalEmpty", Decimal(""), "", "is not a decimal number"},
		{"JSONNumberExponent", json.Number("1.5e3"), "1500", ""},
		{"JSONNumber", json.Number("250000"), "250000", ""},
		{"Time", time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC), "2026-11-24T15:04:05Z", ""},
		{"DateOnly", DateOnly(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)), "2026-11-24", ""},
		{"Pointer", &name, "'O''Brien'", ""},
		{"NilPointer", nilStr, "null", ""},
		{"NamedInt", stateCode(1), "1", ""},
		{"NamedString", label("a'b"), "'a''b'", ""},
		{"Struct", struct{}{}, "", "no literal form for a value of type struct {}"},
		{"Slice", []string{"a"}, "", "no literal form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Literal(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Literal(%#v) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Literal(%#v) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}
