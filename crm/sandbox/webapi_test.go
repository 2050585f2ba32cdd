package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestWebAPIHeadersAndErrors(t *testing.T) {
	env := newOrgEnv(t, Options{})
	t.Run("WhoAmI follows the token", func(t *testing.T) {
		for _, path := range []string{"WhoAmI", "WhoAmI()"} {
			r := must(t, env.do(t, chloe.Email, http.MethodGet, path, nil), http.StatusOK)
			m := r.JSON(t)
			if m["UserId"] != chloe.ID || m["BusinessUnitId"] != BusinessUnitID || m["OrganizationId"] != DefaultOrgID {
				t.Fatalf("WhoAmI = %v", m)
			}
			if !strings.HasSuffix(m["@odata.context"].(string), "/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse") {
				t.Fatalf("context = %v", m["@odata.context"])
			}
			if r.Header.Get("OData-Version") != "4.0" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json; odata.metadata=minimal") {
				t.Fatalf("headers = %v", r.Header)
			}
		}
		m := must(t, env.do(t, asApp, http.MethodGet, "WhoAmI", nil), http.StatusOK).JSON(t)
		if m["UserId"] != AppUserID {
			t.Fatalf("app WhoAmI = %v", m)
		}
	})
	t.Run("no token: 401 with a Bearer challenge", func(t *testing.T) {
		r := must(t, env.do(t, "", http.MethodGet, "accounts", nil), http.StatusUnauthorized)
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer authorization_uri=") {
			t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("unknown entity set: 404 segment", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodGet, "foos", nil), http.StatusNotFound, "0x8006088a", "Resource not found for the segment 'foos'.")
	})
	t.Run("unknown property in $select", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodGet, "accounts?$select=name,x", nil), http.StatusBadRequest,
			"0x80060888", "Could not find a property named 'x' on type 'Microsoft.Dynamics.CRM.account'.")
	})
	t.Run("unknown property in $orderby", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodGet, "accounts?$orderby=nope%20desc", nil), http.StatusBadRequest,
			"0x80060888", "Could not find a property named 'nope'")
	})
	t.Run("$skip is not supported", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodGet, "accounts?$skip=10", nil), http.StatusBadRequest, "", "$skip")
	})
	t.Run("missing record: 404 Does Not Exist", func(t *testing.T) {
		id := "00000000-0000-0000-0000-000000000001"
		wantError(t, env.do(t, chloe.Email, http.MethodGet, "accounts("+id+")", nil), http.StatusNotFound,
			"0x80040217", "account With Id = "+id+" Does Not Exist")
	})
	t.Run("bad key: 400", func(t *testing.T) {
		must(t, env.do(t, chloe.Email, http.MethodGet, "accounts(not-a-guid)", nil), http.StatusBadRequest)
	})
	t.Run("wrong method: 405", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodPut, "accounts", nil), http.StatusMethodNotAllowed, "", "does not support http method 'PUT'")
	})
	t.Run("malformed JSON: 400", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "accounts", `{"name":`), http.StatusBadRequest, "", "not a valid JSON object")
	})
	t.Run("body too large: 413", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("a", maxBodyBytes) + `"}`
		must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", big), http.StatusRequestEntityTooLarge)
	})
	t.Run("type mismatch: 400", func(t *testing.T) {
		for _, body := range []string{`{"name":12}`, `{"numberofemployees":"many"}`, `{"numberofemployees":1.5}`,
			`{"creditonhold":"yes"}`, `{"revenue":"1"}`, `{"lastusedincampaign":"yesterday"}`, `{"address1_addressid":"x"}`} {
			wantError(t, env.do(t, chloe.Email, http.MethodPost, "accounts", body), http.StatusBadRequest, "", "Cannot convert the literal")
		}
	})
	t.Run("unknown property in body", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "accounts", `{"nom":"x"}`), http.StatusBadRequest,
			"0x80060888", "Could not find a property named 'nom' on type 'Microsoft.Dynamics.CRM.account'.")
	})
	t.Run("$metadata serves the CSDL", func(t *testing.T) {
		r := must(t, env.do(t, chloe.Email, http.MethodGet, "$metadata", nil), http.StatusOK)
		if r.Header.Get("Content-Type") != "application/xml" || !strings.Contains(string(r.Body), `EntitySet Name="accounts"`) {
			t.Fatalf("metadata: %s %s", r.Header.Get("Content-Type"), truncate(string(r.Body), 100))
		}
	})
}

