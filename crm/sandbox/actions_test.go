package sandbox

import (
	"net/http"
	"strings"
	"testing"
)

func TestRecordSecurity(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 20})
	jonasAccount := env.firstOwned(t, "accounts", jonas.ID, 0)
	t.Run("everyone reads everything", func(t *testing.T) {
		must(t, env.do(t, sean.Email, http.MethodGet, "accounts("+jonasAccount+")", nil), http.StatusOK)
	})
	t.Run("update of another user's record: 403", func(t *testing.T) {
		wantError(t, env.do(t, sean.Email, http.MethodPatch, "accounts("+jonasAccount+")", map[string]any{"name": "x"}), http.StatusForbidden,
			"0x80040220", "is missing prvWriteAccount privilege")
		wantError(t, env.do(t, sean.Email, http.MethodDelete, "accounts("+jonasAccount+")", nil), http.StatusForbidden, "0x80040220", "prvDeleteAccount")
	})
	t.Run("owner, manager and app may write", func(t *testing.T) {
		for _, who := range []string{jonas.Email, manager.Email, asApp} {
			must(t, env.do(t, who, http.MethodPatch, "accounts("+jonasAccount+")", map[string]any{"telephone2": who}), http.StatusNoContent)
		}
	})
	t.Run("team members write team-owned records", func(t *testing.T) {
		var teamAccount string
		for _, id := range env.sb.RecordIDs("accounts") {
			if r, _ := env.sb.Record("accounts", id); r["_ownerid_value"] == SalesTeamID {
				teamAccount = id
				break
			}
		}
		if teamAccount == "" {
			t.Fatal("no team-owned account in the seed")
		}
		must(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+teamAccount+")", map[string]any{"fax": "1"}), http.StatusNoContent)
		must(t, env.do(t, sean.Email, http.MethodPatch, "accounts("+teamAccount+")", map[string]any{"fax": "2"}), http.StatusForbidden)
	})
	t.Run("assign by ownerid bind", func(t *testing.T) {
		id := env.firstOwned(t, "leads", chloe.ID, 0)
		must(t, env.do(t, chloe.Email, http.MethodPatch, "leads("+id+")", map[string]any{"ownerid@odata.bind": "/teams(" + SalesTeamID + ")"}), http.StatusNoContent)
		r, _ := env.sb.Record("leads", id)
		if r["_ownerid_value"] != SalesTeamID || r["_owningteam_value"] != SalesTeamID || r["_owninguser_value"] != nil {
			t.Fatalf("after team assign: %v", r)
		}
		must(t, env.do(t, chloe.Email, http.MethodPatch, "leads("+id+")", map[string]any{"ownerid@odata.bind": "/systemusers(" + jonas.ID + ")"}), http.StatusNoContent)
		r, _ = env.sb.Record("leads", id)
		if r["_ownerid_value"] != jonas.ID || r["_owninguser_value"] != jonas.ID || r["_owningteam_value"] != nil {
			t.Fatalf("after user assign: %v", r)
		}
		must(t, env.do(t, chloe.Email, http.MethodPatch, "leads("+id+")", map[string]any{"ownerid@odata.bind": "/systemusers(" + chloe.ID + ")"}), http.StatusForbidden)
		must(t, env.do(t, chloe.Email, http.MethodPatch, "leads("+id+")", map[string]any{"ownerid@odata.bind": "/accounts(" + jonasAccount + ")"}), http.StatusBadRequest)
	})
	t.Run("creating is allowed to all", func(t *testing.T) {
		must(t, env.do(t, sean.Email, http.MethodPost, "accounts", map[string]any{"name": "By Seán"}), http.StatusNoContent)
	})
}

