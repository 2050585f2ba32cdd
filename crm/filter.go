package crm

import (
	"github.com/crmbot/crmbot/crm/internal/odata"
)

// Filter building for callers outside crm (crm/internal/odata is not
// importable there): thin forwards to the odata builder, the one sanctioned
// way to put a value into a $filter. Check Err on the finished filter, then
// put its String() in Query.Filter.

// Filter is a $filter expression under construction (see odata.Filter):
// builders compose, and carry the first problem in Err.
type Filter = odata.Filter

// GUID marks a value as a uniqueidentifier: a GUID, not a plain string, is
// written as a bare GUID literal.
type GUID = odata.GUID

// Literal formats v as an OData literal (strings quoted with ' doubled, GUID
// bare, times in UTC, …); unsupported types are an error.
func Literal(v any) (string, error) { return odata.Literal(v) }

// Eq is "field eq value".
func Eq(field string, v any) Filter { return odata.Eq(field, v) }

// Ne is "field ne value" (Dataverse's ne also matches null).
func Ne(field string, v any) Filter { return odata.Ne(field, v) }

// Contains is "contains(field,'text')", text matched literally (LIKE
// wildcards escaped), case- and accent-insensitively in Dataverse.
func Contains(field, text string) Filter { return odata.Contains(field, text) }

// StartsWith is "startswith(field,'text')", text matched literally.
func StartsWith(field, text string) Filter { return odata.StartsWith(field, text) }

// And joins the non-empty filters with "and".
func And(fs ...Filter) Filter { return odata.And(fs...) }

// Or joins the non-empty filters with "or".
func Or(fs ...Filter) Filter { return odata.Or(fs...) }

// Not negates a filter.
func Not(f Filter) Filter { return odata.Not(f) }

// Raw wraps trusted filter text (a constant, or the catalogue's) — never user input.
func Raw(s string) Filter { return odata.Raw(s) }

// OwnedBy is "_ownerid_value eq <userID>".
func OwnedBy(userID string) Filter { return odata.Eq("_ownerid_value", odata.GUID(userID)) }

// raw is Raw for optional catalogue text: empty text gives an empty filter.
func raw(s string) Filter {
	if s == "" {
		return Filter{}
	}
	return odata.Raw(s)
}

// filterText returns f's text, or the reason it could not be built.
func filterText(f Filter) (string, error) {
	if err := f.Err(); err != nil {
		return "", err
	}
	return f.String(), nil
}
