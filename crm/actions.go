package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Closing actions. Actions change state and create activity records, so they
// are never retried automatically (a lost response would close twice).

// IncidentResolution is the incidentresolution record CloseIncident creates.
type IncidentResolution struct {
	Subject     string
	Description string
	// TimeSpent is the billable time in minutes (0: not sent).
	TimeSpent int
}

// CloseIncident resolves a case with status (5 Problem Solved, 1000
// Information Provided; 0: 5).
//
// Web API: POST CloseIncident {"IncidentResolution":{"@odata.type":"Microsoft.Dynamics.CRM.incidentresolution",
// "subject","incidentid@odata.bind":"/incidents({id})","timespent","description"},"Status":…} → 204.
func (c *Client) CloseIncident(ctx context.Context, incidentID string, res IncidentResolution, status int) error {
	inc, err := entityPath("incidents", incidentID)
	if err != nil {
		return fmt.Errorf("close incident: %w", err)
	}
	if status == 0 {
		status = 5
	}
	resolution := map[string]any{
		"@odata.type":           "Microsoft.Dynamics.CRM.incidentresolution",
		"subject":               res.Subject,
		"incidentid@odata.bind": "/" + inc,
	}
	if res.TimeSpent > 0 {
		resolution["timespent"] = res.TimeSpent
	}
	if res.Description != "" {
		resolution["description"] = res.Description
	}
	body := map[string]any{"IncidentResolution": resolution, "Status": status}
	if _, err := c.send(ctx, &request{op: "CloseIncident", method: http.MethodPost, path: "CloseIncident"}, body); err != nil {
		return fmt.Errorf("close incident %s: %w", incidentID, err)
	}
	return nil
}

// OpportunityClose is the opportunityclose record WinOpportunity and
// LoseOpportunity create.
type OpportunityClose struct {
	// Subject defaults to "Won" or "Lost".
	Subject     string
	Description string
	// ActualRevenue is sent when set (Dataverse otherwise keeps the estimate on a win).
	ActualRevenue *float64
	// ActualEnd is the close date (its calendar date is sent; zero: today, Dataverse's default).
	ActualEnd time.Time
	// CompetitorID is the competitor that won (LoseOpportunity only; optional).
	CompetitorID string
}

func (c *Client) opportunityClose(opportunityID string, oc OpportunityClose, defaultSubject string, lost bool) (map[string]any, error) {
	opp, err := entityPath("opportunities", opportunityID)
	if err != nil {
		return nil, err
	}
	subject := oc.Subject
	if subject == "" {
		subject = defaultSubject
	}
	m := map[string]any{"subject": subject, "opportunityid@odata.bind": "/" + opp}
	if oc.ActualRevenue != nil {
		m["actualrevenue"] = *oc.ActualRevenue
	}
	if !oc.ActualEnd.IsZero() {
		m["actualend"] = oc.ActualEnd.Format("2006-01-02")
	}
	if oc.Description != "" {
		m["description"] = oc.Description
	}
	if lost && oc.CompetitorID != "" {
		comp, err := entityPath("competitors", oc.CompetitorID)
		if err != nil {
			return nil, err
		}
		m["competitorid@odata.bind"] = "/" + comp
	}
	return m, nil
}

// WinOpportunity closes an opportunity as won (status 3; 0: Dataverse's default, sent as -1).
//
// Web API: POST WinOpportunity {"Status":3,"OpportunityClose":{"subject","opportunityid@odata.bind":
// "/opportunities({id})","actualrevenue","actualend":"YYYY-MM-DD","description"}} → 204.
func (c *Client) WinOpportunity(ctx context.Context, opportunityID string, oc OpportunityClose, status int) error {
	if err := c.closeOpportunity(ctx, "WinOpportunity", opportunityID, oc, status); err != nil {
		return fmt.Errorf("win opportunity %s: %w", opportunityID, err)
	}
	return nil
}

// LoseOpportunity closes an opportunity as lost (status 4 Canceled or 5
// Out-Sold; 0: Dataverse's default, sent as -1), optionally naming the competitor.
//
// Web API: POST LoseOpportunity {"Status":4|5,"OpportunityClose":{"subject","opportunityid@odata.bind",
// "competitorid@odata.bind":"/competitors({id})","actualend","description"}} → 204.
func (c *Client) LoseOpportunity(ctx context.Context, opportunityID string, oc OpportunityClose, status int) error {
	if err := c.closeOpportunity(ctx, "LoseOpportunity", opportunityID, oc, status); err != nil {
		return fmt.Errorf("lose opportunity %s: %w", opportunityID, err)
	}
	return nil
}

func (c *Client) closeOpportunity(ctx context.Context, action, id string, oc OpportunityClose, status int) error {
	won := action == "WinOpportunity"
	subject := map[bool]string{true: "Won", false: "Lost"}[won]
	body, err := c.opportunityClose(id, oc, subject, !won)
	if err != nil {
		return err
	}
	if status == 0 {
		status = -1
	}
	_, err = c.send(ctx, &request{op: action, method: http.MethodPost, path: action},
		map[string]any{"Status": status, "OpportunityClose": body})
	return err
}

// QualifyLeadRequest are the QualifyLead parameters crmbot uses.
type QualifyLeadRequest struct {
	CreateAccount     bool
	CreateContact     bool
	CreateOpportunity bool
	// Status is the lead's qualified status (0: 3 Qualified).
	Status int
}

