package odata

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string // want: canonical String()
	}{
		{"Eq", "name eq 'Contoso'", "name eq 'Contoso'"},
		{"AllOperators", "a eq 1 and b ne 2 and c gt 3 and d ge 4 and e lt 5 and f le 6", "a eq 1 and b ne 2 and c gt 3 and d ge 4 and e lt 5 and f le 6"},
		{"ExtraSpaces", "  name   eq\t'x'  ", "name eq 'x'"},
		{"EscapedQuote", "name eq 'O''Brien'", "name eq 'O''Brien'"},
		{"LookupValue", "_ownerid_value eq 0B8D1B5A-1234-4321-ABCD-0123456789AB", "_ownerid_value eq " + ownerID},
		{"GUIDStartingWithDigits", "accountid eq 12345678-1234-1234-1234-123456789012", "accountid eq 12345678-1234-1234-1234-123456789012"},
		{"Null", "telephone1 eq null", "telephone1 eq null"},
		{"Booleans", "donotemail eq true or donotfax eq false", "donotemail eq true or donotfax eq false"},
		{"Decimal", "estimatedvalue gt 1000.50", "estimatedvalue gt 1000.50"},
		{"Negative", "a gt -3", "a gt -3"},
		{"Suffix", "a lt 2.5m", "a lt 2.5m"},
		{"Exponent", "a lt 1.5E+3", "a lt 1.5E+3"},
		{"Date", "estimatedclosedate le 2026-11-24", "estimatedclosedate le 2026-11-24"},
		{"DateTimeZ", "createdon ge 2026-11-24T15:04:05Z", "createdon ge 2026-11-24T15:04:05Z"},
		{"DateTimeOffsetFraction", "createdon lt 2026-11-24T15:04:05.1234567-05:30", "createdon lt 2026-11-24T15:04:05.1234567-05:30"},
		{"DateTimeNoSeconds", "createdon lt 2026-11-24T15:04Z", "createdon lt 2026-11-24T15:04Z"},
		{"Functions", "contains(name,'a') and startswith(name, 'b') and endswith(name ,'c')", "contains(name,'a') and startswith(name,'b') and endswith(name,'c')"},
		{"NavigationPath", "primarycontactid/fullname eq 'Ann'", "primarycontactid/fullname eq 'Ann'"},
		{"AndBindsTighterThanOr", "a eq 1 or b eq 2 and c eq 3", "a eq 1 or (b eq 2 and c eq 3)"},
		{"ParenthesesOverride", "(a eq 1 or b eq 2) and c eq 3", "(a eq 1 or b eq 2) and c eq 3"},
		{"RedundantParentheses", "((a eq 1))", "a eq 1"},
		{"LeftAssociative", "a eq 1 or b eq 2 or c eq 3", "a eq 1 or b eq 2 or c eq 3"},
		{"RightNestedKept", "a eq 1 or (b eq 2 or c eq 3)", "a eq 1 or (b eq 2 or c eq 3)"},
		{"NotFunction", "not contains(name,'x') and a eq 1", "not contains(name,'x') and a eq 1"},
		{"NotParenthesized", "not (a eq 1 or b eq 2)", "not (a eq 1 or b eq 2)"},
		{"NotNot", "not not (a eq 1)", "not not (a eq 1)"},
		{"WildcardsKept", "contains(name,'50[%]')", "contains(name,'50[%]')"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustParse(t, tc.in)
			if got := e.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			// Canonical text is a fixed point.
			if again := mustParse(t, e.String()); !reflect.DeepEqual(again, e) {
				t.Errorf("re-parse of %q differs: %#v", e.String(), again)
			}
		})
	}
}

func TestParseFilterTree(t *testing.T) {
	e := mustParse(t, "not contains(name,'x') or a eq 1 and b eq 2")
	or, ok := e.(*Logical)
	if !ok || or.Op != OpOr {
		t.Fatalf("top = %#v, want or", e)
	}
	if n, ok := or.Left.(*Negation); !ok {
		t.Errorf("left = %#v, want not", or.Left)
	} else if c, ok := n.X.(*Call); !ok || c.Func != "contains" || c.Field != "name" || c.Arg.Value() != "x" {
		t.Errorf("not operand = %#v", n.X)
	}
	if and, ok := or.Right.(*Logical); !ok || and.Op != OpAnd {
		t.Errorf("right = %#v, want and", or.Right)
	}
}

