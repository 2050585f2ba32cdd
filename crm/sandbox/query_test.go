package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestQueries(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 30})
	get := func(t *testing.T, path string, headers ...string) map[string]any {
		t.Helper()
		return must(t, env.do(t, chloe.Email, http.MethodGet, path, nil, headers...), http.StatusOK).JSON(t)
	}
	values := func(m map[string]any) []map[string]any {
		var out []map[string]any
		for _, v := range m["value"].([]any) {
			out = append(out, v.(map[string]any))
		}
		return out
	}
	t.Run("default order is by id", func(t *testing.T) {
		rows := values(get(t, "accounts?$select=name"))
		if len(rows) != 30 {
			t.Fatalf("rows = %d", len(rows))
		}
		for i := 1; i < len(rows); i++ {
			if rows[i-1]["accountid"].(string) >= rows[i]["accountid"].(string) {
				t.Fatalf("not ordered by id at %d", i)
			}
		}
	})
	t.Run("filter my open records", func(t *testing.T) {
		rows := values(get(t, "opportunities?$select=name&$filter="+url.QueryEscape("_ownerid_value eq "+chloe.ID+" and statecode eq 0")))
		if len(rows) == 0 {
			t.Fatal("chloe owns no open opportunity")
		}
		for _, r := range rows {
			rec, _ := env.sb.Record("opportunities", r["opportunityid"].(string))
			if rec["_ownerid_value"] != chloe.ID || rec["statecode"] != int64(0) {
				t.Fatalf("row %v does not match", rec)
			}
		}
	})
	t.Run("filter with quote and functions", func(t *testing.T) {
		rows := values(get(t, "accounts?$select=name&$filter="+url.QueryEscape("name eq 'O''Brien Logistics' or startswith(name,'l''oréal') or contains(name, 'SÖHNE')")))
		if len(rows) != 3 {
			t.Fatalf("rows = %v", rows)
		}
	})
	t.Run("filter errors", func(t *testing.T) {
		for _, f := range []string{"nope eq 1", "name eq", "name eq 1", "(name eq 'a'", "statecode eq 'x'"} {
			must(t, env.do(t, chloe.Email, http.MethodGet, "accounts?$filter="+url.QueryEscape(f), nil), http.StatusBadRequest)
		}
	})
	t.Run("orderby and top", func(t *testing.T) {
		rows := values(get(t, "accounts?$select=name,revenue&$orderby="+url.QueryEscape("revenue desc,name")+"&$top=5"))
		if len(rows) != 5 {
			t.Fatalf("rows = %d", len(rows))
		}
		for i := 1; i < len(rows); i++ {
			if rows[i-1]["revenue"].(float64) < rows[i]["revenue"].(float64) {
				t.Fatalf("not descending: %v", rows)
			}
		}
	})
	t.Run("count", func(t *testing.T) {
		m := get(t, "accounts?$select=name&$count=true&$top=2")
		if m["@odata.count"] != 30.0 || len(values(m)) != 2 {
			t.Fatalf("count = %v rows = %d", m["@odata.count"], len(values(m)))
		}
		r := must(t, env.do(t, chloe.Email, http.MethodGet, "accounts/$count", nil), http.StatusOK)
		if string(r.Body) != "30" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("$count = %q %q", r.Body, r.Header.Get("Content-Type"))
		}
	})
	t.Run("paging with maxpagesize follows nextLink to the end", func(t *testing.T) {
		for _, q := range []string{"accounts?$select=name", "accounts?$select=name&$orderby=" + url.QueryEscape("name desc") + "&$top=3"} {
			seen := map[string]bool{}
			next := q
			pages := 0
			for next != "" {
				r := must(t, env.do(t, chloe.Email, http.MethodGet, next, nil, "Prefer", "odata.maxpagesize=7"), http.StatusOK)
				if r.Header.Get("Preference-Applied") != "odata.maxpagesize=7" {
					t.Fatalf("Preference-Applied = %q", r.Header.Get("Preference-Applied"))
				}
				m := r.JSON(t)
				for _, row := range values(m) {
					id := row["accountid"].(string)
					if seen[id] {
						t.Fatalf("row %s twice", id)
					}
					seen[id] = true
				}
				next, _ = m["@odata.nextLink"].(string)
				if next != "" && !strings.Contains(next, "$skiptoken=") {
					t.Fatalf("nextLink = %s", next)
				}
				pages++
			}
			if len(seen) != 30 || pages != 5 {
				t.Fatalf("%s: rows = %d pages = %d", q, len(seen), pages)
			}
		}
	})
	t.Run("paging is stable under concurrent inserts", func(t *testing.T) {
		m := must(t, env.do(t, chloe.Email, http.MethodGet, "contacts?$select=fullname", nil, "Prefer", "odata.maxpagesize=10"), http.StatusOK).JSON(t)
		seen := map[string]bool{}
		for _, row := range values(m) {
			seen[row["contactid"].(string)] = true
		}
		for range 20 {
			must(t, env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{"lastname": "Inserted"}), http.StatusNoContent)
		}
		next := m["@odata.nextLink"].(string)
		for next != "" {
			m = must(t, env.do(t, chloe.Email, http.MethodGet, next, nil, "Prefer", "odata.maxpagesize=10"), http.StatusOK).JSON(t)
			for _, row := range values(m) {
				id := row["contactid"].(string)
				if seen[id] {
					t.Fatalf("row %s served twice", id)
				}
				seen[id] = true
			}
			next, _ = m["@odata.nextLink"].(string)
		}
		for _, id := range env.sb.RecordIDs("contacts")[:30] {
			_ = id
		}
		if len(seen) < 30 {
			t.Fatalf("lost rows: %d", len(seen))
		}
	})
	t.Run("bad skiptoken", func(t *testing.T) {
		must(t, env.do(t, chloe.Email, http.MethodGet, "accounts?$skiptoken=garbage", nil), http.StatusBadRequest)
	})
	t.Run("expand single-valued and collection navs", func(t *testing.T) {
		m := get(t, "contacts?$select=fullname&$top=3&$filter="+url.QueryEscape("_parentcustomerid_value ne null")+"&$expand="+url.QueryEscape("parentcustomerid_account($select=name),ownerid($select=fullname)"))
		for _, row := range values(m) {
			acc, ok := row["parentcustomerid_account"].(map[string]any)
			if !ok || acc["name"] == nil || acc["accountid"] == nil {
				t.Fatalf("expanded account = %v", row)
			}
			owner, ok := row["ownerid"].(map[string]any)
			if !ok {
				t.Fatalf("expanded owner = %v", row)
			}
			if _, isUser := owner["fullname"]; !isUser && owner["name"] == nil {
				t.Fatalf("owner = %v", owner)
			}
		}
		m = get(t, "accounts?$select=name&$expand="+url.QueryEscape("contact_customer_accounts($select=fullname;$top=5)"))
		found := false
		for _, row := range values(m) {
			cs := row["contact_customer_accounts"].([]any)
			if len(cs) > 5 {
				t.Fatalf("$top ignored: %d", len(cs))
			}
			found = found || len(cs) > 0
		}
		if !found {
			t.Fatal("no account has contacts")
		}
	})
	t.Run("annotations only when asked", func(t *testing.T) {
		id := env.firstOwned(t, "opportunities", chloe.ID, 0)
		plain := get(t, "opportunities("+id+")?$select=estimatedvalue,statecode,_ownerid_value")
		for k := range plain {
			if strings.Contains(k, "@OData.Community") {
				t.Fatalf("unrequested annotation %s", k)
			}
		}
		r := must(t, env.do(t, chloe.Email, http.MethodGet, "opportunities("+id+")?$select=estimatedvalue,statecode,_ownerid_value,_customerid_value,estimatedclosedate,createdon", nil,
			"Prefer", `odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname,Microsoft.Dynamics.CRM.associatednavigationproperty"`), http.StatusOK)
		if !strings.HasPrefix(r.Header.Get("Preference-Applied"), `odata.include-annotations="OData.Community.Display.V1.FormattedValue,`) {
			t.Fatalf("Preference-Applied = %q", r.Header.Get("Preference-Applied"))
		}
		m := r.JSON(t)
		checks := map[string]any{
			"statecode@OData.Community.Display.V1.FormattedValue":                   "Open",
			"_ownerid_value@OData.Community.Display.V1.FormattedValue":              chloe.FullName(),
			"_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":               "systemuser",
			"_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty":    "ownerid",
			"_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":            "account",
			"_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "customerid_account",
		}
		for k, want := range checks {
			if m[k] != want {
				t.Errorf("%s = %v, want %v", k, m[k], want)
			}
		}
		if s, _ := m["estimatedvalue@OData.Community.Display.V1.FormattedValue"].(string); !strings.HasPrefix(s, "$") || !strings.Contains(s, ".") {
			t.Errorf("money formatted = %q", s)
		}
		if s, _ := m["createdon@OData.Community.Display.V1.FormattedValue"].(string); !strings.HasSuffix(s, "M") {
			t.Errorf("date formatted = %q", s)
		}
		only := get(t, "opportunities("+id+")?$select=statecode,_ownerid_value", "Prefer", `odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"`)
		if only["statecode@OData.Community.Display.V1.FormattedValue"] != nil || only["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] != "systemuser" {
			t.Fatalf("only lookuplogicalname wanted: %v", only)
		}
		star := get(t, "phonecalls?$select=directioncode&$top=3", "Prefer", `odata.include-annotations="*"`)
		for _, row := range values(star) {
			if s := row["directioncode@OData.Community.Display.V1.FormattedValue"]; s != "Incoming" && s != "Outgoing" {
				t.Fatalf("directioncode formatted = %v", s)
			}
		}
	})
	t.Run("multiple Prefer headers", func(t *testing.T) {
		r := must(t, env.do(t, chloe.Email, http.MethodGet, "accounts?$select=statecode", nil,
			"Prefer", "odata.maxpagesize=3", "Prefer", `odata.include-annotations="*"`), http.StatusOK)
		ap := r.Header.Get("Preference-Applied")
		if !strings.Contains(ap, "odata.maxpagesize=3") || !strings.Contains(ap, `odata.include-annotations="*"`) {
			t.Fatalf("Preference-Applied = %q", ap)
		}
	})
	t.Run("property and $value", func(t *testing.T) {
		id := env.sb.RecordIDs("accounts")[0]
		m := get(t, "accounts("+id+")/name")
		rec, _ := env.sb.Record("accounts", id)
		if m["value"] != rec["name"] {
			t.Fatalf("property = %v", m)
		}
		r := must(t, env.do(t, chloe.Email, http.MethodGet, "accounts("+id+")/name/$value", nil), http.StatusOK)
		if string(r.Body) != rec["name"] {
			t.Fatalf("$value = %q", r.Body)
		}
	})
	t.Run("team membership both ways", func(t *testing.T) {
		m := get(t, "teams("+SalesTeamID+")/teammembership_association?$select=fullname")
		if n := len(values(m)); n != 3 {
			t.Fatalf("sales members = %d", n)
		}
		m = get(t, "systemusers("+manager.ID+")/teammembership_association?$select=name")
		if n := len(values(m)); n != 2 {
			t.Fatalf("manager teams = %d", n)
		}
	})
	t.Run("metadata start-up checks", func(t *testing.T) {
		m := get(t, "EntityDefinitions?$filter="+url.QueryEscape("ChangeTrackingEnabled eq true")+"&$select=LogicalName")
		if len(values(m)) < 8 {
			t.Fatalf("tracked entities = %v", m)
		}
		one := get(t, "EntityDefinitions(LogicalName='account')?$select=LogicalName,ChangeTrackingEnabled")
		if one["LogicalName"] != "account" || one["ChangeTrackingEnabled"] != true {
			t.Fatalf("definition = %v", one)
		}
		org := get(t, "organizations?$select=expirechangetrackingindays")
		if values(org)[0]["expirechangetrackingindays"] != 7.0 {
			t.Fatalf("organizations = %v", org)
		}
	})
}

func TestChangeTrackingDisabledInMetadata(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: -1, ChangeTrackingDisabled: []string{"lead"}})
	m := must(t, env.do(t, asApp, http.MethodGet, "EntityDefinitions?$filter="+url.QueryEscape("ChangeTrackingEnabled eq true")+"&$select=LogicalName", nil), http.StatusOK).JSON(t)
	for _, v := range m["value"].([]any) {
		if v.(map[string]any)["LogicalName"] == "lead" {
			t.Fatal("lead listed as tracked")
		}
	}
	wantError(t, env.do(t, asApp, http.MethodGet, "leads?$select=fullname", nil, "Prefer", "odata.track-changes"), http.StatusBadRequest, "", "not enabled for change tracking")
}
