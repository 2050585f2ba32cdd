package odata

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestQueryString(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"Empty", Options{}, ""},
		{
			"AllOptions",
			Options{
				Select:  []string{"name", "accountnumber"},
				Filter:  And(Eq("statecode", 0), Contains("name", "O'Brien & Sons")).String(),
				OrderBy: []string{"name asc", "createdon desc"},
				Top:     10,
				Expand:  []Expand{{Nav: "primarycontactid", Select: []string{"fullname", "emailaddress1"}, Filter: "statecode eq 0", Top: 1}},
				Count:   true,
			},
			"$select=name,accountnumber" +
				"&$filter=statecode%20eq%200%20and%20contains(name,'O''Brien%20%26%20Sons')" +
				"&$orderby=name%20asc,createdon%20desc" +
				"&$top=10" +
				"&$expand=primarycontactid($select=fullname,emailaddress1%3B$filter=statecode%20eq%200%3B$top=1)" +
				"&$count=true",
		},
		{"ExpandBare", Options{Expand: []Expand{{Nav: "a"}, {Nav: "b", OrderBy: []string{"x desc"}}}}, "$expand=a,b($orderby=x%20desc)"},
		{"PlusAndHashEncoded", Options{Filter: "createdon ge 2026-11-24T15:04:05+02:00 and name eq '#1'"},
			"$filter=createdon%20ge%202026-11-24T15:04:05%2B02:00%20and%20name%20eq%20'%231'"},
		{"NonASCII", Options{Filter: "name eq 'Zoë'"}, "$filter=name%20eq%20'Zo%C3%AB'"},
		{"ZeroTopOmitted", Options{Select: []string{"name"}, Top: 0}, "$select=name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := QueryString(tc.o); got != tc.want {
				t.Errorf("QueryString =\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
}

// TestQueryStringRoundTrip checks that a standard URL parser and our own
// parser read back exactly what was built, for awkward filter text.
func TestQueryStringRoundTrip(t *testing.T) {
	texts := []string{
		"a;b", "x & y", "50% + 1", "#tag", "tab\there", "Zoë", "semi;colon)(,", "it's", "a=b", "100%25", "\x7f", "ÿ",
	}
	for _, s := range texts {
		t.Run(s, func(t *testing.T) {
			o := Options{
				Select:  []string{"name"},
				Filter:  Or(Eq("name", s), Contains("description", s)).String(),
				OrderBy: []string{"name desc"},
				Top:     5,
				Expand:  []Expand{{Nav: "primarycontactid", Select: []string{"fullname"}, Filter: Eq("fullname", s).String(), OrderBy: []string{"fullname"}, Top: 2}},
				Count:   true,
			}
			raw := QueryString(o)
			if strings.Contains(raw, "+") || strings.Contains(raw, " ") || strings.Contains(raw, ";") {
				t.Fatalf("unencoded character in %s", raw)
			}
			vals, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatalf("url.ParseQuery: %v", err)
			}
			if got := vals.Get("$filter"); got != o.Filter {
				t.Errorf("$filter decoded as %q, want %q", got, o.Filter)
			}
			q, err := ParseQuery(vals)
			if err != nil {
				t.Fatalf("ParseQuery: %v", err)
			}
			if q.Filter.String() != mustParse(t, o.Filter).String() || q.Top != 5 || !q.Count ||
				!reflect.DeepEqual(q.Select, o.Select) || !reflect.DeepEqual(q.OrderBy, []OrderItem{{"name", true}}) {
				t.Errorf("ParseQuery = %+v", q)
			}
			if len(q.Expand) != 1 {
				t.Fatalf("Expand = %+v", q.Expand)
			}
			e := q.Expand[0]
			lit := e.Filter.(*Comparison).Value.Value()
			if e.Nav != "primarycontactid" || lit != s || e.Top != 2 || !reflect.DeepEqual(e.Select, []string{"fullname"}) ||
				!reflect.DeepEqual(e.OrderBy, []OrderItem{{"fullname", false}}) {
				t.Errorf("Expand = %+v (literal %q)", e, lit)
			}
		})
	}
}
