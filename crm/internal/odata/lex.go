package odata

import (
	"strings"
	"unicode/utf8"
)

// Tokens of the $filter language. Keywords (and, eq, true, null...) are
// identifiers: which one is meant depends on where it stands.
type tokKind int

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tComma
	tIdent // name, dotted name or path: name, a/b, Microsoft.Dynamics.CRM.In
	tString
	tNumber
	tGUID
	tDate
	tDateTime
	tError // what cannot be lexed; err says why
)

type token struct {
	kind tokKind
	pos  int    // byte offset in the source
	text string // source text; for tString the unescaped value
	err  *Error // tError only
}

// nextToken lexes the token at or after src[i] and returns it with the
// offset after it. Text that cannot be lexed is a tError token, which ends
// the stream like tEOF: the parser reports it only if it gets that far, so
// errors come out in the order of the text. Lexing on demand also means a
// huge input costs nothing past the point where parsing gives up.
func nextToken(src string, i int) (token, int) {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\r' || src[i] == '\n') {
		i++
	}
	if i == len(src) {
		return token{kind: tEOF, pos: i}, i
	}
	fail := func(err *Error) (token, int) { return token{kind: tError, pos: i, err: err}, len(src) }
	switch c := src[i]; {
	case c == '(':
		return token{kind: tLParen, pos: i, text: "("}, i + 1
	case c == ')':
		return token{kind: tRParen, pos: i, text: ")"}, i + 1
	case c == ',':
		return token{kind: tComma, pos: i, text: ","}, i + 1
	case c == '\'':
		s, end, ok := lexString(src, i)
		if !ok {
			return fail(errorAt(src, i, "There is an unterminated string literal"))
		}
		return token{kind: tString, pos: i, text: s}, end
	case isGUIDAt(src, i):
		return token{kind: tGUID, pos: i, text: src[i : i+36]}, i + 36
	case isDigit(c) || c == '-' && i+1 < len(src) && isDigit(src[i+1]):
		t, err := lexNumberOrDate(src, i)
		if err != nil {
			return fail(err)
		}
		return t, i + len(t.text)
	case isIdentByte(c):
		j := i
		for j < len(src) && (isIdentByte(src[j]) || src[j] == '.' || src[j] == '/') {
			j++
		}
		return token{kind: tIdent, pos: i, text: src[i:j]}, j
	case c == '@':
		return fail(errorAt(src, i, "Parameter aliases (@name) are not supported by the sandbox"))
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	return fail(queryErrorf("Syntax error: character '%c' is not valid at position %d in '%s'.", r, charPos(src, i), src))
}

// lexString reads the quoted literal at src[start]; a doubled quote
// stands for one.
func lexString(src string, start int) (value string, end int, ok bool) {
	i := start + 1
	plain := true // no doubled quotes: the value is a substring
	for i < len(src) {
		if src[i] == '\'' {
			if i+1 < len(src) && src[i+1] == '\'' {
				plain = false
				i += 2
				continue
			}
			body := src[start+1 : i]
			if !plain {
				body = strings.ReplaceAll(body, "''", "'")
			}
			return body, i + 1, true
		}
		i++
	}
	return "", 0, false
}

// isGUIDAt reports whether a bare GUID starts at src[i] and ends at a token
// boundary. It is checked before numbers and names, which a GUID may begin
// like (12345678-... or abcdef01-...).
func isGUIDAt(src string, i int) bool {
	if i+36 > len(src) {
		return false
	}
	if _, ok := parseGUIDBytes(src[i : i+36]); !ok {
		return false
	}
	return i+36 == len(src) || !isWordByte(src[i+36])
}

// isWordByte: characters that would glue onto a literal, making it something
// else (or nothing valid).
func isWordByte(c byte) bool {
	return isIdentByte(c) || c == '.' || c == '-' || c == ':' || c == '+' || c == '/'
}

// lexNumberOrDate reads a number, a date or a datetime at src[i].
func lexNumberOrDate(src string, i int) (token, *Error) {
	if c := src[i]; c != '-' && i+10 <= len(src) && src[i+4] == '-' && allDigits(src[i:i+4]) {
		j := i
		for j < len(src) && (isWordByte(src[j])) {
			j++
		}
		text := src[i:j]
		if len(text) == 10 {
			if _, ok := parseDate(text); ok {
				return token{kind: tDate, pos: i, text: text}, nil
			}
			return token{}, unrecognized("Edm.Date", text, src, i)
		}
		if _, ok := parseDateTime(text); ok {
			return token{kind: tDateTime, pos: i, text: text}, nil
		}
		return token{}, unrecognized("Edm.DateTimeOffset", text, src, i)
	}
	j := i
	if src[j] == '-' {
		j++
	}
	j = skipDigits(src, j)
	if j+1 < len(src) && src[j] == '.' && isDigit(src[j+1]) {
		j = skipDigits(src, j+1)
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDigit(src[k]) {
			j = skipDigits(src, k)
		}
	}
	if j < len(src) && strings.IndexByte("mMdDfFlL", src[j]) >= 0 {
		j++
	}
	if j < len(src) && isWordByte(src[j]) {
		return token{}, syntaxError(src, j)
	}
	text := src[i:j]
	if _, ok := numberConstant(text); !ok {
		return token{}, unrecognized("Edm.Decimal", text, src, i)
	}
	return token{kind: tNumber, pos: i, text: text}, nil
}

func skipDigits(s string, j int) int {
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j
}

// unrecognized is ODL's message for a literal of the right shape but an
// impossible value (2026-13-45, 1e999).
func unrecognized(edm, text, src string, off int) *Error {
	return queryErrorf("Unrecognized '%s' literal '%s' at '%d' in '%s'.", edm, text, charPos(src, off), src)
}
