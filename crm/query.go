package crm

import (
	"github.com/crmbot/crmbot/crm/internal/odata"
)

// Query is the OData system query of a read. Filter is OData text: build it
// with the Filter helpers (Eq, Contains, And, …) so every literal is escaped —
// never by pasting user input into a string.
type Query struct {
	Select  []string
	Filter  string
	OrderBy []string
	// Top caps the rows returned. Dataverse ignores it when a page size
	// (odata.maxpagesize) is sent, so List sends none when Top is set and
	// returns a single page.
	Top    int
	Expand []Expand
	Count  bool
}

// Expand is one $expand item: a navigation property with its own options.
type Expand = odata.Expand

// Encode returns the query string (without '?'), options in a fixed order,
// percent-encoded by the odata package.
func (q Query) Encode() string {
	return odata.QueryString(odata.Options{
		Select: q.Select, Filter: q.Filter, OrderBy: q.OrderBy, Top: q.Top, Expand: q.Expand, Count: q.Count,
	})
}
