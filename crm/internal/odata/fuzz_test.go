package odata

import (
	"net/url"
	"reflect"
	"testing"
)

// FuzzParseFilter: never panic; what parses has a canonical text that parses
// back to the same tree; evaluation never panics.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"name eq 'O''Brien' and (statecode eq 0 or not contains(name,'x%'))",
		"_ownerid_value eq 0B8D1B5A-1234-4321-ABCD-0123456789AB",
		"createdon ge 2026-11-24T15:04:05.123+02:00 and estimatedclosedate le 2026-11-24",
		"a eq -1.5e3 or b lt 2.5m or c gt 9000000000L",
		"not not (a eq null)", "startswith(name,'[a-c]%')", "tolower(name) eq 'a'",
		"(a eq 1", "name eq 'x", "a eq 2026-02-30", "", "a/b eq true",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		again, err := ParseFilter(e.String())
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", e.String(), s, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("canonical %q of %q parses to a different tree", e.String(), s)
		}
		_ = Fields(e)
		_, _ = e.Eval(sample)
		_, _ = e.Eval(MapRecord{})
	})
}

// FuzzParseQuery: any query string a client may send is parsed or rejected
// with an *Error, never a panic.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"$select=name,accountnumber&$filter=statecode%20eq%200&$orderby=name%20desc&$top=5&$count=true",
		"$expand=primarycontactid($select=fullname%3B$filter=contains(fullname,'a%3B)')%3B$top=1),b",
		"$skip=10", "$top=0", "$expand=a(", "$expand=a($expand=b)", "$orderby=name%20up",
		"$skiptoken=%3Ccookie%2F%3E&$deltatoken=1%2108", "$select=", "$filter=a%20eq%20'x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(vals)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		if q.Filter != nil {
			_, _ = q.Filter.Eval(sample)
		}
		for _, e := range q.Expand {
			if e.Nav == "" {
				t.Fatalf("expand item without a navigation property in %q", raw)
			}
		}
	})
}

// FuzzStringLiteral: any string survives the builder, URL encoding and the
// parser unchanged, and Contains finds exactly that text.
func FuzzStringLiteral(f *testing.F) {
	for _, s := range []string{"", "O'Brien", "''", "50%", "a_b", "[x]", "a;b&c=d+e#f", "Zoë", "\x00", "\xff", " trailing "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		filter := Eq("f", s).String()
		vals, err := url.ParseQuery(QueryString(Options{Filter: filter}))
		if err != nil {
			t.Fatalf("url.ParseQuery: %v", err)
		}
		if got := vals.Get("$filter"); got != filter {
			t.Fatalf("URL round trip: %q, want %q", got, filter)
		}
		q, err := ParseQuery(vals)
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", filter, err)
		}
		c, ok := q.Filter.(*Comparison)
		if !ok || c.Field != "f" || c.Op != OpEq || c.Value.Kind != KindString {
			t.Fatalf("parsed %q as %#v", filter, q.Filter)
		}
		if got := c.Value.Value(); got != s {
			t.Fatalf("literal = %q, want %q", got, s)
		}
		if ok, err := q.Filter.Eval(MapRecord{"f": s}); !ok || err != nil {
			t.Fatalf("%s does not match its own value: %v, %v", filter, ok, err)
		}

		for _, tc := range []struct {
			f     Filter
			value string
		}{
			{Contains("f", s), "x" + s + "y"},
			{StartsWith("f", s), s + "y"},
			{EndsWith("f", s), "x" + s},
		} {
			e, err := ParseFilter(tc.f.String())
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tc.f, err)
			}
			if ok, err := e.Eval(MapRecord{"f": tc.value}); !ok || err != nil {
				t.Fatalf("%s does not match %q: %v, %v", tc.f, tc.value, ok, err)
			}
			// The escaped wildcards are literal: non-empty text needs at
			// least one character to match.
			if ok, _ := e.Eval(MapRecord{"f": ""}); ok && s != "" {
				t.Fatalf("%s matches the empty string", tc.f)
			}
		}
	})
}
