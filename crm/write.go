package crm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Create creates a record and returns its id. A plain POST is not idempotent,
// so it is never retried; use CreateIdempotent when a retry must be safe.
//
// Web API: POST {entitySet} → 204 No Content with OData-EntityId: {org}/api/data/v9.2/{set}({id}).
func (c *Client) Create(ctx context.Context, entitySet string, body map[string]any) (string, error) {
	if err := checkSet(entitySet); err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	resp, err := c.send(ctx, &request{op: "Create", method: http.MethodPost, path: entitySet}, body)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", entitySet, err)
	}
	id, ok := idFromEntityID(resp.header.Get("OData-EntityId"))
	if !ok {
		return "", fmt.Errorf("create %s: response has no OData-EntityId", entitySet)
	}
	return id, nil
}

// idFromEntityID extracts the GUID of ".../accounts(<id>)".
func idFromEntityID(h string) (string, bool) {
	open, close := strings.LastIndexByte(h, '('), strings.LastIndexByte(h, ')')
	if open < 0 || close < open {
		return "", false
	}
	id := h[open+1 : close]
	return id, IsGUID(id)
}

// CreateReturning creates a record and returns it as stored (selectCols: the
// columns to return; none: all), with formatted values. Never retried.
//
// Web API: POST {entitySet}?$select=… with Prefer: return=representation → 201 Created + body.
func (c *Client) CreateReturning(ctx context.Context, entitySet string, body map[string]any, selectCols []string) (*Record, error) {
	if err := checkSet(entitySet); err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	resp, err := c.send(ctx, &request{
		op: "CreateReturning", method: http.MethodPost, path: entitySet, query: Query{Select: selectCols}.Encode(),
		prefer: []string{"return=representation", preferAnnotations},
	}, body)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", entitySet, err)
	}
	var row map[string]any
	if err := decodeJSON(resp.body, &row); err != nil {
		return nil, fmt.Errorf("create %s: decode response: %w", entitySet, err)
	}
	rec := newRecord(row, c.idAttribute(entitySet))
	if rec.ID == "" {
		rec.ID, _ = idFromEntityID(resp.header.Get("OData-EntityId"))
	}
	return rec, nil
}

// CreateIdempotent creates the record with a client-chosen id, only if it
// does not exist yet. created is false (and err nil) when it already exists —
// so a retry, here or by a caller replaying work, is safe.
//
// Web API: PATCH {entitySet}({id}) with If-None-Match: * → 204, or 412 when it exists.
func (c *Client) CreateIdempotent(ctx context.Context, entitySet, id string, body map[string]any) (bool, error) {
	p, err := entityPath(entitySet, id)
	if err != nil {
		return false, fmt.Errorf("create %s: %w", entitySet, err)
	}
	_, err = c.send(ctx, &request{
		op: "CreateIdempotent", method: http.MethodPatch, path: p,
		header: map[string]string{"If-None-Match": "*"}, idempotent: true,
	}, body)
	var ce *ConflictError
	if errors.As(err, &ce) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %w", p, err)
	}
	return true, nil
}

// Update changes a record's columns. etag is the @odata.etag read with it: a
// change made since then fails with *ConflictError. An empty etag sends
// If-Match: * — update only, so an update can never create (upsert) a record.
// Conditional PATCHes are retried on 502/503/504 and network errors; if a
// first attempt was applied but its answer lost, the retry reports the
// record as changed (*ConflictError): re-read it before telling the user.
//
// Web API: PATCH {entitySet}({id}) with If-Match: {etag} | * → 204; 412 when stale.
func (c *Client) Update(ctx context.Context, entitySet, id, etag string, body map[string]any) error {
	if err := c.patch(ctx, "Update", entitySet, id, etag, body); err != nil {
		return fmt.Errorf("update %s(%s): %w", entitySet, id, err)
	}
	return nil
}

func (c *Client) patch(ctx context.Context, op, entitySet, id, etag string, body map[string]any) error {
	p, err := entityPath(entitySet, id)
	if err != nil {
		return err
	}
	if etag == "" {
		etag = "*"
	}
	_, err = c.send(ctx, &request{
		op: op, method: http.MethodPatch, path: p,
		header: map[string]string{"If-Match": etag}, idempotent: true,
	}, body)
	return err
}

