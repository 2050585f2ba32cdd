package crm_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/crm"
)

const annotations = `odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"`

// TestRequests asserts, for every client method, the exact method, path,
// query, headers and body sent to Dataverse and how the answer is read.
func TestRequests(t *testing.T) {
	cat := crm.DefaultCatalog()
	typ := func(n string) *crm.RecordType { rt, _ := cat.Type(n); return rt }
	rev := 1250.5
	tests := []struct {
		name   string
		answer canned
		call   func(ctx context.Context, c *crm.Client) (any, error)
		method string
		path   string
		// query is each option's exact decoded value ("" means absent).
		query  map[string]string
		header map[string]string
		body   string // JSON, compared as values; "" means no body
		want   any
	}{
		{
			name:   "WhoAmI",
			answer: canned{Body: `{"@odata.context":"x#Microsoft.Dynamics.CRM.WhoAmIResponse","BusinessUnitId":"` + accountID + `","UserId":"` + userID + `","OrganizationId":"` + oppID + `"}`},
			call:   func(ctx context.Context, c *crm.Client) (any, error) { return c.WhoAmI(ctx) },
			method: "GET", path: "/api/data/v9.2/WhoAmI",
			want: crm.WhoAmIResult{UserID: userID, BusinessUnitID: accountID, OrganizationID: oppID},
		},
		{
			name:   "Get with select and expand",
			answer: canned{Body: `{"@odata.etag":"W/\"42\"","accountid":"` + accountID + `","name":"Contoso"}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				r, err := c.Get(ctx, "accounts", accountID, crm.Query{Select: []string{"name", "revenue"},
					Expand: []crm.Expand{{Nav: "primarycontactid", Select: []string{"fullname"}}}, Filter: "ignored"})
				if err != nil {
					return nil, err
				}
				return r.ID + " " + r.ETag + " " + r.String("name"), nil
			},
			method: "GET", path: "/api/data/v9.2/accounts(" + accountID + ")",
			query:  map[string]string{"$select": "name,revenue", "$expand": "primarycontactid($select=fullname)", "$filter": ""},
			header: map[string]string{"Prefer": annotations},
			want:   accountID + ` W/"42" Contoso`,
		},
		{
			name:   "List with page size and count",
			answer: canned{Body: `{"@odata.count":7,"value":[{"accountid":"` + accountID + `","name":"A"}],"@odata.nextLink":"NEXT"}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				p, err := c.List(ctx, "accounts", crm.Query{Select: []string{"name"}, Filter: crm.Eq("name", "O'Brien & Co").String(),
					OrderBy: []string{"name asc", "createdon desc"}, Count: true}, 10)
				if err != nil {
					return nil, err
				}
				return []any{len(p.Records), p.Records[0].ID, p.Count, p.NextLink}, nil
			},
			method: "GET", path: "/api/data/v9.2/accounts",
			query:  map[string]string{"$select": "name", "$filter": "name eq 'O''Brien & Co'", "$orderby": "name asc,createdon desc", "$count": "true"},
			header: map[string]string{"Prefer": "odata.maxpagesize=10," + annotations},
			want:   []any{1, accountID, 7, "NEXT"},
		},
		{
			name:   "List caps the page size at 5000",
			answer: canned{Body: `{"value":[]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				p, err := c.List(ctx, "contacts", crm.Query{}, 100000)
				if err != nil {
					return nil, err
				}
				return p.Count, nil
			},
			method: "GET", path: "/api/data/v9.2/contacts",
			header: map[string]string{"Prefer": "odata.maxpagesize=5000," + annotations},
			want:   -1,
		},
		{
			name:   "Count",
			answer: canned{Body: `{"@odata.count":42,"value":[{"leadid":"` + leadID + `"}]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.Count(ctx, "leads", "statecode eq 0")
			},
			method: "GET", path: "/api/data/v9.2/leads",
			query:  map[string]string{"$filter": "statecode eq 0", "$count": "true", "$select": "leadid", "$top": ""},
			header: map[string]string{"Prefer": "odata.maxpagesize=1"},
			want:   42,
		},
		{
			name:   "List with Top is one capped page without a page size",
			answer: canned{Body: `{"value":[]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				_, err := c.List(ctx, "accounts", crm.Query{Select: []string{"name"}, Top: 3}, 0)
				return nil, err
			},
			method: "GET", path: "/api/data/v9.2/accounts",
			query:  map[string]string{"$top": "3", "$select": "name"},
			header: map[string]string{"Prefer": annotations},
		},
		{
			name:   "ListMy with an apostrophe in the search",
			answer: canned{Body: `{"value":[]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				_, err := c.ListMy(ctx, typ("contact"), userID, "O'Brien", 5)
				return nil, err
			},
			method: "GET", path: "/api/data/v9.2/contacts",
			query: map[string]string{
				"$filter":  "_ownerid_value eq " + userID + " and (statecode eq 0) and (contains(fullname,'O''Brien') or contains(emailaddress1,'O''Brien') or contains(jobtitle,'O''Brien'))",
				"$orderby": "fullname asc",
				"$select":  "contactid,fullname,_parentcustomerid_value,jobtitle,_ownerid_value,statecode,statuscode",
			},
			header: map[string]string{"Prefer": "odata.maxpagesize=5," + annotations},
		},
		{
			name:   "ListMy without search",
			answer: canned{Body: `{"value":[]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				_, err := c.ListMy(ctx, typ("incident"), userID, "", 0)
				return nil, err
			},
			method: "GET", path: "/api/data/v9.2/incidents",
			query:  map[string]string{"$filter": "_ownerid_value eq " + userID + " and (statecode eq 0)", "$orderby": "prioritycode asc,createdon desc"},
			header: map[string]string{"Prefer": "odata.maxpagesize=50," + annotations},
		},
		{
			name:   "GetRecord with named fields",
			answer: canned{Body: `{"opportunityid":"` + oppID + `","name":"Deal"}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				r, err := c.GetRecord(ctx, typ("opportunity"), oppID, "customerid", "estimatedvalue")
				if err != nil {
					return nil, err
				}
				return r.ID, nil
			},
			method: "GET", path: "/api/data/v9.2/opportunities(" + oppID + ")",
			query: map[string]string{"$select": "opportunityid,name,_customerid_value,estimatedvalue,_ownerid_value,statecode,statuscode"},
			want:  oppID,
		},
		{
			name:   "ListRelated contacts of an account",
			answer: canned{Body: `{"value":[]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				_, err := c.ListRelated(ctx, typ("account"), typ("account").Related[0], accountID)
				return nil, err
			},
			method: "GET", path: "/api/data/v9.2/contacts",
			query:  map[string]string{"$filter": "_parentcustomerid_value eq " + accountID + " and (statecode eq 0)", "$orderby": "fullname asc"},
			header: map[string]string{"Prefer": "odata.maxpagesize=10," + annotations},
		},
		{
			name:   "SearchRecords type-ahead",
			answer: canned{Body: `{"value":[{"accountid":"` + accountID + `","name":"Café Crème","name@OData.Community.Display.V1.FormattedValue":"Café Crème"}]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.SearchRecords(ctx, typ("account"), "Café", 8)
			},
			method: "GET", path: "/api/data/v9.2/accounts",
			query: map[string]string{
				"$filter":  "(contains(name,'Café') or contains(accountnumber,'Café') or contains(emailaddress1,'Café') or contains(address1_city,'Café')) and statecode eq 0",
				"$select":  "accountid,name",
				"$orderby": "name asc",
			},
			header: map[string]string{"Prefer": "odata.maxpagesize=8," + annotations},
			want:   []crm.Ref{{Type: "account", ID: accountID, Name: "Café Crème"}},
		},
		{
			name:   "Create",
			answer: canned{Status: 204, Header: map[string]string{"OData-EntityId": "https://org.crm.dynamics.com/api/data/v9.2/accounts(" + accountID + ")"}},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.Create(ctx, "accounts", map[string]any{"name": "Contoso"})
			},
			method: "POST", path: "/api/data/v9.2/accounts",
			header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Prefer": ""},
			body:   `{"name":"Contoso"}`,
			want:   accountID,
		},
		{
			name:   "CreateReturning",
			answer: canned{Status: 201, Body: `{"@odata.context":"x#accounts/$entity","@odata.etag":"W/\"7\"","accountid":"` + accountID + `","name":"Contoso"}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				r, err := c.CreateReturning(ctx, "accounts", map[string]any{"name": "Contoso"}, []string{"accountid", "name"})
				if err != nil {
					return nil, err
				}
				return r.ID + " " + r.ETag, nil
			},
			method: "POST", path: "/api/data/v9.2/accounts",
			query:  map[string]string{"$select": "accountid,name"},
			header: map[string]string{"Prefer": "return=representation," + annotations},
			body:   `{"name":"Contoso"}`,
			want:   accountID + ` W/"7"`,
		},
		{
			name:   "CreateIdempotent creates",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.CreateIdempotent(ctx, "tasks", taskID, map[string]any{"subject": "Call"})
			},
			method: "PATCH", path: "/api/data/v9.2/tasks(" + taskID + ")",
			header: map[string]string{"If-None-Match": "*", "If-Match": ""},
			body:   `{"subject":"Call"}`,
			want:   true,
		},
		{
			name:   "CreateIdempotent when it already exists",
			answer: canned{Status: 412, Body: `{"error":{"code":"0x80060892","message":"A record with matching key values already exists."}}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.CreateIdempotent(ctx, "tasks", taskID, map[string]any{"subject": "Call"})
			},
			method: "PATCH", path: "/api/data/v9.2/tasks(" + taskID + ")",
			body: `{"subject":"Call"}`,
			want: false,
		},
		{
			name:   "Update with an etag",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.Update(ctx, "accounts", accountID, `W/"42"`, map[string]any{"telephone1": "555"})
			},
			method: "PATCH", path: "/api/data/v9.2/accounts(" + accountID + ")",
			header: map[string]string{"If-Match": `W/"42"`, "If-None-Match": ""},
			body:   `{"telephone1":"555"}`,
		},
		{
			name:   "Update without an etag never upserts",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.Update(ctx, "accounts", accountID, "", map[string]any{"telephone1": nil})
			},
			method: "PATCH", path: "/api/data/v9.2/accounts(" + accountID + ")",
			header: map[string]string{"If-Match": "*"},
			body:   `{"telephone1":null}`,
		},
		{
			name:   "Delete with an etag",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.Delete(ctx, "tasks", taskID, `W/"9"`)
			},
			method: "DELETE", path: "/api/data/v9.2/tasks(" + taskID + ")",
			header: map[string]string{"If-Match": `W/"9"`},
		},
		{
			name:   "Assign to a user",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.Assign(ctx, "leads", leadID, crm.OwnerUser, userID)
			},
			method: "PATCH", path: "/api/data/v9.2/leads(" + leadID + ")",
			header: map[string]string{"If-Match": "*"},
			body:   `{"ownerid@odata.bind":"/systemusers(` + userID + `)"}`,
		},
		{
			name:   "Assign to a team",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.Assign(ctx, "leads", leadID, crm.OwnerTeam, userID)
			},
			method: "PATCH", path: "/api/data/v9.2/leads(" + leadID + ")",
			body: `{"ownerid@odata.bind":"/teams(` + userID + `)"}`,
		},
		{
			name:   "SetState completes a task",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.SetState(ctx, "tasks", taskID, 1, 5)
			},
			method: "PATCH", path: "/api/data/v9.2/tasks(" + taskID + ")",
			header: map[string]string{"If-Match": "*"},
			body:   `{"statecode":1,"statuscode":5}`,
		},
		{
			name:   "CloseIncident",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.CloseIncident(ctx, caseID, crm.IncidentResolution{Subject: "Fixed", Description: "Rebooted", TimeSpent: 60}, 5)
			},
			method: "POST", path: "/api/data/v9.2/CloseIncident",
			body: `{"IncidentResolution":{"@odata.type":"Microsoft.Dynamics.CRM.incidentresolution","subject":"Fixed",
				"incidentid@odata.bind":"/incidents(` + caseID + `)","timespent":60,"description":"Rebooted"},"Status":5}`,
		},
		{
			name:   "WinOpportunity",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.WinOpportunity(ctx, oppID, crm.OpportunityClose{ActualRevenue: &rev,
					ActualEnd: time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC), Description: "Signed"}, 3)
			},
			method: "POST", path: "/api/data/v9.2/WinOpportunity",
			body: `{"Status":3,"OpportunityClose":{"subject":"Won","opportunityid@odata.bind":"/opportunities(` + oppID + `)",
				"actualrevenue":1250.5,"actualend":"2026-11-24","description":"Signed"}}`,
		},
		{
			name:   "LoseOpportunity to a competitor",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.LoseOpportunity(ctx, oppID, crm.OpportunityClose{Subject: "Lost on price", CompetitorID: accountID,
					ActualEnd: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}, 5)
			},
			method: "POST", path: "/api/data/v9.2/LoseOpportunity",
			body: `{"Status":5,"OpportunityClose":{"subject":"Lost on price","opportunityid@odata.bind":"/opportunities(` + oppID + `)",
				"competitorid@odata.bind":"/competitors(` + accountID + `)","actualend":"2026-11-24"}}`,
		},
		{
			name:   "LoseOpportunity with the default status",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return nil, c.LoseOpportunity(ctx, oppID, crm.OpportunityClose{}, 0)
			},
			method: "POST", path: "/api/data/v9.2/LoseOpportunity",
			body: `{"Status":-1,"OpportunityClose":{"subject":"Lost","opportunityid@odata.bind":"/opportunities(` + oppID + `)"}}`,
		},
		{
			name: "QualifyLead",
			answer: canned{Body: `{"@odata.context":"x#Collection(Microsoft.Dynamics.CRM.crmbaseentity)","value":[
				{"@odata.type":"#Microsoft.Dynamics.CRM.account","accountid":"` + accountID + `"},
				{"@odata.type":"#Microsoft.Dynamics.CRM.opportunity","opportunityid":"` + oppID + `"}]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.QualifyLead(ctx, leadID, crm.QualifyLeadRequest{CreateAccount: true, CreateOpportunity: true})
			},
			method: "POST", path: "/api/data/v9.2/leads(" + leadID + ")/Microsoft.Dynamics.CRM.QualifyLead",
			body: `{"CreateAccount":true,"CreateContact":false,"CreateOpportunity":true,"Status":3}`,
			want: []crm.Ref{{Type: "account", ID: accountID}, {Type: "opportunity", ID: oppID}},
		},
		{
			name:   "Close dispatches a disqualify to SetState",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.Close(ctx, typ("lead"), leadID, typ("lead").Closing["disqualify"], 6, nil)
			},
			method: "PATCH", path: "/api/data/v9.2/leads(" + leadID + ")",
			body: `{"statecode":2,"statuscode":6}`,
			want: []crm.Ref(nil),
		},
		{
			name:   "Close dispatches a case resolution with form strings",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.Close(ctx, typ("incident"), caseID, typ("incident").Closing["resolve"], 0,
					map[string]any{"subject": "Done", "timespent": "30"})
			},
			method: "POST", path: "/api/data/v9.2/CloseIncident",
			body: `{"IncidentResolution":{"@odata.type":"Microsoft.Dynamics.CRM.incidentresolution","subject":"Done",
				"incidentid@odata.bind":"/incidents(` + caseID + `)","timespent":30},"Status":5}`,
			want: []crm.Ref(nil),
		},
		{
			name:   "Close dispatches a win with a date string",
			answer: canned{Status: 204},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.Close(ctx, typ("opportunity"), oppID, typ("opportunity").Closing["win"], 0,
					map[string]any{"actualend": "2026-11-24", "actualrevenue": "99.95"})
			},
			method: "POST", path: "/api/data/v9.2/WinOpportunity",
			body: `{"Status":3,"OpportunityClose":{"subject":"Won","opportunityid@odata.bind":"/opportunities(` + oppID + `)",
				"actualrevenue":99.95,"actualend":"2026-11-24"}}`,
			want: []crm.Ref(nil),
		},
		{
			name:   "ChangeTrackingStatus",
			answer: canned{Body: `{"value":[{"LogicalName":"account","MetadataId":"x"},{"LogicalName":"contact","MetadataId":"y"}]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.ChangeTrackingStatus(ctx, []string{"account", "contact", "lead"})
			},
			method: "GET", path: "/api/data/v9.2/EntityDefinitions",
			query: map[string]string{"$filter": "ChangeTrackingEnabled eq true", "$select": "LogicalName"},
			want:  []string{"lead"},
		},
		{
			name:   "ChangeTrackingExpiryDays",
			answer: canned{Body: `{"value":[{"organizationid":"x","expirechangetrackingindays":7}]}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				return c.ChangeTrackingExpiryDays(ctx)
			},
			method: "GET", path: "/api/data/v9.2/organizations",
			query: map[string]string{"$select": "expirechangetrackingindays"},
			want:  7,
		},
		{
			name: "TrackChanges baseline",
			answer: canned{Body: `{"@odata.context":"x#accounts(name)","value":[{"@odata.etag":"W/\"1\"","accountid":"` + accountID + `","name":"A"}],
				"@odata.deltaLink":"DELTA"}`},
			call: func(ctx context.Context, c *crm.Client) (any, error) {
				p, err := c.TrackChanges(ctx, "accounts", []string{"name", "_ownerid_value"}, 500)
				if err != nil {
					return nil, err
				}
				return []any{p.Records[0].ID, p.DeltaLink, len(p.Deleted)}, nil
			},
			method: "GET", path: "/api/data/v9.2/accounts",
			query:  map[string]string{"$select": "name,_ownerid_value", "$filter": "", "$orderby": "", "$top": ""},
			header: map[string]string{"Prefer": "odata.track-changes,odata.maxpagesize=500," + annotations},
			want:   []any{accountID, "DELTA", 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.answer)
			c := f.client(t)
			got, err := tc.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result = %#v, want %#v", got, tc.want)
			}
			r := f.last(t)
			if r.Method != tc.method || r.Path != tc.path {
				t.Errorf("request = %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
			q, err := url.ParseQuery(r.RawQuery)
			if err != nil {
				t.Fatalf("query %q: %v", r.RawQuery, err)
			}
			if strings.Contains(r.RawQuery, "+") {
				t.Errorf("query %q encodes spaces as '+'", r.RawQuery)
			}
			for k, want := range tc.query {
				if got := q.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if q.Has("$skip") {
				t.Errorf("query uses $skip: %q", r.RawQuery)
			}
			for k, want := range map[string]string{"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"} {
				if got := r.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			for k, want := range tc.header {
				if got := r.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if tc.body == "" {
				if len(r.Body) != 0 {
					t.Errorf("unexpected body %s", r.Body)
				}
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !jsonEqual(t, r.Body, tc.body) {
				t.Errorf("body = %s\nwant   %s", r.Body, compactJSON([]byte(tc.body)))
			}
		})
	}
}

// TestPaging follows @odata.nextLink verbatim and resends the page size.
func TestPaging(t *testing.T) {
	f := newFake(t)
	f.handler = func(w http.ResponseWriter, r *http.Request, n int) {
		next := ""
		if n < 2 {
			next = `,"@odata.nextLink":"` + f.srv.URL + `/api/data/v9.2/accounts?$select=name&$skiptoken=%3Ccookie%20page=%22` + string(rune('2'+n)) + `%22%3E"`
		}
		fmt.Fprintf(w, `{"value":[{"accountid":"%s","name":"r%d"}]%s}`, accountID, n, next)
	}
	c := f.client(t)
	var names []string
	for rec, err := range c.All(context.Background(), "accounts", crm.Query{Select: []string{"name"}}, 1) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, rec.String("name"))
	}
	if !slices.Equal(names, []string{"r0", "r1", "r2"}) {
		t.Fatalf("names = %v", names)
	}
	reqs := f.requests()
	if got := reqs[1].RawQuery; got != "$select=name&$skiptoken=%3Ccookie%20page=%222%22%3E" {
		t.Errorf("second request query = %q, want the nextLink verbatim", got)
	}
	for i, r := range reqs {
		if p := r.Header.Get("Prefer"); !strings.HasPrefix(p, "odata.maxpagesize=1,") {
			t.Errorf("request %d Prefer = %q", i, p)
		}
	}

	t.Run("NextPage after the last page", func(t *testing.T) {
		p, err := c.NextPage(context.Background(), &crm.Page{})
		if p != nil || err != nil {
			t.Fatalf("NextPage = %v, %v", p, err)
		}
	})
	t.Run("a nextLink to another host is refused", func(t *testing.T) {
		f2 := newFake(t, canned{Body: `{"value":[],"@odata.nextLink":"https://evil.example/api/data/v9.2/accounts?$skiptoken=x"}`})
		c2 := f2.client(t)
		p, err := c2.List(context.Background(), "accounts", crm.Query{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c2.NextPage(context.Background(), p); err == nil {
			t.Fatal("followed a link to another host")
		}
		if n := len(f2.requests()); n != 1 {
			t.Fatalf("%d requests", n)
		}
	})
}

// TestDelta reads updated rows and both forms of deletion markers.
func TestDelta(t *testing.T) {
	const deleted1, deleted2 = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
	f := newFake(t, canned{Body: `{"@odata.context":"x#accounts(name)/$delta","value":[
		{"@odata.etag":"W/\"5\"","accountid":"` + accountID + `","name":"Renamed","_ownerid_value":"` + userID + `",
		 "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"systemuser"},
		{"@odata.context":"x#accounts/$deletedEntity","id":"` + deleted1 + `","reason":"deleted"},
		{"id":"` + deleted2 + `","reason":"deleted"}],
		"@odata.deltaLink":"NEW"}`})
	c := f.client(t)
	link := f.srv.URL + "/api/data/v9.2/accounts?$select=name&$deltatoken=919042%2108%2f22%2f2017"
	p, err := c.ReadDelta(context.Background(), link, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].ID != accountID || p.DeltaLink != "NEW" {
		t.Fatalf("page = %+v", p)
	}
	if owner, _ := p.Records[0].Lookup("ownerid"); owner.Type != "systemuser" || owner.ID != userID {
		t.Errorf("owner = %+v", owner)
	}
	if !slices.Equal(p.Deleted, []string{deleted1, deleted2}) {
		t.Errorf("deleted = %v", p.Deleted)
	}
	r := f.last(t)
	if r.RawQuery != "$select=name&$deltatoken=919042%2108%2f22%2f2017" {
		t.Errorf("query = %q, want the deltaLink verbatim", r.RawQuery)
	}
	if !strings.HasPrefix(r.Header.Get("Prefer"), "odata.track-changes,") {
		t.Errorf("Prefer = %q", r.Header.Get("Prefer"))
	}
}

func TestBind(t *testing.T) {
	cat := crm.DefaultCatalog()
	opp, _ := cat.Type("opportunity")
	task, _ := cat.Type("task")
	tests := []struct {
		name               string
		rt                 *crm.RecordType
		field, target, id  string
		wantKey, wantValue string
		wantErr            bool
	}{
		{"customer account", opp, "customerid", "account", accountID, "customerid_account@odata.bind", "/accounts(" + accountID + ")", false},
		{"customer contact", opp, "customerid", "contact", accountID, "customerid_contact@odata.bind", "/contacts(" + accountID + ")", false},
		{"regarding an incident", task, "regardingobjectid", "incident", caseID, "regardingobjectid_incident_task@odata.bind", "/incidents(" + caseID + ")", false},
		{"target not allowed", opp, "customerid", "lead", accountID, "", "", true},
		{"not a lookup", opp, "name", "account", accountID, "", "", true},
		{"not a GUID", opp, "customerid", "account", "1) or (x", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, v, err := cat.Bind(tc.rt, tc.field, tc.target, tc.id)
			if (err != nil) != tc.wantErr || k != tc.wantKey || v != tc.wantValue {
				t.Fatalf("Bind = %q, %q, %v", k, v, err)
			}
		})
	}
}

func TestInvalidInputsNeverReachTheServer(t *testing.T) {
	f := newFake(t, canned{Status: 204})
	c := f.client(t)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"Get with a non-GUID id":    func() error { _, err := c.Get(ctx, "accounts", "x)/../y", crm.Query{}); return err },
		"Update with bad set":       func() error { return c.Update(ctx, "accounts/../x", accountID, "", nil) },
		"Assign to an unknown type": func() error { return c.Assign(ctx, "accounts", accountID, "queue", userID) },
		"ListMy with a bad user":    func() error { _, err := c.ListMy(ctx, &crm.RecordType{Name: "x"}, "me", "", 1); return err },
	} {
		t.Run(name, func(t *testing.T) {
			if call() == nil {
				t.Fatal("no error")
			}
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestNewClient(t *testing.T) {
	for _, tc := range []struct {
		url, org string // org "" → NewClient must refuse url
	}{
		{"https://org.crm.dynamics.com", "https://org.crm.dynamics.com"},
		{"https://org.crm.dynamics.com/", "https://org.crm.dynamics.com"},
		{"https://org.crm.dynamics.com/api/data/v9.2/", "https://org.crm.dynamics.com"},
		// A sandbox mounted under a path keeps it as a prefix of the Web API root.
		{"http://localhost:3978/sandbox", "http://localhost:3978/sandbox"},
		{"http://localhost:3978/sandbox/api/data/v9.2", "http://localhost:3978/sandbox"},
		{"org.crm.dynamics.com", ""},
		{"ftp://org", ""},
		{"https://org.crm.dynamics.com/?x=1", ""},
		{"https://user@org.crm.dynamics.com", ""},
	} {
		c, err := crm.NewClient(tc.url, nil)
		if (err == nil) != (tc.org != "") {
			t.Errorf("NewClient(%q) error = %v", tc.url, err)
		}
		if err == nil && c.OrgURL() != tc.org {
			t.Errorf("NewClient(%q).OrgURL = %q, want %q", tc.url, c.OrgURL(), tc.org)
		}
	}
}