// QualifyLead qualifies a lead and returns the records it created.
//
// Web API: POST leads({id})/Microsoft.Dynamics.CRM.QualifyLead {"CreateAccount","CreateContact",
// "CreateOpportunity","Status"} → 200 {"value":[{"@odata.type":"#Microsoft.Dynamics.CRM.account","accountid":…},…]}.
func (c *Client) QualifyLead(ctx context.Context, leadID string, q QualifyLeadRequest) ([]Ref, error) {
	lead, err := entityPath("leads", leadID)
	if err != nil {
		return nil, fmt.Errorf("qualify lead: %w", err)
	}
	if q.Status == 0 {
		q.Status = 3
	}
	body := map[string]any{
		"CreateAccount": q.CreateAccount, "CreateContact": q.CreateContact,
		"CreateOpportunity": q.CreateOpportunity, "Status": q.Status,
	}
	resp, err := c.send(ctx, &request{op: "QualifyLead", method: http.MethodPost, path: lead + "/Microsoft.Dynamics.CRM.QualifyLead"}, body)
	if err != nil {
		return nil, fmt.Errorf("qualify lead %s: %w", leadID, err)
	}
	var out struct {
		Value []map[string]any `json:"value"`
	}
	if len(resp.body) > 0 {
		if err := json.Unmarshal(resp.body, &out); err != nil {
			return nil, fmt.Errorf("qualify lead %s: decode response: %w", leadID, err)
		}
	}
	refs := make([]Ref, 0, len(out.Value))
	for _, row := range out.Value {
		t, _ := row["@odata.type"].(string)
		t = strings.TrimPrefix(strings.TrimPrefix(t, "#"), "Microsoft.Dynamics.CRM.")
		key := t + "id"
		if rt, ok := c.catalog.Type(t); ok {
			key = rt.ID
		}
		id, _ := row[key].(string)
		refs = append(refs, Ref{Type: t, ID: id})
	}
	return refs, nil
}

// Close carries out a catalogue closing action on record id of type rt with
// the chosen status (0: the action's first) and the closing form's values
// (keys are the action's field names), dispatching on the action's
// Mechanism — so callers never switch on record types. It returns the
// records the action created (QualifyLead), else nil.
//
// Web API: CloseIncident, WinOpportunity, LoseOpportunity, QualifyLead or a
// statecode/statuscode PATCH, as the Mechanism says.
func (c *Client) Close(ctx context.Context, rt *RecordType, id string, action *ClosingAction, status int, values map[string]any) ([]Ref, error) {
	if action == nil {
		return nil, fmt.Errorf("close %s %s: no action", rt.Name, id)
	}
	if status == 0 && len(action.Statuses) > 0 {
		status = action.Statuses[0]
	}
	if !slices.Contains(action.Statuses, status) {
		return nil, fmt.Errorf("close %s %s: status %d is not one of %s's %v", rt.Name, id, status, action.Name, action.Statuses)
	}
	v := formValues(values)
	switch action.Mechanism {
	case MechCloseIncident:
		n, _ := v.int("timespent")
		return nil, c.CloseIncident(ctx, id, IncidentResolution{Subject: v.str("subject"), Description: v.str("description"), TimeSpent: n}, status)
	case MechWinOpportunity, MechLoseOpportunity:
		oc := OpportunityClose{Subject: v.str("subject"), Description: v.str("description"), CompetitorID: v.ref("competitorid")}
		if f, ok := v.float("actualrevenue"); ok {
			oc.ActualRevenue = &f
		}
		oc.ActualEnd, _ = v.date("actualend")
		if action.Mechanism == MechWinOpportunity {
			return nil, c.WinOpportunity(ctx, id, oc, status)
		}
		return nil, c.LoseOpportunity(ctx, id, oc, status)
	case MechQualifyLead:
		return c.QualifyLead(ctx, id, QualifyLeadRequest{
			CreateAccount: v.bool("CreateAccount"), CreateContact: v.bool("CreateContact"),
			CreateOpportunity: v.bool("CreateOpportunity"), Status: status,
		})
	case MechSetState:
		return nil, c.SetState(ctx, rt.EntitySet, id, action.State, status)
	}
	return nil, fmt.Errorf("close %s %s: unknown mechanism %q", rt.Name, id, action.Mechanism)
}

// formValues reads closing-form values that arrive as chat form strings or typed values.
type formValues map[string]any

func (v formValues) str(k string) string {
	switch x := v[k].(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

func (v formValues) float(k string) (float64, bool) {
	switch x := v[k].(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && strings.TrimSpace(x) != ""
	}
	return 0, false
}

func (v formValues) int(k string) (int, bool) {
	f, ok := v.float(k)
	return int(f), ok
}

func (v formValues) bool(k string) bool {
	switch x := v[k].(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	case int:
		return x != 0
	}
	return false
}

func (v formValues) date(k string) (time.Time, bool) {
	switch x := v[k].(type) {
	case time.Time:
		return x, !x.IsZero()
	case string:
		return parseTime(strings.TrimSpace(x))
	}
	return time.Time{}, false
}

// ref reads a lookup value given as an id or a Ref.
func (v formValues) ref(k string) string {
	switch x := v[k].(type) {
	case Ref:
		return x.ID
	case *Ref:
		if x != nil {
			return x.ID
		}
	case string:
		return x
	}
	return ""
}
