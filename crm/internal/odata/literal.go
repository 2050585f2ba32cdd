package odata

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// String returns s as an OData string literal: single-quoted, with every
// quote doubled (O'Brien becomes a literal with two quotes between O and
// Brien). This is the only escaping a string literal
// needs; URL encoding is a separate, later step ([QueryString]).
func String(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// DateTime returns t as a DateTimeOffset literal in UTC
// (2026-11-24T15:04:05Z), with fractional seconds only when t has them so a
// comparison keeps its exact meaning.
func DateTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// Date returns the calendar date of t, in t's own location, as a Date literal
// (2026-11-24): a date-only column holds the day the user meant, not an
// instant, so it is not converted to UTC first.
func Date(t time.Time) string {
	return t.Format("2006-01-02")
}

// DateOnly marks a time as a calendar date for [Literal] and the builder, for
// date-only columns such as opportunity.estimatedclosedate.
type DateOnly time.Time

// Decimal is a decimal number in its exact text form (for example a money
// amount), written bare so no float rounding ever touches it.
type Decimal string

// Literal formats v as an OData literal. Supported: nil (null), string
// (quoted), GUID (bare, validated), bool, all integer types, float32/64
// (shortest exact form, never an exponent), Decimal and json.Number
// (validated), time.Time (DateTime), DateOnly (Date), pointers to any of
// these (nil is null) and named types whose underlying kind is one of them.
// Anything else is an error rather than a guess.
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		return String(x), nil
	case GUID:
		g, err := ParseGUID(string(x))
		return string(g), err
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case float64:
		return formatFloat(x, 64)
	case float32:
		return formatFloat(float64(x), 32)
	case Decimal:
		return decimalLiteral(string(x))
	case json.Number:
		return decimalLiteral(string(x))
	case time.Time:
		return DateTime(x), nil
	case DateOnly:
		return Date(time.Time(x)), nil
	}
	return reflectLiteral(reflect.ValueOf(v))
}

// reflectLiteral covers named types (type StateCode int) and pointers.
func reflectLiteral(rv reflect.Value) (string, error) {
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return "null", nil
		}
		return Literal(rv.Elem().Interface())
	case reflect.String:
		return String(rv.String()), nil
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32:
		return formatFloat(rv.Float(), 32)
	case reflect.Float64:
		return formatFloat(rv.Float(), 64)
	}
	return "", fmt.Errorf("odata: no literal form for a value of type %s", rv.Type())
}

func formatFloat(f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("odata: %v has no literal form Dataverse accepts", f)
	}
	return strconv.FormatFloat(f, 'f', -1, bits), nil
}

// decimalLiteral validates a number given as text. An exponent (json.Number
// allows one) is rewritten without it, as Dataverse's Decimal columns expect.
func decimalLiteral(s string) (string, error) {
	if !isPlainDecimal(s) {
		if strings.ContainsAny(s, "eE") {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return formatFloat(f, 64)
			}
		}
		return "", fmt.Errorf("odata: %q is not a decimal number", s)
	}
	return s, nil
}

// isPlainDecimal reports whether s is -?digits(.digits)?.
func isPlainDecimal(s string) bool {
	if strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	return allDigits(intPart) && (!hasDot || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
