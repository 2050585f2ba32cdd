package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/crm/internal/odata"
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

// TestQueryBinding pins the errors of queries checked against the schema, as
// Dataverse reports them when it binds a query, and what binding accepts.
func TestQueryBinding(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 2})
	const mismatch = "A binary operator with incompatible types was detected. Found operand types "
	for _, tc := range []struct {
		name, path string
		status     int
		code, msg  string
	}{
		{"UnknownInFilter", "accounts?$filter=nope eq 1", 400, "0x80060888", "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.account'."},
		{"UnknownInFunction", "accounts?$filter=name eq 'a' or contains(nmae,'a')", 400, "0x80060888", "Could not find a property named 'nmae' on type 'Microsoft.Dynamics.CRM.account'."},
		{"UnknownPath", "accounts?$filter=primarycontactid/fullname eq 'a'", 400, "0x80060888", "Could not find a property named 'primarycontactid/fullname' on type 'Microsoft.Dynamics.CRM.account'."},
		{"UnknownInExpandFilter", "accounts?$expand=contact_customer_accounts($filter=nope eq 1)", 400, "0x80060888", "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.contact'."},
		{"UnknownInExpandOrderBy", "accounts?$expand=contact_customer_accounts($orderby=nope)", 400, "0x80060888", "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.contact'."},
		{"UnknownInExpandSelect", "accounts?$expand=primarycontactid($select=nope)", 400, "0x80060888", "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.contact'."},
		{"UnknownNav", "accounts?$expand=nope", 400, "0x80060888", "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.account'."},
		{"StringVsInt", "accounts?$filter=name eq 1", 400, "0x80060888", mismatch + "'Edm.String' and 'Edm.Int32' for operator kind 'Equal'."},
		{"IntVsDecimal", "accounts?$filter=statecode eq 1.5", 400, "0x80060888", mismatch + "'Edm.Int32' and 'Edm.Decimal' for operator kind 'Equal'."},
		{"LookupVsString", "accounts?$filter=_ownerid_value eq '" + chloe.ID + "'", 400, "0x80060888", mismatch + "'Edm.Guid' and 'Edm.String' for operator kind 'Equal'."},
		{"BoolVsString", "accounts?$filter=creditonhold ne 'true'", 400, "0x80060888", mismatch + "'Edm.Boolean' and 'Edm.String' for operator kind 'NotEqual'."},
		{"DateVsString", "opportunities?$filter=estimatedclosedate ge '2026-01-01'", 400, "0x80060888", mismatch + "'Edm.Date' and 'Edm.String' for operator kind 'GreaterThanOrEqual'."},
		{"DateVsDateTime", "opportunities?$filter=estimatedclosedate lt 2026-01-01T00:00:00Z", 400, "0x80060888", mismatch + "'Edm.Date' and 'Edm.DateTimeOffset' for operator kind 'LessThan'."},
		{"ExpandFilterMismatch", "accounts?$expand=contact_customer_accounts($filter=fullname gt 2)", 400, "0x80060888", mismatch + "'Edm.String' and 'Edm.Int32' for operator kind 'GreaterThan'."},
		{"ContainsOnNumber", "accounts?$filter=contains(statecode,'1')", 400, "0x80060888", "No function signature for the function with name 'contains' matches the specified arguments."},
		{"ContainsOnLookup", "accounts?$filter=startswith(_ownerid_value,'0')", 400, "0x80060888", "No function signature for the function with name 'startswith' matches the specified arguments."},
		{"Syntax", "accounts?$filter=name eq", 400, "0x80060888", "Expression expected at position 7 in 'name eq'."},
		{"UnsupportedFunction", "accounts?$filter=tolower(name) eq 'a'", 400, "0x80060888", "function tolower is not supported by the sandbox"},
		{"TopZero", "accounts?$top=0", 400, "0x80060888", "Invalid value '0' for $top query option found."},
		{"Repeated", "accounts?$top=1&$top=2", 400, "0x80060888", "Query option '$top' was specified more than once"},
		{"Apply", "accounts?$apply=groupby((name))", 501, codeNotImplemented, "The query option $apply is not supported by the sandbox."},
		{"ApplyAnyCase", "accounts?$APPLY=groupby((name))", 501, codeNotImplemented, "The query option $apply is not supported by the sandbox."},
		{"FilterOnSingleValuedExpand", "accounts?$expand=primarycontactid($filter=fullname eq 'a')", 400, codeBadRequest, "Only $select is supported for single-valued navigation property 'primarycontactid'"},
		{"MetadataUnknownInFilter", "EntityDefinitions?$filter=Nope eq 1", 400, "0x80060888", "Could not find a property named 'Nope' on type 'Microsoft.Dynamics.CRM.EntityMetadata'."},
		{"MetadataUnknownInSelect", "EntityDefinitions?$select=LogicalName,Nope", 400, "0x80060888", "Could not find a property named 'Nope' on type 'Microsoft.Dynamics.CRM.EntityMetadata'."},
		{"MetadataMismatch", "EntityDefinitions?$filter=ObjectTypeCode eq 'x'", 400, "0x80060888", mismatch + "'Edm.Int64' and 'Edm.String' for operator kind 'Equal'."},
		{"MetadataSyntax", "EntityDefinitions?$filter=LogicalName eq account", 400, "0x80060888", "comparing two properties ('LogicalName' and 'account') is not supported by the sandbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			u.RawQuery = u.Query().Encode()
			wantError(t, env.do(t, chloe.Email, http.MethodGet, u.String(), nil), tc.status, tc.code, tc.msg)
		})
	}
	for _, path := range []string{
		"accounts?$filter=" + url.QueryEscape("revenue gt 1 and revenue lt 1.5e12 and creditonhold eq false"), // integers fit decimals
		"accounts?$filter=" + url.QueryEscape("createdon lt 2100-01-01 and modifiedon gt 2000-01-01T00:00:00+01:00"),
		"accounts?$filter=" + url.QueryEscape("_ownerid_value eq "+strings.ToUpper(chloe.ID)+" or _parentaccountid_value eq null"),
		"opportunities?$filter=" + url.QueryEscape("estimatedclosedate ge 2000-01-01"),
		"accounts?$select=name&$format=json&$filter=&$orderby=", // empty $filter and $orderby are absent, as in ODL
		"accounts?$SELECT=name&$Top=1",
		"EntityDefinitions?$filter=" + url.QueryEscape("LogicalName eq 'ACCOUNT' or ObjectTypeCode eq 2"),
	} {
		must(t, env.do(t, chloe.Email, http.MethodGet, path, nil), http.StatusOK)
	}
}

