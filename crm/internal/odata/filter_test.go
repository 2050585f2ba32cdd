package odata

import (
	"strings"
	"testing"
)

const ownerID = "0b8d1b5a-1234-4321-abcd-0123456789ab"

func TestFilterBuilder(t *testing.T) {
	a, b, c := Eq("a", 1), Eq("b", 2), Eq("c", 3)
	for _, tc := range []struct {
		name string
		f    Filter
		want string
	}{
		{"EqString", Eq("name", "O'Brien"), "name eq 'O''Brien'"},
		{"EqGUID", Eq("_ownerid_value", GUID(strings.ToUpper(ownerID))), "_ownerid_value eq " + ownerID},
		{"NeNull", Ne("telephone1", nil), "telephone1 ne null"},
		{"Gt", Gt("estimatedvalue", 1000.5), "estimatedvalue gt 1000.5"},
		{"Ge", Ge("createdon", DateOnly(mustDate(t, "2026-11-24"))), "createdon ge 2026-11-24"},
		{"Lt", Lt("prioritycode", 2), "prioritycode lt 2"},
		{"Le", Le("closeprobability", int64(50)), "closeprobability le 50"},
		{"NavigationPath", Eq("primarycontactid/fullname", "Ann"), "primarycontactid/fullname eq 'Ann'"},
		{"Contains", Contains("name", "Contoso"), "contains(name,'Contoso')"},
		{"ContainsEscapesWildcards", Contains("name", "50%_[x]"), "contains(name,'50[%][_][[]x]')"},
		{"StartsWithQuote", StartsWith("fullname", "O'B"), "startswith(fullname,'O''B')"},
		{"EndsWith", EndsWith("emailaddress1", "@contoso.com"), "endswith(emailaddress1,'@contoso.com')"},
		{"And", And(a, b), "a eq 1 and b eq 2"},
		{"AndFlattens", And(And(a, b), c), "a eq 1 and b eq 2 and c eq 3"},
		{"AndOfOr", And(a, Or(b, c)), "a eq 1 and (b eq 2 or c eq 3)"},
		{"OrOfAnd", Or(And(a, b), c), "(a eq 1 and b eq 2) or c eq 3"},
		{"OrFlattens", Or(a, Or(b, c)), "a eq 1 or b eq 2 or c eq 3"},
		{"AndEmpty", And(), ""},
		{"OrEmpty", Or(), ""},
		{"AndSkipsEmpty", And(Filter{}, a, And()), "a eq 1"},
		{"OrSingle", Or(a), "a eq 1"},
		{"NotCall", Not(Contains("name", "x")), "not contains(name,'x')"},
		{"NotComparison", Not(a), "not (a eq 1)"},
		{"NotAnd", Not(And(a, b)), "not (a eq 1 and b eq 2)"},
		{"NotNot", Not(Not(a)), "not (not (a eq 1))"},
		{"NotInAnd", And(Not(a), b), "not (a eq 1) and b eq 2"},
		{"RawAlone", Raw(" statecode eq 0 "), "statecode eq 0"},
		{"RawParenthesized", And(Raw("x eq 1 or y eq 2"), a), "(x eq 1 or y eq 2) and a eq 1"},
		{"RawEmpty", And(Raw("  "), a), "a eq 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Err(); err != nil {
				t.Fatalf("Err() = %v", err)
			}
			if got := tc.f.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFilterBuilderErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		f       Filter
		wantErr string
	}{
		{"FieldWithSpace", Eq("name eq 'x' or name", "y"), `"name eq 'x' or name" is not a property name`},
		{"EmptyField", Contains("", "x"), `"" is not a property name`},
		{"FieldStartsWithDigit", Eq("1a", 1), "is not a property name"},
		{"BadGUID", Eq("_ownerid_value", GUID("me")), `_ownerid_value eq: odata: "me" is not a GUID`},
		{"UnsupportedType", Gt("x", struct{}{}), "no literal form"},
		{"PropagatesThroughAnd", And(Eq("a", 1), Or(Eq("b", GUID("bad")))), "is not a GUID"},
		{"PropagatesThroughNot", Not(Eq("a", GUID("bad"))), "is not a GUID"},
		{"NotEmpty", Not(Filter{}), "not of an empty filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Err()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Err() = %v, want it to contain %q", err, tc.wantErr)
			}
			// A failed filter must never widen a query: its text is rejected.
			if got := tc.f.String(); got != invalidFilterText {
				t.Errorf("String() = %q, want %q", got, invalidFilterText)
			}
			if _, perr := ParseFilter(tc.f.String()); perr == nil {
				t.Errorf("the text of a failed filter parsed")
			}
		})
	}
}

func TestFilterIsEmpty(t *testing.T) {
	if !(Filter{}).IsEmpty() || !And().IsEmpty() || Eq("a", 1).IsEmpty() || Not(Filter{}).IsEmpty() {
		t.Error("IsEmpty is wrong")
	}
}
