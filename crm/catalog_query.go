package crm

import (
	"context"
	"fmt"
	"sort"
)

// Catalogue-driven reads: the bot names a RecordType, the catalogue supplies
// the columns, filters and orderings, so no caller switches on record types.

// MyFilter is the $filter of rt's "my" list for userID, narrowed by search
// text (contains over rt.Search, OR-ed; quotes escaped).
func MyFilter(rt *RecordType, userID, search string) Filter {
	var my string
	if rt.My != nil {
		my = rt.My.Filter
	}
	return And(OwnedBy(userID), raw(my), SearchFilter(rt, search))
}

// SearchFilter is "contains(f,'text') or …" over rt.Search (or the primary
// name when Search is empty); empty text gives an empty filter.
func SearchFilter(rt *RecordType, text string) Filter {
	if text == "" {
		return Filter{}
	}
	fields := rt.Search
	if len(fields) == 0 {
		fields = []string{rt.PrimaryName}
	}
	conds := make([]Filter, len(fields))
	for i, f := range fields {
		conds[i] = Contains(f, text)
	}
	return Or(conds...)
}

// ListMy reads the first page of userID's records of type rt as the
// catalogue defines the list: owner = userID and rt.My.Filter (open ones),
// narrowed by search text, ordered by rt.My.OrderBy, with rt.List's columns.
//
// Web API: GET {set}?$select=…&$filter=_ownerid_value eq {userID} and (…)&$orderby=…
// with Prefer: odata.maxpagesize, odata.include-annotations.
func (c *Client) ListMy(ctx context.Context, rt *RecordType, userID, search string, pageSize int) (*Page, error) {
	if !IsGUID(userID) {
		return nil, fmt.Errorf("list my %s: %q is not a user id", rt.Name, userID)
	}
	filter, err := filterText(MyFilter(rt, userID, search))
	if err != nil {
		return nil, fmt.Errorf("list my %s: %w", rt.Name, err)
	}
	q := Query{Select: rt.Select(rt.List...), Filter: filter}
	if rt.My != nil {
		q.OrderBy = rt.My.OrderBy
	}
	p, err := c.List(ctx, rt.EntitySet, q, pageSize)
	if err != nil {
		return nil, fmt.Errorf("list my %s: %w", rt.Plural.In("en"), err)
	}
	return p, nil
}

// GetRecord reads one record of type rt with the named catalogue fields
// (none: every field of the type), plus id, primary name, owner and state.
//
// Web API: GET {set}({id})?$select=… with Prefer: odata.include-annotations.
func (c *Client) GetRecord(ctx context.Context, rt *RecordType, id string, fields ...string) (*Record, error) {
	if len(fields) == 0 {
		for n := range rt.Fields {
			fields = append(fields, n)
		}
		sort.Strings(fields)
	}
	rec, err := c.Get(ctx, rt.EntitySet, id, Query{Select: rt.Select(fields...)})
	if err != nil {
		return nil, err
	}
	if v, ok := rec.Values[rt.ID].(string); ok {
		rec.ID = v
	}
	return rec, nil
}