func TestStateTransitions(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 20})
	patch := func(t *testing.T, set, id string, body map[string]any) apiResponse {
		t.Helper()
		return env.do(t, manager.Email, http.MethodPatch, set+"("+id+")", body)
	}
	cases := []struct {
		name, set string
		body      map[string]any
		status    int
		msg       string
	}{
		{"complete a task", "tasks", map[string]any{"statecode": 1, "statuscode": 5}, 204, ""},
		{"complete a phone call as received", "phonecalls", map[string]any{"statecode": 1, "statuscode": 4}, 204, ""},
		{"cancel an appointment", "appointments", map[string]any{"statecode": 2, "statuscode": 4}, 204, ""},
		{"disqualify a lead", "leads", map[string]any{"statecode": 2, "statuscode": 6}, 204, ""},
		{"status of another state", "tasks", map[string]any{"statecode": 1, "statuscode": 6}, 400, "6 is not a valid status code for state code TaskState.Completed on task with Id"},
		{"opportunity cannot be won by PATCH", "opportunities", map[string]any{"statecode": 1, "statuscode": 3}, 400, "use the WinOpportunityRequest message instead"},
		{"incident cannot be resolved by PATCH", "incidents", map[string]any{"statecode": 1, "statuscode": 5}, 400, "use the CloseIncidentRequest message instead"},
		{"lead cannot be qualified by PATCH", "leads", map[string]any{"statecode": 1, "statuscode": 3}, 400, "QualifyLeadRequest"},
		{"account inactive", "accounts", map[string]any{"statecode": 1}, 204, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			owner := chloe.ID
			if c.set == "incidents" {
				owner = sean.ID
			}
			id := env.firstOwned(t, c.set, owner, map[string]int{"appointments": 3}[c.set])
			r := patch(t, c.set, id, c.body)
			if c.status == 204 {
				must(t, r, 204)
				rec, _ := env.sb.Record(c.set, id)
				if want, ok := c.body["statecode"]; ok && rec["statecode"] != int64(want.(int)) {
					t.Fatalf("statecode = %v", rec["statecode"])
				}
				return
			}
			wantError(t, r, c.status, "", c.msg)
		})
	}
	t.Run("closed activity is read-only but can be reopened", func(t *testing.T) {
		id := env.firstOwned(t, "tasks", chloe.ID, 1)
		wantError(t, patch(t, "tasks", id, map[string]any{"subject": "edit"}), 400, "0x80043b09", "read-only")
		must(t, patch(t, "tasks", id, map[string]any{"statecode": 0, "statuscode": 3}), 204)
		must(t, patch(t, "tasks", id, map[string]any{"subject": "edit"}), 204)
	})
	t.Run("create cannot start closed", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": "x", "statecode": 1, "statuscode": 2}),
			400, "0x80048408", "2 is not a valid status code for state code AccountState.Active on account with Id")
	})
}

