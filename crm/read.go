package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"strings"
)

// WhoAmIResult is the calling principal as Dataverse sees it.
type WhoAmIResult struct {
	// UserID is the systemuserid (the application user's for app-only tokens).
	UserID         string `json:"UserId"`
	BusinessUnitID string `json:"BusinessUnitId"`
	OrganizationID string `json:"OrganizationId"`
}

// WhoAmI returns the caller's ids.
//
// Web API: GET WhoAmI (function WhoAmI → WhoAmIResponse).
func (c *Client) WhoAmI(ctx context.Context) (WhoAmIResult, error) {
	resp, err := c.do(ctx, &request{op: "WhoAmI", method: http.MethodGet, path: "WhoAmI", idempotent: true})
	if err != nil {
		return WhoAmIResult{}, fmt.Errorf("who am i: %w", err)
	}
	var out WhoAmIResult
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return WhoAmIResult{}, fmt.Errorf("who am i: decode response: %w", err)
	}
	if !IsGUID(out.UserID) {
		return WhoAmIResult{}, fmt.Errorf("who am i: response has no UserId")
	}
	return out, nil
}

// Page is one page of a collection.
type Page struct {
	Records []*Record
	// NextLink is @odata.nextLink: empty on the last page.
	NextLink string
	// Count is @odata.count when the query asked for it ($count=true), else -1.
	Count int
	// idAttr and pageSize are kept for the next pages.
	idAttr   string
	pageSize int
}

// Get reads one record with the columns and expansions of q (Filter, OrderBy
// and Top are ignored), including formatted values and lookup types.
//
// Web API: GET {entitySet}({id})?$select=…&$expand=… with
// Prefer: odata.include-annotations.
func (c *Client) Get(ctx context.Context, entitySet, id string, q Query) (*Record, error) {
	p, err := entityPath(entitySet, id)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", entitySet, err)
	}
	q.Filter, q.OrderBy, q.Top, q.Count = "", nil, 0, false
	resp, err := c.do(ctx, &request{
		op: "Get", method: http.MethodGet, path: p, query: q.Encode(),
		prefer: []string{preferAnnotations}, idempotent: true,
	})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", p, err)
	}
	var row map[string]any
	if err := decodeJSON(resp.body, &row); err != nil {
		return nil, fmt.Errorf("get %s: decode response: %w", p, err)
	}
	rec := newRecord(row, c.idAttribute(entitySet))
	if rec.ID == "" {
		rec.ID = id
	}
	return rec, nil
}

// List reads the first page of a collection, pageSize rows at most (≤ 0: the
// client's default; capped at 5000). Follow Page.NextLink with NextPage.
//
// Web API: GET {entitySet}?$select&$filter&$orderby&$expand&$top&$count with
// Prefer: odata.maxpagesize={pageSize}, odata.include-annotations.
func (c *Client) List(ctx context.Context, entitySet string, q Query, pageSize int) (*Page, error) {
	if err := checkSet(entitySet); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	if q.Top > 0 {
		// Dataverse ignores $top when odata.maxpagesize is sent: a capped read
		// is one page of at most Top rows, sent without a page size.
		pageSize = -1
	}
	return c.listPage(ctx, "List", entitySet, q.Encode(), c.idAttribute(entitySet), pageSize)
}