// TestFilterSemantics checks the Dataverse semantics the sandbox gets from
// crm/internal/odata: LIKE wildcards, the accent- and case-insensitive
// collation, ne matching null, and $orderby agreeing with gt/lt for paging.
func TestFilterSemantics(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 20})
	create := func(body map[string]any) string {
		t.Helper()
		return idFromEntityID(t, must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", body), http.StatusNoContent).Header)
	}
	percent := create(map[string]any{"name": "Remise 50%_off", "accountnumber": "X-1"})
	spaced := create(map[string]any{"name": "Remise 50 percent off"})
	creme := create(map[string]any{"name": "Crème Brûlée SA", "accountnumber": "X-2"})
	ids := func(t *testing.T, filter string) map[string]bool {
		t.Helper()
		m := must(t, env.do(t, chloe.Email, http.MethodGet, "accounts?$select=name&$filter="+url.QueryEscape(filter), nil), http.StatusOK).JSON(t)
		out := map[string]bool{}
		for _, r := range rowsOf(m) {
			out[r["accountid"].(string)] = true
		}
		return out
	}
	for _, tc := range []struct {
		filter  string
		in, out []string
	}{
		{filter: "contains(name,'50%off')", in: []string{percent, spaced}}, // % is a wildcard
		{filter: "contains(name,'50[%]_off')", in: []string{percent}, out: []string{spaced}},
		{filter: "contains(name,'50[%][_]off')", in: []string{percent}, out: []string{spaced}},
		{filter: "startswith(name,'remise 5_ ')", in: []string{spaced}, out: []string{percent}},
		{filter: "name eq 'CREME BRULEE SA'", in: []string{creme}},
		{filter: "endswith(name,'brulee sa')", in: []string{creme}},
		{filter: "accountnumber ne 'X-1'", in: []string{spaced, creme}, out: []string{percent}}, // null is "not equal"
		{filter: "not (accountnumber eq 'X-1')", in: []string{spaced, creme}, out: []string{percent}},
		{filter: "accountnumber gt 'X'", in: []string{percent, creme}, out: []string{spaced}}, // null never compares
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got := ids(t, tc.filter)
			for _, id := range tc.in {
				if !got[id] {
					t.Errorf("%s not matched", id)
				}
			}
			for _, id := range tc.out {
				if got[id] {
					t.Errorf("%s matched", id)
				}
			}
		})
	}
	t.Run("orderby a GUID pages in the order gt filters", func(t *testing.T) {
		var order []string
		next := "accounts?$select=name&$orderby=accountid"
		for next != "" {
			m := must(t, env.do(t, chloe.Email, http.MethodGet, next, nil, "Prefer", "odata.maxpagesize=7"), http.StatusOK).JSON(t)
			for _, r := range rowsOf(m) {
				order = append(order, r["accountid"].(string))
			}
			next, _ = m["@odata.nextLink"].(string)
		}
		if len(order) != 23 {
			t.Fatalf("paged %d rows, want 23", len(order))
		}
		for i, id := range order {
			after := ids(t, "accountid gt "+id)
			if len(after) != len(order)-i-1 {
				t.Fatalf("row %d: %d rows are gt it, but %d follow it", i, len(after), len(order)-i-1)
			}
			for _, later := range order[i+1:] {
				if !after[later] {
					t.Fatalf("row %d: %s follows it but is not gt it", i, later)
				}
			}
		}
	})
}

