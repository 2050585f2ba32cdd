package odata

import (
	"net/url"
	"reflect"
	"testing"
)

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(url.Values{
		"$select":     {" name , accountnumber"},
		"$filter":     {"statecode eq 0"},
		"$orderby":    {"name asc, createdon desc,revenue"},
		"$top":        {"10"},
		"$expand":     {"primarycontactid($select=fullname)"},
		"$count":      {"true"},
		"$skiptoken":  {"<cookie pagenumber=\"2\"/>"},
		"$deltatoken": {"919042!08/22/2017 08:10:44"},
		"api-version": {"9.2"}, // not a system query option
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Query{
		Select:     []string{"name", "accountnumber"},
		Filter:     mustParse(t, "statecode eq 0"),
		OrderBy:    []OrderItem{{"name", false}, {"createdon", true}, {"revenue", false}},
		Top:        10,
		Expand:     []ExpandItem{{Nav: "primarycontactid", Select: []string{"fullname"}}},
		Count:      true,
		SkipToken:  "<cookie pagenumber=\"2\"/>",
		DeltaToken: "919042!08/22/2017 08:10:44",
	}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("ParseQuery =\n%#v\nwant\n%#v", q, want)
	}
}

func TestParseQueryEmpty(t *testing.T) {
	q, err := ParseQuery(url.Values{"foo": {"bar"}})
	if err != nil || !reflect.DeepEqual(q, &Query{}) {
		t.Errorf("ParseQuery = %#v, %v", q, err)
	}
}

func TestParseQueryEmptyFilterAndOrderByAreAbsent(t *testing.T) {
	q, err := ParseQuery(url.Values{"$filter": {""}, "$OrderBy": {""}, "$top": {"2"}})
	if err != nil || !reflect.DeepEqual(q, &Query{Top: 2}) {
		t.Errorf("ParseQuery = %#v, %v", q, err)
	}
	// Only at the top level, as in ODL: inside $expand an empty option is an error.
	_, err = ParseQuery(url.Values{"$expand": {"a($filter=)"}})
	assertQueryError(t, err, "Expression expected at position 0 in ''.")
}

func TestParseQueryOptionNamesCaseInsensitive(t *testing.T) {
	q, err := ParseQuery(url.Values{"$Top": {"3"}, "$SELECT": {"name"}})
	if err != nil || q.Top != 3 || len(q.Select) != 1 {
		t.Errorf("ParseQuery = %#v, %v", q, err)
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    url.Values
		want string
	}{
		{"Skip", url.Values{"$skip": {"10"}}, "The query parameter $skip is not supported"},
		{"SkipInExpand", url.Values{"$expand": {"a($skip=1)"}}, "The query parameter $skip is not supported"},
		{"UnknownOption", url.Values{"$search": {"x"}}, "The query parameter $search is not supported."},
		{"Apply", url.Values{"$apply": {"groupby((name))"}}, "The query parameter $apply is not supported."},
		{"Repeated", url.Values{"$top": {"1", "2"}}, "Query option '$top' was specified more than once, but it must be specified at most once."},
		{"RepeatedInOtherCase", url.Values{"$filter": {"a eq 1"}, "$FILTER": {"b eq 2"}}, "Query option '$filter' was specified more than once, but it must be specified at most once."},
		{"FirstErrorByName", url.Values{"$top": {"x"}, "$filter": {"a eq"}}, "Expression expected at position 4 in 'a eq'."},
		{"TopZero", url.Values{"$top": {"0"}}, "Invalid value '0' for $top query option found. The $top query option requires a positive integer value."},
		{"TopNegative", url.Values{"$top": {"-1"}}, "Invalid value '-1' for $top query option found. The $top query option requires a positive integer value."},
		{"TopNotNumber", url.Values{"$top": {"ten"}}, "Invalid value 'ten' for $top query option found. The $top query option requires a positive integer value."},
		{"CountBad", url.Values{"$count": {"yes"}}, "'yes' is not a valid count option."},
		{"SelectEmptyItem", url.Values{"$select": {"name,,city"}}, "Syntax error at position 5 in 'name,,city'."},
		{"SelectEmpty", url.Values{"$select": {""}}, "Syntax error at position 0 in ''."},
		{"SelectBadName", url.Values{"$select": {"name, a b"}}, "Syntax error at position 6 in 'name, a b'."},
		{"OrderByBadDirection", url.Values{"$orderby": {"name up"}}, "Syntax error at position 5 in 'name up'."},
		{"OrderByTooManyWords", url.Values{"$orderby": {"name asc desc"}}, "Syntax error at position 9 in 'name asc desc'."},
		{"OrderByEmptyItem", url.Values{"$orderby": {"name,"}}, "Syntax error at position 5 in 'name,'."},
		{"OrderByUppercaseDirection", url.Values{"$orderby": {"name DESC"}}, "Syntax error at position 5 in 'name DESC'."},
		{"FilterError", url.Values{"$filter": {"name eq 'x"}}, "There is an unterminated string literal at position 8 in 'name eq 'x'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseQuery(tc.q)
			assertQueryError(t, err, tc.want)
		})
	}
}

