package odata

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Query is a parsed set of system query options.
type Query struct {
	Select     []string
	Filter     Expr // nil without $filter
	OrderBy    []OrderItem
	Top        int // 0 = none
	Expand     []ExpandItem
	Count      bool
	SkipToken  string
	DeltaToken string
}

// OrderItem is one $orderby key.
type OrderItem struct {
	Field string
	Desc  bool
}

// ExpandItem is one $expand navigation property with its nested options.
type ExpandItem struct {
	Nav     string
	Select  []string
	Filter  Expr
	OrderBy []OrderItem
	Top     int
}

// ParseQuery parses the system query options ($-prefixed; names matched
// case-insensitively) of a Dataverse read. $skip is rejected with Dataverse's
// message, as is any option the sandbox does not implement; an option given
// twice is an error; an empty $filter or $orderby is no option at all;
// parameters without '$' are not query options and are ignored. Errors are
// *Error values.
func ParseQuery(q url.Values) (*Query, error) {
	keys := make([]string, 0, len(q))
	for k := range q {
		if strings.HasPrefix(k, "$") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // the same request always reports the same error
	out := &Query{}
	var shared ExpandItem // the options $expand items have too
	seen := map[string]bool{}
	for _, k := range keys {
		vals := q[k]
		name := strings.ToLower(k)
		if len(vals) > 1 || seen[name] { // $top and $TOP are the same option
			return nil, errRepeatedOption(k)
		}
		seen[name] = true
		v := vals[0]
		if v == "" && (name == "$filter" || name == "$orderby") {
			continue // ODL's ODataQueryOptionParser treats these as absent
		}
		handled, err := shared.setOption(name, v)
		if !handled {
			switch name {
			case "$expand":
				out.Expand, err = parseExpand(v)
			case "$count":
				out.Count, err = parseCount(v)
			case "$skiptoken":
				out.SkipToken = v
			case "$deltatoken":
				out.DeltaToken = v
			default:
				err = errUnsupportedOption(k)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	out.Select, out.Filter, out.OrderBy, out.Top = shared.Select, shared.Filter, shared.OrderBy, shared.Top
	return out, nil
}

// setOption parses name (lowercased) into it if it is one of the options
// allowed both at the top level and inside $expand; $skip, valid nowhere, is
// rejected here too.
func (it *ExpandItem) setOption(name, value string) (handled bool, err *Error) {
	switch name {
	case "$select":
		it.Select, err = parseSelect(value)
	case "$filter":
		it.Filter, err = parseFilterOption(value)
	case "$orderby":
		it.OrderBy, err = parseOrderBy(value)
	case "$top":
		it.Top, err = parseTop(value)
	case "$skip":
		err = errSkip()
	default:
		return false, nil
	}
	return true, err
}

func parseFilterOption(s string) (Expr, *Error) {
	e, err := ParseFilter(s)
	if err != nil {
		return nil, err.(*Error)
	}
	return e, nil
}

// parseSelect parses "a,b, c": property names, none empty.
func parseSelect(s string) ([]string, *Error) {
	var out []string
	off := 0
	for item := range strings.SplitSeq(s, ",") {
		name := strings.TrimSpace(item)
		if !isIdent(name) {
			return nil, syntaxError(s, off+firstNonSpace(item))
		}
		out = append(out, name)
		off += len(item) + 1
	}
	return out, nil
}

// parseOrderBy parses "name asc, createdon desc".
func parseOrderBy(s string) ([]OrderItem, *Error) {
	var out []OrderItem
	off := 0
	for item := range strings.SplitSeq(s, ",") {
		words := fieldsAt(item, off)
		switch {
		case len(words) == 0:
			return nil, syntaxError(s, off)
		case !isPath(words[0].text):
			return nil, syntaxError(s, words[0].off)
		case len(words) > 2:
			return nil, syntaxError(s, words[2].off)
		case len(words) == 2 && words[1].text != "asc" && words[1].text != "desc":
			return nil, syntaxError(s, words[1].off)
		}
		out = append(out, OrderItem{Field: words[0].text, Desc: len(words) == 2 && words[1].text == "desc"})
		off += len(item) + 1
	}
	return out, nil
}

// fieldsAt splits s at spaces, keeping each word's offset (plus base).
func fieldsAt(s string, base int) []span {
	var out []span
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' {
			j++
		}
		out = append(out, span{s[i:j], base + i})
		i = j
	}
	return out
}

// parseTop accepts a positive integer: 0 would mean "no rows", which no
// Dataverse read needs, and Query uses 0 for "no $top".
func parseTop(s string) (int, *Error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, queryErrorf("Invalid value '%s' for $top query option found. The $top query option requires a positive integer value.", s)
	}
	return n, nil
}

func parseCount(s string) (bool, *Error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, queryErrorf("'%s' is not a valid count option.", s)
}

// parseExpand parses nav, nav($select=a,b;$filter=...;$orderby=...;$top=n),
// comma-separated. Commas and semicolons inside parentheses or string
// literals belong to the nested options.
func parseExpand(s string) ([]ExpandItem, *Error) {
	items, err := splitTopLevel(s, 0, len(s), ',')
	if err != nil {
		return nil, err
	}
	out := make([]ExpandItem, 0, len(items))
	for _, it := range items {
		e, err := parseExpandItem(s, it)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// span is a piece of a larger option value: text and its byte offset there.
type span struct {
	text string
	off  int
}

func parseExpandItem(src string, it span) (ExpandItem, *Error) {
	lead := firstNonSpace(it.text)
	text, off := strings.TrimRight(it.text[lead:], " "), it.off+lead
	nav, rest, hasOpts := strings.Cut(text, "(")
	if !isIdent(nav) {
		return ExpandItem{}, syntaxError(src, off)
	}
	item := ExpandItem{Nav: nav}
	if !hasOpts {
		return item, nil
	}
	// splitTopLevel balanced the parentheses, so rest ends with the ')'
	// closing this one unless something follows it.
	closeAt := off + len(text) - 1
	if !strings.HasSuffix(rest, ")") || matchingParen(src, off+len(nav)) != closeAt {
		return ExpandItem{}, syntaxError(src, matchingParen(src, off+len(nav))+1)
	}
	opts, err := splitTopLevel(src, off+len(nav)+1, closeAt, ';')
	if err != nil {
		return ExpandItem{}, err
	}
	seen := map[string]bool{}
	for _, o := range opts {
		name, value, ok := strings.Cut(strings.TrimSpace(o.text), "=")
		if !ok || !strings.HasPrefix(name, "$") {
			return ExpandItem{}, syntaxError(src, o.off+firstNonSpace(o.text))
		}
		lname := strings.ToLower(name)
		if seen[lname] {
			return ExpandItem{}, errRepeatedOption(name)
		}
		seen[lname] = true
		handled, err := item.setOption(lname, value)
		switch {
		case handled:
		case lname == "$expand":
			err = queryErrorf("Nested $expand (in '%s') is not supported by the sandbox.", nav)
		default:
			err = errUnsupportedOption(name)
		}
		if err != nil {
			return ExpandItem{}, err
		}
	}
	return item, nil
}

// splitTopLevel splits src[from:to] at sep where it stands outside
// parentheses and string literals: a filter inside $expand may have ',' ';'
// or ')' in its quotes, so this is a small tokenizer, not strings.Split.
func splitTopLevel(src string, from, to int, sep byte) ([]span, *Error) {
	var out []span
	depth, start := 0, from
	for i := from; i < to; i++ {
		switch c := src[i]; {
		case c == '\'':
			_, end, ok := lexString(src[:to], i)
			if !ok {
				return nil, errorAt(src, i, "There is an unterminated string literal")
			}
			i = end - 1
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return nil, syntaxError(src, i)
			}
			depth--
		case c == sep && depth == 0:
			out = append(out, span{src[start:i], start})
			start = i + 1
		}
	}
	if depth != 0 {
		return nil, errorAt(src, to, "')' expected")
	}
	return append(out, span{src[start:to], start}), nil
}

// matchingParen returns the offset of the ')' closing the '(' at src[open]
// (string literals skipped), or len(src).
func matchingParen(src string, open int) int {
	depth := 0
	for i := open; i < len(src); i++ {
		switch src[i] {
		case '\'':
			_, end, ok := lexString(src, i)
			if !ok {
				return len(src)
			}
			i = end - 1
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return len(src)
}

func firstNonSpace(s string) int {
	return len(s) - len(strings.TrimLeft(s, " "))
}