// TestStoredValuesFitBoundFilters guards what matches relies on: every value
// the store holds is of a Go type that Eval compares with any literal
// checkFilter lets through for its property, so evaluation never errs.
func TestStoredValuesFitBoundFilters(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 5})
	literals := map[edmKind][]string{
		kindString:   {"'x'", "null"},
		kindInt32:    {"1"},
		kindInt64:    {"1"},
		kindDecimal:  {"1", "0.5"},
		kindDouble:   {"1", "0.5"},
		kindBool:     {"true"},
		kindGuid:     {"00000000-0000-0000-0000-000000000001"},
		kindDateTime: {"2026-01-01T00:00:00Z", "2026-01-01"},
		kindDate:     {"2026-01-01"},
	}
	o := env.sb.org
	o.mu.RLock()
	defer o.mu.RUnlock()
	checked := 0
	for _, e := range o.schema.byName {
		for _, r := range o.tables[e.Name].rows {
			for prop, v := range r.attrs {
				kind := e.Props[prop]
				if v == nil || literals[kind] == nil {
					continue
				}
				filters := []string{"contains(" + prop + ",'x')"}
				for _, lit := range literals[kind] {
					filters = append(filters, prop+" gt "+lit)
				}
				for _, f := range filters {
					x, err := odata.ParseFilter(f)
					if err != nil {
						t.Fatal(err)
					}
					if checkFilter(e, x) != nil {
						continue // not a filter a request could bind
					}
					if _, err := x.Eval(r); err != nil {
						t.Fatalf("%s: %s on %T %v: %v", e.Name, f, v, v, err)
					}
					checked++
				}
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d evaluations checked", checked)
	}
}
