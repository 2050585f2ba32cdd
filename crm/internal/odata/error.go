package odata

import (
	"fmt"
	"unicode/utf8"
)

// CodeQuery is the Dataverse error code for a query Dataverse cannot parse or
// bind: syntax errors, unknown properties, unsupported query options.
const CodeQuery = "0x80060888"

// Error is a query error as Dataverse reports it; the sandbox answers it as
// HTTP 400 {"error":{"code":Code,"message":Message}}.
type Error struct {
	Code    string
	Message string
}

// Error returns the message alone: it is written for the API's caller.
func (e *Error) Error() string { return e.Message }

func queryErrorf(format string, args ...any) *Error {
	return &Error{Code: CodeQuery, Message: fmt.Sprintf(format, args...)}
}

// UnknownProperty is the error Dataverse returns for a property name its
// schema does not have, entity being a logical name such as "account".
func UnknownProperty(name, entity string) *Error {
	return queryErrorf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, entity)
}

// IncompatibleTypes is the error Dataverse returns when c's literal cannot be
// compared with its property, edm being the property's type as ODL names it
// ("Edm.String", "Edm.Int32"). A caller that knows the schema (the sandbox)
// reports it before evaluating, as Dataverse does when binding the query;
// [Comparison.Eval] reports it for a record value of the wrong type.
func IncompatibleTypes(edm string, c *Comparison) *Error {
	return queryErrorf("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.",
		edm, c.Value.edmType(), c.Op.kindName())
}

// NoFunctionSignature is the error Dataverse returns when the string function
// fn (contains, startswith, endswith) is called on anything but a string
// property and a string literal.
func NoFunctionSignature(fn string) *Error {
	return queryErrorf("No function signature for the function with name '%s' matches the specified arguments. The function signatures considered are: %s(Edm.String Nullable=true, Edm.String Nullable=true).", fn, fn)
}

// errSkip is what Dataverse answers to $skip (it pages with $skiptoken only).
func errSkip() *Error { return queryErrorf("The query parameter $skip is not supported") }

func errUnsupportedOption(name string) *Error {
	return queryErrorf("The query parameter %s is not supported.", name)
}

func errRepeatedOption(name string) *Error {
	return queryErrorf("Query option '%s' was specified more than once, but it must be specified at most once.", name)
}

// charPos converts a byte offset in src to the character position OData
// reports (it counts characters, not bytes).
func charPos(src string, byteOff int) int {
	if byteOff > len(src) {
		byteOff = len(src)
	}
	return utf8.RuneCountInString(src[:byteOff])
}

// syntaxError is ODL's generic "Syntax error at position N in 'src'.".
func syntaxError(src string, off int) *Error {
	return queryErrorf("Syntax error at position %d in '%s'.", charPos(src, off), src)
}

// errorAt formats what (a sentence head such as "')' or operator expected")
// with ODL's " at position N in 'src'." tail.
func errorAt(src string, off int, what string) *Error {
	return queryErrorf("%s at position %d in '%s'.", what, charPos(src, off), src)
}
