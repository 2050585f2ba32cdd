package crm_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/crmbot/crmbot/crm"
)

func TestRecordAccessors(t *testing.T) {
	body := `{
		"@odata.context":"x#opportunities(name)/$entity",
		"@odata.etag":"W/\"1234\"",
		"opportunityid":"` + oppID + `",
		"name":"Café O'Brien",
		"estimatedvalue":12345678901.2345,
		"estimatedvalue@OData.Community.Display.V1.FormattedValue":"$12,345,678,901.23",
		"closeprobability":40,
		"isprivate":false,
		"estimatedclosedate":"2026-11-24",
		"modifiedon":"2026-01-02T03:04:05Z",
		"modifiedon@OData.Community.Display.V1.FormattedValue":"1/2/2026 3:04 AM",
		"statecode":0,
		"statecode@OData.Community.Display.V1.FormattedValue":"Open",
		"_customerid_value":"` + accountID + `",
		"_customerid_value@OData.Community.Display.V1.FormattedValue":"Contoso",
		"_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty":"customerid_account",
		"_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"account",
		"_parentcontactid_value":null
	}`
	f := newFake(t, canned{Body: body})
	r, err := f.client(t).Get(context.Background(), "opportunities", oppID, crm.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != oppID || r.ETag != `W/"1234"` {
		t.Errorf("ID, ETag = %q, %q", r.ID, r.ETag)
	}
	for k := range r.Values {
		for i := range len(k) {
			if k[i] == '@' {
				t.Errorf("annotation %q left in Values", k)
			}
		}
	}
	if n, ok := r.Number("estimatedvalue"); !ok || n != json.Number("12345678901.2345") {
		t.Errorf("Number = %q (money must keep every digit)", n)
	}
	if v, ok := r.Float("estimatedvalue"); !ok || v != 12345678901.2345 {
		t.Errorf("Float = %v", v)
	}
	if v, ok := r.Int("closeprobability"); !ok || v != 40 {
		t.Errorf("Int = %v %v", v, ok)
	}
	if _, ok := r.Int("estimatedvalue"); ok {
		t.Error("Int of a fraction should fail")
	}
	if v, ok := r.Bool("isprivate"); !ok || v {
		t.Errorf("Bool = %v %v", v, ok)
	}
	if v, ok := r.Time("estimatedclosedate"); !ok || !v.Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time(date) = %v", v)
	}
	if v, ok := r.Time("modifiedon"); !ok || !v.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("Time = %v", v)
	}
	if ref, ok := r.Lookup("customerid"); !ok || ref != (crm.Ref{Type: "account", ID: accountID, Name: "Contoso"}) {
		t.Errorf("Lookup = %+v %v", ref, ok)
	}
	if _, ok := r.Lookup("parentcontactid"); ok {
		t.Error("null lookup should be absent")
	}
	for attr, want := range map[string]string{
		"statecode": "Open", "closeprobability": "40", "customerid": "Contoso", "_customerid_value": "Contoso",
		"name": "Café O'Brien", "parentcontactid": "", "missing": "",
	} {
		if got := r.Display(attr); got != want {
			t.Errorf("Display(%s) = %q, want %q", attr, got, want)
		}
	}
	if got := r.String("estimatedvalue"); got != "12345678901.2345" {
		t.Errorf("String(money) = %q", got)
	}
}

func TestFilterHelpers(t *testing.T) {
	rt, _ := crm.DefaultCatalog().Type("contact")
	for _, tc := range []struct {
		name string
		f    crm.Filter
		want string
	}{
		{"quote doubled", crm.Eq("name", "O'Brien"), "name eq 'O''Brien'"},
		{"GUID bare and lowercased", crm.OwnedBy("AAAAAAAA-0000-4000-8000-000000000001"), "_ownerid_value eq aaaaaaaa-0000-4000-8000-000000000001"},
		{"LIKE wildcards escaped", crm.Contains("name", "50%_"), "contains(name,'50[%][_]')"},
		{"accents kept", crm.StartsWith("fullname", "Lefèvre"), "startswith(fullname,'Lefèvre')"},
		{"empty search adds nothing", crm.SearchFilter(rt, ""), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Err(); err != nil {
				t.Fatal(err)
			}
			if got := tc.f.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("a non-GUID owner is an error, not text in the filter", func(t *testing.T) {
		if crm.OwnedBy("x' or 1 eq 1").Err() == nil {
			t.Fatal("no error")
		}
	})
}

func TestAuthHelpers(t *testing.T) {
	if got := crm.Scope("https://org.crm.dynamics.com/"); got != "https://org.crm.dynamics.com/.default" {
		t.Errorf("Scope = %q", got)
	}
	want := []string{"https://org.crm.dynamics.com/.default", "openid", "profile", "email", "offline_access"}
	if got := crm.DelegatedScopes("https://org.crm.dynamics.com"); len(got) != len(want) || got[0] != want[0] || got[4] != want[4] {
		t.Errorf("DelegatedScopes = %v", got)
	}
	ep := crm.Endpoint("", "contoso")
	if ep.AuthURL != "https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize" ||
		ep.TokenURL != "https://login.microsoftonline.com/contoso/oauth2/v2.0/token" {
		t.Errorf("Endpoint = %+v", ep)
	}
	if _, err := crm.AppTokenSource(context.Background(), crm.AppCredentials{TenantID: "t"}); err == nil {
		t.Error("incomplete credentials accepted")
	}
}