func TestParseFilterLiterals(t *testing.T) {
	for _, tc := range []struct {
		name string
		lit  string
		kind Kind
		want any
	}{
		{"String", "'O''Brien'", KindString, "O'Brien"},
		{"EmptyString", "''", KindString, ""},
		{"StringWithOperators", "'a eq 1 or (b)'", KindString, "a eq 1 or (b)"},
		{"Int", "42", KindInt, int64(42)},
		{"NegativeInt", "-7", KindInt, int64(-7)},
		{"LongSuffix", "9000000000L", KindInt, int64(9000000000)},
		{"HugeIntegerIsDecimal", "99999999999999999999", KindDecimal, 1e20},
		{"Decimal", "1000.25", KindDecimal, 1000.25},
		{"DecimalSuffix", "2.5M", KindDecimal, 2.5},
		{"Exponent", "1e3", KindDecimal, 1000.0},
		{"True", "true", KindBool, true},
		{"Null", "null", KindNull, nil},
		{"GUID", "0B8D1B5A-1234-4321-ABCD-0123456789AB", KindGUID, GUID(ownerID)},
		{"Date", "2024-02-29", KindDate, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"DateTime", "2026-11-24T15:04:05Z", KindDateTime, time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC)},
		{"DateTimeOffset", "2026-11-24T01:00:00+02:00", KindDateTime, time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)},
		{"DateTimeFraction", "2026-11-24T15:04:05.5Z", KindDateTime, time.Date(2026, 11, 24, 15, 4, 5, 500_000_000, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, "f eq "+tc.lit).(*Comparison).Value
			if c.Kind != tc.kind {
				t.Errorf("Kind = %v, want %v", c.Kind, tc.kind)
			}
			if got := c.Value(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Value() = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"Empty", "", "Expression expected at position 0 in ''."},
		{"MissingValue", "name eq", "Expression expected at position 7 in 'name eq'."},
		{"MissingOperator", "name", "Comparison operator (eq, ne, gt, ge, lt, le) expected after 'name' at position 4 in 'name'."},
		{"UnknownOperator", "name like 'x'", "Syntax error at position 5 in 'name like 'x''."},
		{"UppercaseOperator", "name EQ 'x'", "Syntax error at position 5 in 'name EQ 'x''."},
		{"UnterminatedString", "name eq 'O''Brien", "There is an unterminated string literal at position 8 in 'name eq 'O''Brien'."},
		{"DanglingAnd", "a eq 1 and", "Expression expected at position 10 in 'a eq 1 and'."},
		{"LeadingAnd", "and a eq 1", "Expression expected at position 0 in 'and a eq 1'."},
		{"UnclosedParen", "(a eq 1", "')' or operator expected at position 7 in '(a eq 1'."},
		{"ExtraParen", "a eq 1)", "Syntax error at position 6 in 'a eq 1)'."},
		{"Trailing", "a eq 1 b", "Syntax error at position 7 in 'a eq 1 b'."},
		{"PositionCountsCharacters", "name eq 'ä' x", "Syntax error at position 12 in 'name eq 'ä' x'."},
		{"NonASCIIName", "näme eq 1", "Syntax error: character 'ä' is not valid at position 1 in 'näme eq 1'."},
		{"LexErrorAfterParseError", "a eq 1 b $", "Syntax error at position 7 in 'a eq 1 b $'."},
		{"NotBeforeComparison", "not name eq 'a'", "'not' must be followed by '(' or a function call at position 4 in 'not name eq 'a''."},
		{"LiteralOnLeft", "'a' eq name", "Property name expected on the left of a comparison at position 0 in ''a' eq name'."},
		{"KeywordLiteralOnLeft", "null eq name", "Property name expected on the left of a comparison at position 0 in 'null eq name'."},
		{"TwoProperties", "firstname eq lastname", "comparing two properties ('firstname' and 'lastname') is not supported by the sandbox at position 13 in 'firstname eq lastname'."},
		{"BadDate", "a eq 2026-02-30", "Unrecognized 'Edm.Date' literal '2026-02-30' at '5' in 'a eq 2026-02-30'."},
		{"DateTimeWithoutZone", "a eq 2026-11-24T15:04:05", "Unrecognized 'Edm.DateTimeOffset' literal '2026-11-24T15:04:05' at '5' in 'a eq 2026-11-24T15:04:05'."},
		{"NumberOutOfRange", "a eq 1e999", "Unrecognized 'Edm.Decimal' literal '1e999' at '5' in 'a eq 1e999'."},
		{"NumberGluedToName", "a eq 12abc", "Syntax error at position 7 in 'a eq 12abc'."},
		{"InvalidCharacter", "a eq 1 && b eq 2", "Syntax error: character '&' is not valid at position 7 in 'a eq 1 && b eq 2'."},
		{"ParameterAlias", "a eq @p1", "Parameter aliases (@name) are not supported by the sandbox at position 5 in 'a eq @p1'."},
		{"UnsupportedFunction", "tolower(name) eq 'a'", "function tolower is not supported by the sandbox at position 0 in 'tolower(name) eq 'a''."},
		{"CaseSensitiveFunction", "Contains(name,'a')", "function Contains is not supported by the sandbox at position 0 in 'Contains(name,'a')'."},
		{"DynamicsFunction", "Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')",
			"function Microsoft.Dynamics.CRM.EqualUserId is not supported by the sandbox at position 0 in 'Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')'."},
		{"Lambda", "contact_customer_accounts/any(c:c/name eq 'a')", "The lambda operator 'any' is not supported by the sandbox at position 0 in 'contact_customer_accounts/any(c:c/name eq 'a')'."},
		{"FunctionNumberArgument", "contains(name,1)", "No function signature for the function with name 'contains' matches the specified arguments. The function signatures considered are: contains(Edm.String Nullable=true, Edm.String Nullable=true)."},
		{"FunctionLiteralFirst", "startswith('a',name)", "No function signature for the function with name 'startswith' matches the specified arguments. The function signatures considered are: startswith(Edm.String Nullable=true, Edm.String Nullable=true)."},
		{"FunctionMissingComma", "endswith(name 'a')", "')' or ',' expected at position 14 in 'endswith(name 'a')'."},
		{"FunctionUnclosed", "contains(name,'a'", "')' or ',' expected at position 17 in 'contains(name,'a''."},
		{"BadPath", "a//b eq 1", "Syntax error at position 0 in 'a//b eq 1'."},
		{"InOperator", "name in ('a','b')", "Syntax error at position 5 in 'name in ('a','b')'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFilter(tc.in)
			assertQueryError(t, err, tc.want)
		})
	}
}