func TestCreateReadUpdateDelete(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 5})
	var id string
	t.Run("create: 204 with OData-EntityId", func(t *testing.T) {
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": "Crème Brûlée SA", "revenue": 1250}), http.StatusNoContent)
		id = idFromEntityID(t, r.Header)
		if want := env.srv.URL + "/api/data/v9.2/accounts(" + id + ")"; r.Header.Get("OData-EntityId") != want {
			t.Fatalf("OData-EntityId = %q, want %q", r.Header.Get("OData-EntityId"), want)
		}
	})
	t.Run("system columns are maintained", func(t *testing.T) {
		rec, ok := env.sb.Record("accounts", id)
		if !ok {
			t.Fatal("record missing")
		}
		for k, want := range map[string]any{"_ownerid_value": chloe.ID, "_createdby_value": chloe.ID, "_modifiedby_value": chloe.ID,
			"_owninguser_value": chloe.ID, "_owningbusinessunit_value": BusinessUnitID, "statecode": int64(0), "statuscode": int64(1), "revenue_base": 1250.0} {
			if rec[k] != want {
				t.Errorf("%s = %v, want %v", k, rec[k], want)
			}
		}
		if rec["createdon"] == nil || rec["versionnumber"] == nil {
			t.Errorf("createdon/versionnumber missing: %v", rec)
		}
	})
	t.Run("read with $select: context, etag, id", func(t *testing.T) {
		r := must(t, env.do(t, chloe.Email, http.MethodGet, "accounts("+id+")?$select=name,revenue", nil), http.StatusOK)
		m := r.JSON(t)
		if m["name"] != "Crème Brûlée SA" || m["accountid"] != id || m["revenue"] != 1250.0 {
			t.Fatalf("body = %v", m)
		}
		if !strings.HasSuffix(m["@odata.context"].(string), "$metadata#accounts(name,revenue)/$entity") {
			t.Fatalf("context = %v", m["@odata.context"])
		}
		rec, _ := env.sb.Record("accounts", id)
		if m["@odata.etag"] != fmt.Sprintf(`W/"%d"`, rec["versionnumber"]) {
			t.Fatalf("etag = %v", m["@odata.etag"])
		}
		if _, has := m["telephone1"]; has {
			t.Fatalf("unselected column returned: %v", m)
		}
	})
	t.Run("create with return=representation: 201 and body", func(t *testing.T) {
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "contacts?$select=fullname,firstname", map[string]any{
			"firstname": "Zoë", "lastname": "O'Connor", "parentcustomerid_account@odata.bind": "/accounts(" + id + ")",
		}, "Prefer", "return=representation"), http.StatusCreated)
		m := r.JSON(t)
		if m["fullname"] != "Zoë O'Connor" || m["contactid"] == nil || m["@odata.etag"] == nil {
			t.Fatalf("body = %v", m)
		}
		if !strings.HasSuffix(m["@odata.context"].(string), "#contacts(fullname,firstname)/$entity") {
			t.Fatalf("context = %v", m["@odata.context"])
		}
		if r.Header.Get("Preference-Applied") != "return=representation" {
			t.Fatalf("Preference-Applied = %q", r.Header.Get("Preference-Applied"))
		}
		rec, _ := env.sb.Record("contacts", m["contactid"].(string))
		if rec["_parentcustomerid_value"] != id {
			t.Fatalf("parentcustomerid = %v", rec["_parentcustomerid_value"])
		}
	})
	t.Run("bind: absolute URL accepted", func(t *testing.T) {
		must(t, env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{
			"lastname": "Abs", "parentcustomerid_account@odata.bind": env.srv.URL + "/api/data/v9.2/accounts(" + id + ")"}), http.StatusNoContent)
	})
	t.Run("bind: wrong target set is rejected", func(t *testing.T) {
		must(t, env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{
			"lastname": "X", "parentcustomerid_account@odata.bind": "/contacts(" + id + ")"}), http.StatusBadRequest)
	})
	t.Run("bind: missing target is 404", func(t *testing.T) {
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{
			"lastname": "X", "parentcustomerid_account@odata.bind": "/accounts(00000000-0000-0000-0000-0000000000aa)"}),
			http.StatusNotFound, "0x80040217", "Does Not Exist")
	})
	t.Run("bind: unknown nav", func(t *testing.T) {
		must(t, env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{"lastname": "X", "nope@odata.bind": "/accounts(" + id + ")"}), http.StatusBadRequest)
	})
	t.Run("client-supplied key and duplicate", func(t *testing.T) {
		key := "11111111-2222-4333-8444-555555555555"
		must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"accountid": key, "name": "Keyed"}), http.StatusNoContent)
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"accountid": key, "name": "Again"}),
			http.StatusPreconditionFailed, "0x80040237", "A record with matching key values already exists.")
	})
	t.Run("update: 204 then stale If-Match 412", func(t *testing.T) {
		before, _ := env.sb.Record("accounts", id)
		stale := fmt.Sprintf(`W/"%d"`, before["versionnumber"])
		must(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+id+")", map[string]any{"telephone1": "+33 1 00"}, "If-Match", stale), http.StatusNoContent)
		wantError(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+id+")", map[string]any{"telephone1": "+33 1 01"}, "If-Match", stale),
			http.StatusPreconditionFailed, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided.")
	})
	t.Run("update with representation: 200", func(t *testing.T) {
		m := must(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+id+")?$select=telephone1", map[string]any{"telephone1": "+33 1 02"},
			"Prefer", "return=representation"), http.StatusOK).JSON(t)
		if m["telephone1"] != "+33 1 02" {
			t.Fatalf("body = %v", m)
		}
	})
	t.Run("upsert creates, If-Match * does not", func(t *testing.T) {
		newID := "22222222-3333-4444-8555-666666666666"
		wantError(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+newID+")", map[string]any{"name": "U"}, "If-Match", "*"),
			http.StatusNotFound, "0x80040217", "Does Not Exist")
		must(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+newID+")", map[string]any{"name": "U"}), http.StatusNoContent)
		if _, ok := env.sb.Record("accounts", newID); !ok {
			t.Fatal("upsert did not create")
		}
		wantError(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+newID+")", map[string]any{"name": "V"}, "If-None-Match", "*"),
			http.StatusPreconditionFailed, "0x80040237", "A record with matching key values already exists.")
	})
	t.Run("delete: 204 then 404", func(t *testing.T) {
		must(t, env.do(t, chloe.Email, http.MethodDelete, "accounts("+id+")", nil), http.StatusNoContent)
		must(t, env.do(t, chloe.Email, http.MethodDelete, "accounts("+id+")", nil), http.StatusNotFound)
	})
	t.Run("incident gets a ticket number, activities a type code", func(t *testing.T) {
		acc := env.sb.RecordIDs("accounts")[0]
		r := must(t, env.do(t, sean.Email, http.MethodPost, "incidents", map[string]any{"title": "Broken", "customerid_account@odata.bind": "/accounts(" + acc + ")"}), http.StatusNoContent)
		rec, _ := env.sb.Record("incidents", idFromEntityID(t, r.Header))
		if tn, _ := rec["ticketnumber"].(string); !strings.HasPrefix(tn, "CAS-") {
			t.Fatalf("ticketnumber = %v", rec["ticketnumber"])
		}
		r = must(t, env.do(t, sean.Email, http.MethodPost, "tasks", map[string]any{"subject": "Call back", "regardingobjectid_account_task@odata.bind": "/accounts(" + acc + ")"}), http.StatusNoContent)
		rec, _ = env.sb.Record("tasks", idFromEntityID(t, r.Header))
		if rec["activitytypecode"] != "task" || rec["statecode"] != int64(0) || rec["statuscode"] != int64(2) || rec["_regardingobjectid_value"] != acc {
			t.Fatalf("task = %v", rec)
		}
	})
}