// Delete deletes a record; a non-empty etag makes it conditional (412 → *ConflictError).
//
// Web API: DELETE {entitySet}({id}) [If-Match: {etag}] → 204.
func (c *Client) Delete(ctx context.Context, entitySet, id, etag string) error {
	p, err := entityPath(entitySet, id)
	if err != nil {
		return fmt.Errorf("delete %s: %w", entitySet, err)
	}
	req := &request{op: "Delete", method: http.MethodDelete, path: p, idempotent: true}
	if etag != "" {
		req.header = map[string]string{"If-Match": etag}
	}
	if _, err := c.do(ctx, req); err != nil {
		return fmt.Errorf("delete %s: %w", p, err)
	}
	return nil
}

// Bind returns the body key and value that set lookup field of rt to the
// record id of targetType, e.g. "customerid_account@odata.bind", "/accounts(<id>)".
func (c *Catalog) Bind(rt *RecordType, field, targetType, id string) (key, value string, err error) {
	f, ok := rt.Field(field)
	if !ok || f.Type != TypeLookup {
		return "", "", fmt.Errorf("bind %s.%s: not a lookup field", rt.Name, field)
	}
	nav, ok := f.Targets[targetType]
	if !ok {
		return "", "", fmt.Errorf("bind %s.%s: cannot point at %s", rt.Name, field, targetType)
	}
	target, ok := c.Type(targetType)
	if !ok {
		return "", "", fmt.Errorf("bind %s.%s: unknown record type %s", rt.Name, field, targetType)
	}
	p, err := entityPath(target.EntitySet, id)
	if err != nil {
		return "", "", fmt.Errorf("bind %s.%s: %w", rt.Name, field, err)
	}
	return nav + "@odata.bind", "/" + p, nil
}

// Bind is Catalog.Bind over the client's catalogue.
func (c *Client) Bind(rt *RecordType, field, targetType, id string) (key, value string, err error) {
	return c.catalog.Bind(rt, field, targetType, id)
}

// Owner types accepted by Assign.
const (
	// OwnerUser assigns to a systemuser.
	OwnerUser = "systemuser"
	// OwnerTeam assigns to a team.
	OwnerTeam = "team"
)

// Assign gives a record to a user or team.
//
// Web API: PATCH {entitySet}({id}) {"ownerid@odata.bind":"/systemusers({ownerID})"} (or /teams) with If-Match: *.
func (c *Client) Assign(ctx context.Context, entitySet, id, ownerType, ownerID string) error {
	var set string
	switch ownerType {
	case OwnerUser:
		set = "systemusers"
	case OwnerTeam:
		set = "teams"
	default:
		return fmt.Errorf("assign %s(%s): owner type %q is not systemuser or team", entitySet, id, ownerType)
	}
	owner, err := entityPath(set, ownerID)
	if err != nil {
		return fmt.Errorf("assign %s(%s): %w", entitySet, id, err)
	}
	if err := c.patch(ctx, "Assign", entitySet, id, "", map[string]any{"ownerid@odata.bind": "/" + owner}); err != nil {
		return fmt.Errorf("assign %s(%s): %w", entitySet, id, err)
	}
	return nil
}

// SetState moves a record to statecode state with statuscode status, both
// in one request as Dataverse requires (complete or cancel an activity,
// disqualify a lead, deactivate an account). If a retried attempt finds the
// record already closed (the first attempt was applied but its answer lost),
// Dataverse answers 400: callers re-read the record's state before reporting.
//
// Web API: PATCH {entitySet}({id}) {"statecode":…,"statuscode":…} with If-Match: *.
func (c *Client) SetState(ctx context.Context, entitySet, id string, state, status int) error {
	if err := c.patch(ctx, "SetState", entitySet, id, "", map[string]any{"statecode": state, "statuscode": status}); err != nil {
		return fmt.Errorf("set state of %s(%s): %w", entitySet, id, err)
	}
	return nil
}
