package odata

import (
	"strconv"
	"strings"
)

// Options are the system query options of a Dataverse read.
type Options struct {
	Select  []string
	Filter  string // OData text, normally Filter.String()
	OrderBy []string
	Top     int // 0 = none
	Expand  []Expand
	Count   bool
}

// Expand is one $expand item: a navigation property with its nested options.
type Expand struct {
	Nav     string
	Select  []string
	Filter  string
	OrderBy []string
	Top     int
}

// QueryString returns the options as a URL query (without '?'), in a fixed
// order: $select, $filter, $orderby, $top, $expand, $count. Values are
// percent-encoded so that Dataverse and Go's url.ParseQuery both decode the
// exact text back: spaces as %20 (a '+' is not a space to every OData
// server), and ';' '&' '+' '#' '%' always encoded (Go rejects a raw ';').
// OData punctuation ($ , ( ) ' = : / @) stays readable.
func QueryString(o Options) string {
	var b strings.Builder
	add := func(key, value string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(escapeQueryValue(value))
	}
	if len(o.Select) > 0 {
		add("$select", strings.Join(o.Select, ","))
	}
	if o.Filter != "" {
		add("$filter", o.Filter)
	}
	if len(o.OrderBy) > 0 {
		add("$orderby", strings.Join(o.OrderBy, ","))
	}
	if o.Top > 0 {
		add("$top", strconv.Itoa(o.Top))
	}
	if len(o.Expand) > 0 {
		items := make([]string, len(o.Expand))
		for i, e := range o.Expand {
			items[i] = e.text()
		}
		add("$expand", strings.Join(items, ","))
	}
	if o.Count {
		add("$count", "true")
	}
	return b.String()
}

// text renders nav($select=a,b;$filter=...;$orderby=...;$top=n), or the bare
// navigation property when it has no options.
func (e Expand) text() string {
	var opts []string
	if len(e.Select) > 0 {
		opts = append(opts, "$select="+strings.Join(e.Select, ","))
	}
	if e.Filter != "" {
		opts = append(opts, "$filter="+e.Filter)
	}
	if len(e.OrderBy) > 0 {
		opts = append(opts, "$orderby="+strings.Join(e.OrderBy, ","))
	}
	if e.Top > 0 {
		opts = append(opts, "$top="+strconv.Itoa(e.Top))
	}
	if len(opts) == 0 {
		return e.Nav
	}
	return e.Nav + "(" + strings.Join(opts, ";") + ")"
}

// escapeQueryValue percent-encodes every byte except RFC 3986 unreserved
// characters and the OData punctuation safe in a query value.
func escapeQueryValue(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !keepInQuery(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keepInQuery(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func keepInQuery(c byte) bool {
	if isIdentByte(c) {
		return true
	}
	switch c {
	case '-', '.', '~', '$', ',', '(', ')', '\'', '=', ':', '/', '@', '*', '!':
		return true
	}
	return false
}