func TestFields(t *testing.T) {
	e := mustParse(t, "name eq 'a' and (contains(description,'x') or not (name ne null)) and _ownerid_value eq "+ownerID)
	want := []string{"name", "description", "_ownerid_value"}
	if got := Fields(e); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	if got := Fields(nil); got != nil {
		t.Errorf("Fields(nil) = %v", got)
	}
}

func TestWalkStops(t *testing.T) {
	e := mustParse(t, "a eq 1 and b eq 2")
	n := 0
	Walk(e, func(Expr) bool { n++; return false })
	if n != 1 {
		t.Errorf("visited %d nodes after returning false, want 1", n)
	}
}

func TestUnknownProperty(t *testing.T) {
	err := UnknownProperty("nmae", "account")
	if err.Code != CodeQuery || err.Error() != "Could not find a property named 'nmae' on type 'Microsoft.Dynamics.CRM.account'." {
		t.Errorf("got %s %q", err.Code, err.Message)
	}
}

func TestSchemaErrors(t *testing.T) {
	c := mustParse(t, "_ownerid_value ne 'x'").(*Comparison)
	assertQueryError(t, IncompatibleTypes("Edm.Guid", c),
		"A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'NotEqual'.")
	c = mustParse(t, "name ge 2147483648").(*Comparison)
	assertQueryError(t, IncompatibleTypes("Edm.String", c),
		"A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int64' for operator kind 'GreaterThanOrEqual'.")
	assertQueryError(t, NoFunctionSignature("endswith"),
		"No function signature for the function with name 'endswith' matches the specified arguments. The function signatures considered are: endswith(Edm.String Nullable=true, Edm.String Nullable=true).")
}

func TestParseFilterDepthLimit(t *testing.T) {
	nested := func(n int, open, close string) string {
		return strings.Repeat(open, n) + "a eq 1" + strings.Repeat(close, n)
	}
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"ParenthesesAtLimit", nested(maxDepth, "(", ")"), true},
		{"ParenthesesPastLimit", nested(maxDepth+1, "(", ")"), false},
		{"NotPastLimit", nested(maxDepth+1, "not (", ")"), false},
		{"MillionParentheses", nested(1_000_000, "(", ")"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFilter(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && err.Error() != "The recursion limit has been exceeded." {
				t.Errorf("err = %v", err)
			}
		})
	}
}
