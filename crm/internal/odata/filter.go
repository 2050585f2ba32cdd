package odata

import (
	"errors"
	"fmt"
	"strings"
)

// Filter is a $filter expression under construction. Builders never fail
// loudly, so they compose (And(Eq(...), Or(...))); instead a Filter carries
// the first problem in [Filter.Err], and And/Or/Not pass it up. Check Err on
// the finished filter.
//
// The zero Filter is empty: no condition. And and Or skip empty operands, so
// optional conditions can be passed unconditionally.
type Filter struct {
	text string
	prec precedence
	call bool // a function call: "not" needs no parentheses around it
	err  error
}

// precedence of a Filter's top-level operator, to parenthesize only where
// needed.
type precedence int

const (
	precEmpty precedence = iota
	precRaw              // unknown structure: always parenthesized when combined
	precOr
	precAnd
	precAtom // comparison, function call or not(...)
)

// invalidFilterText is what a failed Filter renders as: text no OData parser
// accepts, so a caller who forgets Err gets a 400 instead of an unfiltered,
// broader query.
const invalidFilterText = "<invalid filter>"

// String returns the filter text ("" for an empty filter).
func (f Filter) String() string {
	if f.err != nil {
		return invalidFilterText
	}
	return f.text
}

// Err reports why the filter could not be built (bad field name, bad GUID,
// unsupported value type), or nil.
func (f Filter) Err() error { return f.err }

// IsEmpty reports whether f has no condition (and no error).
func (f Filter) IsEmpty() bool { return f.prec == precEmpty && f.err == nil }

// Raw wraps trusted, already-valid filter text (a constant in our code, never
// user input). It is parenthesized whenever it is combined.
func Raw(s string) Filter {
	s = strings.TrimSpace(s)
	if s == "" {
		return Filter{}
	}
	return Filter{text: s, prec: precRaw}
}

// Eq is "field eq value"; value is formatted by [Literal].
func Eq(field string, v any) Filter { return comparison(field, OpEq, v) }

// Ne is "field ne value". Dataverse's ne also matches rows where field is null.
func Ne(field string, v any) Filter { return comparison(field, OpNe, v) }

// Gt is "field gt value".
func Gt(field string, v any) Filter { return comparison(field, OpGt, v) }

// Ge is "field ge value".
func Ge(field string, v any) Filter { return comparison(field, OpGe, v) }

// Lt is "field lt value".
func Lt(field string, v any) Filter { return comparison(field, OpLt, v) }

// Le is "field le value".
func Le(field string, v any) Filter { return comparison(field, OpLe, v) }

func comparison(field string, op Op, v any) Filter {
	if err := checkField(field); err != nil {
		return Filter{err: err}
	}
	lit, err := Literal(v)
	if err != nil {
		return Filter{err: fmt.Errorf("%s %s: %w", field, op, err)}
	}
	return Filter{text: field + " " + string(op) + " " + lit, prec: precAtom}
}

// Contains is "contains(field,'text')", matching text literally (and
// case-insensitively) anywhere in field: the LIKE wildcards Dataverse would
// otherwise see in text (% _ [) are escaped.
func Contains(field, text string) Filter { return stringFunc("contains", field, text) }

// StartsWith is "startswith(field,'text')", text matched literally.
func StartsWith(field, text string) Filter { return stringFunc("startswith", field, text) }

// EndsWith is "endswith(field,'text')", text matched literally.
func EndsWith(field, text string) Filter { return stringFunc("endswith", field, text) }

func stringFunc(name, field, text string) Filter {
	if err := checkField(field); err != nil {
		return Filter{err: err}
	}
	return Filter{text: name + "(" + field + "," + String(EscapeLike(text)) + ")", prec: precAtom, call: true}
}

// EscapeLike makes every LIKE wildcard in s (% _ [) match itself, by
// enclosing it in brackets as T-SQL, and so Dataverse, requires.
func EscapeLike(s string) string {
	if !strings.ContainsAny(s, "%_[") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '%', '_', '[':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// And joins the non-empty filters with "and". None gives an empty Filter;
// one gives that filter unchanged.
func And(fs ...Filter) Filter { return join(OpAnd, precAnd, fs) }

// Or joins the non-empty filters with "or". None gives an empty Filter (not a
// filter matching nothing); one gives that filter unchanged.
func Or(fs ...Filter) Filter { return join(OpOr, precOr, fs) }

func join(op Op, prec precedence, fs []Filter) Filter {
	var parts []Filter
	var errs []error
	for _, f := range fs {
		switch {
		case f.err != nil:
			errs = append(errs, f.err)
		case f.prec != precEmpty:
			parts = append(parts, f)
		}
	}
	if len(errs) > 0 {
		return Filter{err: errors.Join(errs...)}
	}
	switch len(parts) {
	case 0:
		return Filter{}
	case 1:
		return parts[0]
	}
	texts := make([]string, len(parts))
	for i, p := range parts {
		// The same operator is associative; any other (even the tighter
		// "and" inside "or") is parenthesized for the human reader.
		if p.prec == prec || p.prec == precAtom {
			texts[i] = p.text
		} else {
			texts[i] = "(" + p.text + ")"
		}
	}
	return Filter{text: strings.Join(texts, " "+string(op)+" "), prec: prec}
}

// Not negates f. OData's not binds tighter than comparisons, so anything but a
// function call is parenthesized: not (statecode eq 0).
func Not(f Filter) Filter {
	switch {
	case f.err != nil:
		return f
	case f.prec == precEmpty:
		return Filter{err: errors.New("odata: not of an empty filter")}
	case f.call:
		return Filter{text: "not " + f.text, prec: precAtom}
	}
	return Filter{text: "not (" + f.text + ")", prec: precAtom}
}

// checkField accepts a property name or a navigation path (a/b): field names
// are spliced into the filter unquoted, so nothing else may pass.
func checkField(field string) error {
	if !isPath(field) {
		return fmt.Errorf("odata: %q is not a property name", field)
	}
	return nil
}

// isPath reports whether s is identifier(/identifier)*.
func isPath(s string) bool {
	for seg := range strings.SplitSeq(s, "/") {
		if !isIdent(seg) {
			return false
		}
	}
	return true
}

// isIdent reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) || i == 0 && isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isIdentByte(c byte) bool {
	return c == '_' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