func TestActions(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 20})
	t.Run("CloseIncident resolves and records the resolution", func(t *testing.T) {
		id := env.firstOwned(t, "incidents", sean.ID, 0)
		before := env.sb.CountRecords("incidentresolutions")
		must(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{
			"IncidentResolution": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.incidentresolution", "subject": "Fixed",
				"incidentid@odata.bind": "/incidents(" + id + ")", "timespent": 60, "description": "Replaced the cable"},
			"Status": -1}), http.StatusNoContent)
		rec, _ := env.sb.Record("incidents", id)
		if rec["statecode"] != int64(1) || rec["statuscode"] != int64(5) {
			t.Fatalf("incident = %v/%v", rec["statecode"], rec["statuscode"])
		}
		if env.sb.CountRecords("incidentresolutions") != before+1 {
			t.Fatal("no incidentresolution")
		}
		wantError(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{
			"IncidentResolution": map[string]any{"subject": "Again", "incidentid@odata.bind": "/incidents(" + id + ")"}, "Status": 5}),
			http.StatusBadRequest, "", "already been resolved")
		wantError(t, env.do(t, sean.Email, http.MethodPatch, "incidents("+id+")", map[string]any{"title": "edit"}), 400, "", "already been resolved")
	})
	t.Run("CloseIncident validation", func(t *testing.T) {
		id := env.firstOwned(t, "incidents", sean.ID, 0)
		res := map[string]any{"subject": "x", "incidentid@odata.bind": "/incidents(" + id + ")"}
		wantError(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{"IncidentResolution": res, "Status": 3}), 400, "", "not a valid status code")
		wantError(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{"IncidentResolution": res}), 400, "", "'Status' is required")
		wantError(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{"IncidentResolution": res, "Status": 5, "Extra": 1}), 400, "", "not a valid parameter")
		wantError(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{"IncidentResolution": res, "Status": "5"}), 400, "", "Cannot convert")
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "CloseIncident", map[string]any{"IncidentResolution": res, "Status": 5}), 403, "0x80040220", "")
		must(t, env.do(t, sean.Email, http.MethodGet, "CloseIncident", nil), http.StatusMethodNotAllowed)
	})
	t.Run("WinOpportunity", func(t *testing.T) {
		id := env.firstOwned(t, "opportunities", chloe.ID, 0)
		must(t, env.do(t, chloe.Email, http.MethodPost, "WinOpportunity", map[string]any{"Status": 3, "OpportunityClose": map[string]any{
			"subject": "Won", "opportunityid@odata.bind": "/opportunities(" + id + ")", "actualrevenue": 12500, "actualend": "2026-11-24", "description": "Signed"}}),
			http.StatusNoContent)
		rec, _ := env.sb.Record("opportunities", id)
		if rec["statecode"] != int64(1) || rec["statuscode"] != int64(3) || rec["actualvalue"] != 12500.0 || rec["actualclosedate"] != "2026-11-24" {
			t.Fatalf("opportunity = %v", rec)
		}
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "LoseOpportunity", map[string]any{"Status": 4, "OpportunityClose": map[string]any{
			"subject": "Lost", "opportunityid@odata.bind": "/opportunities(" + id + ")"}}), 400, "", "already closed")
	})
	t.Run("LoseOpportunity with competitor, and wrong status", func(t *testing.T) {
		id := env.firstOwned(t, "opportunities", jonas.ID, 0)
		comp := env.sb.RecordIDs("competitors")[0]
		wantError(t, env.do(t, jonas.Email, http.MethodPost, "LoseOpportunity", map[string]any{"Status": 3, "OpportunityClose": map[string]any{
			"subject": "Lost", "opportunityid@odata.bind": "/opportunities(" + id + ")"}}), 400, "", "OpportunityState.Lost")
		must(t, env.do(t, jonas.Email, http.MethodPost, "LoseOpportunity", map[string]any{"Status": -1, "OpportunityClose": map[string]any{
			"subject": "Lost", "opportunityid@odata.bind": "/opportunities(" + id + ")", "competitorid@odata.bind": "/competitors(" + comp + ")"}}), http.StatusNoContent)
		rec, _ := env.sb.Record("opportunities", id)
		if rec["statecode"] != int64(2) || rec["statuscode"] != int64(4) {
			t.Fatalf("opportunity = %v", rec)
		}
	})
	t.Run("QualifyLead creates account, contact and opportunity", func(t *testing.T) {
		id := env.firstOwned(t, "leads", chloe.ID, 0)
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "leads("+id+")/Microsoft.Dynamics.CRM.QualifyLead", map[string]any{
			"CreateAccount": true, "CreateContact": true, "CreateOpportunity": true, "Status": 3,
			"OpportunityCurrencyId": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.transactioncurrency", "transactioncurrencyid": USDCurrencyID},
		}), http.StatusOK)
		m := r.JSON(t)
		if !strings.HasSuffix(m["@odata.context"].(string), "$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)") {
			t.Fatalf("context = %v", m["@odata.context"])
		}
		vals := m["value"].([]any)
		if len(vals) != 3 {
			t.Fatalf("value = %v", vals)
		}
		acc := vals[0].(map[string]any)
		opp := vals[2].(map[string]any)
		if acc["@odata.type"] != "#Microsoft.Dynamics.CRM.account" || opp["@odata.type"] != "#Microsoft.Dynamics.CRM.opportunity" {
			t.Fatalf("types = %v", vals)
		}
		lead, _ := env.sb.Record("leads", id)
		account, _ := env.sb.Record("accounts", acc["accountid"].(string))
		o, _ := env.sb.Record("opportunities", opp["opportunityid"].(string))
		if lead["statecode"] != int64(1) || lead["statuscode"] != int64(3) || account["name"] != lead["companyname"] ||
			account["_originatingleadid_value"] != id || o["_customerid_value"] != acc["accountid"] || o["name"] != lead["subject"] {
			t.Fatalf("lead %v\naccount %v\nopp %v", lead, account, o)
		}
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "leads("+id+")/Microsoft.Dynamics.CRM.QualifyLead", map[string]any{
			"CreateAccount": false, "CreateContact": false, "CreateOpportunity": false, "Status": 3}), 400, "", "already closed")
	})
}
