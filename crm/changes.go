package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// DeltaPage is one page of a change-tracking read.
type DeltaPage struct {
	// Records are new or updated rows, with their current state only.
	Records []*Record
	// Deleted are the ids of rows deleted since the token.
	Deleted []string
	// NextLink is set while more pages of this read follow (NextDelta).
	NextLink string
	// DeltaLink is set on the last page: store it and pass it to ReadDelta next time.
	DeltaLink string

	idAttr   string
	pageSize int
}

const preferTrackChanges = "odata.track-changes"

// TrackChanges starts change tracking on entitySet with a baseline read of
// every row (selectCols only; Dataverse rejects $filter, $orderby, $expand and
// $top with track-changes). Follow NextLink with NextDelta; the last page
// carries the DeltaLink for ReadDelta.
//
// Web API: GET {entitySet}?$select=… with Prefer: odata.track-changes, odata.maxpagesize.
func (c *Client) TrackChanges(ctx context.Context, entitySet string, selectCols []string, pageSize int) (*DeltaPage, error) {
	if err := checkSet(entitySet); err != nil {
		return nil, fmt.Errorf("track changes: %w", err)
	}
	p, err := c.readDelta(ctx, "TrackChanges", entitySet, Query{Select: selectCols}.Encode(), c.idAttribute(entitySet), pageSize)
	if err != nil {
		return nil, fmt.Errorf("track changes of %s: %w", entitySet, err)
	}
	return p, nil
}

// NextDelta reads the page after p (nil, nil when p is the last).
//
// Web API: GET {@odata.nextLink} with Prefer: odata.track-changes, odata.maxpagesize.
func (c *Client) NextDelta(ctx context.Context, p *DeltaPage) (*DeltaPage, error) {
	if p == nil || p.NextLink == "" {
		return nil, nil
	}
	next, err := c.readDelta(ctx, "NextDelta", p.NextLink, "", p.idAttr, p.pageSize)
	if err != nil {
		return nil, fmt.Errorf("read changes of %s: %w", linkName(p.NextLink), err)
	}
	return next, nil
}

// ReadDelta reads the changes since a stored deltaLink (or a nextLink):
// new and updated rows, then deleted ids. An expired token fails with
// *ExpiredDeltaError — start again with TrackChanges.
//
// Web API: GET {@odata.deltaLink} ($deltatoken) with Prefer: odata.track-changes, odata.maxpagesize.
func (c *Client) ReadDelta(ctx context.Context, link string, pageSize int) (*DeltaPage, error) {
	set := linkName(link)
	p, err := c.readDelta(ctx, "ReadDelta", link, "", c.idAttribute(set), pageSize)
	if err != nil {
		return nil, fmt.Errorf("read changes of %s: %w", set, err)
	}
	return p, nil
}

func (c *Client) readDelta(ctx context.Context, op, pathOrLink, query, idAttr string, pageSize int) (*DeltaPage, error) {
	resp, err := c.do(ctx, &request{
		op: op, method: http.MethodGet, path: pathOrLink, query: query,
		prefer:     []string{preferTrackChanges, maxPageSizePref(c.pageSizeOr(pageSize)), preferAnnotations},
		idempotent: true,
	})
	if err != nil {
		return nil, err
	}
	env, err := decodeEnvelope(resp.body)
	if err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	p := &DeltaPage{NextLink: env.NextLink, DeltaLink: env.DeltaLink, idAttr: idAttr, pageSize: pageSize}
	p.Records = make([]*Record, 0, len(env.Value))
	for _, row := range env.Value {
		if isDeletedEntity(row) {
			if id, ok := row["id"].(string); ok {
				p.Deleted = append(p.Deleted, id)
			}
			continue
		}
		p.Records = append(p.Records, newRecord(row, idAttr))
	}
	return p, nil
}

// isDeletedEntity reports whether a delta row is a deletion marker.
func isDeletedEntity(row map[string]any) bool {
	if ctx, ok := row["@odata.context"].(string); ok && strings.HasSuffix(ctx, "$deletedEntity") {
		return true
	}
	reason, _ := row["reason"].(string)
	_, hasID := row["id"].(string)
	return reason == "deleted" && hasID
}

// ChangeTrackingStatus returns which of logicalNames do not have change
// tracking enabled (the sync's start-up check; empty when all do).
//
// Web API: GET EntityDefinitions?$filter=ChangeTrackingEnabled eq true&$select=LogicalName.
func (c *Client) ChangeTrackingStatus(ctx context.Context, logicalNames []string) ([]string, error) {
	q := Query{Select: []string{"LogicalName"}, Filter: "ChangeTrackingEnabled eq true"}
	resp, err := c.do(ctx, &request{op: "ChangeTrackingStatus", method: http.MethodGet, path: "EntityDefinitions", query: q.Encode(), idempotent: true})
	if err != nil {
		return nil, fmt.Errorf("change tracking status: %w", err)
	}
	var out struct {
		Value []struct {
			LogicalName string `json:"LogicalName"`
		} `json:"value"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, fmt.Errorf("change tracking status: decode response: %w", err)
	}
	enabled := make(map[string]bool, len(out.Value))
	for _, e := range out.Value {
		enabled[strings.ToLower(e.LogicalName)] = true
	}
	var missing []string
	for _, n := range logicalNames {
		if !enabled[strings.ToLower(n)] {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// ChangeTrackingExpiryDays returns the org's expirechangetrackingindays:
// how long a deltaLink stays usable.
//
// Web API: GET organizations?$select=expirechangetrackingindays.
func (c *Client) ChangeTrackingExpiryDays(ctx context.Context) (int, error) {
	q := Query{Select: []string{"expirechangetrackingindays"}}
	resp, err := c.do(ctx, &request{op: "ChangeTrackingExpiryDays", method: http.MethodGet, path: "organizations", query: q.Encode(), idempotent: true})
	if err != nil {
		return 0, fmt.Errorf("change tracking expiry: %w", err)
	}
	var out struct {
		Value []struct {
			Days *int `json:"expirechangetrackingindays"`
		} `json:"value"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return 0, fmt.Errorf("change tracking expiry: decode response: %w", err)
	}
	if len(out.Value) == 0 || out.Value[0].Days == nil {
		return 0, fmt.Errorf("change tracking expiry: no organization row with expirechangetrackingindays")
	}
	return *out.Value[0].Days, nil
}