func TestParseExpand(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []ExpandItem
	}{
		{"Bare", "primarycontactid", []ExpandItem{{Nav: "primarycontactid"}}},
		{"Several", "a, b ,c", []ExpandItem{{Nav: "a"}, {Nav: "b"}, {Nav: "c"}}},
		{"Select", "primarycontactid($select=fullname,emailaddress1)",
			[]ExpandItem{{Nav: "primarycontactid", Select: []string{"fullname", "emailaddress1"}}}},
		{"AllOptions", "contact_customer_accounts($select=fullname;$filter=statecode eq 0;$orderby=fullname desc;$top=5)",
			[]ExpandItem{{Nav: "contact_customer_accounts", Select: []string{"fullname"}, Filter: mustParse(t, "statecode eq 0"),
				OrderBy: []OrderItem{{"fullname", true}}, Top: 5}}},
		{"CommasAndSemicolonsInQuotes", "a($filter=name eq 'x,y;z)(' or contains(name,'(')),c",
			[]ExpandItem{{Nav: "a", Filter: mustParse(t, "name eq 'x,y;z)(' or contains(name,'(')")}, {Nav: "c"}}},
		{"NestedParensInFilter", "a($filter=(x eq 1 or y eq 2) and z eq 3;$select=x),b($select=y)",
			[]ExpandItem{{Nav: "a", Filter: mustParse(t, "(x eq 1 or y eq 2) and z eq 3"), Select: []string{"x"}}, {Nav: "b", Select: []string{"y"}}}},
		{"OptionNameCase", "a($Select=x)", []ExpandItem{{Nav: "a", Select: []string{"x"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseExpand(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseExpand(%q) =\n%#v\nwant\n%#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseExpandErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Empty", "", "Syntax error at position 0 in ''."},
		{"EmptyItem", "a,,b", "Syntax error at position 2 in 'a,,b'."},
		{"Unclosed", "a($select=x", "')' expected at position 11 in 'a($select=x'."},
		{"UnbalancedClose", "a)", "Syntax error at position 1 in 'a)'."},
		{"EmptyOptions", "a()", "Syntax error at position 2 in 'a()'."},
		{"TextAfterOptions", "a($select=x)y", "Syntax error at position 12 in 'a($select=x)y'."},
		{"TwoOptionGroups", "a($select=x)($top=1)", "Syntax error at position 12 in 'a($select=x)($top=1)'."},
		{"OptionWithoutDollar", "a(select=x)", "Syntax error at position 2 in 'a(select=x)'."},
		{"OptionWithoutValue", "a($select)", "Syntax error at position 2 in 'a($select)'."},
		{"RepeatedOption", "a($top=1;$top=2)", "Query option '$top' was specified more than once, but it must be specified at most once."},
		{"UnknownNested", "a($count=true)", "The query parameter $count is not supported."},
		{"NestedExpand", "a($expand=b)", "Nested $expand (in 'a') is not supported by the sandbox."},
		{"UnterminatedString", "a($filter=name eq 'x)", "There is an unterminated string literal at position 18 in 'a($filter=name eq 'x)'."},
		{"NestedFilterError", "a($filter=name eq)", "Expression expected at position 7 in 'name eq'."},
		{"BadNav", "a b", "Syntax error at position 0 in 'a b'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseExpand(tc.in)
			if err == nil {
				t.Fatal("no error")
			}
			assertQueryError(t, err, tc.want)
		})
	}
}

func TestParseQueryCountFalse(t *testing.T) {
	q, err := ParseQuery(url.Values{"$count": {"false"}})
	if err != nil || q.Count {
		t.Errorf("ParseQuery = %#v, %v", q, err)
	}
}