// ListRelated reads the first rel.Top records of rel.Type whose lookup
// rel.Lookup points at the record id of type rt (an account's contacts),
// with the related type's list columns and order. NextLink says there are more.
//
// Web API: GET {related set}?$filter=_{lookup}_value eq {id} and {rel.Filter}&$select=…&$orderby=…
// with Prefer: odata.maxpagesize={rel.Top}.
func (c *Client) ListRelated(ctx context.Context, rt *RecordType, rel Related, id string) (*Page, error) {
	target, ok := c.catalog.Type(rel.Type)
	if !ok {
		return nil, fmt.Errorf("list related %s of %s: unknown record type %q", rel.Name, rt.Name, rel.Type)
	}
	lf, ok := target.Field(rel.Lookup)
	if !ok || lf.Type != TypeLookup {
		return nil, fmt.Errorf("list related %s of %s: %s has no lookup %q", rel.Name, rt.Name, rel.Type, rel.Lookup)
	}
	if _, ok := lf.Targets[rt.Name]; !ok {
		return nil, fmt.Errorf("list related %s: %s.%s cannot point at %s", rel.Name, rel.Type, rel.Lookup, rt.Name)
	}
	if !IsGUID(id) {
		return nil, fmt.Errorf("list related %s of %s: %q is not a record id", rel.Name, rt.Name, id)
	}
	filter, err := filterText(And(Eq(lf.ReadAttribute(), GUID(id)), raw(rel.Filter)))
	if err != nil {
		return nil, fmt.Errorf("list related %s of %s: %w", rel.Name, rt.Name, err)
	}
	q := Query{Select: target.Select(target.List...), Filter: filter}
	if target.My != nil {
		q.OrderBy = target.My.OrderBy
	}
	p, err := c.List(ctx, target.EntitySet, q, rel.Top)
	if err != nil {
		return nil, fmt.Errorf("list related %s of %s %s: %w", rel.Name, rt.Name, id, err)
	}
	return p, nil
}

// SearchRecords is the type-ahead behind lookup fields: up to top active
// records of rt whose search columns (primary name first) contain text,
// ordered by primary name. Empty text lists the first ones.
//
// Web API: GET {set}?$select={id},{primary name}&$filter=(contains(…) or …) and (statecode eq <an open state> or …)
// &$orderby={primary name} with Prefer: odata.maxpagesize={top}.
func (c *Client) SearchRecords(ctx context.Context, rt *RecordType, text string, top int) ([]Ref, error) {
	if top <= 0 {
		top = 25
	}
	var active Filter
	if len(rt.States) > 0 {
		// Every open state: a new appointment is Scheduled (3), not Open (0).
		var open []Filter
		for _, st := range rt.States {
			if st.Open {
				open = append(open, Eq("statecode", st.Value))
			}
		}
		active = Or(open...)
	} else if f, ok := rt.Field("isdisabled"); ok && f.Type == TypeBool {
		active = Eq("isdisabled", false)
	}
	filter, err := filterText(And(SearchFilter(rt, text), active))
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", rt.Name, err)
	}
	q := Query{
		Select:  []string{rt.ID, rt.PrimaryName},
		Filter:  filter,
		OrderBy: []string{rt.PrimaryName + " asc"},
	}
	p, err := c.List(ctx, rt.EntitySet, q, top)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", rt.Plural.In("en"), err)
	}
	out := make([]Ref, 0, len(p.Records))
	for _, r := range p.Records {
		if r.ID == "" {
			r.ID, _ = r.Values[rt.ID].(string)
		}
		out = append(out, r.Ref(rt))
	}
	return out, nil
}

// CountMy counts userID's records of type rt as ListMy selects them
// (Dataverse caps the count at 5000).
//
// Web API: GET {set}?$filter=…&$count=true with Prefer: odata.maxpagesize=1.
func (c *Client) CountMy(ctx context.Context, rt *RecordType, userID, search string) (int, error) {
	if !IsGUID(userID) {
		return 0, fmt.Errorf("count my %s: %q is not a user id", rt.Name, userID)
	}
	filter, err := filterText(MyFilter(rt, userID, search))
	if err != nil {
		return 0, fmt.Errorf("count my %s: %w", rt.Name, err)
	}
	return c.Count(ctx, rt.EntitySet, filter)
}

// PageAt reads the page of records of type rt an @odata.nextLink names,
// one kept from an earlier page (Page.NextLink) so a later request can go
// on where a list stopped.
//
// Web API: GET {@odata.nextLink} with Prefer: odata.maxpagesize, odata.include-annotations.
func (c *Client) PageAt(ctx context.Context, rt *RecordType, nextLink string, pageSize int) (*Page, error) {
	if nextLink == "" {
		return nil, fmt.Errorf("page of %s: no link", rt.Name)
	}
	return c.NextPage(ctx, &Page{NextLink: nextLink, idAttr: rt.ID, pageSize: pageSize})
}