// listPage reads one page; pageSize < 0 sends no odata.maxpagesize ($top reads).
func (c *Client) listPage(ctx context.Context, op, path, query, idAttr string, pageSize int) (*Page, error) {
	prefer := []string{preferAnnotations}
	if pageSize >= 0 {
		prefer = append([]string{maxPageSizePref(c.pageSizeOr(pageSize))}, prefer...)
	}
	resp, err := c.do(ctx, &request{
		op: op, method: http.MethodGet, path: path, query: query, prefer: prefer, idempotent: true,
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", linkName(path), err)
	}
	page, err := decodePage(resp.body, idAttr)
	if err != nil {
		return nil, fmt.Errorf("list %s: decode response: %w", linkName(path), err)
	}
	page.idAttr, page.pageSize = idAttr, pageSize
	return page, nil
}

// NextPage reads the page after p by following its @odata.nextLink verbatim
// (an opaque $skiptoken; Dataverse has no $skip). It returns nil, nil after
// the last page. The first request's page size is sent again.
//
// Web API: GET {@odata.nextLink} with Prefer: odata.maxpagesize, odata.include-annotations.
func (c *Client) NextPage(ctx context.Context, p *Page) (*Page, error) {
	if p == nil || p.NextLink == "" {
		return nil, nil
	}
	return c.listPage(ctx, "NextPage", p.NextLink, "", p.idAttr, p.pageSize)
}

// All iterates every record of a query across pages, stopping at the first
// error (yielded once, with a nil record).
//
// Web API: GET {entitySet}?… then each @odata.nextLink.
func (c *Client) All(ctx context.Context, entitySet string, q Query, pageSize int) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		page, err := c.List(ctx, entitySet, q, pageSize)
		for {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, r := range page.Records {
				if !yield(r, nil) {
					return
				}
			}
			if page.NextLink == "" {
				return
			}
			page, err = c.listPage(ctx, "NextPage", page.NextLink, "", page.idAttr, pageSize)
		}
	}
}

// Count returns how many records of entitySet match filter (empty: all).
// Dataverse caps @odata.count at 5000. The count covers every match whatever
// the page size, so one row is read; $top is not combined with $count, as the
// Web API documentation asks.
//
// Web API: GET {entitySet}?$filter=…&$count=true&$select={key} with Prefer: odata.maxpagesize=1.
func (c *Client) Count(ctx context.Context, entitySet, filter string) (int, error) {
	if err := checkSet(entitySet); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	q := Query{Filter: filter, Count: true}
	if id := c.idAttribute(entitySet); id != "" {
		q.Select = []string{id}
	}
	resp, err := c.do(ctx, &request{op: "Count", method: http.MethodGet, path: entitySet, query: q.Encode(),
		prefer: []string{maxPageSizePref(1)}, idempotent: true})
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", entitySet, err)
	}
	var env struct {
		Count *int `json:"@odata.count"`
	}
	if err := json.Unmarshal(resp.body, &env); err != nil {
		return 0, fmt.Errorf("count %s: decode response: %w", entitySet, err)
	}
	if env.Count == nil {
		return 0, fmt.Errorf("count %s: response has no @odata.count", entitySet)
	}
	return *env.Count, nil
}

// linkName is a short name of a path or link for error messages (never the
// query, which can hold search text).
func linkName(pathOrLink string) string {
	if i := strings.IndexByte(pathOrLink, '?'); i >= 0 {
		pathOrLink = pathOrLink[:i]
	}
	if i := strings.LastIndex(pathOrLink, APIPath); i >= 0 {
		pathOrLink = pathOrLink[i+len(APIPath):]
	}
	return pathOrLink
}

// TeamMembers returns the systemuserids of a team's members (every page).
// The sync tells a team's members when a record is assigned to the team.
//
// Web API: GET teams({id})/teammembership_association?$select=systemuserid, then each @odata.nextLink.
func (c *Client) TeamMembers(ctx context.Context, teamID string) ([]string, error) {
	if !IsGUID(teamID) {
		return nil, fmt.Errorf("team members: %q is not a team id", teamID)
	}
	q := Query{Select: []string{"systemuserid"}}
	page, err := c.listPage(ctx, "TeamMembers", "teams("+strings.ToLower(teamID)+")/teammembership_association", q.Encode(), "systemuserid", 0)
	var ids []string
	for {
		if err != nil {
			return nil, fmt.Errorf("team members of %s: %w", teamID, err)
		}
		for _, r := range page.Records {
			if IsGUID(r.ID) {
				ids = append(ids, strings.ToLower(r.ID))
			}
		}
		if page.NextLink == "" {
			return ids, nil
		}
		page, err = c.listPage(ctx, "TeamMembers", page.NextLink, "", "systemuserid", 0)
	}
}
